#!/usr/bin/python3
"""Generate a reproducible edge model zoo for the Re2po benchmarks and tests.

Run with Debian's interpreter (it is the one that has python3-torch):

    /usr/bin/python3 tools/bench/gen_models.py --preset smoke --out /tmp/zoo

Layout: <out>/<model>/<version>/<file>, plus <out>/manifest.json.  Every
run with the same preset, seed and thread count writes the same bytes.

Scenarios (manifest "scenario" key):
  base           seeded init + a few real SGD steps on random data
  formats        the base weights in another file format (bytes identical)
  onnx-fused     a deployment ONNX export (conv+BN folded, external data)
  transfer       frozen backbone, new head, a few steps on the head only
  series         versions 2..N of a transfer model: continued head training
  partial        new head and the last block unfrozen
  full-finetune  every weight trained with a small learning rate
  renamed        base weights, names prefixed "module.", reverse order
  int8           per-tensor symmetric int8 weights (+ fp32 scales)
  fp16           base weights cast to float16

--scenario NAME writes one small test set instead of the zoo and prints a
JSON summary on stdout:
  resnet18-transfer  base/1/model.pt and pets/1/model.pt
  resnet18-renamed   base/1/model.pt and renamed/1/model.pt
  resnet18-formats   base/1/model.pt, safetensors/1/model.safetensors,
                     onnx/1/model.onnx, h5/1/model.h5 (same tensor bytes)
"""

import argparse
import collections
import copy
import hashlib
import io
import json
import os
import struct
import sys
import time
import warnings
import zlib

GENERATOR_VERSION = 1

# ---------------------------------------------------------------- presets
#
# Per backbone: width/depth multipliers and what derived models to make.
# "transfers": (task, classes, head) with head "linear" or "mlp:<hidden>".

_R18_FULL = {
    "formats": ["safetensors", "onnx", "h5"],
    "onnx_external": True,
    "transfers": [("pets", 37, "linear"), ("flowers", 102, "linear"),
                  ("birds", 200, "mlp:1024"), ("products", 2000, "linear")],
    "series": 10,
    "partial": "flowers",
    "full": True, "renamed": True, "int8": True, "fp16": "pt",
}

PRESETS = {
    "smoke": {
        "input": 32, "batch": 4, "steps": 2, "base_classes": 10,
        "backbones": {
            "resnet18": dict(_R18_FULL, width=0.125, series=3,
                             transfers=[("pets", 37, "linear"),
                                        ("birds", 200, "mlp:64")]),
            "mobilenet_v2": {
                "width": 0.1, "formats": [], "onnx_fused": True,
                "transfers": [("pets", 37, "linear")], "series": 2,
                "partial": None, "full": False, "renamed": False,
                "int8": False, "fp16": "safetensors",
            },
            "efficientnet_b0": {
                "width": 0.1, "depth": 0.25, "formats": ["h5"],
                "transfers": [("flowers", 102, "linear")], "series": 1,
                "partial": "flowers", "full": True, "renamed": False,
                "int8": True, "fp16": None,
            },
        },
    },
    "small": {
        "input": 64, "batch": 8, "steps": 3, "base_classes": 1000,
        "backbones": {
            "resnet18": dict(_R18_FULL, width=0.375, series=5,
                             transfers=[("pets", 37, "linear"),
                                        ("flowers", 102, "linear"),
                                        ("birds", 200, "mlp:512")]),
            "mobilenet_v2": {
                "width": 0.5, "formats": ["onnx", "safetensors"],
                "onnx_fused": True,
                "transfers": [("pets", 37, "linear"),
                              ("flowers", 102, "linear")],
                "series": 4, "partial": "flowers", "full": True,
                "renamed": True, "int8": True, "fp16": "safetensors",
            },
            "efficientnet_b0": {
                "width": 0.5, "depth": 0.5, "formats": ["h5"],
                "onnx_fused": True,
                "transfers": [("pets", 37, "linear"),
                              ("food", 101, "linear")],
                "series": 3, "partial": "food", "full": True,
                "renamed": False, "int8": True, "fp16": "pt",
            },
        },
    },
    "default": {
        "input": 64, "batch": 8, "steps": 3, "base_classes": 1000,
        "backbones": {
            "resnet18": dict(_R18_FULL, width=1.0),
            "mobilenet_v2": {
                "width": 1.0, "formats": ["onnx", "safetensors", "h5"],
                "onnx_fused": True,
                "transfers": [("pets", 37, "linear"),
                              ("flowers", 102, "linear"),
                              ("birds", 200, "mlp:1024")],
                "series": 8, "partial": "flowers", "full": True,
                "renamed": True, "int8": True, "fp16": "safetensors",
            },
            "efficientnet_b0": {
                "width": 1.0, "depth": 1.0,
                "formats": ["safetensors", "onnx", "h5"],
                "onnx_fused": True,
                "transfers": [("pets", 37, "linear"),
                              ("flowers", 102, "linear"),
                              ("food", 101, "mlp:512")],
                "series": 8, "partial": "food", "full": True,
                "renamed": True, "int8": True, "fp16": "pt",
            },
        },
    },
}

