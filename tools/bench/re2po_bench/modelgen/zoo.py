"""The whole model set of a preset: per backbone, a trained base and the
models derived from it, then manifest.json."""

import json
import os
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from . import training
from .architectures import ARCHITECTURES
from .presets import (GENERATOR_VERSION, PRESETS, TASK_CLASSES,
                      BackboneSpec, ZooPreset)
from .tensors import (StateDict, quantize_int8, renamed, state_dict_of,
                      tensor_nbytes, to_fp16)
from .writer import DerivedWriter, Log, Parent, VersionSpec, ZooWriter
from .writers.onnx_model import export_onnx


def head_info(model: nn.Module, head_path: str) -> dict[str, Any]:
    """The manifest's head_tensors and head_bytes of a model's head."""
    head = model.get_submodule(head_path).state_dict()
    return {"head_tensors": [head_path + "." + k for k in head.keys()],
            "head_bytes": sum(tensor_nbytes(v) for v in head.values())}


@dataclass
class BackboneRun:
    """One backbone being written: its trained base and where it goes."""
    writer: ZooWriter
    preset: ZooPreset
    arch: str
    spec: BackboneSpec
    seed: int
    base: nn.Module
    base_sd: StateDict

    @property
    def derived(self) -> DerivedWriter:
        """Writes models derived from the base (its version 1)."""
        return DerivedWriter(self.writer, Parent("%s@1" % self.arch,
                                                 self.base_sd))

    @property
    def head_path(self) -> str:
        return ARCHITECTURES[self.arch].head_path


def _write_formats(run: BackboneRun) -> None:
    for fmt in run.spec.other_formats:
        name = "%s-%s" % (run.arch, fmt)
        if fmt == "onnx":
            run.derived.write(name, "formats", "onnx", proto=export_onnx(
                run.base, run.preset.input_size, False),
                extra={"bn_fused": False})
        elif fmt == "keras":
            # another layout of every kernel: no byte in common with the base
            run.derived.write(name, "keras-layout", fmt, sd=run.base_sd)
        else:
            run.derived.write(name, "formats", fmt, sd=run.base_sd)


def _write_fused_onnx(run: BackboneRun) -> None:
    kind = run.spec.fused_onnx
    if kind is None:
        return
    proto = export_onnx(run.base, run.preset.input_size, True)
    if kind == "external":
        run.derived.write(run.arch + "-onnx-ext", "onnx-fused", "onnx",
                          proto=proto, external=True,
                          extra={"bn_fused": True, "external_data": True})
    else:
        run.derived.write(run.arch + "-onnx-fused", "onnx-fused", "onnx",
                          proto=proto, extra={"bn_fused": True})


def _write_transfers(run: BackboneRun) -> nn.Module | None:
    """Every transfer model; returns the first (the series continues it)."""
    first = None
    for t in run.spec.transfers:
        m = training.transfer(run.base, run.arch, run.preset, run.seed, t)
        if first is None:
            first = m
        run.derived.write(
            "%s-%s" % (run.arch, t.task), "transfer", "pt",
            sd=state_dict_of(m),
            extra={"task": t.task, "classes": t.classes, "head": t.head,
                   **head_info(m, run.head_path)})
    return first


def _write_series(run: BackboneRun, first: nn.Module) -> None:
    """Versions 2..N of the first transfer model: its head trained on."""
    t = run.spec.transfers[0]
    name = "%s-%s" % (run.arch, t.task)
    m = first
    prev_sd = state_dict_of(m)
    for v in range(2, run.spec.series_versions + 1):
        m = training.continue_head(m, run.arch, run.preset, run.seed, t, v)
        sd = state_dict_of(m)
        run.writer.write(VersionSpec(
            name, v, "series", "pt", Parent("%s@%d" % (name, v - 1), prev_sd),
            {"task": t.task, **head_info(m, run.head_path)}), sd=sd)
        prev_sd = sd


def _write_partial(run: BackboneRun, task: str) -> None:
    m = training.partial_finetune(run.base, run.arch, run.preset, run.seed,
                                  task, TASK_CLASSES[task])
    run.derived.write(
        "%s-%s-partial" % (run.arch, task), "partial", "pt",
        sd=state_dict_of(m),
        extra={"task": task, "unfrozen": list(ARCHITECTURES[run.arch]
                                              .last_blocks),
               **head_info(m, run.head_path)})


def _write_weight_copies(run: BackboneRun) -> None:
    """The base's tensors renamed, quantized, or in half precision."""
    if run.spec.renamed:
        run.derived.write(run.arch + "-ddp", "renamed", "pt",
                          sd=renamed(run.base_sd))
    if run.spec.int8:
        run.derived.write(run.arch + "-int8", "int8", "pt",
                          sd=quantize_int8(run.base_sd))
    if run.spec.fp16_format:
        run.derived.write(run.arch + "-fp16", "fp16", run.spec.fp16_format,
                          sd=to_fp16(run.base_sd))


def build_backbone(writer: ZooWriter, preset: ZooPreset, arch: str,
                   spec: BackboneSpec, seed: int) -> None:
    # The order matters: partial and full fine-tunes draw from torch's
    # global generator (dropout, stochastic depth) in train mode.
    t0 = time.time()
    base, losses = training.train_base(arch, spec, preset, seed)
    run = BackboneRun(writer, preset, arch, spec, seed, base,
                      state_dict_of(base))
    writer.log("%s: base losses %s" % (arch, losses))
    writer.write(VersionSpec(arch, 1, "base", "pt"), sd=run.base_sd)
    _write_formats(run)
    _write_fused_onnx(run)
    first = _write_transfers(run)
    if first is not None and spec.series_versions > 1:
        _write_series(run, first)
    if spec.partial_task:
        _write_partial(run, spec.partial_task)
    if spec.full_finetune:
        m = training.full_finetune(base, arch, preset, seed)
        run.derived.write(arch + "-finetuned", "full-finetune", "pt",
                          sd=state_dict_of(m))
    _write_weight_copies(run)
    writer.log("%s: done in %.1f s" % (arch, time.time() - t0))


def build_zoo(out: str, preset_name: str, seed: int,
              log: Log) -> dict[str, Any]:
    """Write the preset's whole set into out; returns the manifest."""
    preset = PRESETS[preset_name]
    writer = ZooWriter(out, log)
    for arch, spec in preset.backbones.items():
        build_backbone(writer, preset, arch, spec, seed)
    entries = writer.entries
    manifest = dict(
        generator="tools/bench/gen-models",
        generator_version=GENERATOR_VERSION, preset=preset_name, seed=seed,
        torch=torch.__version__, input_size=preset.input_size,
        scenarios=sorted({e["scenario"] for e in entries}),
        total_bytes=sum(e["bytes"] for e in entries),
        file_count=sum(len(e["files"]) for e in entries),
        models=entries)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest
