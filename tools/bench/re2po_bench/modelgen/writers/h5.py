"""HDF5 via h5py, as Keras-style weight files hold tensors."""

import h5py

from ..tensors import StateDict


def save_h5(sd: StateDict, path: str) -> None:
    # no timestamps and no tracked creation order: the bytes must repeat
    with h5py.File(path, "w", track_order=False) as f:
        for name, t in sd.items():
            # one contiguous, uncompressed dataset per tensor
            f.create_dataset(name, data=t.numpy(), track_times=False)
