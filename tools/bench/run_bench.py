#!/usr/bin/python3
"""Re2po benchmark harness: size, ingest, reads and scale against peers.

    /usr/bin/python3 tools/bench/run_bench.py --preset smoke \
        --re2po build/tools/re2po/re2po

Writes <work>/results.json and <work>/results.md (and prints the markdown).
Every printed number is measured in this run; a system or measurement that
cannot run here is shown as n/a with the reason. See docs/benchmarks.md.
"""

import argparse
import glob
import json
import os
import shlex
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from bench import machine, reads, report, scale, size, systems  # noqa: E402
from bench.util import BenchError, log, rmtree, unmount  # noqa: E402

PRESETS = {
    # CI: must finish in well under 2 minutes in total
    "smoke": dict(ingest_runs=1, ingest_warmup=0, read_runs=2, read_warmup=0,
                  fio_seconds=1, scale_counts=[100], scale_mount_runs=2,
                  rss_threads=2, peer_mounts=False),
    "small": dict(ingest_runs=2, ingest_warmup=1, read_runs=3, read_warmup=1,
                  fio_seconds=3, scale_counts=[1000], scale_mount_runs=3,
                  rss_threads=4, peer_mounts=True),
    "default": dict(ingest_runs=3, ingest_warmup=1, read_runs=3,
                    read_warmup=1, fio_seconds=5,
                    scale_counts=[1000, 10000], scale_mount_runs=3,
                    rss_threads=4, peer_mounts=True),
}

ALL_SYSTEMS = ["re2po", "zstd", "wholefile", "restic", "borg", "casync"]
PHASES = ["size", "reads", "scale"]


def find_re2po():
    for pat in ("build*/tools/re2po/re2po", "build*/tools/re2po",
                "build*/re2po"):
        for p in sorted(glob.glob(os.path.join(ROOT, pat))):
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return None


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="default")
    ap.add_argument("--re2po", help="path of the re2po binary (default: "
                    "found under build*/tools/)")
    ap.add_argument("--work", default="/var/tmp/re2po-bench",
                    help="work dir: model set, stores, mounts (its "
                    "filesystem is the one measured)")
    ap.add_argument("--zoo", help="use this model set (default "
                    "<work>/zoo-<preset>, generated if missing)")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS),
                    help="comma list of %s" % ",".join(ALL_SYSTEMS))
    ap.add_argument("--skip", default="", help="comma list of phases to "
                    "skip: %s" % ",".join(PHASES))
    ap.add_argument("--runs", type=int, help="measured runs (override)")
    ap.add_argument("--warmup", type=int, help="warm-up runs (override)")
    ap.add_argument("--fio-seconds", type=int)
    ap.add_argument("--scale-counts", help="comma list, e.g. 1000,10000")
    ap.add_argument("--cache-size", help="re2po mount -o cache_size=...")
    ap.add_argument("--mount-layout", default="{model}/{version}/{file}",
                    help="where a file of MODEL@VERSION appears under the "
                    "re2po mount point")
    ap.add_argument("--peer-mounts", choices=["yes", "no"],
                    help="read through restic/borg mounts too (default: "
                    "yes, except in the smoke preset)")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install missing peer tools")
    ap.add_argument("--json", help="results JSON path")
    ap.add_argument("--md", help="results markdown path")
    ap.add_argument("--keep", action="store_true",
                    help="keep the stores after the run")
    return ap.parse_args(argv)


