"""Generate a reproducible edge model zoo for the Re2po benchmarks and tests.

Run with Debian's interpreter (it is the one that has python3-torch):

    tools/bench/gen-models --preset smoke --out /tmp/zoo

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
  resnet18-transfer   base/1/model.pt and pets/1/model.pt
  resnet18-renamed    base/1/model.pt and renamed/1/model.pt
  resnet18-formats    base/1/model.pt, safetensors/1/model.safetensors,
                      onnx/1/model.onnx, h5/1/model.h5 (same tensor bytes)
  resnet18-finetuned  base/1/model.pt and finetuned/1/model.pt
"""

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Sequence

from .presets import PRESETS
from .scenarios import SCENARIOS, run_scenario
from .training import configure_torch
from .writer import stderr_log
from .zoo import build_zoo


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="re2po-bench gen-models", description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--scenario", choices=SCENARIOS,
                    help="write one test scenario instead of the zoo")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (bytes are reproducible for a "
                         "given value; default 1)")
    ap.add_argument("--quiet", action="store_true")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # torch and torchvision warn about deprecations and tracing; the output
    # is the manifest and the log
    warnings.filterwarnings("ignore")
    configure_torch(args.threads)
    log = stderr_log(args.quiet)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    if args.scenario:
        summary = run_scenario(args.scenario, args.out, args.preset,
                               args.seed, log)
        print(json.dumps(summary, indent=1))
    else:
        man = build_zoo(args.out, args.preset, args.seed, log)
        log("wrote %d models/versions, %d files, %d bytes in %.1f s" % (
            len(man["models"]), man["file_count"], man["total_bytes"],
            time.time() - t0))
    return 0
