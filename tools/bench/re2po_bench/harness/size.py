"""Size and ingest: import the whole model set, one version at a time, into
a fresh store of every system; measure wall time and stored bytes."""

import collections
import os
import time
from typing import Any

from .systems import System
from .util import (BenchError, Json, MiB, du_bytes, log, ratios, read_files,
                   summarize)
from .zoo import Zoo


def _ingest_once(system: System, zoo: Zoo, root: str) -> Json:
    """One full ingest into a fresh store. Returns the run record."""
    read_files([f for v in zoo.versions for f in v.files])  # warm source
    system.zoo_root = zoo.root
    system.reset(root)
    base = du_bytes(system.store_dir())
    per_version = []
    total = 0.0
    prev = base
    for v in zoo.versions:
        t0 = time.perf_counter()
        info = system.ingest(v) or {}
        dt = time.perf_counter() - t0
        total += dt
        now = du_bytes(system.store_dir())  # outside the timed part
        entry = getattr(v, "entry", {}) or {}
        ideal = entry.get("new_tensor_bytes")
        if ideal is None and not entry.get("parent"):
            ideal = entry.get("tensor_bytes")
        per_version.append(collections.OrderedDict(
            ref=v.ref, scenario=v.scenario, format=v.format,
            raw_bytes=v.bytes, ideal_new_tensor_bytes=ideal, seconds=dt,
            tool_new_bytes=info.get("new_bytes"),
            du_delta=now["apparent"] - prev["apparent"],
            du_disk_delta=now["disk"] - prev["disk"]))
        prev = now
    t0 = time.perf_counter()
    fin = system.finalize() or {}
    fin_s = time.perf_counter() - t0
    stored = system.stored()
    return collections.OrderedDict(
        ingest_seconds=total, ingest_mbps=zoo.raw_bytes / MiB / total,
        finalize_seconds=fin_s, finalize=fin,
        empty_store=base, stored=stored,
        stored_over_raw=stored["disk"] / zoo.raw_bytes,
        stored_apparent_over_raw=stored["apparent"] / zoo.raw_bytes,
        per_version=per_version)


def run_size(zoo: Zoo, systems: list[System], work: str, runs: int,
             warmup: int) -> Json:
    res: dict[str, Any] = collections.OrderedDict()
    active = []
    for s in systems:
        reason = s.check()
        res[s.name] = collections.OrderedDict(label=s.label, status="ok",
                                              reason=None, runs=[])
        if reason:
            res[s.name].update(status="n/a", reason=reason)
            log("%s: n/a (%s)" % (s.name, reason))
        else:
            active.append(s)
    for i in range(warmup + runs):
        measured = i >= warmup
        for s in active:
            r = res[s.name]
            if r["status"] != "ok":
                continue
            root = os.path.join(work, "stores", s.name)
            try:
                rec = _ingest_once(s, zoo, root)
            except BenchError as e:
                r.update(status="n/a", reason="ingest failed: %s" % e)
                log("%s: n/a (%s)" % (s.name, e))
                continue
            log("%s run %d%s: %.1f MB/s ingest, stored/raw %.4f" % (
                s.name, i, "" if measured else " (warm-up)",
                rec["ingest_mbps"], rec["stored_over_raw"]))
            rec["warmup"] = not measured
            r["runs"].append(rec)
    # summaries over the measured runs
    for name, r in res.items():
        m = [x for x in r["runs"] if not x["warmup"]]
        if r["status"] != "ok" or not m:
            continue
        r["ingest_mbps"] = summarize([x["ingest_mbps"] for x in m])
        r["stored_over_raw"] = summarize([x["stored_over_raw"] for x in m])
        r["stored_disk_bytes"] = summarize([x["stored"]["disk"] for x in m])
        r["per_scenario"] = per_scenario(m[-1]["per_version"])
    # ingest speed of Re2po relative to each peer, pair by pair per run
    if res.get("re2po", {}).get("status") == "ok":
        mine = [x["ingest_mbps"] for x in res["re2po"]["runs"]
                if not x["warmup"]]
        for name, r in res.items():
            if name == "re2po" or r["status"] != "ok":
                continue
            theirs = [x["ingest_mbps"] for x in r["runs"] if not x["warmup"]]
            r["re2po_ingest_speedup"] = ratios(mine, theirs)
            r["re2po_size_ratio"] = ratios(
                [x["stored"]["disk"] for x in res["re2po"]["runs"]
                 if not x["warmup"]],
                [x["stored"]["disk"] for x in r["runs"] if not x["warmup"]])
    return collections.OrderedDict(raw_bytes=zoo.raw_bytes,
                                   versions=len(zoo.versions),
                                   files=len(zoo.rel_files), runs=runs,
                                   warmup=warmup, systems=res)


def per_scenario(per_version: list[Json]) -> Json:
    """Bytes each scenario's versions added (tool-reported when the tool
    reports it, else the store's apparent-size growth)."""
    out: Json = collections.OrderedDict()
    for pv in per_version:
        added = pv["tool_new_bytes"]
        src = "tool"
        if added is None:
            added, src = pv["du_delta"], "du"
        s = out.setdefault(pv["scenario"], collections.OrderedDict(
            versions=0, raw_bytes=0, added_bytes=0, source=src,
            ideal_new_tensor_bytes=0))
        s["versions"] += 1
        s["raw_bytes"] += pv["raw_bytes"]
        s["added_bytes"] += added
        ideal = pv.get("ideal_new_tensor_bytes")
        if ideal is None or s["ideal_new_tensor_bytes"] is None:
            s["ideal_new_tensor_bytes"] = None
        else:
            s["ideal_new_tensor_bytes"] += ideal
    for s in out.values():
        s["added_over_raw"] = (s["added_bytes"] / s["raw_bytes"]
                               if s["raw_bytes"] else None)
    return out