TASK_CLASSES = {"pets": 37, "flowers": 102, "birds": 200, "food": 101,
                "products": 2000}

SCENARIOS = ("resnet18-transfer", "resnet18-renamed", "resnet18-formats",
             "resnet18-finetuned")
ALL_SCENARIO_KINDS = ("base", "formats", "onnx-fused", "transfer", "series",
                      "partial", "full-finetune", "renamed", "int8", "fp16")

FILE_NAMES = {"pt": "model.pt", "safetensors": "model.safetensors",
              "onnx": "model.onnx", "h5": "model.h5"}


def _log(msg):
    if not _QUIET:
        print(msg, file=sys.stderr, flush=True)


_QUIET = False


def _seed_of(*parts):
    """A stable 31-bit seed derived from names (independent of run order)."""
    return zlib.crc32("/".join(str(p) for p in parts).encode()) & 0x7FFFFFFF


# ---------------------------------------------------------------- torch setup

def _import_torch(threads):
    warnings.filterwarnings("ignore")
    import torch
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return torch


# ---------------------------------------------------------------- models

def _resnet18(torch, width, num_classes):
    import torchvision
    if width == 1.0:
        return torchvision.models.resnet18(weights=None,
                                           num_classes=num_classes)
    from torchvision.models.resnet import BasicBlock, conv1x1
    nn = torch.nn

    class ResNetW(nn.Module):
        """torchvision's ResNet-18 with every width scaled (same names)."""

        def __init__(self):
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

        def _make(self, planes, stride):
            down = None
            if stride != 1 or self.inplanes != planes:
                down = nn.Sequential(conv1x1(self.inplanes, planes, stride),
                                     nn.BatchNorm2d(planes))
            layers = [BasicBlock(self.inplanes, planes, stride, down),
                      BasicBlock(planes, planes)]
            self.inplanes = planes
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNetW()


def _mobilenet_v2(torch, width, num_classes):
    import torchvision
    return torchvision.models.mobilenet_v2(weights=None,
                                           num_classes=num_classes,
                                           width_mult=width)


def _efficientnet_b0(torch, width, depth, num_classes):
    import torchvision
    if width == 1.0 and depth == 1.0:
        return torchvision.models.efficientnet_b0(weights=None,
                                                  num_classes=num_classes)
    from torchvision.models.efficientnet import (EfficientNet,
                                                 _efficientnet_conf)
    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=width,
                                       depth_mult=depth)
    return EfficientNet(setting, 0.2, num_classes=num_classes,
                        last_channel=last)


# head module path, last block prefixes (for partial fine-tuning)
ARCH = {
    "resnet18": ("fc", ["layer4"]),
    "mobilenet_v2": ("classifier.1", ["features.17", "features.18"]),
    "efficientnet_b0": ("classifier.1", ["features.7", "features.8"]),
}


