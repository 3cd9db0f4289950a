"""A seeded Llama-like decoder written the way LLMs are shipped.

    tools/bench/gen-llm --out DIR [--scale S] [--seed N]

The model: hidden H, intermediate I, L layers, vocabulary V; per layer the
q/k/v/o projections (grouped-query attention: k and v have half the heads),
gate/up/down MLP and two RMSNorm weights; embed_tokens, the final norm and
an untied lm_head. Weights ~ normal(0, 0.02), norm weights 1 + normal(0,
0.02), so the exponent bytes of bf16/fp16 look like a real model's (they
are what a compressor finds). Scale 1 (the default) is H=1536, I=4352,
L=22, V=10000: 1.26 GB in bf16, every matrix 2.25-29.3 MiB and none a
whole number of MiB; about 7.3 GB over all the files below. `--scale S`
shrinks the bytes by about S (H, I and L by S**(1/3), V by S**(2/3)).

Written under DIR (each a model version for `re2po import`):

    llm-bf16/1/       model-0000N-of-00003.safetensors and
                      model.safetensors.index.json
    llm-bf16/2/       a fine-tune of version 1: a quarter of the layers
                      moved by normal(0, 0.001), every other tensor identical
    llm-bf16-lora/1/  version 1 with a rank-16 LoRA merged into q_proj and
                      v_proj (W + B @ A), every other tensor identical
    llm-fp16/1/       model.safetensors: the same weights in fp16, one file
    llm-gguf-f16/1/   model.gguf: F16 (norms F32, as llama.cpp keeps them);
                      its F16 tensors are byte-identical to llm-fp16's
    llm-gguf-q8/1/    model.gguf: Q8_0
    llm-gguf-q4k/1/   model.gguf: Q4_K
    manifest.json     every file with its kind, size and sha256

Shards are cut as transformers' save_pretrained cuts them: tensors in
module order, a new shard when the next tensor would not fit (so a layer
may span two shards), names sorted inside each shard as safetensors'
serializer sorts them. Every file holds its tensors in that same order, so
each tensor is made once and appended to all seven versions' files:
nothing bigger than one tensor is ever in memory, and sizes and sha256 are
computed while writing.

Quantization. Q8_0 is llama.cpp's exactly (blocks of 32: fp16 scale
d = max|x|/127, 32 int8 rounded half away from zero; 34 bytes). Q4_K uses
llama.cpp's exact block_q4_K layout and bit packing (256-element
super-blocks of 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit sub-block
scales and mins packed as get_scale_min_k4 reads them, 128 bytes of 4-bit
quants, low nibbles the first 32 of each 64) so llama.cpp's
dequantize_row_q4_K decodes it; but each sub-block's scale and min come
from its plain min/max, not from llama.cpp's iterative make_qkx2_quants
search, so the quant values differ slightly from what llama-quantize would
pick. Every 2-D weight is Q4_K (llama.cpp's Q4_K_S/M keep a few at
Q5_K/Q6_K).

Same --scale and --seed give the same bytes (numpy's seeded Generator, one
stream per tensor derived from its name; no timestamps).
"""

import collections
import hashlib
import json
import math
import os
import shutil
import struct
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np

from ..harness.util import Json

MiB = 1024 * 1024
DEFAULT_SEED = 1234
SHARDS = 3  # ~420 MB each at scale 1, as "~400 MB" shards
WEIGHT_STD = 0.02
FINETUNE_STD = 0.001
FINETUNE_LAYER_SHARE = 0.25
LORA_RANK = 16
LORA_STD = 0.02  # of A and B: B @ A has std ~ 0.0016
LORA_TARGETS = ("q_proj", "v_proj")
GGUF_ALIGNMENT = 32
QUANT_CHUNK = 1 << 21  # elements quantized at a time (bounds temporaries)

# GGML tensor types used here: id -> (name, elements per block, block bytes)
GGML_F32, GGML_F16, GGML_Q8_0, GGML_Q4_K = 0, 1, 8, 12
GGML_TYPES = {GGML_F32: ("F32", 1, 4), GGML_F16: ("F16", 1, 2),
              GGML_Q8_0: ("Q8_0", 32, 34), GGML_Q4_K: ("Q4_K", 256, 144)}
# general.file_type (llama_ftype) of each GGUF file
FTYPE_F16, FTYPE_Q8_0, FTYPE_Q4_K_S = 1, 7, 14

# GGUF metadata value types
GGUF_U8, GGUF_I8, GGUF_U16, GGUF_I16, GGUF_U32, GGUF_I32 = 0, 1, 2, 3, 4, 5
GGUF_F32, GGUF_BOOL, GGUF_STR, GGUF_ARR, GGUF_U64, GGUF_I64 = (
    6, 7, 8, 9, 10, 11)
