"""`re2po-bench observe`: what the mount's access log and metrics cost on
the read path: cold and warm sequential reads and cold torch.load through a
mount with both off and one with both on (scraped every second), run after
run back to back, beside native files.

    tools/bench/run-observe-bench --re2po build/tools/re2po

Writes <work>/observe-results.json and <work>/observe-results.md (and
prints the markdown). Unmounts everything at the end, also after an error,
Ctrl-C or SIGTERM. Needs root (FUSE, drop_caches). See docs/benchmarks.md.
"""

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from ..harness.cli import find_re2po
from ..harness.util import run_reported, why_not_root_bench
from .bench import CONFIGS, ObserveOptions, run_observe
from .report import markdown


def options_from_args(argv: Sequence[str]) -> ObserveOptions:
    ap = argparse.ArgumentParser(prog="re2po-bench observe",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--re2po", help="the re2po binary (default: found "
                    "under build*/tools/)")
    ap.add_argument("--work", default="/var/tmp/re2po-observe-bench",
                    help="work dir: model set, store, mount point, results")
    ap.add_argument("--preset", default="fleet",
                    help="gen-models preset of the model set (default "
                    "fleet: 8 .pt models, 2.7-45 MiB)")
    ap.add_argument("--zoo", help="use this model set (default "
                    "<work>/zoo-<preset>, generated if missing)")
    ap.add_argument("--runs", type=int, default=5,
                    help="runs, each native, off and on back to back "
                    "(default 5)")
    ap.add_argument("--json", help="results JSON path")
    ap.add_argument("--md", help="results markdown path")
    ap.add_argument("--on", default=CONFIGS["on"],
                    help="mount options of the \"on\" mounts (default %s); "
                    "e.g. ro for the access log alone, "
                    "access_log=off,metrics=127.0.0.1:0 for metrics alone"
                    % CONFIGS["on"])
    ap.add_argument("--protect", action="store_true",
                    help="compare an open store (off) with one whose "
                    "versions are all imported --protect (on, mounted with "
                    "-o keyring=): the read-path cost of sealed chunks")
    a = ap.parse_args(argv)
    binary = a.re2po or find_re2po()
    if not binary:
        raise SystemExit("re2po-bench observe: no re2po binary (--re2po)")
    if a.runs < 1:
        raise SystemExit("re2po-bench observe: --runs must be at least 1")
    work = os.path.abspath(a.work)
    return ObserveOptions(
        work_dir=work, re2po_binary=os.path.abspath(binary),
        zoo_preset=a.preset, zoo_dir=os.path.abspath(a.zoo) if a.zoo else "",
        runs=a.runs, on_options=a.on, protect=a.protect,
        json_path=a.json or os.path.join(
            work, ("protect" if a.protect else "observe") + "-results.json"),
        md_path=a.md or os.path.join(
            work, ("protect" if a.protect else "observe") + "-results.md"),
        command=shlex.join([sys.executable, "-m", "re2po_bench",
                            "observe", *argv]))


def _why_not(opts: ObserveOptions) -> str | None:
    return why_not_root_bench(opts.re2po_binary)


def main(argv: Sequence[str] | None = None) -> int:
    opts = options_from_args(sys.argv[1:] if argv is None else argv)
    why = _why_not(opts)
    if why:
        print("re2po-bench observe: %s" % why, file=sys.stderr)
        return 2
    return run_reported('re2po-bench observe', lambda: run_observe(opts), markdown,
                        opts.json_path, opts.md_path)
