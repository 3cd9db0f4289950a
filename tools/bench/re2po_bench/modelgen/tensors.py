"""State dicts as the generator writes them, and the derived ones: int8,
fp16 and renamed copies of a backbone's tensors."""

import collections
import hashlib
from typing import TypeAlias

import torch
from torch import nn

# ordered, and an OrderedDict: torch.save pickles the type, so a plain dict
# would change every .pt file's bytes
StateDict: TypeAlias = collections.OrderedDict[str, torch.Tensor]


def state_dict_of(model: nn.Module) -> StateDict:
    """An ordered state dict of contiguous tensors that own their storage."""
    return collections.OrderedDict(
        (k, v.detach().clone().contiguous()) for k, v in
        model.state_dict().items())


def tensor_bytes(t: torch.Tensor) -> bytes:
    """Raw little-endian bytes of a CPU tensor (x86 is little-endian)."""
    data: bytes = t.contiguous().numpy().tobytes()
    return data


def tensor_nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def tensor_digests(sd: StateDict) -> dict[str, int]:
    """sha256 of each distinct tensor content -> its size in bytes."""
    return {hashlib.sha256(tensor_bytes(t)).hexdigest(): tensor_nbytes(t)
            for t in sd.values()}


def quantize_int8(sd: StateDict) -> StateDict:
    """Per-tensor symmetric int8 for every float tensor with >= 2 dims."""
    out: StateDict = collections.OrderedDict()
    for name, t in sd.items():
        if t.is_floating_point() and t.dim() >= 2:
            scale = t.abs().max().clamp(min=1e-12) / 127.0
            q = torch.clamp(torch.round(t / scale), -127, 127).to(torch.int8)
            out[name] = q.contiguous()
            out[name + ".scale"] = scale.to(torch.float32).reshape(())
        else:
            out[name] = t
    return out


def to_fp16(sd: StateDict) -> StateDict:
    return collections.OrderedDict(
        (k, v.half() if v.is_floating_point() else v) for k, v in sd.items())


def renamed(sd: StateDict) -> StateDict:
    """The names data-parallel training saves: "module." + name, and the
    order reversed so that nothing but the bytes lines up."""
    return collections.OrderedDict(
        ("module." + k, v) for k, v in reversed(list(sd.items())))
