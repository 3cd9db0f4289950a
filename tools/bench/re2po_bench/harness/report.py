"""Targets and the markdown report. Only numbers present in the results
(measured in this run) are printed; anything else shows as n/a with why."""

import collections
import time
from typing import Any

from .util import Json, fmt_bytes


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _stat(d: Any, *path: str) -> Json | None:
    s = _get(d, *path)
    return s if isinstance(s, dict) and "median" in s else None


def evaluate_targets(results: Json) -> list[Json]:
    """[(name, target text, stat or None, scale, unit, verdict, note)]."""
    size = results.get("size") or {}
    reads = results.get("reads") or {}
    scale = results.get("scale") or {}
    preset = results.get("preset")
    rows: list[Json] = []

    def add(name: str, op: str, bound: float, stat: Json | None,
            unit: str = "", scale_by: float = 1.0, note: str = "") -> None:
        if stat is None:
            rows.append(collections.OrderedDict(
                name=name, target="%s %s%s" % (op, bound, unit), value=None,
                verdict="n/a", note=note or "not measured in this run"))
            return
        v = stat["median"] * scale_by
        ok = {"<=": v <= bound, ">=": v >= bound, "<": v < bound}[op]
        rows.append(collections.OrderedDict(
            name=name, target="%s %s%s" % (op, bound, unit), value=v,
            min=stat["min"] * scale_by, max=stat["max"] * scale_by,
            n=stat["n"], verdict="PASS" if ok else "MISS", note=note))

    r2 = _get(size, "systems", "re2po") or {}
    add("stored/raw (du after gc)", "<=", 0.18,
        _stat(r2, "stored_over_raw"),
        note="" if preset == "default" else
        "target is defined on the default set; this is the %s set" % preset)
    add("ingest throughput", ">=", 600, _stat(r2, "ingest_mbps"), " MB/s")
    rr = _get(reads, "targets", "re2po") or {}
    cold_note = "" if reads.get("cold_supported", True) else (
        reads.get("cold_note") or "")
    add("cold sequential read vs native", ">=", 1.0,
        _stat(rr, "vs_native", "seq_cold_mbps"), "x", note=cold_note)
    add("warm sequential read vs native", ">=", 0.95,
        _stat(rr, "vs_native", "seq_warm_mbps"), "x")
    add("cold torch.load time vs native", "<=", 1.2,
        _stat(rr, "vs_native", "pt_load_cold_s"), "x", note=cold_note)
    s1000 = _get(scale, "results", "1000")
    note = ""
    if not scale:
        note = "scale phase skipped"
    elif scale.get("status") == "n/a":
        note = "scale n/a: %s" % scale.get("reason")
    elif s1000 is None:
        note = "1,000 versions not in this run's scale counts %s" % (
            scale.get("counts"),)
    elif s1000.get("status") == "n/a":
        note = s1000.get("reason")
    elif (s1000.get("mount") or {}).get("status") == "n/a":
        note = "mount n/a: %s" % s1000["mount"]["reason"]
    add("ls of 1,000 versions (cold listdir)", "<", 10,
        _stat(s1000 or {}, "listdir_cold_s"), " ms", scale_by=1e3, note=note)
    return rows


def _v(stat: Json | None, fmt: str = "%.1f", scale: float = 1.0) -> str:
    if not stat:
        return "n/a"
    return (fmt + " (" + fmt + "–" + fmt + ")") % (
        stat["median"] * scale, stat["min"] * scale, stat["max"] * scale)


def _machine_md(m: Json) -> list[str]:
    out = ["| | |", "|---|---|"]
    mem = m.get("memory_bytes")
    fs = m.get("workdir_fs") or {}
    rows = [("CPU", m.get("cpu")), ("cores", m.get("cores")),
            ("memory", fmt_bytes(mem) if mem else "?"),
            ("kernel", m.get("kernel")), ("OS", m.get("os")),
            ("work dir", "%s (%s on %s)" % (m.get("workdir"), fs.get("type"),
                                            fs.get("device"))),
            ("load average at start", " ".join(
                "%.2f" % x for x in m.get("loadavg_at_start", [])))]
    for k, v in sorted((m.get("tools") or {}).items()):
        rows.append(("%s version" % k, v))
    for k, v in rows:
        out.append("| %s | %s |" % (k, v))
    return out