def build_model(torch, arch, cfg, num_classes, seed):
    torch.manual_seed(seed)
    if arch == "resnet18":
        return _resnet18(torch, cfg.get("width", 1.0), num_classes)
    if arch == "mobilenet_v2":
        return _mobilenet_v2(torch, cfg.get("width", 1.0), num_classes)
    if arch == "efficientnet_b0":
        return _efficientnet_b0(torch, cfg.get("width", 1.0),
                                cfg.get("depth", 1.0), num_classes)
    raise ValueError(arch)


def _get_module(model, path):
    m = model
    for part in path.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def _set_module(model, path, new):
    parent, _, last = path.rpartition(".")
    p = _get_module(model, parent) if parent else model
    if last.isdigit():
        p[int(last)] = new
    else:
        setattr(p, last, new)


def make_head(torch, in_features, classes, kind, seed):
    torch.manual_seed(seed)
    nn = torch.nn
    if kind == "linear":
        return nn.Linear(in_features, classes)
    if kind.startswith("mlp:"):
        hidden = int(kind.split(":", 1)[1])
        return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                             nn.Linear(hidden, classes))
    raise ValueError(kind)


def _batches(torch, seed, n, batch, size, classes):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(batch, 3, size, size, generator=g)
        y = torch.randint(0, classes, (batch,), generator=g)
        yield x, y


def train_steps(torch, model, params, batches, lr, momentum=0.9):
    """A few real SGD steps; returns the losses (for the log)."""
    params = [p for p in params if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(round(float(loss), 4))
    return losses


def _freeze_all(model):
    for p in model.parameters():
        p.requires_grad_(False)


def _unfreeze(module):
    for p in module.parameters():
        p.requires_grad_(True)


# ---------------------------------------------------------------- formats

def state_dict_of(model):
    """An ordered state dict of contiguous tensors that own their storage."""
    return collections.OrderedDict(
        (k, v.detach().clone().contiguous()) for k, v in
        model.state_dict().items())


def save_pt(torch, sd, path):
    torch.save(sd, path)


_ST_DTYPES = {"torch.float32": "F32", "torch.float16": "F16",
              "torch.bfloat16": "BF16", "torch.float64": "F64",
              "torch.int64": "I64", "torch.int32": "I32",
              "torch.int16": "I16", "torch.int8": "I8", "torch.uint8": "U8",
              "torch.bool": "BOOL"}
_ST_NUMPY = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8",
             "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1",
             "BOOL": "?"}


def tensor_bytes(t):
    """Raw little-endian bytes of a CPU tensor (x86 is little-endian)."""
    return t.contiguous().numpy().tobytes()


