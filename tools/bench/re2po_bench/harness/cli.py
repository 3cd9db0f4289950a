"""`re2po-bench run`: size, ingest, reads and scale against peers.

    tools/bench/run-bench --preset smoke --re2po build/tools/re2po

Writes <work>/results.json and <work>/results.md (and prints the markdown).
Every printed number is measured in this run; a system or measurement that
cannot run here is shown as n/a with the reason. See docs/benchmarks.md.
"""

import argparse
import glob
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import PHASES, PRESETS, PresetOverrides, RunOptions
from .driver import run_benchmark, write_results
from .systems import ALL_SYSTEMS, DEFAULT_MOUNT_LAYOUT

# tools/bench/re2po_bench/harness/cli.py -> the repository (in a checkout)
REPO_ROOT = Path(__file__).resolve().parents[4]


def find_re2po() -> str | None:
    """The CLI of a build in the checkout this package sits in, if any."""
    for pat in ("build*/tools/re2po/re2po", "build*/tools/re2po",
                "build*/re2po"):
        for p in sorted(glob.glob(str(REPO_ROOT / pat))):
            if os.path.isfile(p) and os.access(p, os.X_OK):
                return p
    return None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="re2po-bench run",
                                 description=__doc__.split("\n")[0])
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
    ap.add_argument("--mount-layout", default=DEFAULT_MOUNT_LAYOUT,
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


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(s for s in text.split(",") if s)


def options_from_args(argv: Sequence[str]) -> RunOptions:
    args = parse_args(argv)
    work = os.path.abspath(args.work)
    binary = args.re2po or find_re2po()
    overrides = PresetOverrides(
        runs=args.runs, warmup=args.warmup, fio_seconds=args.fio_seconds,
        scale_counts=(tuple(int(x) for x in args.scale_counts.split(","))
                      if args.scale_counts else None),
        peer_mounts=(args.peer_mounts == "yes" if args.peer_mounts
                     else None))
    return RunOptions(
        preset=args.preset, overrides=overrides, work_dir=work,
        re2po_binary=os.path.abspath(binary) if binary else None,
        systems=_comma_list(args.systems),
        skip=frozenset(_comma_list(args.skip)),
        zoo_dir=args.zoo or os.path.join(work, "zoo-%s" % args.preset),
        regenerate_zoo=args.regenerate, cache_size=args.cache_size,
        mount_layout=args.mount_layout, install_tools=not args.no_install,
        json_path=args.json or os.path.join(work, "results.json"),
        md_path=args.md or os.path.join(work, "results.md"),
        keep_stores=args.keep,
        command=" ".join(shlex.quote(a) for a in
                         [sys.executable, "-m", "re2po_bench", "run"]
                         + list(argv)))


def main(argv: Sequence[str] | None = None) -> int:
    opts = options_from_args(sys.argv[1:] if argv is None else argv)
    write_results(run_benchmark(opts), opts)
    return 0
