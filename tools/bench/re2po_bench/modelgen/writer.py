"""Writes model versions as <out>/<model>/<version>/<file> and keeps the
manifest entry of each (files, sizes, hashes, what is new against the
parent)."""

import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import onnx

from .tensors import StateDict, tensor_digests, tensor_nbytes
from .writers import FILE_NAMES
from .writers.h5 import keras_layout, save_h5
from .writers.onnx_model import onnx_tensors, save_onnx
from .writers.pt import save_pt
from .writers.safetensors import save_safetensors

Log = Callable[[str], None]
Entry = dict[str, Any]  # one manifest entry, as manifest.json holds it


def stderr_log(quiet: bool) -> Log:
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)
    return log


@dataclass(frozen=True)
class Parent:
    """The version a derived model was made from."""
    ref: str  # MODEL@VERSION
    sd: StateDict


@dataclass(frozen=True)
class VersionSpec:
    """What to write: one model version and how it came to be."""
    model: str
    version: int
    scenario: str  # presets.ALL_SCENARIO_KINDS
    fmt: str  # writers.FILE_NAMES
    parent: Parent | None = None
    extra: Entry | None = None  # more manifest keys (head bytes, task...)


def _file_records(out: str, vdir: str) -> list[Entry]:
    files = []
    for f in sorted(os.listdir(vdir)):
        p = os.path.join(vdir, f)
        with open(p, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        files.append({"path": os.path.relpath(p, out),
                      "bytes": os.path.getsize(p), "sha256": digest})
    return files


def _new_tensor_bytes(sd: StateDict, parent: StateDict) -> int:
    """Tensor bytes whose content is not in the parent (by hash, names
    ignored): the ideal incremental cost of this version."""
    have = tensor_digests(parent)
    return sum(n for d, n in tensor_digests(sd).items() if d not in have)


class ZooWriter:
    """Writes models and accumulates manifest entries."""

    def __init__(self, out: str, log: Log) -> None:
        self.out = out
        self.log = log
        self.entries: list[Entry] = []

    def write(self, spec: VersionSpec, sd: StateDict | None = None,
              proto: onnx.ModelProto | None = None,
              external: bool = False) -> Entry:
        """Write sd (or, for ONNX, proto) as spec says; returns its entry.

        external: ONNX weights in a .data file beside the model.
        """
        vdir = os.path.join(self.out, spec.model, str(spec.version))
        os.makedirs(vdir, exist_ok=True)
        path = os.path.join(vdir, FILE_NAMES[spec.fmt])
        tensors = self._save(spec.fmt, path, sd, proto, external)
        files = _file_records(self.out, vdir)
        entry: Entry = dict(
            model=spec.model, version=str(spec.version),
            scenario=spec.scenario, format=spec.fmt,
            parent=spec.parent.ref if spec.parent else None, files=files,
            bytes=sum(f["bytes"] for f in files))
        entry["tensor_count"] = len(tensors)
        entry["tensor_bytes"] = sum(tensor_nbytes(t) for t in tensors.values())
        if spec.parent is not None:
            entry["new_tensor_bytes"] = _new_tensor_bytes(tensors,
                                                          spec.parent.sd)
        if spec.extra:
            entry.update(spec.extra)
        self.entries.append(entry)
        self.log("  %-34s %-13s %-11s %12d B" % (
            "%s/%s" % (spec.model, spec.version), spec.scenario, spec.fmt,
            entry["bytes"]))
        return entry

    @staticmethod
    def _save(fmt: str, path: str, sd: StateDict | None,
              proto: onnx.ModelProto | None,
              external: bool) -> StateDict:
        """Writes the file; returns the tensors it holds."""
        if fmt == "onnx":
            if proto is None:
                raise ValueError("an ONNX version needs its exported model")
            # read first: saving with external data empties the proto's
            # initializers
            tensors = onnx_tensors(proto)
            save_onnx(proto, path, external=external)
            return tensors
        if sd is None:
            raise ValueError("a %s version needs a state dict" % fmt)
        if fmt == "pt":
            save_pt(sd, path)
        elif fmt == "safetensors":
            save_safetensors(sd, path, metadata={"format": "pt"})
        elif fmt == "h5":
            save_h5(sd, path)
        elif fmt == "keras":
            sd = keras_layout(sd)
            save_h5(sd, path)
        else:
            raise ValueError(fmt)
        return sd


@dataclass(frozen=True)
class DerivedWriter:
    """Writes version 1 of models derived from one parent."""
    writer: ZooWriter
    parent: Parent

    def write(self, model: str, scenario: str, fmt: str,
              sd: StateDict | None = None,
              proto: onnx.ModelProto | None = None, external: bool = False,
              extra: Entry | None = None) -> Entry:
        return self.writer.write(
            VersionSpec(model, 1, scenario, fmt, self.parent, extra),
            sd=sd, proto=proto, external=external)
