"""Writes small HDF5 and .keras seed files for the hdf5 and keras fuzz targets.

Usage: /usr/bin/python3 make_hdf5_seeds.py OUT_DIR

Each seed exercises a different part of the parser's group walk and
dataset checks: Keras-style nested weights, old- and new-style groups,
hard, soft and external links, compact, chunked and compressed layouts,
strings and enums. Seeds are generated, never copied from fixtures.
"""

import os
import sys
import zipfile

import h5py
import numpy as np


def keras_weights(f):
    rng = np.random.default_rng(7)
    for layer, shape in (("conv", (3, 3, 2, 4)), ("dense", (16, 8))):
        g = f.create_group(layer).create_group(layer)
        g.create_dataset("kernel:0", data=rng.standard_normal(shape).astype(np.float32))
        g.create_dataset("bias:0", data=np.zeros(shape[-1], np.float32))
        f[layer].attrs["weight_names"] = [b"kernel:0", b"bias:0"]
    f.attrs["layer_names"] = [b"conv", b"dense"]


def layouts(f):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_INT16,
                              h5py.h5s.create_simple((4,)), dcpl=dcpl)
    compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(4, dtype=np.int16))
    f.create_dataset("chunked", data=np.ones((32, 32), np.float32), chunks=(8, 8))
    f.create_dataset("gzip", data=np.ones((32, 32), np.float64), chunks=(16, 16), compression="gzip")
    f.create_dataset("empty", shape=(0,), dtype=np.float32)
    f.create_dataset("unallocated", shape=(64,), dtype=np.float32)
    f.create_dataset("text", data=np.array([b"abc", b"defg"], dtype="S4"))
    f.create_dataset("vlen", data=["x", "yy"], dtype=h5py.string_dtype())
    f.create_dataset("flags", data=np.array([True, False]))
    f.create_dataset("complex", data=np.arange(3, dtype=np.complex64))
    f.create_dataset("be", data=np.arange(6, dtype=">f4").reshape(2, 3))


def links(f, other):
    f.create_dataset("b/shared", data=np.arange(8, dtype=np.float32))
    f["a/alias"] = f["b/shared"]
    f["a/up"] = f["/"]
    f["soft"] = h5py.SoftLink("/b/shared")
    f["dangling"] = h5py.SoftLink("/nowhere")
    f["outside"] = h5py.ExternalLink(other, "/x")


def nested(f):
    f.create_dataset("/".join(["g"] * 12 + ["w"]), data=np.ones(4, np.float32))


def write(path, fill, **kwargs):
    with h5py.File(path, "w", **kwargs) as f:
        fill(f)


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "keras.h5": (keras_weights, {}),
        "keras-latest.h5": (keras_weights, {"libver": "latest"}),
        "layouts.h5": (layouts, {}),
        "links.h5": (lambda f: links(f, "other.h5"), {}),
        "links-latest.h5": (lambda f: links(f, "other.h5"), {"libver": "latest"}),
        "nested.h5": (nested, {}),
    }
    for name, (fill, kwargs) in seeds.items():
        write(os.path.join(out, name), fill, **kwargs)
    with zipfile.ZipFile(os.path.join(out, "model.keras"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("metadata.json", '{"keras_version": "3.0.0"}')
        z.writestr("config.json", '{"class_name": "Sequential"}')
        z.write(os.path.join(out, "keras.h5"), "model.weights.h5")


if __name__ == "__main__":
    main(sys.argv[1])
