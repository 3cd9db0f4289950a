"""PyTorch's own format: torch.save of a state dict."""

import torch

from ..tensors import StateDict


def save_pt(sd: StateDict, path: str) -> None:
    torch.save(sd, path)