def save_safetensors(sd, path, metadata=None):
    """Write the safetensors format by hand (the package is not installed).

    8-byte little-endian header length, JSON header padded with spaces to a
    multiple of 8, then the tensors' raw bytes back to back.
    """
    header = collections.OrderedDict()
    if metadata:
        header["__metadata__"] = metadata
    blobs, off = [], 0
    for name, t in sd.items():
        data = tensor_bytes(t)
        header[name] = {"dtype": _ST_DTYPES[str(t.dtype)],
                        "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Parse a safetensors file: returns {name: (dtype, shape, bytes)}."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = collections.OrderedDict()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = (info["dtype"], tuple(info["shape"]),
                     data[base + a:base + b])
    return out


def save_h5(sd, path):
    import h5py
    with h5py.File(path, "w", track_order=False) as f:
        for name, t in sd.items():
            # one contiguous, uncompressed dataset per tensor
            f.create_dataset(name, data=t.numpy(), track_times=False)


def export_onnx(torch, model, input_size, fused):
    """torch.onnx.export at opset 13; returns an onnx.ModelProto.

    fused=False keeps every weight as exported by the state dict (eval
    semantics, no conv+BN folding) so its bytes match the .pt; fused=True
    is the default deployment export (BN folded into the convs).
    """
    import onnx
    model = copy.deepcopy(model).eval()
    buf = io.BytesIO()
    kwargs = dict(opset_version=13, input_names=["input"],
                  output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    if not fused:
        kwargs.update(training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False)
    x = torch.zeros(1, 3, input_size, input_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, buf, **kwargs)
    return onnx.load_from_string(buf.getvalue())


def save_onnx(proto, path, external=False):
    import onnx
    if external:
        onnx.save_model(proto, path, save_as_external_data=True,
                        all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data",
                        size_threshold=1024)
    else:
        onnx.save_model(proto, path)


def _onnx_tensors(proto):
    """The initializers of an in-memory ONNX model as torch tensors."""
    import torch
    from onnx import numpy_helper
    return collections.OrderedDict(
        (i.name, torch.from_numpy(numpy_helper.to_array(i).copy()))
        for i in proto.graph.initializer)


def quantize_int8(torch, sd):
    """Per-tensor symmetric int8 for every float tensor with >= 2 dims."""
    out = collections.OrderedDict()
    for name, t in sd.items():
        if t.is_floating_point() and t.dim() >= 2:
            scale = t.abs().max().clamp(min=1e-12) / 127.0
            q = torch.clamp(torch.round(t / scale), -127, 127).to(torch.int8)
            out[name] = q.contiguous()
            out[name + ".scale"] = scale.to(torch.float32).reshape(())
        else:
            out[name] = t
    return out


def to_fp16(torch, sd):
    return collections.OrderedDict(
        (k, v.half() if v.is_floating_point() else v) for k, v in sd.items())


def renamed(sd):
    return collections.OrderedDict(
        ("module." + k, v) for k, v in reversed(list(sd.items())))


# ---------------------------------------------------------------- the zoo

def _tensor_digests(sd):
    return {hashlib.sha256(tensor_bytes(t)).hexdigest(): t.numel() *
            t.element_size() for t in sd.values()}


class Zoo:
    """Writes models and accumulates manifest entries."""

    def __init__(self, torch, out, preset):
        self.torch = torch
        self.out = out
        self.preset = preset
        self.entries = []

    def write(self, model_name, version, scenario, fmt, sd=None, proto=None,
              parent=None, parent_sd=None, extra=None, external=False,
              file_name=None):
        vdir = os.path.join(self.out, model_name, str(version))
        os.makedirs(vdir, exist_ok=True)
        fname = file_name or FILE_NAMES[fmt]
        path = os.path.join(vdir, fname)
        if fmt == "pt":
            save_pt(self.torch, sd, path)
        elif fmt == "safetensors":
            save_safetensors(sd, path, metadata={"format": "pt"})
        elif fmt == "h5":
            save_h5(sd, path)
        elif fmt == "onnx":
            sd = _onnx_tensors(proto)
            save_onnx(proto, path, external=external)
        else:
            raise ValueError(fmt)
        files = []
        for f in sorted(os.listdir(vdir)):
            p = os.path.join(vdir, f)
            with open(p, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            files.append({"path": os.path.relpath(p, self.out),
                          "bytes": os.path.getsize(p), "sha256": digest})
        entry = collections.OrderedDict(
            model=model_name, version=str(version), scenario=scenario,
            format=fmt, parent=parent, files=files,
            bytes=sum(f["bytes"] for f in files))
        if sd is not None:
            entry["tensor_count"] = len(sd)
            entry["tensor_bytes"] = sum(t.numel() * t.element_size()
                                        for t in sd.values())
            if parent_sd is not None:
                # tensor bytes whose content is not in the parent (by hash,
                # names ignored): the ideal incremental cost of this version
                have = _tensor_digests(parent_sd)
                entry["new_tensor_bytes"] = sum(
                    n for d, n in _tensor_digests(sd).items() if d not in have)
        if extra:
            entry.update(extra)
        self.entries.append(entry)
        _log("  %-34s %-13s %-11s %12d B" % (
            "%s/%s" % (model_name, version), scenario, fmt, entry["bytes"]))
        return entry


def _head_bytes(model, head_path):
    head = _get_module(model, head_path)
    names = [head_path + "." + k for k in head.state_dict().keys()]
    nbytes = sum(v.numel() * v.element_size()
                 for v in head.state_dict().values())
    return names, nbytes


def train_base(torch, arch, cfg, p, seed):
    model = build_model(torch, arch, cfg, p["base_classes"],
                        _seed_of(seed, arch, "init"))
    model.train()
    losses = train_steps(torch, model, model.parameters(),
                         _batches(torch, _seed_of(seed, arch, "data"),
                                  p["steps"], p["batch"], p["input"],
                                  p["base_classes"]), lr=0.01)
    model.eval()
    return model, losses


def transfer(torch, base, arch, p, seed, task, classes, head_kind, steps=None):
    """Frozen backbone (eval mode, BN stats untouched), new trained head."""
    head_path, _ = ARCH[arch]
    model = copy.deepcopy(base)
    in_features = _first_linear(_get_module(model, head_path)).in_features
    head = make_head(torch, in_features, classes, head_kind,
                     _seed_of(seed, arch, task, "head"))
    _set_module(model, head_path, head)
    _freeze_all(model)
    _unfreeze(head)
    model.eval()
    head.train()
    train_steps(torch, model, head.parameters(),
                _batches(torch, _seed_of(seed, arch, task, "data"),
                         steps or p["steps"], p["batch"], p["input"], classes),
                lr=0.01)
    model.eval()
    return model


def continue_head(torch, model, arch, p, seed, task, classes, version):
    head_path, _ = ARCH[arch]
    model = copy.deepcopy(model)
    head = _get_module(model, head_path)
    _freeze_all(model)
    _unfreeze(head)
    model.eval()
    head.train()
    train_steps(torch, model, head.parameters(),
                _batches(torch, _seed_of(seed, arch, task, "v", version),
                         p["steps"], p["batch"], p["input"], classes),
                lr=0.01)
    model.eval()
    return model


def partial_finetune(torch, base, arch, p, seed, task, classes):
    """New head + last block unfrozen (that block's BN stats update too)."""
    head_path, last = ARCH[arch]
    model = copy.deepcopy(base)
    in_features = _first_linear(_get_module(model, head_path)).in_features
    head = make_head(torch, in_features, classes, "linear",
                     _seed_of(seed, arch, task, "partial-head"))
    _set_module(model, head_path, head)
    _freeze_all(model)
    model.eval()
    params = list(head.parameters())
    for prefix in last:
        block = _get_module(model, prefix)
        _unfreeze(block)
        block.train()
        params += list(block.parameters())
    _unfreeze(head)
    head.train()
    train_steps(torch, model, params,
                _batches(torch, _seed_of(seed, arch, task, "partial"),
                         p["steps"], p["batch"], p["input"], classes),
                lr=0.01)
    model.eval()
    return model


def full_finetune(torch, base, arch, p, seed):
    """Every weight (and BN statistic) changes slightly: lr 1e-4."""
    model = copy.deepcopy(base)
    for prm in model.parameters():
        prm.requires_grad_(True)
    model.train()
    train_steps(torch, model, model.parameters(),
                _batches(torch, _seed_of(seed, arch, "full-ft"),
                         p["steps"], p["batch"], p["input"],
                         p["base_classes"]), lr=1e-4, momentum=0.0)
    model.eval()
    return model


def _first_linear(head):
    if hasattr(head, "in_features"):
        return head
    for m in head.modules():
        if hasattr(m, "in_features"):
            return m
    raise ValueError("no linear layer in head")


def build_zoo(torch, out, preset, seed):
    p = PRESETS[preset]
    zoo = Zoo(torch, out, preset)
    for arch, cfg in p["backbones"].items():
        t0 = time.time()
        head_path, _ = ARCH[arch]
        base, losses = train_base(torch, arch, cfg, p, seed)
        base_sd = state_dict_of(base)
        ref = "%s@1" % arch
        _log("%s: base losses %s" % (arch, losses))
        zoo.write(arch, 1, "base", "pt", sd=base_sd)
        for fmt in cfg.get("formats", []):
            name = "%s-%s" % (arch, fmt)
            if fmt == "onnx":
                zoo.write(name, 1, "formats", "onnx",
                          proto=export_onnx(torch, base, p["input"], False),
                          parent=ref, parent_sd=base_sd,
                          extra={"bn_fused": False})
            else:
                zoo.write(name, 1, "formats", fmt, sd=base_sd, parent=ref,
                          parent_sd=base_sd)
        if cfg.get("onnx_external"):
            zoo.write(arch + "-onnx-ext", 1, "onnx-fused", "onnx",
                      proto=export_onnx(torch, base, p["input"], True),
                      parent=ref, parent_sd=base_sd, external=True,
                      extra={"bn_fused": True, "external_data": True})
        elif cfg.get("onnx_fused"):
            zoo.write(arch + "-onnx-fused", 1, "onnx-fused", "onnx",
                      proto=export_onnx(torch, base, p["input"], True),
                      parent=ref, parent_sd=base_sd,
                      extra={"bn_fused": True})
        transfers = {}
        for task, classes, kind in cfg.get("transfers", []):
            m = transfer(torch, base, arch, p, seed, task, classes, kind)
            transfers[task] = (m, classes)
            names, hbytes = _head_bytes(m, head_path)
            zoo.write("%s-%s" % (arch, task), 1, "transfer", "pt",
                      sd=state_dict_of(m), parent=ref, parent_sd=base_sd,
                      extra={"task": task, "classes": classes,
                             "head": kind, "head_tensors": names,
                             "head_bytes": hbytes})
        if cfg.get("transfers") and cfg.get("series", 1) > 1:
            task, classes, _ = cfg["transfers"][0]
            m = transfers[task][0]
            prev_sd = state_dict_of(m)
            for v in range(2, cfg["series"] + 1):
                m = continue_head(torch, m, arch, p, seed, task, classes, v)
                sd = state_dict_of(m)
                names, hbytes = _head_bytes(m, head_path)
                zoo.write("%s-%s" % (arch, task), v, "series", "pt", sd=sd,
                          parent="%s-%s@%d" % (arch, task, v - 1),
                          parent_sd=prev_sd,
                          extra={"task": task, "head_tensors": names,
                                 "head_bytes": hbytes})
                prev_sd = sd
        if cfg.get("partial"):
            task = cfg["partial"]
            classes = TASK_CLASSES[task]
            m = partial_finetune(torch, base, arch, p, seed, task, classes)
            names, hbytes = _head_bytes(m, head_path)
            zoo.write("%s-%s-partial" % (arch, task), 1, "partial", "pt",
                      sd=state_dict_of(m), parent=ref, parent_sd=base_sd,
                      extra={"task": task, "unfrozen": ARCH[arch][1],
                             "head_tensors": names, "head_bytes": hbytes})
        if cfg.get("full"):
            m = full_finetune(torch, base, arch, p, seed)
            zoo.write(arch + "-finetuned", 1, "full-finetune", "pt",
                      sd=state_dict_of(m), parent=ref, parent_sd=base_sd)
        if cfg.get("renamed"):
            zoo.write(arch + "-ddp", 1, "renamed", "pt", sd=renamed(base_sd),
                      parent=ref, parent_sd=base_sd)
        if cfg.get("int8"):
            zoo.write(arch + "-int8", 1, "int8", "pt",
                      sd=quantize_int8(torch, base_sd), parent=ref,
                      parent_sd=base_sd)
        if cfg.get("fp16"):
            zoo.write(arch + "-fp16", 1, "fp16", cfg["fp16"],
                      sd=to_fp16(torch, base_sd), parent=ref,
                      parent_sd=base_sd)
        _log("%s: done in %.1f s" % (arch, time.time() - t0))
    manifest = collections.OrderedDict(
        generator="tools/bench/gen_models.py",
        generator_version=GENERATOR_VERSION, preset=preset, seed=seed,
        torch=torch.__version__, input_size=p["input"],
        scenarios=sorted({e["scenario"] for e in zoo.entries}),
        total_bytes=sum(e["bytes"] for e in zoo.entries),
        file_count=sum(len(e["files"]) for e in zoo.entries),
        models=zoo.entries)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


# ---------------------------------------------------------------- scenarios

def _r18_base(torch, preset, seed):
    p = PRESETS[preset]
    cfg = p["backbones"]["resnet18"]
    base, _ = train_base(torch, "resnet18", cfg, p, seed)
    return p, base, state_dict_of(base)


def _file_info(out, *rel):
    path = os.path.join(out, *rel)
    return {"path": path, "bytes": os.path.getsize(path)}


def run_scenario(torch, name, out, preset, seed):
    p, base, base_sd = _r18_base(torch, preset, seed)
    zoo = Zoo(torch, out, preset)
    zoo.write("base", 1, "base", "pt", sd=base_sd)
    result = collections.OrderedDict(scenario=name, preset=preset, seed=seed,
                                     out=os.path.abspath(out))
    result["base"] = _file_info(out, "base", "1", "model.pt")
    result["base"]["tensor_bytes"] = zoo.entries[0]["tensor_bytes"]
    if name == "resnet18-transfer":
        m = transfer(torch, base, "resnet18", p, seed, "pets", 37, "linear")
        names, hbytes = _head_bytes(m, "fc")
        e = zoo.write("pets", 1, "transfer", "pt", sd=state_dict_of(m),
                      parent="base@1", parent_sd=base_sd)
        result["derived"] = _file_info(out, "pets", "1", "model.pt")
        result["head_tensors"] = names
        result["head_bytes"] = hbytes
        result["new_tensor_bytes"] = e["new_tensor_bytes"]
        old_names, old_bytes = _head_bytes(base, "fc")
        result["replaced_head_bytes"] = old_bytes
    elif name == "resnet18-renamed":
        e = zoo.write("renamed", 1, "renamed", "pt", sd=renamed(base_sd),
                      parent="base@1", parent_sd=base_sd)
        result["derived"] = _file_info(out, "renamed", "1", "model.pt")
        result["new_tensor_bytes"] = e["new_tensor_bytes"]
        result["prefix"] = "module."
        result["order"] = "reversed"
    elif name == "resnet18-formats":
        result["formats"] = collections.OrderedDict()
        result["formats"]["pt"] = result["base"]
        for fmt in ("safetensors", "onnx", "h5"):
            if fmt == "onnx":
                zoo.write(fmt, 1, "formats", fmt, parent="base@1",
                          parent_sd=base_sd,
                          proto=export_onnx(torch, base, p["input"], False),
                          extra={"bn_fused": False})
            else:
                zoo.write(fmt, 1, "formats", fmt, sd=base_sd,
                          parent="base@1", parent_sd=base_sd)
            result["formats"][fmt] = _file_info(out, fmt, "1",
                                                FILE_NAMES[fmt])
        result["note"] = ("onnx is exported unfused (eval, no constant "
                          "folding): every initializer has the bytes of the "
                          "state-dict tensor of the same name; num_batches_"
                          "tracked is not in the onnx graph")
    elif name == "resnet18-finetuned":
        m = full_finetune(torch, base, "resnet18", p, seed)
        e = zoo.write("finetuned", 1, "full-finetune", "pt", sd=state_dict_of(m),
                      parent="base@1", parent_sd=base_sd)
        result["derived"] = _file_info(out, "finetuned", "1", "model.pt")
        result["new_tensor_bytes"] = e["new_tensor_bytes"]
    else:
        raise SystemExit("unknown scenario %r (one of %s)" %
                         (name, ", ".join(SCENARIOS)))
    result["entries"] = zoo.entries
    return result


# ---------------------------------------------------------------- main

def main(argv=None):
    global _QUIET
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--scenario", choices=SCENARIOS,
                    help="write one test scenario instead of the zoo")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (bytes are reproducible for a "
                         "given value; default 1)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    _QUIET = args.quiet
    torch = _import_torch(args.threads)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    if args.scenario:
        res = run_scenario(torch, args.scenario, args.out, args.preset,
                           args.seed)
        print(json.dumps(res, indent=1))
    else:
        man = build_zoo(torch, args.out, args.preset, args.seed)
        _log("wrote %d models/versions, %d files, %d bytes in %.1f s" % (
            len(man["models"]), man["file_count"], man["total_bytes"],
            time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
