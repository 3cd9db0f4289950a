"""Loads the models of make_framework_models.py from a mount and compares
them with the originals. Prints one "ok ..." line per check; exits non-zero
with the reason on the first mismatch.

usage: check_framework_models.py ORIGINAL_DIR MOUNTED_DIR
"""
import os
import sys

import h5py
import numpy as np
import onnx
import torch


def fail(message):
    print("MISMATCH: " + message)
    sys.exit(1)


def check_torch(original, mounted):
    a = torch.load(os.path.join(original, "resnet18.pt"))
    b = torch.load(os.path.join(mounted, "resnet18.pt"))
    if a.keys() != b.keys():
        fail("state dict keys differ")
    for name in a:
        if not torch.equal(a[name], b[name]):
            fail("tensor %s differs" % name)
    print("ok torch.load: %d tensors equal" % len(a))


def check_onnx(original, mounted):
    path = os.path.join(mounted, "resnet18.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model)
    onnx.checker.check_model(path)  # the path form reads the file itself
    reference = onnx.load(os.path.join(original, "resnet18.onnx"))
    if model.SerializeToString() != reference.SerializeToString():
        fail("onnx model differs")
    print("ok onnx.load + checker: %d initializers" % len(model.graph.initializer))


def check_h5(original, mounted):
    with h5py.File(os.path.join(original, "weights.h5"), "r") as a, \
            h5py.File(os.path.join(mounted, "weights.h5"), "r") as b:
        names = []
        a.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        other = []
        b.visititems(lambda name, obj: other.append(name) if isinstance(obj, h5py.Dataset) else None)
        if sorted(names) != sorted(other):
            fail("h5 dataset names differ")
        for name in names:
            if not np.array_equal(a[name][()], b[name][()]):
                fail("h5 dataset %s differs" % name)
        if b.attrs["note"] != a.attrs["note"]:
            fail("h5 attribute differs")
    print("ok h5py: %d datasets equal" % len(names))


def check_memmap(original, mounted):
    a = np.load(os.path.join(original, "matrix.npy"))
    b = np.load(os.path.join(mounted, "matrix.npy"), mmap_mode="r")  # numpy.memmap underneath
    if not isinstance(b, np.memmap):
        fail("np.load(mmap_mode='r') did not give a memmap")
    if not np.array_equal(a, b):
        fail("memmap contents differ")
    raw = np.memmap(os.path.join(mounted, "matrix.npy"), dtype=np.uint8, mode="r")
    with open(os.path.join(original, "matrix.npy"), "rb") as f:
        if raw.tobytes() != f.read():
            fail("raw memmap bytes differ")
    print("ok numpy.memmap: %d bytes equal" % raw.size)


def main(original, mounted):
    check_torch(original, mounted)
    check_onnx(original, mounted)
    check_h5(original, mounted)
    check_memmap(original, mounted)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
