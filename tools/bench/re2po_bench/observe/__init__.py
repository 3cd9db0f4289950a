"""The observe benchmark (`re2po-bench observe`,
tools/bench/run-observe-bench): what the mount's access log and metrics
cost on the read path (issue #17), a mount with both off against one with
both on, interleaved run by run, beside native files; see
docs/benchmarks.md.

cli (flags) -> bench (ObserveOptions, the runs, the scraper) -> report
(markdown). The model set, the store, the loader and the machine
description are the harness's (re2po_bench.harness).
"""
