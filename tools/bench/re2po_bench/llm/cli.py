"""`re2po-bench llm gen|run`: the LLM-sized model set and its benchmark.

    tools/bench/gen-llm --out DIR [--scale S] [--seed N]
    tools/bench/run-llm-bench --re2po build/tools/re2po [--work DIR]
                              [--scale S] [--runs N]

gen writes DIR/<model>/<version>/... and DIR/manifest.json (see
re2po_bench/llm/gen.py). run writes <work>/llm-results.json and
<work>/llm-results.md (and prints the markdown); it needs root (FUSE,
drop_caches) and unmounts everything at the end, also after an error,
Ctrl-C or SIGTERM. See docs/benchmarks.md.
"""

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence

from ..harness.cli import find_re2po
from ..harness.util import run_reported, why_not_root_bench
from . import gen
from .bench import LlmOptions, run_llm
from .report import markdown

USAGE = "usage: re2po-bench llm gen|run [--help] [ARGS...]"


def _positive(text: str) -> float:
    v = float(text)
    if v <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return v


def gen_main(argv: Sequence[str]) -> int:
    ap = argparse.ArgumentParser(
        prog="gen-llm", description=(gen.__doc__ or "").split("\n")[0],
        epilog="See the docstring of re2po_bench/llm/gen.py.")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--scale", type=_positive, default=1.0,
                    help="bytes relative to the default set (1: a 1.26 GB "
                    "bf16 model, 7.3 GB in all; 0.05: ~280 MB in all)")
    ap.add_argument("--seed", type=int, default=gen.DEFAULT_SEED)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    m = gen.generate(os.path.abspath(a.out), a.scale, a.seed, a.quiet)
    print(json.dumps({"out": os.path.abspath(a.out), "bytes": m["bytes"],
                      "files": len(m["files"]), "config": m["config"],
                      "versions": [v["ref"] for v in m["versions"]]},
                     indent=1))
    return 0


def options_from_args(argv: Sequence[str]) -> LlmOptions:
    ap = argparse.ArgumentParser(prog="run-llm-bench",
                                 description="import, stored size and reads "
                                 "of LLM-sized models vs native files")
    ap.add_argument("--re2po", help="the re2po binary (default: found under "
                    "build*/tools/)")
    ap.add_argument("--work", default="/var/tmp/re2po-llm-bench",
                    help="work dir: model set, store, mount point, results "
                    "(its file system is the native one measured)")
    ap.add_argument("--scale", type=_positive, default=1.0,
                    help="gen-llm --scale of the model set (default 1: "
                    "7.3 GB of files)")
    ap.add_argument("--seed", type=int, default=gen.DEFAULT_SEED)
    ap.add_argument("--models", help="use this gen-llm set (default "
                    "<work>/models-s<scale>-<seed>, generated if missing)")
    ap.add_argument("--runs", type=int, default=3,
                    help="read runs, each native and Re2po back to back "
                    "(default 3)")
    ap.add_argument("--cache-size", default="",
                    help="re2po mount -o cache_size= (default: the mount's "
                    "own, 256M)")
    ap.add_argument("--no-gc", action="store_true",
                    help="skip `re2po gc` after the imports")
    ap.add_argument("--keep", action="store_true", help="keep the store")
    ap.add_argument("--json", help="results JSON path")
    ap.add_argument("--md", help="results markdown path")
    a = ap.parse_args(argv)
    binary = a.re2po or find_re2po()
    if not binary:
        raise SystemExit("run-llm-bench: no re2po binary (--re2po)")
    if a.runs < 1:
        raise SystemExit("run-llm-bench: --runs must be at least 1")
    work = os.path.abspath(a.work)
    return LlmOptions(
        work_dir=work, re2po_binary=os.path.abspath(binary), scale=a.scale,
        seed=a.seed, models_dir=os.path.abspath(a.models) if a.models else "",
        runs=a.runs, cache_size=a.cache_size, gc=not a.no_gc, keep=a.keep,
        json_path=a.json or os.path.join(work, "llm-results.json"),
        md_path=a.md or os.path.join(work, "llm-results.md"),
        command=shlex.join([sys.executable, "-m", "re2po_bench", "llm",
                            "run", *argv]))


def _why_not(opts: LlmOptions) -> str | None:
    return why_not_root_bench(opts.re2po_binary)


def run_main(argv: Sequence[str]) -> int:
    opts = options_from_args(argv)
    why = _why_not(opts)
    if why:
        print("run-llm-bench: %s" % why, file=sys.stderr)
        return 2
    return run_reported('run-llm-bench', lambda: run_llm(opts), markdown,
                        opts.json_path, opts.md_path)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE + "\n\n" + (__doc__ or ""))
        return 0 if args else 2
    if args[0] == "gen":
        return gen_main(args[1:])
    if args[0] == "run":
        return run_main(args[1:])
    print("re2po-bench llm: unknown subcommand %r\n%s" % (args[0], USAGE),
          file=sys.stderr)
    return 2

