"""`re2po-bench fleet`: push to a loopback Ceph and cold torch.load through
edge mounts of it (empty node cache, with and without WAN latency), against
a local mount and native files.

    tools/bench/run-fleet-bench --re2po build/tools/re2po

Starts tools/engines/ceph.sh in <work>/ceph and stops it (by its pids) at
the end, also after an error, Ctrl-C or SIGTERM. Writes
<work>/fleet-results.json and <work>/fleet-results.md (and prints the
markdown). Needs root (Ceph, FUSE, drop_caches). See docs/benchmarks.md.
"""

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ..harness.cli import find_re2po
from ..harness.util import BenchError, Json, can_drop_caches, log
from .bench import run_fleet
from .config import FleetOptions
from .report import markdown

# tools/bench/re2po_bench/fleet/cli.py -> the repository (in a checkout)
REPO_ROOT = Path(__file__).resolve().parents[4]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="re2po-bench fleet",
                                 description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--re2po", help="the re2po binary (default: found "
                    "under build*/tools/)")
    ap.add_argument("--mount-re2po", help="the mount.re2po binary "
                    "(default: beside re2po)")
    ap.add_argument("--ceph-script", default=str(
        REPO_ROOT / "tools" / "engines" / "ceph.sh"))
    ap.add_argument("--work", default="/var/tmp/re2po-fleet-bench",
                    help="work dir: Ceph, store, node caches, mounts")
    ap.add_argument("--preset", default="fleet",
                    help="gen-models preset of the model set (default "
                    "fleet: 8 .pt models, 2.8-47 MB, 3 shared backbones)")
    ap.add_argument("--zoo", help="use this model set (default "
                    "<work>/zoo-<preset>, generated if missing)")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rtt-ms", type=float, default=100.0,
                    help="round trip the delay proxy adds (default 100)")
    ap.add_argument("--models", default="",
                    help="comma list of .pt models to load (default: all)")
    ap.add_argument("--keep", action="store_true",
                    help="keep Ceph's dir, the store and node caches")
    ap.add_argument("--json", help="results JSON path")
    ap.add_argument("--md", help="results markdown path")
    return ap.parse_args(argv)


def options_from_args(argv: Sequence[str]) -> FleetOptions:
    a = parse_args(argv)
    work = os.path.abspath(a.work)
    binary = a.re2po or find_re2po()
    if not binary:
        raise SystemExit("re2po-bench fleet: no re2po binary (--re2po PATH)")
    binary = os.path.abspath(binary)
    mount = os.path.abspath(a.mount_re2po or os.path.join(
        os.path.dirname(binary), "mount.re2po"))
    if a.runs < 1:
        raise SystemExit("re2po-bench fleet: --runs must be at least 1")
    return FleetOptions(
        work_dir=work, re2po_binary=binary, mount_binary=mount,
        ceph_script=os.path.abspath(a.ceph_script), zoo_preset=a.preset,
        zoo_dir=os.path.abspath(a.zoo) if a.zoo else "",
        regenerate_zoo=a.regenerate, runs=a.runs,
        wan_delay_ms=a.rtt_ms / 2,
        models=tuple(m for m in a.models.split(",") if m), keep=a.keep,
        json_path=a.json or os.path.join(work, "fleet-results.json"),
        md_path=a.md or os.path.join(work, "fleet-results.md"),
        command=" ".join(shlex.quote(x) for x in
                         [sys.executable, "-m", "re2po_bench", "fleet"]
                         + list(argv)))


def _why_not(opts: FleetOptions) -> str | None:
    if os.geteuid() != 0:
        return "needs root (Ceph daemons, FUSE mounts, drop_caches)"
    for b in (opts.re2po_binary, opts.mount_binary, opts.ceph_script):
        if not os.access(b, os.X_OK):
            return "%s is not an executable file" % b
    if not can_drop_caches():
        return "cannot write /proc/sys/vm/drop_caches: no cold loads"
    return None


def _sigterm(signum: int, frame: FrameType | None) -> None:
    # unwinds like Ctrl-C, so the run's finally stops Ceph and unmounts
    raise KeyboardInterrupt("signal %d" % signum)


def write_results(res: Json, opts: FleetOptions) -> None:
    os.makedirs(os.path.dirname(opts.json_path) or ".", exist_ok=True)
    with open(opts.json_path, "w") as f:
        json.dump(res, f, indent=1, default=str)
        f.write("\n")
    md = markdown(res)
    with open(opts.md_path, "w") as f:
        f.write(md)
    print(md)
    log("wrote %s and %s" % (opts.json_path, opts.md_path))


def main(argv: Sequence[str] | None = None) -> int:
    opts = options_from_args(sys.argv[1:] if argv is None else argv)
    why = _why_not(opts)
    if why:
        print("re2po-bench fleet: %s" % why, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        res = run_fleet(opts)
    except BenchError as e:
        print("re2po-bench fleet: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("re2po-bench fleet: interrupted; Ceph stopped, mounts "
              "removed", file=sys.stderr)
        return 130
    write_results(res, opts)
    return 0
