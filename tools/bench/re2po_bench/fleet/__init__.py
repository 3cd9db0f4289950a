"""The fleet benchmark (`re2po-bench fleet`, tools/bench/run-fleet-bench):
`re2po push` to a loopback Ceph and cold torch.load through edge mounts of
the remote, against a local mount and native files; see docs/benchmarks.md.

cli (flags) -> config (FleetOptions) -> bench (the phases) over engine
(Ceph, node mounts, node-stats.json) and proxy (the WAN delay proxy) ->
report (markdown). The model set, loader and machine description are the
harness's (re2po_bench.harness).
"""
