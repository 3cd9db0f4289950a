"""Real (short) training: seeded SGD steps on random data that make a
backbone's weights and BatchNorm statistics non-trivial, and the derived
models: transfer, continued head training, partial and full fine-tunes."""

import copy
import zlib
from collections.abc import Iterable, Iterator

import torch
from torch import nn

from .architectures import (ARCHITECTURES, build_model, head_in_features,
                            make_head, set_module)
from .presets import BackboneSpec, TransferSpec, ZooPreset

Batch = tuple[torch.Tensor, torch.Tensor]


def configure_torch(threads: int) -> None:
    """Same bytes on every run: fixed thread count, deterministic kernels."""
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def seed_of(*parts: object) -> int:
    """A stable 31-bit seed derived from names (independent of run order)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode()) & 0x7FFFFFFF


def batches(seed: int, n: int, preset: ZooPreset,
            classes: int) -> Iterator[Batch]:
    g = torch.Generator().manual_seed(seed)
    size = preset.input_size
    for _ in range(n):
        x = torch.randn(preset.batch_size, 3, size, size, generator=g)
        y = torch.randint(0, classes, (preset.batch_size,), generator=g)
        yield x, y


def train_steps(model: nn.Module, params: Iterable[nn.Parameter],
                data: Iterable[Batch], lr: float,
                momentum: float = 0.9) -> list[float]:
    """A few real SGD steps; returns the losses (for the log)."""
    trainable = [p for p in params if p.requires_grad]
    opt = torch.optim.SGD(trainable, lr=lr, momentum=momentum)
    losses = []
    for x, y in data:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(round(float(loss), 4))
    return losses


def _freeze_all(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad_(False)


def _unfreeze(module: nn.Module) -> None:
    for p in module.parameters():
        p.requires_grad_(True)


def train_base(arch: str, spec: BackboneSpec, preset: ZooPreset,
               seed: int) -> tuple[nn.Module, list[float]]:
    model = build_model(arch, spec, preset.base_classes,
                        seed_of(seed, arch, "init"))
    model.train()
    losses = train_steps(model, model.parameters(),
                         batches(seed_of(seed, arch, "data"), preset.steps,
                                 preset, preset.base_classes), lr=0.01)
    model.eval()
    return model, losses


def _train_head_only(model: nn.Module, head: nn.Module,
                     data: Iterable[Batch]) -> None:
    """Frozen backbone in eval mode (BN statistics untouched)."""
    _freeze_all(model)
    _unfreeze(head)
    model.eval()
    head.train()
    train_steps(model, head.parameters(), data, lr=0.01)
    model.eval()


def transfer(base: nn.Module, arch: str, preset: ZooPreset, seed: int,
             spec: TransferSpec) -> nn.Module:
    """Frozen backbone, new trained head."""
    head_path = ARCHITECTURES[arch].head_path
    model = copy.deepcopy(base)
    in_features = head_in_features(model, head_path)
    head = make_head(in_features, spec.classes, spec.head,
                     seed_of(seed, arch, spec.task, "head"))
    set_module(model, head_path, head)
    _train_head_only(model, head, batches(
        seed_of(seed, arch, spec.task, "data"), preset.steps, preset,
        spec.classes))
    return model


def continue_head(model: nn.Module, arch: str, preset: ZooPreset, seed: int,
                  spec: TransferSpec, version: int) -> nn.Module:
    """The next version of a transfer model: only its head trains on."""
    model = copy.deepcopy(model)
    head = model.get_submodule(ARCHITECTURES[arch].head_path)
    _train_head_only(model, head, batches(
        seed_of(seed, arch, spec.task, "v", version), preset.steps, preset,
        spec.classes))
    return model


def partial_finetune(base: nn.Module, arch: str, preset: ZooPreset,
                     seed: int, task: str, classes: int) -> nn.Module:
    """New head + last block unfrozen (that block's BN stats update too)."""
    layout = ARCHITECTURES[arch]
    model = copy.deepcopy(base)
    in_features = head_in_features(model, layout.head_path)
    head = make_head(in_features, classes, "linear",
                     seed_of(seed, arch, task, "partial-head"))
    set_module(model, layout.head_path, head)
    _freeze_all(model)
    model.eval()
    params = list(head.parameters())
    for prefix in layout.last_blocks:
        block = model.get_submodule(prefix)
        _unfreeze(block)
        block.train()
        params += list(block.parameters())
    _unfreeze(head)
    head.train()
    train_steps(model, params,
                batches(seed_of(seed, arch, task, "partial"), preset.steps,
                        preset, classes), lr=0.01)
    model.eval()
    return model


def full_finetune(base: nn.Module, arch: str, preset: ZooPreset,
                  seed: int) -> nn.Module:
    """Every weight (and BN statistic) changes slightly: lr 1e-4."""
    model = copy.deepcopy(base)
    for prm in model.parameters():
        prm.requires_grad_(True)
    model.train()
    train_steps(model, model.parameters(),
                batches(seed_of(seed, arch, "full-ft"), preset.steps, preset,
                        preset.base_classes), lr=1e-4, momentum=0.0)
    model.eval()
    return model
