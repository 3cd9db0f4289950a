"""The safetensors format, written and read by hand (the safetensors package
is not in Debian 12).

8-byte little-endian header length, JSON header padded with spaces to a
multiple of 8, then the tensors' raw bytes back to back.
"""

import collections
import json
import struct
from typing import Any

import torch

from ..tensors import StateDict, tensor_bytes

_ST_DTYPES = {"torch.float32": "F32", "torch.float16": "F16",
              "torch.bfloat16": "BF16", "torch.float64": "F64",
              "torch.int64": "I64", "torch.int32": "I32",
              "torch.int16": "I16", "torch.int8": "I8", "torch.uint8": "U8",
              "torch.bool": "BOOL"}

# name -> (dtype, shape, raw bytes)
SafetensorsTensors = dict[str, tuple[str, tuple[int, ...], bytes]]


def _dtype_name(t: torch.Tensor) -> str:
    return _ST_DTYPES[str(t.dtype)]


def save_safetensors(sd: StateDict, path: str,
                     metadata: dict[str, str] | None = None) -> None:
    header: dict[str, Any] = collections.OrderedDict()
    if metadata:
        header["__metadata__"] = metadata
    blobs, off = [], 0
    for name, t in sd.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": _dtype_name(t), "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path: str) -> SafetensorsTensors:
    """Parse a safetensors file: returns {name: (dtype, shape, bytes)}."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out: SafetensorsTensors = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = (info["dtype"], tuple(info["shape"]),
                     data[base + a:base + b])
    return out
