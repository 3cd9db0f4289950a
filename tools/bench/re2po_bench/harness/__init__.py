"""The benchmark harness (`re2po-bench run`): size and ingest, reads and
scale of Re2po against peers; see docs/benchmarks.md.

cli (flags) -> config (presets, RunOptions) -> driver (the phases) ->
size, reads, scale over systems (Re2po and peers) and zoo (the model set)
-> report (targets, markdown). machine describes the host; util holds the
shared helpers; loader is the child process that times model loads.
"""
