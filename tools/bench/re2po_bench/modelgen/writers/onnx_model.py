"""ONNX: torch.onnx.export at opset 13, saved inline or with external
data, and its initializers read back as tensors (for the manifest)."""

import collections
import copy
import io
import os
import warnings

import onnx
import torch
from onnx import numpy_helper
from torch import nn

from ..tensors import StateDict


def export_onnx(model: nn.Module, input_size: int,
                fused: bool) -> onnx.ModelProto:
    """torch.onnx.export at opset 13; returns an onnx.ModelProto.

    fused=False keeps every weight as exported by the state dict (eval
    semantics, no conv+BN folding) so its bytes match the .pt; fused=True
    is the default deployment export (BN folded into the convs).
    """
    model = copy.deepcopy(model).eval()
    buf = io.BytesIO()
    # fused: torch's defaults, as a deployment export leaves them
    training = (torch.onnx.TrainingMode.EVAL if fused
                else torch.onnx.TrainingMode.PRESERVE)
    x = torch.zeros(1, 3, input_size, input_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, buf, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"},
                                        "logits": {0: "batch"}},
                          training=training, do_constant_folding=fused)
    return onnx.load_from_string(buf.getvalue())


def save_onnx(proto: onnx.ModelProto, path: str,
              external: bool = False) -> None:
    if external:
        onnx.save_model(proto, path, save_as_external_data=True,
                        all_tensors_to_one_file=True,
                        location=os.path.basename(path) + ".data",
                        size_threshold=1024)
    else:
        onnx.save_model(proto, path)


def onnx_tensors(proto: onnx.ModelProto) -> StateDict:
    """The initializers of an in-memory ONNX model as torch tensors."""
    return collections.OrderedDict(
        (i.name, torch.from_numpy(numpy_helper.to_array(i).copy()))
        for i in proto.graph.initializer)
