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
      stored raw because it does not compress, and its fp16 copy;
  OUT/other16/model.pt
      an fp16 model of other weights with the same names and shapes;
  OUT/fp16-renamed/model.pt
      the fp16 copy as data-parallel training saves it: every name with
      "module." in front, the order reversed;
  OUT/int8/model.pt, OUT/uint8/model.pt
      the fp32 model's weights quantized per tensor: symmetric int8 as
      round(w / scale) with the scale beside it (name + ".scale"), and
      asymmetric uint8 by torch.quantize_per_tensor (its int_repr);
  OUT/int8-ddp/model.pt
      the int8 copy as DataParallel saves it: "module." before every name;
  OUT/half/model.pt, OUT/up32/model.pt
      another model written in fp16, and its fp32 copy (.float());
  OUT/bn/model.pt, OUT/bn-onnx/model.onnx
      a small convolutional net with BatchNorm layers (running statistics
      and affine parameters set away from their defaults): its fp32 state
      dict, and its ONNX export by torch.onnx with constant folding in eval
      mode, which folds each BatchNorm into the convolution before it;
  OUT/convnet/model.pt, OUT/keras/model.h5
      a net of tensors under and over 1 MiB, and the same weights in Keras layout
      written with h5py: convolution kernels as HWIO (one square, with as
      many inputs as outputs, so that several layouts fit its shape), the
      dense kernel transposed;
  OUT/linear32/model.pt, OUT/ao-tensor/model.pt, OUT/ao-channel/model.pt
      a net of Linear layers (one of 700x1000), and its dynamic int8
      quantizations by torch.ao: per tensor (the default qconfig) and per
      channel (per_channel_dynamic_qconfig), saved as torch saves them:
      QInt8Storage weights named "<layer>._packed_params._packed_params.0".

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


def quantized(state: dict, signed: bool) -> dict:
    out = {}
    for name, t in state.items():
        if not (t.is_floating_point() and t.dim() >= 2):
            out[name] = t
            continue
        finite = torch.where(torch.isfinite(t), t, torch.zeros_like(t)).clamp(-1, 1)
        if signed:
            scale = finite.abs().max().clamp(min=1e-12) / 127.0
            out[name] = torch.clamp(torch.round(finite / scale), -127, 127).to(torch.int8)
            out[name + ".scale"] = scale.reshape(())
        else:
            low, high = float(finite.min()), float(finite.max())
            scale = (high - low) / 255.0
            zero_point = int(round(-low / scale))
            q = torch.quantize_per_tensor(finite, scale, zero_point, torch.quint8)
            out[name] = q.int_repr().contiguous()
            out[name + ".scale"] = torch.tensor(scale)
            out[name + ".zero_point"] = torch.tensor(zero_point)
    return out


class BnNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layers = []
        for c_in, c_out in ((3, 32), (32, 64), (64, 128), (128, 128)):
            layers += [torch.nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                       torch.nn.BatchNorm2d(c_out), torch.nn.ReLU()]
        self.features = torch.nn.Sequential(*layers)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


def write_bn_model(out: str) -> None:
    torch.manual_seed(20)
    net = BnNet()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.weight[::7] *= -1  # a negative factor flips a channel's signs
                m.bias.uniform_(-0.1, 0.1)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    net.eval()
    save(net.state_dict(), os.path.join(out, "bn", "model.pt"))
    os.makedirs(os.path.join(out, "bn-onnx"), exist_ok=True)
    torch.onnx.export(net, torch.zeros(1, 3, 32, 32), os.path.join(out, "bn-onnx", "model.onnx"),
                      opset_version=13, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.EVAL)


def write_keras_copy(out: str) -> None:
    g = torch.Generator().manual_seed(22)
    state = {
        "conv1.weight": torch.randn(64, 3, 7, 7, generator=g) * 0.05,
        "conv2.weight": torch.randn(128, 64, 3, 3, generator=g) * 0.05,
        "conv3.weight": torch.randn(128, 128, 3, 3, generator=g) * 0.05,
        # Over 1 MiB: stored in 2 and 3 pieces, each permuted piece drawing
        # on all of them.
        "conv4.weight": torch.randn(256, 128, 3, 3, generator=g) * 0.05,
        "conv5.weight": torch.randn(256, 256, 3, 3, generator=g) * 0.05,
        "fc.weight": torch.randn(100, 1000, generator=g) * 0.05,
        "fc.bias": torch.randn(100, generator=g) * 0.05,
    }
    save(state, os.path.join(out, "convnet", "model.pt"))
    import h5py  # only this copy needs it
    os.makedirs(os.path.join(out, "keras"), exist_ok=True)
    with h5py.File(os.path.join(out, "keras", "model.h5"), "w") as f:
        weights = f.create_group("model_weights")
        for layer in ("conv1", "conv2", "conv3", "conv4", "conv5"):
            kernel = state[layer + ".weight"].permute(2, 3, 1, 0).contiguous().numpy()
            weights.create_dataset("%s/%s/kernel:0" % (layer, layer), data=kernel)
        weights.create_dataset("fc/fc/kernel:0", data=state["fc.weight"].t().contiguous().numpy())
        weights.create_dataset("fc/fc/bias:0", data=state["fc.bias"].numpy())


def write_ao_quantized(out: str) -> None:
    torch.manual_seed(24)
    net = torch.nn.Sequential(torch.nn.Linear(1000, 700), torch.nn.ReLU(),
                              torch.nn.Linear(700, 300), torch.nn.ReLU(), torch.nn.Linear(300, 10))
    save(net.state_dict(), os.path.join(out, "linear32", "model.pt"))
    quantization = torch.ao.quantization
    per_tensor = quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
    save(per_tensor.state_dict(), os.path.join(out, "ao-tensor", "model.pt"))
    per_channel = quantization.quantize_dynamic(
        net, {torch.nn.Linear: quantization.per_channel_dynamic_qconfig}, dtype=torch.qint8)
    save(per_channel.state_dict(), os.path.join(out, "ao-channel", "model.pt"))


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
    g = torch.Generator().manual_seed(23)
    other = {k: (torch.randn(v.shape, generator=g) * 0.05).half() if v.is_floating_point() else v
             for k, v in state.items()}
    save(other, os.path.join(out, "other16", "model.pt"))
    renamed = {"module." + k: v for k, v in reversed(list(cast(state, torch.float16).items()))}
    save(renamed, os.path.join(out, "fp16-renamed", "model.pt"))
    save(quantized(state, True), os.path.join(out, "int8", "model.pt"))
    save(quantized(state, False), os.path.join(out, "uint8", "model.pt"))
    ddp = {"module." + k: v for k, v in quantized(state, True).items()}
    save(ddp, os.path.join(out, "int8-ddp", "model.pt"))
    g = torch.Generator().manual_seed(21)
    half = {"up." + k: (torch.randn(v.shape, generator=g) * 0.05).half()
            for k, v in state.items() if v.is_floating_point()}
    save(half, os.path.join(out, "half", "model.pt"))
    save(cast(half, torch.float32), os.path.join(out, "up32", "model.pt"))
    write_bn_model(out)
    write_keras_copy(out)
    write_ao_quantized(out)


if __name__ == "__main__":
    main()
