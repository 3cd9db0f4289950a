"""What the generator makes: per preset, the training sizes and, per
backbone, its width/depth and which derived models to write."""

from dataclasses import dataclass, replace
from typing import Literal

GENERATOR_VERSION = 1

# manifest "scenario" values, one per kind of derived model
ALL_SCENARIO_KINDS = ("base", "formats", "onnx-fused", "transfer", "series",
                      "partial", "full-finetune", "renamed", "int8", "fp16",
                      "keras-layout")

TASK_CLASSES = {"pets": 37, "flowers": 102, "birds": 200, "food": 101,
                "products": 2000}


@dataclass(frozen=True)
class TransferSpec:
    """A new head trained on a frozen backbone."""
    task: str
    classes: int
    head: str  # "linear" or "mlp:<hidden width>"


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone and the models derived from it."""
    width: float = 1.0  # channel multiplier (1.0: torchvision's model)
    depth: float = 1.0  # efficientnet's layer multiplier
    other_formats: tuple[str, ...] = ()  # the base in these formats too
    # a deployment ONNX export (conv+BN folded): its weights in an external
    # data file, inline, or none
    fused_onnx: Literal["external", "inline"] | None = None
    transfers: tuple[TransferSpec, ...] = ()
    # versions of the first transfer model (continued head training)
    series_versions: int = 1
    partial_task: str | None = None  # new head + last block unfrozen
    full_finetune: bool = False  # every weight, small learning rate
    renamed: bool = False  # "module." names in reverse order
    int8: bool = False
    fp16_format: str | None = None  # the fp16 copy's file format


@dataclass(frozen=True)
class ZooPreset:
    input_size: int  # images are input_size x input_size
    batch_size: int
    steps: int  # SGD steps of every training
    base_classes: int
    backbones: dict[str, BackboneSpec]


_R18_FULL = BackboneSpec(
    other_formats=("safetensors", "onnx", "h5", "keras"),
    fused_onnx="external",
    transfers=(TransferSpec("pets", 37, "linear"),
               TransferSpec("flowers", 102, "linear"),
               TransferSpec("birds", 200, "mlp:1024"),
               TransferSpec("products", 2000, "linear")),
    series_versions=10, partial_task="flowers", full_finetune=True,
    renamed=True, int8=True, fp16_format="pt")

PRESETS = {
    "smoke": ZooPreset(
        input_size=32, batch_size=4, steps=2, base_classes=10, backbones={
            "resnet18": replace(
                _R18_FULL, width=0.125, series_versions=3,
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("birds", 200, "mlp:64"))),
            "mobilenet_v2": BackboneSpec(
                width=0.1, fused_onnx="inline",
                transfers=(TransferSpec("pets", 37, "linear"),),
                series_versions=2, fp16_format="safetensors"),
            "efficientnet_b0": BackboneSpec(
                width=0.1, depth=0.25, other_formats=("h5",),
                transfers=(TransferSpec("flowers", 102, "linear"),),
                partial_task="flowers", full_finetune=True, int8=True),
        }),
    "small": ZooPreset(
        input_size=64, batch_size=8, steps=3, base_classes=1000, backbones={
            "resnet18": replace(
                _R18_FULL, width=0.375, series_versions=5,
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("flowers", 102, "linear"),
                           TransferSpec("birds", 200, "mlp:512"))),
            "mobilenet_v2": BackboneSpec(
                width=0.5, other_formats=("onnx", "safetensors"),
                fused_onnx="inline",
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("flowers", 102, "linear")),
                series_versions=4, partial_task="flowers",
                full_finetune=True, renamed=True, int8=True,
                fp16_format="safetensors"),
            "efficientnet_b0": BackboneSpec(
                width=0.5, depth=0.5, other_formats=("h5",),
                fused_onnx="inline",
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("food", 101, "linear")),
                series_versions=3, partial_task="food", full_finetune=True,
                int8=True, fp16_format="pt"),
        }),
    # the fleet benchmark (run-fleet-bench): .pt models only, a full-size
    # resnet18 (~47 MB) and 1-10 MB ones, each family sharing its backbone
    "fleet": ZooPreset(
        input_size=32, batch_size=4, steps=2, base_classes=1000, backbones={
            "resnet18": BackboneSpec(
                transfers=(TransferSpec("pets", 37, "linear"),)),
            "mobilenet_v2": BackboneSpec(
                width=0.5,
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("flowers", 102, "linear"))),
            "efficientnet_b0": BackboneSpec(
                width=0.5, depth=0.5,
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("food", 101, "linear"))),
        }),
    "default": ZooPreset(
        input_size=64, batch_size=8, steps=3, base_classes=1000, backbones={
            "resnet18": _R18_FULL,
            "mobilenet_v2": BackboneSpec(
                other_formats=("onnx", "safetensors", "h5"),
                fused_onnx="inline",
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("flowers", 102, "linear"),
                           TransferSpec("birds", 200, "mlp:1024")),
                series_versions=8, partial_task="flowers",
                full_finetune=True, renamed=True, int8=True,
                fp16_format="safetensors"),
            "efficientnet_b0": BackboneSpec(
                other_formats=("safetensors", "onnx", "h5", "keras"),
                fused_onnx="inline",
                transfers=(TransferSpec("pets", 37, "linear"),
                           TransferSpec("flowers", 102, "linear"),
                           TransferSpec("food", 101, "mlp:512")),
                series_versions=8, partial_task="food", full_finetune=True,
                renamed=True, int8=True, fp16_format="pt"),
        }),
}