GGUF_F64 = 12
_GGUF_SCALARS = {GGUF_U8: "<B", GGUF_I8: "<b", GGUF_U16: "<H",
                 GGUF_I16: "<h", GGUF_U32: "<I", GGUF_I32: "<i",
                 GGUF_F32: "<f", GGUF_BOOL: "<?", GGUF_U64: "<Q",
                 GGUF_I64: "<q", GGUF_F64: "<d"}
_NP_OF_GGUF = {GGUF_F32: "<f4", GGUF_I32: "<i4", GGUF_U32: "<u4"}
_ST_BYTES = {"BF16": 2, "F16": 2, "F32": 4}


# ------------------------------------------------------------ the model

@dataclass(frozen=True)
class LlmConfig:
    hidden: int
    intermediate: int
    layers: int
    vocab: int
    head_dim: int = 128

    @property
    def heads(self) -> int:
        return max(1, self.hidden // self.head_dim)

    @property
    def kv_heads(self) -> int:
        return max(1, self.heads // 2)

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim


def config_for_scale(scale: float) -> LlmConfig:
    """H and I stay multiples of 256 (Q4_K super-blocks run along a row),
    so every scale quantizes the same way."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    f = scale ** (1 / 3)
    h = 256 * max(1, round(6 * f))
    inter = 256 * max(3, round(h / 256 * 17 / 6))
    return LlmConfig(hidden=h, intermediate=inter,
                     layers=max(2, round(22 * f)),
                     vocab=max(512, round(10000 * f * f)))


@dataclass(frozen=True)
class TensorSpec:
    name: str  # transformers' name
    gguf_name: str  # llama.cpp's name
    shape: tuple[int, ...]  # outermost first (rows, cols)
    layer: int | None  # None: embeddings, final norm, lm_head

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def is_norm(self) -> bool:
        return len(self.shape) == 1

    @property
    def module(self) -> str:
        """q_proj, mlp.gate_proj -> gate_proj, input_layernorm, ..."""
        return self.name.split(".")[-2]


_LAYER_TENSORS = (  # transformers suffix, llama.cpp suffix, shape kind
    ("self_attn.q_proj", "attn_q", "hh"), ("self_attn.k_proj", "attn_k", "kh"),
    ("self_attn.v_proj", "attn_v", "kh"),
    ("self_attn.o_proj", "attn_output", "hh"),
    ("mlp.gate_proj", "ffn_gate", "ih"), ("mlp.up_proj", "ffn_up", "ih"),
    ("mlp.down_proj", "ffn_down", "hi"),
    ("input_layernorm", "attn_norm", "h"),
    ("post_attention_layernorm", "ffn_norm", "h"))


def tensor_specs(cfg: LlmConfig) -> list[TensorSpec]:
    """Every tensor in module order (a state dict's order)."""
    dims = {"h": cfg.hidden, "k": cfg.kv_dim, "i": cfg.intermediate}
    out = [TensorSpec("model.embed_tokens.weight", "token_embd.weight",
                      (cfg.vocab, cfg.hidden), None)]
    for n in range(cfg.layers):
        for hf, gg, kind in _LAYER_TENSORS:
            out.append(TensorSpec("model.layers.%d.%s.weight" % (n, hf),
                                  "blk.%d.%s.weight" % (n, gg),
                                  tuple(dims[c] for c in kind), n))
    out.append(TensorSpec("model.norm.weight", "output_norm.weight",
                          (cfg.hidden,), None))
    out.append(TensorSpec("lm_head.weight", "output.weight",
                          (cfg.vocab, cfg.hidden), None))
    return out


def shard_plan(specs: Sequence[TensorSpec], shards: int = SHARDS
               ) -> list[list[TensorSpec]]:
    """save_pretrained's cut: module order, a new shard when the next tensor
    would not fit under the cap, names sorted within a shard. The cap of
    total/shards + the largest tensor gives at most `shards` shards."""
    sizes = [s.elements * 2 for s in specs]
    cap = -(-sum(sizes) // shards) + max(sizes)
    out: list[list[TensorSpec]] = [[]]
    used = 0
    for s, n in zip(specs, sizes):
        if out[-1] and used + n > cap:
            out.append([])
            used = 0
        out[-1].append(s)
        used += n
    return [sorted(group, key=lambda s: s.name) for group in out]


# ------------------------------------------------------------- weights

def _rng(seed: int, *parts: str) -> np.random.Generator:
    """A stream of its own per tensor and purpose, so the order in which
    tensors are made never changes their values."""
    key = ":".join([str(seed), *parts]).encode()
    return np.random.default_rng(
        int.from_bytes(hashlib.sha256(key).digest()[:16], "little"))


def base_weights(spec: TensorSpec, seed: int) -> np.ndarray:
    w = _rng(seed, "base", spec.name).standard_normal(spec.shape,
                                                      dtype=np.float32)
    w *= np.float32(WEIGHT_STD)
    if spec.is_norm:
        w += np.float32(1.0)
    return w


def finetune_layers(cfg: LlmConfig, seed: int) -> list[int]:
    k = max(1, round(cfg.layers * FINETUNE_LAYER_SHARE))
    pick = _rng(seed, "finetune-layers").choice(cfg.layers, k, replace=False)
    return sorted(int(x) for x in pick)


def finetuned(spec: TensorSpec, w: np.ndarray, seed: int,
              layers: Sequence[int]) -> np.ndarray | None:
    """Version 2's tensor, or None when it is version 1's."""
    if spec.layer not in layers:
        return None
    noise = _rng(seed, "finetune", spec.name).standard_normal(
        spec.shape, dtype=np.float32)
    noise *= np.float32(FINETUNE_STD)
    result: np.ndarray = w + noise
    return result


def lora_merged(spec: TensorSpec, w: np.ndarray, seed: int
                ) -> np.ndarray | None:
    """W + B @ A for the LoRA's target modules, None for the others."""
    if spec.module not in LORA_TARGETS:
        return None
    rng = _rng(seed, "lora", spec.name)
    rows, cols = spec.shape
    b = rng.standard_normal((rows, LORA_RANK), dtype=np.float32)
    a = rng.standard_normal((LORA_RANK, cols), dtype=np.float32)
    result: np.ndarray = w + (b @ a) * np.float32(LORA_STD * LORA_STD)
    return result


# ----------------------------------------------------------- encodings

def to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits (uint16), rounding to nearest even as torch
    does (no NaNs occur here)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    u = u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))
    result: np.ndarray = (u >> np.uint32(16)).astype("<u2")
    return result


def from_bf16(bits: np.ndarray) -> np.ndarray:
    result: np.ndarray = (bits.astype(np.uint32) << np.uint32(16)).view(
        np.float32)
    return result


def _round_half_away(v: np.ndarray) -> np.ndarray:
    """C's roundf, in float64 so that x + 0.5 is exact."""
    v64 = v.astype(np.float64)
    result: np.ndarray = np.trunc(v64 + np.copysign(0.5, v64))
    return result


def _chunks(x: np.ndarray, block: int) -> Iterable[np.ndarray]:
    """x flattened into rows of `block`, a bounded number of rows at a
    time."""
    flat = x.reshape(-1, block)
    step = max(1, QUANT_CHUNK // block)
    for i in range(0, flat.shape[0], step):
        yield flat[i:i + step]


def _q8_0_blocks(b: np.ndarray) -> np.ndarray:
    d = np.abs(b).max(axis=1) / np.float32(127)
    inv = np.divide(np.float32(1), d, out=np.zeros_like(d), where=d > 0)
    q = _round_half_away(b * inv[:, None]).astype(np.int8)
    out = np.empty((b.shape[0], 34), dtype=np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out


def quantize_q8_0(x: np.ndarray) -> np.ndarray:
    """llama.cpp's quantize_row_q8_0_ref over rows whose length is a
    multiple of 32; returns the blocks' bytes."""
    return np.concatenate([_q8_0_blocks(b) for b in _chunks(x, 32)]
                          ).reshape(-1)


def _pack_q4_k_scales(ls: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """Eight 6-bit scales and mins per super-block into 12 bytes, as
    llama.cpp's quantize_row_q4_K_ref stores them."""
    out = np.empty((ls.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = ls[:, 0:4] | ((ls[:, 4:8] >> 4) << 6)
    out[:, 4:8] = lm[:, 0:4] | ((lm[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (ls[:, 4:8] & 0xF) | ((lm[:, 4:8] & 0xF) << 4)
    return out


def _six_bits(v: np.ndarray, top: np.ndarray) -> np.ndarray:
    inv = np.divide(np.float32(63), top, out=np.zeros_like(top),
                    where=top > 0)
    result: np.ndarray = np.clip(np.rint(v * inv[:, None]), 0, 63).astype(
        np.uint8)
    return result


def _q4_k_blocks(b: np.ndarray) -> np.ndarray:
    x = b.reshape(-1, 8, 32)
    lo = np.minimum(x.min(axis=2), 0)  # make_qkx2_quants clamps min <= 0
    scale = (x.max(axis=2) - lo) / np.float32(15)
    mins = -lo
    max_scale, max_min = scale.max(axis=1), mins.max(axis=1)
    ls, lm = _six_bits(scale, max_scale), _six_bits(mins, max_min)
    d16 = (max_scale / np.float32(63)).astype("<f2")
    dmin16 = (max_min / np.float32(63)).astype("<f2")
    dj = d16.astype(np.float32)[:, None] * ls  # the stored d, as llama.cpp
    mj = dmin16.astype(np.float32)[:, None] * lm
    inv = np.divide(np.float32(1), dj, out=np.zeros_like(dj), where=dj > 0)
    q = np.clip(np.rint((x + mj[:, :, None]) * inv[:, :, None]), 0, 15
                ).astype(np.uint8).reshape(-1, 4, 2, 32)
    out = np.empty((x.shape[0], 144), dtype=np.uint8)
    out[:, 0:2] = d16.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = dmin16.view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = _pack_q4_k_scales(ls, lm)
    out[:, 16:] = (q[:, :, 0] | (q[:, :, 1] << 4)).reshape(-1, 128)
    return out


def quantize_q4_k(x: np.ndarray) -> np.ndarray:
    """Q4_K super-blocks (see the module docstring for how exact); rows
    must be a multiple of 256 long. Returns the blocks' bytes."""
    return np.concatenate([_q4_k_blocks(b) for b in _chunks(x, 256)]
                          ).reshape(-1)


def dequantize_q8_0(data: np.ndarray) -> np.ndarray:
    """llama.cpp's dequantize_row_q8_0 (for checks)."""
    b = data.reshape(-1, 34)
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    q = b[:, 2:].view(np.int8).astype(np.float32)
    result: np.ndarray = (d * q).reshape(-1)
    return result


def _q4_k_scale_min(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """llama.cpp's get_scale_min_k4 for j = 0..7 at once."""
    sc = np.empty((s.shape[0], 8), dtype=np.uint8)
    m = np.empty_like(sc)
    sc[:, :4], m[:, :4] = s[:, 0:4] & 63, s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 0xF) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, m


def dequantize_q4_k(data: np.ndarray) -> np.ndarray:
    """llama.cpp's dequantize_row_q4_K (for checks), written from its C
    rather than from the encoder above."""
    b = data.reshape(-1, 144)
    d = b[:, 0:2].copy().view("<f2").astype(np.float32)
    dmin = b[:, 2:4].copy().view("<f2").astype(np.float32)
    sc, m = _q4_k_scale_min(b[:, 4:16])
    qs = b[:, 16:].reshape(-1, 4, 32)
    q = np.stack([qs & 0xF, qs >> 4], axis=2).reshape(-1, 8, 32)
    y = (d * sc)[:, :, None] * q - (dmin * m)[:, :, None]
    result: np.ndarray = y.astype(np.float32).reshape(-1)
    return result


# ----------------------------------------------------------- the files

@dataclass
class FileRecord:
    path: str  # relative to the output directory
    bytes: int
    sha256: str


class HashedFile:
    """A file being written whose size and sha256 grow with it, so the
    manifest needs no second pass over multi-GB files."""

    def __init__(self, root: str, rel: str) -> None:
        self.rel = rel
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.f: BinaryIO = open(path, "wb")
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | np.ndarray) -> None:
        buf = (np.ascontiguousarray(data).view(np.uint8).reshape(-1).data
               if isinstance(data, np.ndarray) else memoryview(data))
        self.f.write(buf)
        self.sha.update(buf)
        self.size += buf.nbytes

    def close(self) -> FileRecord:
        self.f.close()
        return FileRecord(self.rel, self.size, self.sha.hexdigest())


class _TensorFile:
    """Takes tensors in the order its header promised them, each exactly as
    large as promised, and refuses to close short."""

    out: HashedFile
    expected: list[tuple[str, int]]
    next: int

    def _take(self, name: str, data: np.ndarray) -> int:
        want, n = self.expected[self.next]
        if name != want or data.nbytes != n:
            raise AssertionError("%s: got %s (%d B), expected %s (%d B)" % (
                self.out.rel, name, data.nbytes, want, n))
        self.out.write(data)
        self.next += 1
        return n

    def close(self) -> FileRecord:
        if self.next != len(self.expected):
            raise AssertionError("%s: %d of %d tensors written" % (
                self.out.rel, self.next, len(self.expected)))
        return self.out.close()


class SafetensorsFile(_TensorFile):
    """8-byte header length, JSON header padded with spaces to a multiple
    of 8, then the tensors back to back in header order."""

    def __init__(self, root: str, rel: str,
                 entries: Sequence[tuple[str, str, tuple[int, ...]]]) -> None:
        header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
        off = 0
        self.expected: list[tuple[str, int]] = []
        for name, dtype, shape in entries:
            n = math.prod(shape) * _ST_BYTES[dtype]
            header[name] = {"dtype": dtype, "shape": list(shape),
                            "data_offsets": [off, off + n]}
            self.expected.append((name, n))
            off += n
        hjson = json.dumps(header, separators=(",", ":")).encode()
        hjson += b" " * (-len(hjson) % 8)
        self.out = HashedFile(root, rel)
        self.out.write(struct.pack("<Q", len(hjson)) + hjson)
        self.next = 0

    def write_tensor(self, name: str, data: np.ndarray) -> None:
        self._take(name, data)


def gguf_string(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype: int, value: Any) -> bytes:
    """One metadata value (without its type tag, except inside arrays,
    which carry their element type and count)."""
    if vtype == GGUF_STR:
        return gguf_string(value)
    if vtype == GGUF_ARR:
        etype, items = value
        head = struct.pack("<IQ", etype, len(items))
        if etype in _NP_OF_GGUF:
            return head + np.asarray(items, dtype=_NP_OF_GGUF[etype]).tobytes()
        return head + b"".join(gguf_value(etype, v) for v in items)
    return struct.pack(_GGUF_SCALARS[vtype], value)


def gguf_tensor_bytes(shape: Sequence[int], ggml_type: int) -> int:
    _, per_block, block_bytes = GGML_TYPES[ggml_type]
    return math.prod(shape) // per_block * block_bytes


def _align(n: int, a: int = GGUF_ALIGNMENT) -> int:
    return n + (-n % a)


class GgufFile(_TensorFile):
    """GGUF v3: magic, version, counts, metadata, tensor infos (dims
    innermost first, type, offset from the data section), the data section
    at the next multiple of the alignment, every tensor padded to it."""

    def __init__(self, root: str, rel: str,
                 kvs: Sequence[tuple[str, int, Any]],
                 tensors: Sequence[tuple[str, tuple[int, ...], int]]) -> None:
        parts = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(kvs))]
        for key, vtype, value in kvs:
            parts += [gguf_string(key), struct.pack("<I", vtype),
                      gguf_value(vtype, value)]
        off = 0
        self.expected: list[tuple[str, int]] = []
        for name, shape, gtype in tensors:
            dims = tuple(reversed(shape))
            parts += [gguf_string(name), struct.pack("<I", len(dims)),
                      struct.pack("<%dQ" % len(dims), *dims),
                      struct.pack("<IQ", gtype, off)]
            n = gguf_tensor_bytes(shape, gtype)
            self.expected.append((name, n))
            off = _align(off + n)
        head = b"".join(parts)
        self.out = HashedFile(root, rel)
        self.out.write(head + b"\0" * (-len(head) % GGUF_ALIGNMENT))
        self.next = 0

    def write_tensor(self, name: str, data: np.ndarray) -> None:
        n = self._take(name, data)
        self.out.write(b"\0" * (-n % GGUF_ALIGNMENT))


# ------------------------------------------------------------ versions

@dataclass(frozen=True)
class VersionSpec:
    model: str
    version: int
    kind: str  # the manifest's kind
    source: str  # base | finetune | lora: which weights
    encoding: str  # bf16 | f16 | gguf-f16 | gguf-q8_0 | gguf-q4_k
    sharded: bool = False
    parent: str | None = None

    @property
    def ref(self) -> str:
        return "%s@%d" % (self.model, self.version)

    @property
    def dir(self) -> str:
        return "%s/%d" % (self.model, self.version)


# in import order: a version's parent comes before it
VERSIONS = (
    VersionSpec("llm-bf16", 1, "safetensors-bf16", "base", "bf16", True),
    VersionSpec("llm-bf16", 2, "finetune", "finetune", "bf16", True,
                "llm-bf16@1"),
    VersionSpec("llm-bf16-lora", 1, "lora", "lora", "bf16", True,
                "llm-bf16@1"),
    VersionSpec("llm-fp16", 1, "safetensors-fp16", "base", "f16",
                parent="llm-bf16@1"),
    VersionSpec("llm-gguf-f16", 1, "gguf-f16", "base", "gguf-f16",
                parent="llm-fp16@1"),
    VersionSpec("llm-gguf-q8", 1, "gguf-q8_0", "base", "gguf-q8_0",
                parent="llm-bf16@1"),
    VersionSpec("llm-gguf-q4k", 1, "gguf-q4_k", "base", "gguf-q4_k",
                parent="llm-bf16@1"),
)
_GGUF_WEIGHT_TYPE = {"gguf-f16": (GGML_F16, FTYPE_F16),
                     "gguf-q8_0": (GGML_Q8_0, FTYPE_Q8_0),
                     "gguf-q4_k": (GGML_Q4_K, FTYPE_Q4_K_S)}


def gguf_type_of(spec: TensorSpec, encoding: str) -> int:
    """Norms stay F32 in every GGUF, as llama.cpp's converter keeps them."""
    return GGML_F32 if spec.is_norm else _GGUF_WEIGHT_TYPE[encoding][0]


def encode(spec: TensorSpec, w: np.ndarray, encoding: str) -> np.ndarray:
    """A tensor's bytes (as an array) in one version's encoding."""
    if encoding == "bf16":
        return to_bf16(w)
    if encoding == "f16" or (encoding == "gguf-f16" and not spec.is_norm):
        return w.astype("<f2")
    if spec.is_norm:
        return w.astype("<f4")
    if encoding == "gguf-q8_0":
        return quantize_q8_0(w)
    if encoding == "gguf-q4_k":
        return quantize_q4_k(w)
    raise ValueError("unknown encoding %r" % encoding)


def _tokens(vocab: int) -> list[str]:
    """A llama-style vocabulary: specials, the 256 byte tokens, then
    made-up pieces (their text only matters as metadata bytes)."""
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]
    toks += ["\u2581t%d" % i for i in range(vocab - len(toks))]
    return toks[:vocab]


def gguf_metadata(cfg: LlmConfig, encoding: str) -> list[tuple[str, int, Any]]:
    """The keys llama.cpp reads for a llama model, with a tokenizer of V
    tokens so the metadata section has a real file's arrays."""
    toks = _tokens(cfg.vocab)
    kvs: list[tuple[str, int, Any]] = [
        ("general.architecture", GGUF_STR, "llama"),
        ("general.name", GGUF_STR, "re2po-bench-llm"),
        ("general.file_type", GGUF_U32, _GGUF_WEIGHT_TYPE[encoding][1]),
        ("general.alignment", GGUF_U32, GGUF_ALIGNMENT),
        ("llama.context_length", GGUF_U32, 4096),
        ("llama.embedding_length", GGUF_U32, cfg.hidden),
        ("llama.block_count", GGUF_U32, cfg.layers),
        ("llama.feed_forward_length", GGUF_U32, cfg.intermediate),
        ("llama.attention.head_count", GGUF_U32, cfg.heads),
        ("llama.attention.head_count_kv", GGUF_U32, cfg.kv_heads),
        ("llama.rope.dimension_count", GGUF_U32, cfg.head_dim),
        ("llama.rope.freq_base", GGUF_F32, 10000.0),
        ("llama.attention.layer_norm_rms_epsilon", GGUF_F32, 1e-5),
        ("llama.vocab_size", GGUF_U32, cfg.vocab),
        ("tokenizer.ggml.model", GGUF_STR, "llama"),
        ("tokenizer.ggml.tokens", GGUF_ARR, (GGUF_STR, toks)),
        ("tokenizer.ggml.scores", GGUF_ARR,
         (GGUF_F32, [-float(i) for i in range(len(toks))])),
        ("tokenizer.ggml.token_type", GGUF_ARR,
         (GGUF_I32, [3] * 3 + [6] * 256 + [1] * (len(toks) - 259))),
        ("tokenizer.ggml.bos_token_id", GGUF_U32, 1),
        ("tokenizer.ggml.eos_token_id", GGUF_U32, 2)]
    if encoding != "gguf-f16":
        kvs.append(("general.quantization_version", GGUF_U32, 2))
    return kvs


@dataclass
class VersionWriter:
    """One version's files, open from the start (their headers need only
    the shapes), each tensor appended as it is made."""
    root: str
    spec: VersionSpec
    cfg: LlmConfig
    shards: list[list[TensorSpec]]
    files: list[SafetensorsFile | GgufFile] = field(default_factory=list)
    file_of: dict[str, int] = field(default_factory=dict)  # tensor -> file
    changed: list[str] = field(default_factory=list)  # vs llm-bf16@1
    records: list[FileRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        groups = self.shards if self.spec.sharded else [
            [t for g in self.shards for t in g]]
        for i, group in enumerate(groups):
            self.files.append(self._open(group, i, len(groups)))
            self.file_of.update((t.name, i) for t in group)

    def _name(self, i: int, n: int) -> str:
        if self.spec.encoding.startswith("gguf"):
            return "model.gguf"
        if n == 1:
            return "model.safetensors"
        return "model-%05d-of-%05d.safetensors" % (i + 1, n)

    def _open(self, group: list[TensorSpec], i: int, n: int
              ) -> SafetensorsFile | GgufFile:
        rel = os.path.join(self.spec.dir, self._name(i, n))
        enc = self.spec.encoding
        if enc.startswith("gguf"):
            return GgufFile(self.root, rel, gguf_metadata(self.cfg, enc), [
                (t.gguf_name, t.shape, gguf_type_of(t, enc)) for t in group])
        dtype = "BF16" if enc == "bf16" else "F16"
        return SafetensorsFile(self.root, rel,
                               [(t.name, dtype, t.shape) for t in group])

    def write(self, spec: TensorSpec, w: np.ndarray, changed: bool) -> None:
        f = self.files[self.file_of[spec.name]]
        name = spec.gguf_name if isinstance(f, GgufFile) else spec.name
        f.write_tensor(name, encode(spec, w, self.spec.encoding))
        if changed:
            self.changed.append(spec.name)

    def close(self) -> None:
        self.records = [f.close() for f in self.files]
        if self.spec.sharded:
            self.records.append(self._write_index())

    def _write_index(self) -> FileRecord:
        """model.safetensors.index.json as save_pretrained writes it."""
        names = [r.path.rsplit("/", 1)[1] for r in self.records]
        total = sum(t.elements * 2 for g in self.shards for t in g)
        index = {"metadata": {"total_size": total},
                 "weight_map": {t.name: names[self.file_of[t.name]]
                                for t in sorted((t for g in self.shards
                                                 for t in g),
                                                key=lambda t: t.name)}}
        out = HashedFile(self.root, os.path.join(
            self.spec.dir, "model.safetensors.index.json"))
        out.write(json.dumps(index, indent=2, sort_keys=True).encode() + b"\n")
        return out.close()

    def entry(self, specs: Sequence[TensorSpec]) -> Json:
        s = self.spec
        nbytes = {t.name: encode_size(t, s.encoding) for t in specs}
        return collections.OrderedDict(
            model=s.model, version=s.version, ref=s.ref, kind=s.kind,
            parent=s.parent, encoding=s.encoding, dir=s.dir,
            files=[vars(r) for r in self.records],
            bytes=sum(r.bytes for r in self.records),
            tensor_count=len(specs), tensor_bytes=sum(nbytes.values()),
            changed_tensors=len(self.changed),
            changed_tensor_bytes=sum(nbytes[n] for n in self.changed))


def encode_size(spec: TensorSpec, encoding: str) -> int:
    if encoding.startswith("gguf"):
        return gguf_tensor_bytes(spec.shape, gguf_type_of(spec, encoding))
    return spec.elements * 2


# ------------------------------------------------------------ generate

def _progress(quiet: bool, msg: str) -> None:
    if not quiet:
        print("[gen-llm %s] %s" % (time.strftime("%H:%M:%S"), msg),
              file=sys.stderr, flush=True)


def _clear(out: str) -> None:
    """Remove what an earlier run wrote (the manifest first: a directory
    with a manifest is a complete set)."""
    if os.path.exists(os.path.join(out, "manifest.json")):
        os.remove(os.path.join(out, "manifest.json"))
    for model in sorted({v.model for v in VERSIONS}):
        shutil.rmtree(os.path.join(out, model), ignore_errors=True)


def _write_all(writers: list[VersionWriter], specs: list[TensorSpec],
               seed: int, ft_layers: list[int], quiet: bool) -> None:
    total = sum(t.elements for t in specs)
    done = reported = 0
    for t in specs:
        w = base_weights(t, seed)
        variants: dict[str, tuple[np.ndarray, bool]] = {"base": (w, False)}
        for source, v in (("finetune", finetuned(t, w, seed, ft_layers)),
                          ("lora", lora_merged(t, w, seed))):
            variants[source] = (w, False) if v is None else (v, True)
        for wr in writers:
            values, changed = variants[wr.spec.source]
            wr.write(t, values, changed)
        done += t.elements
        if done * 10 // total > reported:
            reported = done * 10 // total
            _progress(quiet, "%d%% of the tensors written" % (reported * 10))


def generate(out: str, scale: float = 1.0, seed: int = DEFAULT_SEED,
             quiet: bool = False) -> Json:
    """Write every version and manifest.json under out; returns the
    manifest."""
    cfg = config_for_scale(scale)
    specs = tensor_specs(cfg)
    shards = shard_plan(specs)
    order = [t for g in shards for t in g]
    ft_layers = finetune_layers(cfg, seed)
    os.makedirs(out, exist_ok=True)
    _clear(out)
    _progress(quiet, "H=%d I=%d L=%d V=%d, %d tensors, seed %d, into %s" % (
        cfg.hidden, cfg.intermediate, cfg.layers, cfg.vocab, len(specs),
        seed, out))
    t0 = time.time()
    writers = [VersionWriter(out, v, cfg, shards) for v in VERSIONS]
    _write_all(writers, order, seed, ft_layers, quiet)
    for wr in writers:
        wr.close()
    manifest = _manifest(writers, order, cfg, scale, seed, ft_layers)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    _progress(quiet, "%d files, %.2f GB in %.1f s" % (
        len(manifest["files"]), manifest["bytes"] / 1e9, time.time() - t0))
    return manifest


def _manifest(writers: list[VersionWriter], order: list[TensorSpec],
              cfg: LlmConfig, scale: float, seed: int,
              ft_layers: list[int]) -> Json:
    versions = [wr.entry(order) for wr in writers]
    files = [dict(path=f["path"], kind=v["kind"], model=v["model"],
                  version=v["version"], bytes=f["bytes"], sha256=f["sha256"])
             for v in versions for f in v["files"]]
    return collections.OrderedDict(
        generator="re2po-bench gen-llm", scale=scale, seed=seed,
        config=dict(vars(cfg), heads=cfg.heads, kv_heads=cfg.kv_heads),
        tensors=len(order), bf16_bytes=sum(t.elements * 2 for t in order),
        finetune={"layers": ft_layers, "std": FINETUNE_STD},
        lora={"rank": LORA_RANK, "targets": list(LORA_TARGETS),
              "std_a_b": LORA_STD},
        versions=versions, files=files, bytes=sum(f["bytes"] for f in files))


def read_manifest(root: str) -> Json:
    with open(os.path.join(root, "manifest.json")) as f:
        manifest: Json = json.load(f)
    return manifest


# ------------------------------------------------------------- readers

def read_safetensors_header(path: str) -> tuple[int, dict[str, Any]]:
    """(where the data starts, the header in its JSON order)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header: dict[str, Any] = json.loads(f.read(n))
    return 8 + n, header


@dataclass
class GgufTensor:
    name: str
    dims: tuple[int, ...]  # innermost first, as stored
    type: int
    offset: int  # from the data section

    @property
    def nbytes(self) -> int:
        return gguf_tensor_bytes(self.dims, self.type)


@dataclass
class GgufInfo:
    version: int
    kvs: dict[str, Any]
    tensors: list[GgufTensor]
    data_start: int
    alignment: int


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> Any:
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string(self) -> str:
        n = self.take("<Q")
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def value(self, vtype: int) -> Any:
        if vtype == GGUF_STR:
            return self.string()
        if vtype == GGUF_ARR:
            etype, n = self.take("<I"), self.take("<Q")
            return [self.value(etype) for _ in range(n)]
        return self.take(_GGUF_SCALARS[vtype])


def _read_prefix(path: str, limit: int = 64 * MiB) -> bytes:
    """A GGUF's metadata and tensor infos are at its start."""
    with open(path, "rb") as f:
        return f.read(limit)


def read_gguf(path: str) -> GgufInfo:
    c = _Cursor(_read_prefix(path))
    if c.data[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file" % path)
    c.pos = 4
    version, n_tensors, n_kvs = c.take("<I"), c.take("<Q"), c.take("<Q")
    kvs = {}
    for _ in range(n_kvs):
        key = c.string()
        kvs[key] = c.value(c.take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = c.string()
        nd = c.take("<I")
        dims = tuple(c.take("<%dQ" % nd)) if nd > 1 else (c.take("<Q"),)
        tensors.append(GgufTensor(name, dims, c.take("<I"), c.take("<Q")))
    align = int(kvs.get("general.alignment", GGUF_ALIGNMENT))
    return GgufInfo(version, kvs, tensors, _align(c.pos, align), align)


def tensor_ranges(path: str) -> list[tuple[str, int, int]]:
    """(name, start, end) of every tensor's bytes in the file, in the order
    a loader takes them: the safetensors header's order (safe_open), the
    GGUF tensor infos' order (llama.cpp)."""
    if path.endswith(".gguf"):
        g = read_gguf(path)
        return [(t.name, g.data_start + t.offset,
                 g.data_start + t.offset + t.nbytes) for t in g.tensors]
    start, header = read_safetensors_header(path)
    return [(name, start + info["data_offsets"][0],
             start + info["data_offsets"][1])
            for name, info in header.items() if name != "__metadata__"]