def _phase(fn):
    """Run one phase; a failure makes the phase n/a with the reason."""
    try:
        return fn()
    except (BenchError, OSError) as e:
        log("phase failed: %s" % e)
        return {"status": "n/a", "reason": str(e)}


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    cfg = dict(PRESETS[args.preset])
    if args.runs is not None:
        cfg["ingest_runs"] = cfg["read_runs"] = args.runs
    if args.warmup is not None:
        cfg["ingest_warmup"] = cfg["read_warmup"] = args.warmup
    if args.fio_seconds:
        cfg["fio_seconds"] = args.fio_seconds
    if args.scale_counts:
        cfg["scale_counts"] = [int(x) for x in args.scale_counts.split(",")]
    if args.peer_mounts:
        cfg["peer_mounts"] = args.peer_mounts == "yes"
    skip = {s for s in args.skip.split(",") if s}
    names = [s for s in args.systems.split(",") if s]
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    re2po_bin = args.re2po or find_re2po()
    if re2po_bin:
        re2po_bin = os.path.abspath(re2po_bin)

    tools = ["fio"] + [t for t, n in (("zstd", "zstd"), ("restic", "restic"),
                                      ("borg", "borg"), ("casync", "casync"))
                       if n in names]
    tool_status = machine.ensure_tools(tools, not args.no_install)

    results = {
        "preset": args.preset, "config": cfg,
        "command": " ".join(shlex.quote(a) for a in
                            [sys.executable] + sys.argv),
        "started": report.now_text(), "re2po_binary": re2po_bin,
        "tool_status": tool_status,
    }
    results["machine"] = machine.describe(work, re2po_bin)
    if os.getloadavg()[0] > (os.cpu_count() or 1) * 0.5:
        log("warning: load average %.2f at start; numbers will be noisy" %
            os.getloadavg()[0])

    # restic/borg init are slow (key derivation, fsyncs): prepare their
    # empty-repository templates while the model set is generated
    sysobjs = systems.make_systems(work, names, re2po_bin, args.cache_size,
                                   args.mount_layout)
    for s in sysobjs:
        if hasattr(s, "prepare_async") and s.check() is None:
            s.prepare_async()

    zoo_dir = args.zoo or os.path.join(work, "zoo-%s" % args.preset)
    from bench.zoo import ensure_zoo
    zoo = ensure_zoo(zoo_dir, args.preset, args.regenerate)
    results["zoo"] = {"root": zoo.root, "preset": zoo.manifest["preset"],
                      "versions": len(zoo.versions),
                      "files": len(zoo.rel_files),
                      "raw_bytes": zoo.raw_bytes}

    for s in sysobjs:
        s.not_ready_reason = "size phase skipped: no store to mount"
    re2po_sys = next((s for s in sysobjs if s.name == "re2po"), None)
    if re2po_sys is None:
        re2po_sys = systems.Re2po(work, re2po_bin, args.cache_size,
                                  args.mount_layout)
    try:
        if "size" not in skip:
            log("phase: size and ingest")
            results["size"] = _phase(lambda: size.run_size(
                zoo, sysobjs, work, cfg["ingest_runs"],
                cfg["ingest_warmup"]))
            for s in sysobjs:
                st = (results["size"].get("systems") or {}).get(s.name, {})
                s.ready_for_reads = st.get("status") == "ok"
                s.not_ready_reason = st.get("reason") or results["size"].get(
                    "reason")
        if "reads" not in skip:
            log("phase: reads")
            results["reads"] = _phase(lambda: reads.run_reads(
                zoo, sysobjs, work, cfg["read_runs"], cfg["read_warmup"],
                cfg["fio_seconds"], rss_threads=cfg["rss_threads"],
                peers_mount=cfg["peer_mounts"]))
        if "scale" not in skip:
            log("phase: scale")
            results["scale"] = _phase(lambda: scale.run_scale(
                re2po_sys, work, cfg["scale_counts"],
                cfg["scale_mount_runs"]))
    finally:
        mnt = os.path.join(work, "mnt")
        if os.path.isdir(mnt):
            for d in os.listdir(mnt):
                unmount(os.path.join(mnt, d))
        if not args.keep:
            rmtree(os.path.join(work, "stores"))
            rmtree(os.path.join(work, "scale-src"))

    results["targets"] = report.evaluate_targets(results)
    results["duration_s"] = time.time() - t_start
    results["duration_text"] = "took %.0f s" % results["duration_s"]
    jpath = args.json or os.path.join(work, "results.json")
    mpath = args.md or os.path.join(work, "results.md")
    with open(jpath, "w") as f:
        json.dump(results, f, indent=1, default=str)
        f.write("\n")
    md = report.markdown(results)
    with open(mpath, "w") as f:
        f.write(md)
    print(md)
    log("wrote %s and %s in %.0f s" % (jpath, mpath, results["duration_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
