"""The --scenario test sets: a resnet18 base and one derived model (or the
base in every format), with a JSON summary for the dedup tests. Their files
are byte-identical to the zoo's resnet18 models of the same preset and
seed."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from . import training
from .presets import PRESETS, TransferSpec, ZooPreset
from .tensors import StateDict, renamed, state_dict_of
from .writer import DerivedWriter, Log, Parent, VersionSpec, ZooWriter
from .writers import FILE_NAMES
from .writers.onnx_model import export_onnx
from .zoo import head_info

Summary = dict[str, Any]


@dataclass
class ScenarioRun:
    writer: ZooWriter
    preset: ZooPreset
    seed: int
    base: nn.Module
    base_sd: StateDict

    @property
    def out(self) -> str:
        return self.writer.out

    @property
    def derived(self) -> DerivedWriter:
        """Writes models derived from base@1."""
        return DerivedWriter(self.writer, Parent("base@1", self.base_sd))

    def file_info(self, model: str, file_name: str) -> dict[str, Any]:
        path = os.path.join(self.out, model, "1", file_name)
        return {"path": path, "bytes": os.path.getsize(path)}


def _transfer(run: ScenarioRun, summary: Summary) -> None:
    m = training.transfer(run.base, "resnet18", run.preset, run.seed,
                          TransferSpec("pets", 37, "linear"))
    e = run.derived.write("pets", "transfer", "pt", sd=state_dict_of(m))
    summary["derived"] = run.file_info("pets", "model.pt")
    summary.update(head_info(m, "fc"))
    summary["new_tensor_bytes"] = e["new_tensor_bytes"]
    summary["replaced_head_bytes"] = head_info(run.base, "fc")["head_bytes"]


def _renamed(run: ScenarioRun, summary: Summary) -> None:
    e = run.derived.write("renamed", "renamed", "pt", sd=renamed(run.base_sd))
    summary["derived"] = run.file_info("renamed", "model.pt")
    summary["new_tensor_bytes"] = e["new_tensor_bytes"]
    summary["prefix"] = "module."
    summary["order"] = "reversed"


def _formats(run: ScenarioRun, summary: Summary) -> None:
    formats = summary["formats"] = {"pt": summary["base"]}
    for fmt in ("safetensors", "onnx", "h5"):
        if fmt == "onnx":
            run.derived.write(fmt, "formats", fmt, proto=export_onnx(
                run.base, run.preset.input_size, False),
                extra={"bn_fused": False})
        else:
            run.derived.write(fmt, "formats", fmt, sd=run.base_sd)
        formats[fmt] = run.file_info(fmt, FILE_NAMES[fmt])
    summary["note"] = ("onnx is exported unfused (eval, no constant "
                       "folding): every initializer has the bytes of the "
                       "state-dict tensor of the same name; num_batches_"
                       "tracked is not in the onnx graph")


def _finetuned(run: ScenarioRun, summary: Summary) -> None:
    m = training.full_finetune(run.base, "resnet18", run.preset, run.seed)
    e = run.derived.write("finetuned", "full-finetune", "pt",
                          sd=state_dict_of(m))
    summary["derived"] = run.file_info("finetuned", "model.pt")
    summary["new_tensor_bytes"] = e["new_tensor_bytes"]


# each adds its keys to the summary, after the base's
SCENARIO_WRITERS: dict[str, Callable[[ScenarioRun, Summary], None]] = {
    "resnet18-transfer": _transfer,
    "resnet18-renamed": _renamed,
    "resnet18-formats": _formats,
    "resnet18-finetuned": _finetuned,
}
SCENARIOS = tuple(SCENARIO_WRITERS)


def run_scenario(name: str, out: str, preset_name: str, seed: int,
                 log: Log) -> Summary:
    """Write one scenario into out; returns its JSON summary."""
    write_derived = SCENARIO_WRITERS.get(name)
    if write_derived is None:
        raise SystemExit("unknown scenario %r (one of %s)" %
                         (name, ", ".join(SCENARIOS)))
    preset = PRESETS[preset_name]
    base, _ = training.train_base("resnet18", preset.backbones["resnet18"],
                                  preset, seed)
    run = ScenarioRun(ZooWriter(out, log), preset, seed, base,
                      state_dict_of(base))
    base_entry = run.writer.write(VersionSpec("base", 1, "base", "pt"),
                                  sd=run.base_sd)
    summary: Summary = dict(scenario=name, preset=preset_name, seed=seed,
                            out=os.path.abspath(out))
    summary["base"] = run.file_info("base", "model.pt")
    summary["base"]["tensor_bytes"] = base_entry["tensor_bytes"]
    write_derived(run, summary)
    summary["entries"] = run.writer.entries
    return summary
