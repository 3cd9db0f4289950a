"""Long-lived helper run with /usr/bin/python3 (python3-torch, python3-onnx):
imports torch and onnx once, then times loads requested on stdin.

Protocol: one JSON object per line in, one per line out.
  {"kind": "pt"|"onnx", "path": P, "repeat": N}
  -> {"times": [seconds of load 1, load 2, ...]}  or {"error": "..."}
"""

import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def main():
    import torch
    import onnx
    torch.set_num_threads(1)
    print(json.dumps({"ready": True, "torch": torch.__version__,
                      "onnx": onnx.__version__}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            times = []
            for _ in range(int(req.get("repeat", 1))):
                t0 = time.perf_counter()
                if req["kind"] == "pt":
                    obj = torch.load(req["path"], map_location="cpu")
                    n = len(obj)
                elif req["kind"] == "onnx":
                    obj = onnx.load(req["path"])
                    n = len(obj.graph.initializer)
                else:
                    raise ValueError(req["kind"])
                times.append(time.perf_counter() - t0)
                del obj
            out = {"times": times, "tensors": n}
        except Exception as e:  # report, keep serving
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
