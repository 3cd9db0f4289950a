"""The one command line: `re2po-bench run|gen-models ARGS...`."""

import importlib
import sys
from dataclasses import dataclass
from collections.abc import Sequence


@dataclass(frozen=True)
class Subcommand:
    module: str  # has main(argv) -> int
    summary: str


# Imported only when chosen: the harness must not pay for torch, which the
# generator's modules import at load time.
SUBCOMMANDS = {
    "run": Subcommand("re2po_bench.harness.cli",
                      "measure size, ingest, reads and scale against peers"),
    "fleet": Subcommand("re2po_bench.fleet.cli",
                        "push to a loopback Ceph, cold loads on edge mounts"),
    "observe": Subcommand("re2po_bench.observe.cli",
                          "access log and metrics on vs off: reads, loads"),
    "gen-models": Subcommand("re2po_bench.modelgen.cli",
                             "write the seeded model zoo or a test scenario"),
    "llm": Subcommand("re2po_bench.llm.cli", "LLM-sized models: gen (the "
                      "set) | run (import, size, reads vs native)"),
}


def usage() -> str:
    lines = ["usage: re2po-bench SUBCOMMAND [--help] [ARGS...]", "",
             "subcommands:"]
    lines += ["  %-11s %s" % (name, sub.summary)
              for name, sub in SUBCOMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    sub = SUBCOMMANDS.get(args[0])
    if sub is None:
        print("re2po-bench: unknown subcommand %r\n\n%s" % (args[0], usage()),
              file=sys.stderr)
        return 2
    module = importlib.import_module(sub.module)
    code: int = module.main(args[1:])
    return code
