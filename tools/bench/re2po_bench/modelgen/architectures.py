"""The three backbones (torchvision architectures and tensor names, widths
scaled for the small presets), their heads, and module paths inside them."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision
from torch import nn
from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
from torchvision.models.resnet import BasicBlock, conv1x1

from .presets import BackboneSpec


class ScaledResNet18(nn.Module):
    """torchvision's ResNet-18 with every width scaled (same names)."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        widths = [max(8, int(c * width)) for c in (64, 128, 256, 512)]
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make(widths[0], 1)
        self.layer2 = self._make(widths[1], 2)
        self.layer3 = self._make(widths[2], 2)
        self.layer4 = self._make(widths[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out",
                                        nonlinearity="relu")

    def _make(self, planes: int, stride: int) -> nn.Sequential:
        down = None
        if stride != 1 or self.inplanes != planes:
            down = nn.Sequential(conv1x1(self.inplanes, planes, stride),
                                 nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, down),
                  BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        out: torch.Tensor = self.fc(torch.flatten(self.avgpool(x), 1))
        return out


def _resnet18(spec: BackboneSpec, num_classes: int) -> nn.Module:
    if spec.width == 1.0:
        return torchvision.models.resnet18(weights=None,
                                           num_classes=num_classes)
    return ScaledResNet18(spec.width, num_classes)


def _mobilenet_v2(spec: BackboneSpec, num_classes: int) -> nn.Module:
    return torchvision.models.mobilenet_v2(weights=None,
                                           num_classes=num_classes,
                                           width_mult=spec.width)


def _efficientnet_b0(spec: BackboneSpec, num_classes: int) -> nn.Module:
    if spec.width == 1.0 and spec.depth == 1.0:
        return torchvision.models.efficientnet_b0(weights=None,
                                                  num_classes=num_classes)
    setting, last = _efficientnet_conf("efficientnet_b0",
                                       width_mult=spec.width,
                                       depth_mult=spec.depth)
    return EfficientNet(setting, 0.2, num_classes=num_classes,
                        last_channel=last)


@dataclass(frozen=True)
class Architecture:
    build: Callable[[BackboneSpec, int], nn.Module]
    head_path: str  # the classifier a transfer replaces
    last_blocks: tuple[str, ...]  # unfrozen by a partial fine-tune


ARCHITECTURES = {
    "resnet18": Architecture(_resnet18, "fc", ("layer4",)),
    "mobilenet_v2": Architecture(_mobilenet_v2, "classifier.1",
                                 ("features.17", "features.18")),
    "efficientnet_b0": Architecture(_efficientnet_b0, "classifier.1",
                                    ("features.7", "features.8")),
}


def build_model(arch: str, spec: BackboneSpec, num_classes: int,
                seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return ARCHITECTURES[arch].build(spec, num_classes)


def set_module(model: nn.Module, path: str, new: nn.Module) -> None:
    parent, _, last = path.rpartition(".")
    # a Sequential names its items "0", "1"...: setattr replaces one too
    setattr(model.get_submodule(parent) if parent else model, last, new)


def make_head(in_features: int, classes: int, kind: str,
              seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if kind == "linear":
        return nn.Linear(in_features, classes)
    if kind.startswith("mlp:"):
        hidden = int(kind.split(":", 1)[1])
        return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                             nn.Linear(hidden, classes))
    raise ValueError(kind)


def head_in_features(model: nn.Module, head_path: str) -> int:
    """The input width a replacement head must accept: that of the current
    head's first linear layer."""
    head = model.get_submodule(head_path)
    for m in head.modules():  # the head itself first
        if isinstance(m, nn.Linear):
            return m.in_features
    raise ValueError("no linear layer in head")
