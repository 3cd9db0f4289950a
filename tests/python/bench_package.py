"""Where the benchmark package (tools/bench/re2po_bench) and its commands
are, for the harness tests.

The tests import re2po_bench, so they run with tools/bench on PYTHONPATH
(tools/run-tests.sh sets it):

    export PYTHONPATH=tools/bench
    /usr/bin/python3 -m unittest discover -s tests/python
"""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
BENCH_DIR = os.path.join(ROOT, "tools", "bench")
RUN_BENCH = os.path.join(BENCH_DIR, "run-bench")
GEN_MODELS = os.path.join(BENCH_DIR, "gen-models")

if importlib.util.find_spec("re2po_bench") is None:
    raise ImportError("re2po_bench is not importable: run the tests with "
                      "PYTHONPATH=%s (tools/run-tests.sh does)" % BENCH_DIR)