def markdown(results: Json) -> str:
    L: list[str] = []
    L.append("# Re2po benchmark (%s preset)" % results.get("preset"))
    L.append("")
    L.append("Run %s, %s. Medians of the measured runs after warm-up; "
             "min–max in parentheses; ratios are taken pair by pair within "
             "the same run. Command: `%s`" % (
                 results.get("started"), results.get("duration_text", ""),
                 results.get("command")))
    L.append("")
    L.append("## Machine")
    L.append("")
    L += _machine_md(results.get("machine", {}))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | goal | measured (min–max) | verdict | note |")
    L.append("|---|---|---|---|---|")
    for t in results.get("targets", []):
        val = "n/a" if t["value"] is None else "%.3f (%.3f–%.3f), n=%d" % (
            t["value"], t["min"], t["max"], t["n"])
        L.append("| %s | %s | %s | %s | %s |" % (
            t["name"], t["target"], val, t["verdict"], t["note"]))
    L.append("")
    zoo = results.get("zoo") or {}
    if zoo:
        L.append("## Model set")
        L.append("")
        L.append("%s: %d model versions, %d files, %s raw (%d bytes), "
                 "generated by tools/bench/gen-models --preset %s." % (
                     zoo.get("root"), zoo.get("versions", 0),
                     zoo.get("files", 0), fmt_bytes(zoo.get("raw_bytes")),
                     zoo.get("raw_bytes", 0), zoo.get("preset")))
        L.append("")
    for key, title, fn in (("size", "Size and ingest", _size_md),
                           ("reads", "Reads", _reads_md),
                           ("scale", "Scale", _scale_md)):
        part = results.get(key)
        if not part:
            continue
        if part.get("status") == "n/a" and key != "scale":
            L += ["## %s" % title, "", "n/a: %s" % part.get("reason"), ""]
            continue
        L += fn(part)
    return "\n".join(L) + "\n"


def _size_md(size: Json) -> list[str]:
    L = ["## Size and ingest", "",
         "Raw: %s (%d bytes) in %d versions. Stored = `du -B1` of the store "
         "after ingest (Re2po: after `re2po gc`). %d measured run(s) after "
         "%d warm-up." % (fmt_bytes(size["raw_bytes"]), size["raw_bytes"],
                          size["versions"], size["runs"], size["warmup"]),
         "",
         "| system | stored on disk | stored/raw | apparent/raw | ingest MB/s"
         " | Re2po ingest speed-up | Re2po size / this | status |",
         "|---|---|---|---|---|---|---|---|"]
    for name, r in size["systems"].items():
        if r["status"] != "ok" or "ingest_mbps" not in r:
            L.append("| %s | n/a | n/a | n/a | n/a | n/a | n/a | %s |" % (
                r["label"], r.get("reason") or "no measured run"))
            continue
        last = [x for x in r["runs"] if not x["warmup"]][-1]
        L.append("| %s | %s | %s | %.4f | %s | %s | %s | ok |" % (
            r["label"], fmt_bytes(last["stored"]["disk"]),
            _v(r["stored_over_raw"], "%.4f"),
            last["stored_apparent_over_raw"], _v(r["ingest_mbps"]),
            _v(r.get("re2po_ingest_speedup"), "%.2f") if name != "re2po"
            else "—",
            _v(r.get("re2po_size_ratio"), "%.3f") if name != "re2po"
            else "—"))
    L.append("")
    scen: Json = collections.OrderedDict()
    for name, r in size["systems"].items():
        for s, v in (r.get("per_scenario") or {}).items():
            scen.setdefault(s, collections.OrderedDict())[name] = v
    if scen:
        names = [n for n, r in size["systems"].items()
                 if r.get("per_scenario")]
        L.append("### Bytes each scenario's versions added")
        L.append("")
        L.append("Added bytes (added/raw) in the last measured run. "
                 "'ideal' is the manifest's count of tensor bytes whose "
                 "content is not in the version's parent (for a base: all "
                 "its tensor bytes; container metadata not included). "
                 "Measured: "
                 "tool-reported where the tool reports it (Re2po "
                 "`new_bytes`, restic `data_added`, borg "
                 "`deduplicated_size`, whole-file new copies), else the "
                 "store's apparent-size growth.")
        L.append("")
        L.append("| scenario | versions | raw | ideal: new tensor bytes | "
                 + " | ".join(size["systems"][n]["label"] for n in names)
                 + " |")
        L.append("|---|---|---|---|" + "---|" * len(names))
        for s, per in scen.items():
            any_v = next(iter(per.values()))
            cells = []
            for n in names:
                v = per.get(n)
                cells.append("n/a" if not v else "%s (%.3f)" % (
                    fmt_bytes(v["added_bytes"]), v["added_over_raw"]))
            ideal = any_v.get("ideal_new_tensor_bytes")
            L.append("| %s | %d | %s | %s | %s |" % (
                s, any_v["versions"], fmt_bytes(any_v["raw_bytes"]),
                "n/a" if ideal is None else "%s (%.3f)" % (
                    fmt_bytes(ideal), ideal / any_v["raw_bytes"]),
                " | ".join(cells)))
        L.append("")
    return L


