#!/usr/bin/python3
"""Writes an fp32 PyTorch model and its fp16 and bf16 copies made by torch
itself (.half(), .to(torch.bfloat16)) for tests/fs/derived_test.cc:

  OUT/fp32/model.pt, OUT/fp16/model.pt, OUT/bf16/model.pt
      a small convolutional net's state dict: weights ~N(0, 0.05), one
      tensor of 700x1000 (its pieces do not divide into 1 MiB) holding NaN,
      +-inf, -0.0, values fp16 can only hold as subnormals, values that
      underflow to zero and values that overflow to infinity;
  OUT/noise32/noise.pt, OUT/noise16/noise.pt
      one tensor of random bit patterns (every kind of NaN among them),
      stored raw because it does not compress, and its fp16 copy.

Usage: make_cast_models.py OUT
"""
import os
import sys

import torch


def model_state() -> dict:
    g = torch.Generator().manual_seed(18)
    state = {
        "features.0.weight": torch.randn(64, 3, 7, 7, generator=g) * 0.05,
        "features.0.bias": torch.randn(64, generator=g) * 0.05,
        "features.3.weight": torch.randn(128, 64, 3, 3, generator=g) * 0.05,
        "classifier.weight": torch.randn(700, 1000, generator=g) * 0.05,
        "classifier.bias": torch.randn(700, generator=g) * 0.05,
        "steps": torch.tensor([12345], dtype=torch.int64),
    }
    w = state["classifier.weight"].view(-1)
    specials = [float("nan"), float("inf"), float("-inf"), -0.0, 3e-6, -4e-7, 1e-9,
                -2e-10, 70000.0, -65519.0, 65520.0, 5.96e-8, 2.98e-8]
    for i, value in enumerate(specials):
        w[1000 * i + 7] = value
    return state


def save(state: dict, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(state, path)


def cast(state: dict, dtype: torch.dtype) -> dict:
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def main() -> None:
    out = sys.argv[1]
    state = model_state()
    save(state, os.path.join(out, "fp32", "model.pt"))
    save(cast(state, torch.float16), os.path.join(out, "fp16", "model.pt"))
    save(cast(state, torch.bfloat16), os.path.join(out, "bf16", "model.pt"))
    g = torch.Generator().manual_seed(19)
    bits = torch.randint(-2**31, 2**31 - 1, (512, 768), dtype=torch.int32, generator=g)
    noise = {"noise": bits.view(torch.float32)}
    save(noise, os.path.join(out, "noise32", "noise.pt"))
    save(cast(noise, torch.float16), os.path.join(out, "noise16", "noise.pt"))


if __name__ == "__main__":
    main()
