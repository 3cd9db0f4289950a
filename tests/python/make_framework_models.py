"""Writes the models frameworks_test.cc loads back through a mount.

usage: make_framework_models.py OUT_DIR

OUT_DIR/resnet18.pt      torchvision resnet18 state dict (weights=None, seeded)
OUT_DIR/resnet18.onnx    the same network exported to ONNX
OUT_DIR/weights.h5       an HDF5 file with nested groups and several dtypes
OUT_DIR/matrix.npy       a float32 array, read back with numpy.memmap
"""
import os
import sys

import h5py
import numpy as np
import torch
import torchvision


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(1234)
    model = torchvision.models.resnet18(weights=None).eval()
    torch.save(model.state_dict(), os.path.join(out_dir, "resnet18.pt"))
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(out_dir, "resnet18.onnx"),
                      input_names=["input"], output_names=["logits"], opset_version=13)

    rng = np.random.default_rng(99)
    with h5py.File(os.path.join(out_dir, "weights.h5"), "w") as f:
        f.create_dataset("dense/kernel", data=rng.standard_normal((512, 256)).astype(np.float32))
        f.create_dataset("dense/bias", data=rng.standard_normal(256).astype(np.float32))
        f.create_dataset("conv/kernel", data=rng.standard_normal((3, 3, 64, 64)),
                         chunks=(3, 3, 16, 16), compression="gzip")
        f.create_dataset("embedding", data=rng.integers(0, 1 << 30, (10000, 16), dtype=np.int64))
        f.create_dataset("scalar", data=np.float64(2.5))
        f.attrs["note"] = "re2po mount test"

    np.save(os.path.join(out_dir, "matrix.npy"),
            rng.standard_normal((2048, 1024)).astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1])
