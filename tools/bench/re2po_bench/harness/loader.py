"""Long-lived helper run with /usr/bin/python3 (python3-torch, python3-onnx):
imports torch and onnx once, then times loads requested on stdin.

    python3 -u -m re2po_bench.harness.loader   (started by reads.Loader)

Protocol: one JSON object per line in, one per line out.
  {"kind": "pt"|"onnx", "path": P, "repeat": N}
  -> {"times": [seconds of load 1, load 2, ...]}  or {"error": "..."}
"""

import json
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelKind:
    load: Callable[[str], Any]
    count_tensors: Callable[[Any], int]


def model_kinds() -> dict[str, ModelKind]:
    """Imports torch and onnx (before "ready": no timed load pays for it)."""
    import onnx
    import torch
    torch.set_num_threads(1)
    return {
        "pt": ModelKind(lambda p: torch.load(p, map_location="cpu"), len),
        "onnx": ModelKind(onnx.load, lambda m: len(m.graph.initializer)),
    }


def time_loads(kind: ModelKind, path: str, repeat: int) -> dict[str, Any]:
    times = []
    tensors = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        obj = kind.load(path)
        tensors = kind.count_tensors(obj)
        times.append(time.perf_counter() - t0)
        del obj  # freed outside the timed part
    return {"times": times, "tensors": tensors}


def serve(kinds: dict[str, ModelKind], line: str) -> dict[str, Any]:
    try:
        req = json.loads(line)
        kind = kinds.get(req["kind"])
        if kind is None:
            raise ValueError(req["kind"])
        return time_loads(kind, req["path"], int(req.get("repeat", 1)))
    except Exception as e:  # report, keep serving
        return {"error": "%s: %s" % (type(e).__name__, e)}


def framework_versions() -> dict[str, str]:
    import onnx
    import torch
    return {"torch": torch.__version__, "onnx": onnx.__version__}


def main() -> None:
    warnings.filterwarnings("ignore")
    kinds = model_kinds()
    print(json.dumps({"ready": True, **framework_versions()}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line:
            print(json.dumps(serve(kinds, line)), flush=True)


if __name__ == "__main__":
    main()
