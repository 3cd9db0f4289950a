"""HDF5 via h5py, as Keras-style weight files hold tensors."""

from collections import OrderedDict

import h5py

from ..tensors import StateDict


def keras_layout(sd: StateDict) -> StateDict:
    """The weights as Keras lays them out: convolution kernels HWIO (PyTorch
    has OIHW), dense kernels (in, out) where PyTorch has (out, in)."""
    out: StateDict = OrderedDict()
    for name, t in sd.items():
        if t.dim() == 4 and name.endswith("weight"):
            out[name] = t.permute(2, 3, 1, 0).contiguous()
        elif t.dim() == 2 and name.endswith("weight"):
            out[name] = t.t().contiguous()
        else:
            out[name] = t
    return out


def save_h5(sd: StateDict, path: str) -> None:
    # no timestamps and no tracked creation order: the bytes must repeat
    with h5py.File(path, "w", track_order=False) as f:
        for name, t in sd.items():
            # one contiguous, uncompressed dataset per tensor
            f.create_dataset(name, data=t.numpy(), track_times=False)
