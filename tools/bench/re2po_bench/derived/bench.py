"""Cold reads of derived chunks against delta chunks (issue #18).

Imports a generated zoo (gen-models) into a fresh store, version by version
as the main benchmark does, then reads the files of each scenario cold: the
page cache dropped and, through Re2po, a fresh mount, the files read
sequentially in 1 MiB reads. The base models are stored whole, the
full-finetune ones as deltas (codec 3), the fp16, int8, onnx-fused and
keras-layout ones as derivations (codec 5; keras-layout, of resnet18 and
efficientnet_b0 only, as permutations, each piece drawing on its whole
base tensor); each is timed against the same files on the
native file system in the same round, and the derived scenarios against
the delta one.
"""

import argparse
import json
import os
import shutil
import statistics
import time

from re2po_bench.harness.util import (MiB, can_drop_caches, drop_caches, is_mounted,
                                      read_files, run, unmount, wait_for)

SCENARIOS = ("base", "full-finetune", "fp16", "int8", "onnx-fused", "keras-layout")


def _versions(zoo: str) -> list[dict]:
    with open(os.path.join(zoo, "manifest.json")) as f:
        return json.load(f)["models"]


def _import_all(re2po: str, store: str, zoo: str, versions: list[dict]) -> None:
    run([re2po, "--store", store, "init"])
    for v in versions:
        run([re2po, "--store", store, "import", "%s@%s" % (v["model"], v["version"]),
             os.path.join(zoo, v["model"], v["version"])], timeout=900)


def _drop() -> None:
    """Drops the page cache where this process may; else the reads are warm
    ones (said in the report)."""
    if can_drop_caches():
        drop_caches()


def _cold_read(paths: list[str]) -> float:
    t0 = time.perf_counter()
    read_files(paths)
    return time.perf_counter() - t0


def _mount(re2po: str, store: str, mp: str) -> None:
    os.makedirs(mp, exist_ok=True)
    run([re2po, "--store", store, "mount", mp], timeout=120)
    if not wait_for(lambda: is_mounted(mp), 30):
        raise RuntimeError("%s is not mounted" % mp)


def measure(re2po: str, zoo: str, work: str, runs: int) -> dict[str, dict]:
    versions = _versions(zoo)
    store, mp = os.path.join(work, "store"), os.path.join(work, "mnt")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    _import_all(re2po, store, zoo, versions)
    files = {s: [f["path"] for v in versions if v["scenario"] == s for f in v["files"]]
             for s in SCENARIOS}
    results: dict[str, dict] = {
        s: {"bytes": sum(os.path.getsize(os.path.join(zoo, p)) for p in files[s]),
            "native": [], "re2po": []} for s in SCENARIOS if files[s]}
    for _ in range(runs):
        for scenario, result in results.items():
            _drop()
            result["native"].append(_cold_read([os.path.join(zoo, p) for p in files[scenario]]))
            _drop()
            _mount(re2po, store, mp)
            try:
                result["re2po"].append(_cold_read([os.path.join(mp, p) for p in files[scenario]]))
            finally:
                unmount(mp)
    return results


def report(results: dict[str, dict]) -> str:
    """Every scenario holds the same backbones, so the time to read a
    scenario's files compares the kinds of chunks for the same tensors:
    a cast to fp16 has half the bytes of the fp32 model it derives from,
    an int8 copy a quarter, but as many weights to predict."""
    lines = ["| scenario | stored as | MiB | native ms | Re2po ms | Re2po MB/s | Re2po/native "
             "| Re2po time / delta's |", "|---|---|---|---|---|---|---|---|"]
    kinds = {"base": "whole", "full-finetune": "delta", "fp16": "derived (cast)",
             "int8": "derived (quantized)", "onnx-fused": "derived (scaled)",
             "keras-layout": "derived (permuted)"}
    delta = results.get("full-finetune")
    for scenario, r in results.items():
        native = statistics.median(r["native"])
        mounted = statistics.median(r["re2po"])
        versus = mounted / statistics.median(delta["re2po"]) if delta else float("nan")
        lines.append("| %s | %s | %.1f | %.0f | %.0f | %.0f | %.2f | %.2f |" % (
            scenario, kinds[scenario], r["bytes"] / MiB, native * 1e3, mounted * 1e3,
            r["bytes"] / mounted / 1e6, native / mounted, versus))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run-derived-read-bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--re2po", required=True, help="the re2po binary")
    parser.add_argument("--zoo", required=True, help="a gen-models zoo (small or default)")
    parser.add_argument("--work", required=True, help="scratch directory (emptied)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the raw timings here")
    args = parser.parse_args(argv)
    results = measure(os.path.abspath(args.re2po), args.zoo, args.work, args.runs)
    if not can_drop_caches():
        print("note: /proc/sys/vm/drop_caches is not writable here: the page cache was not "
              "dropped, so these reads are not cold")
    print(report(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0
