"""The fleet benchmark's markdown: only numbers measured in the run."""

import statistics
from typing import Any

from ..harness.report import _machine_md
from ..harness.util import Json, fmt_bytes


def _v(stat: Any, fmt: str = "%.1f", scale: float = 1.0) -> str:
    if not isinstance(stat, dict) or "median" not in stat:
        return "n/a"
    return (fmt + " (" + fmt + "–" + fmt + ")") % (
        stat["median"] * scale, stat["min"] * scale, stat["max"] * scale)


def _x(stat: Any) -> str:
    if not isinstance(stat, dict) or "median" not in stat:
        return "n/a"
    return "%.2fx (%.2f–%.2f)" % (stat["median"], stat["min"], stat["max"])


def _load_cell(s: Json, name: str) -> str:
    cell = _v(s.get("load_s"), "%.0f", 1e3)
    if name != "native":
        cell += "; %s native" % _x(s.get("vs_native"))
    if "vs_local" in s:
        cell += "; %s local" % _x(s.get("vs_local"))
    return cell


def markdown(res: Json) -> str:
    L: list[str] = []
    L.append("# Re2po fleet benchmark: edge nodes on an S3 remote")
    L.append("")
    L.append("Run %s, %s. Medians over %d runs, min–max in parentheses; "
             "ratios are taken pair by pair within the same run. Command: "
             "`%s`" % (res.get("started"), res.get("duration_text", ""),
                       res["options"]["runs"], res.get("command")))
    L.append("")
    L.append("## Machine")
    L.append("")
    L += _machine_md(res.get("machine", {}))
    ceph = res.get("ceph") or {}
    L.append("| engine | %s, one mon, one BlueStore OSD on a sparse file, "
             "one radosgw on 127.0.0.1 (tools/engines/ceph.sh; ready in "
             "%s s) |" % (ceph.get("version") or "Ceph",
                          "%.1f" % ceph["start_seconds"]
                          if ceph.get("start_seconds") else "?"))
    L.append("")
    lat = res.get("latency") or {}
    L.append("WAN latency: %s, %g ms each way = %g ms round trip; a new "
             "connection also pays one handshake round trip. Bandwidth is "
             "not limited. Why not tc netem: %s (netem here: %s)." % (
                 lat.get("method"), lat.get("one_way_ms", 0),
                 lat.get("rtt_ms", 0), lat.get("why"), lat.get("netem")))
    L.append("")
    zoo = res.get("zoo") or {}
    if zoo:
        L.append("Model set: `gen-models --preset %s`, %d versions, %s; "
                 "every .pt model is loaded (`torch.load(path, "
                 "map_location=\"cpu\")` in a process that imported torch "
                 "beforehand)." % (zoo.get("preset"), zoo.get("versions", 0),
                                   fmt_bytes(zoo.get("raw_bytes"))))
        L.append("")
    push = res.get("push")
    if push:
        s = push["summary"]
        L += ["## Push (`re2po push --json` of the whole set to an empty "
              "prefix)", "",
              "| measurement | median (min–max) |", "|---|---|",
              "| seconds | %s |" % _v(s.get("seconds"), "%.2f"),
              "| model bytes / s (MiB/s) | %s |" % _v(s.get("model_mbps"),
                                                     "%.0f"),
              "| uploaded bytes / s (MiB/s) | %s |" % _v(
                  s.get("uploaded_mbps"), "%.0f"),
              "| uploaded bytes | %s of %s of models |" % (
                  fmt_bytes((s.get("bytes_uploaded") or {}).get("median")),
                  fmt_bytes(zoo.get("raw_bytes"))), ""]
    loads = res.get("loads")
    if not loads:
        return "\n".join(L) + "\n"
    tg = loads["targets"]
    L += ["## Cold `torch.load` (ms)", "",
          "Cold = page cache dropped (`echo 3 > /proc/sys/vm/drop_caches`) "
          "right before the load; every mount is fresh, every edge mount "
          "has a new, empty node cache directory (no chunk of an earlier "
          "load is cached, not even a shared backbone's).", "",
          "| model | file | " + " | ".join(t["label"] for t in tg) + " |",
          "|---|---|" + "---|" * len(tg)]
    for ref, m in loads["models"].items():
        L.append("| %s | %s | %s |" % (ref, fmt_bytes(m["bytes"]), " | ".join(
            _load_cell(m["targets"][t["name"]], t["name"]) for t in tg)))
    total = loads.get("total") or {}
    if total:
        L.append("| **all models** | | %s |" % " | ".join(
            _load_cell(total[t["name"]], t["name"]) for t in tg))
    L.append("")
    edges = [t for t in tg if t["edge"]]
    poll = res.get("poll") or {}
    L += ["## Requests and bytes per cold load (edge mounts)", "",
          "From the node's `<cache_dir>/node-stats.json`: the counters it "
          "wrote after the load minus those it wrote before (after the "
          "mount fetched the catalog and version objects), minus the "
          "catalog polls in between (an idle node's poll: %.2f requests, "
          "%.0f bytes, every %.2f s). Fetched/file: bytes received over the "
          "file's size (chunks are stored compressed)." % (
              poll.get("requests", 0), poll.get("bytes", 0),
              poll.get("interval_s", 0)), "",
          "| model | file | " + " | ".join(
              "%s: requests | fetched/file" % t["label"] for t in edges)
          + " |", "|---|---|" + "---|---|" * len(edges)]
    for ref, m in loads["models"].items():
        cells = []
        for t in edges:
            s = m["targets"][t["name"]]
            cells.append(_v(s.get("requests"), "%.0f"))
            cells.append(_v(s.get("fetched_over_file"), "%.3f"))
        L.append("| %s | %s | %s |" % (ref, fmt_bytes(m["bytes"]),
                                        " | ".join(cells)))
    if total:
        sums: list[str] = []
        for t in edges:
            sums += [_v(total[t["name"]].get("requests"), "%.0f"), ""]
        L.append("| **all models** (sum per run) | | %s |" % " | ".join(sums))
    L.append("")
    L += ["## Mount ready (s), median over every mount of the run", "",
          "| target | mount ready |", "|---|---|"]
    for t in tg:
        if t["name"] == "native":
            continue
        vals: list[float] = []
        for m in loads["models"].values():
            vals += [r["mount_s"] for r in m["targets"][t["name"]]["runs"]
                     if r.get("mount_s") is not None]
        if vals:
            L.append("| %s | %.3f (%.3f–%.3f) |" % (
                t["label"], statistics.median(vals), min(vals), max(vals)))
    L.append("")
    return "\n".join(L) + "\n"