_READ_ROWS = [("seq_cold_mbps", "sequential read, cold (MB/s)", "%.0f", 1),
              ("seq_warm_mbps", "sequential read, warm (MB/s)", "%.0f", 1),
              ("fio_4k.iops", "fio random 4 KiB, cold start (IOPS)", "%.0f",
               1),
              ("fio_4k.p99_us", "fio random 4 KiB p99 latency (µs)", "%.0f",
               1),
              ("fio_128k.mbps", "fio random 128 KiB, cold start (MB/s)",
               "%.0f", 1),
              ("fio_128k.p99_us", "fio random 128 KiB p99 latency (µs)",
               "%.0f", 1),
              ("pt_load_cold_s", "torch.load cold (ms)", "%.1f", 1e3),
              ("pt_load_warm_s", "torch.load warm (ms)", "%.1f", 1e3),
              ("onnx_load_cold_s", "onnx.load cold (ms)", "%.1f", 1e3),
              ("onnx_load_warm_s", "onnx.load warm (ms)", "%.1f", 1e3)]


def _reads_md(reads: Json) -> list[str]:
    L = ["## Reads", "",
         "All %d files (%s) of the set read sequentially with 1 MiB reads; "
         "fio: randread, psync, buffered, 1 job, %d s time-based over all "
         "files; loads: torch.load(`%s`), onnx.load(`%s`) in a process that "
         "imported torch/onnx beforehand. Cold = page cache dropped and a "
         "fresh mount. Ratios vs native are per-run pairs (for times, lower "
         "is better)." % (reads["files"], fmt_bytes(reads["bytes"]),
                          reads["fio_seconds"],
                          reads["loads"].get("pt"),
                          reads["loads"].get("onnx")), ""]
    if not reads.get("cold_supported", True):
        L += ["**%s**" % reads.get("cold_note"), ""]
    names = list(reads["targets"])
    L.append("| measurement | " + " | ".join(
        reads["targets"][n].get("label", n) for n in names) + " |")
    L.append("|---|" + "---|" * len(names))
    for key, title, fmt, sc in _READ_ROWS:
        cells = []
        for n in names:
            r = reads["targets"][n]
            if r.get("status") != "ok":
                cells.append("n/a")
                continue
            s = _get(r, "summary", key)
            cell = _v(s, fmt, sc)
            ratio = _get(r, "vs_native", key)
            if ratio and n != "native":
                cell += " = %.2fx" % ratio["median"]
            cells.append(cell)
        L.append("| %s | %s |" % (title, " | ".join(cells)))
    L.append("")
    na = [(n, r.get("reason")) for n, r in reads["targets"].items()
          if r.get("status") != "ok"]
    for n, why in na:
        L.append("- %s: n/a — %s" % (n, why))
    if na:
        L.append("")
    rows = []
    for n, r in reads["targets"].items():
        pr = r.get("parallel_read")
        ms = r.get("mount_seconds")
        if pr and "vm_hwm" in pr:
            rows.append("| %s | %d | %s | %s | %.0f | %s |" % (
                r.get("label", n), pr["threads"], fmt_bytes(pr["vm_hwm"]),
                fmt_bytes(pr["rss_peak_sampled"]), pr["aggregate_mbps"],
                _v(ms, "%.3f")))
        elif pr:
            rows.append("| %s | n/a | n/a | n/a | n/a | %s (%s) |" % (
                r.get("label", n), _v(ms, "%.3f"), pr.get("reason")))
    if rows:
        L += ["### Mount daemons under a parallel read load", "",
              "| mount | reader threads | VmHWM | peak VmRSS sampled | "
              "aggregate MB/s | mount time s |",
              "|---|---|---|---|---|---|"] + rows + [""]
    return L


def _scale_md(scale: Json) -> list[str]:
    L = ["## Scale (versions of one tiny model)", ""]
    if scale.get("status") != "ok":
        return L + ["n/a: %s" % scale.get("reason"), ""]
    L += ["| versions | import s/version | mount ready (ms) | "
          "listdir cold (ms) | listdir+stat cold (ms) | listdir warm (ms) | "
          "`ls` command (ms) | store on disk |",
          "|---|---|---|---|---|---|---|---|"]
    for n, r in scale["results"].items():
        if r.get("status") == "n/a":
            L.append("| %s | n/a: %s | | | | | | |" % (n, r.get("reason")))
            continue
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            n, _v(r["import_per_version_s"], "%.4f"),
            _v(r.get("mount_ready_s"), "%.1f", 1e3),
            _v(r.get("listdir_cold_s"), "%.2f", 1e3),
            _v(r.get("listdir_stat_cold_s"), "%.2f", 1e3),
            _v(r.get("listdir_warm_s"), "%.2f", 1e3),
            _v(r.get("ls_command_s"), "%.1f", 1e3),
            fmt_bytes(r["store"]["disk"])))
    L.append("")
    for n, r in scale["results"].items():
        if (r.get("mount") or {}).get("status") == "n/a":
            L += ["Mount and listing n/a from %s versions on: %s" % (
                n, r["mount"]["reason"]), ""]
            break
    return L


def now_text() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")
