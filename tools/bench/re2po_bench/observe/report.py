"""The observe benchmark's markdown: only numbers measured in the run."""

from ..fleet.report import _v, _x
from ..harness.report import _machine_md
from ..harness.util import Json, fmt_bytes
from .bench import WARM_READS

LIMIT = 1.03  # issue #17: on within 3% of off
PROTECT_LIMIT = 1.10  # issue #16: protected reads within 10% of open ones


def _cell(s: Json, target: str, fmt: str, scale: float) -> str:
    cell = _v(s.get(target), fmt, scale)
    if target != "native":
        cell += " = %s native" % _x(s.get(target + "_vs_native"))
    return cell


def _verdict(s: Json, limit: float = LIMIT) -> str:
    t = s.get("on_vs_off_time")
    if not t:
        return "n/a"
    over = (t["median"] - 1) * 100
    return "yes" if t["median"] <= limit else "**no: %+.1f%%**" % over


def _row(label: str, s: Json, limit: float = LIMIT) -> str:
    fmt, scale = ("%.0f", 1e3) if s["is_time"] else ("%.0f", 1.0)
    ratio = _x(s.get("on_vs_off"))
    if not s["is_time"]:
        ratio += " (time %s)" % _x(s.get("on_vs_off_time"))
    return "| %s | %s | %s |" % (label, " | ".join(
        _cell(s, t, fmt, scale) for t in ("native", "off", "on")),
        ratio + " | " + _verdict(s, limit))


def _head(res: Json, title: str, targets: str) -> list[str]:
    """Title, how the run went, the machine."""
    L = ["# Re2po " + title, "",
         "Run %s, %s. Medians over %d runs, min–max in parentheses; every "
         "run measures native, %s back to back, and ratios are taken pair "
         "by pair within a run. Command: `%s`" % (
             res["started"], res.get("duration_text", ""),
             res["options"]["runs"], targets, res["command"]), "",
         "## Machine", ""]
    return L + _machine_md(res.get("machine", {})) + [""]


def protect_markdown(res: Json) -> str:
    zoo, s = res["zoo"], res["summary"]
    imports = res.get("import_s", {})
    L = _head(res, "protect benchmark: sealed chunks on the read path",
              "open and protected (protected first in odd runs)")
    L += ["Model set: `gen-models --preset %s`, %d files, %s, imported "
          "into two stores: open (off: `-o %s`) and every version with "
          "`--protect` (on: `-o %s`). Cold = a fresh mount and the page "
          "cache dropped; warm = the last of %d reads after the cold one. "
          "Imports: open %.1f s, protected %.1f s (%s)." % (
              zoo["preset"], zoo["files"], fmt_bytes(zoo["raw_bytes"]),
              res["configs"]["off"], res["configs"]["on"], WARM_READS,
              imports.get("off", 0), imports.get("on", 0),
              "%.2fx" % (imports["on"] / imports["off"])
              if imports.get("off") and imports.get("on") else "n/a"), "",
          "| measurement | native | open | protected | protected/open "
          "| within 10%? |", "|---|---|---|---|---|---|",
          _row("cold sequential read, MiB/s", s["seq_cold_mbps"],
               PROTECT_LIMIT),
          _row("warm sequential read, MiB/s", s["seq_warm_mbps"],
               PROTECT_LIMIT),
          _row("cold torch.load, all %d models, ms" % len(zoo["loaded"]),
               s["load_s"], PROTECT_LIMIT)]
    L.append("")
    return "\n".join(L) + "\n"


def markdown(res: Json) -> str:
    if res["options"].get("protect"):
        return protect_markdown(res)
    zoo, s = res["zoo"], res["summary"]
    L = _head(res, "observe benchmark: access log and metrics on the read "
              "path", "off and on (on before off in odd runs)")
    L += ["Model set: `gen-models --preset %s`, %d files, %s. off: `re2po "
          "mount MP -o %s`; on: `re2po mount MP -o %s` (access log on, its "
          "default) with /metrics scraped every %g s from a thread. Cold = "
          "a fresh mount and the page cache dropped after mounting; warm = "
          "the last of %d reads after the cold one, same mount. Each cold "
          "`torch.load(path, map_location=\"cpu\")` has a mount of its own, "
          "timed inside a process that imported torch beforehand." % (
              zoo["preset"], zoo["files"], fmt_bytes(zoo["raw_bytes"]),
              res["configs"]["off"], res["configs"]["on"],
              res["scrape_interval_s"], WARM_READS), "",
          "| measurement | native | off | on | on/off | on within 3%? |",
          "|---|---|---|---|---|---|",
          _row("cold sequential read, MiB/s", s["seq_cold_mbps"]),
          _row("warm sequential read, MiB/s", s["seq_warm_mbps"]),
          _row("cold torch.load, all %d models, ms" % len(zoo["loaded"]),
               s["load_s"])]
    for ref in zoo["loaded"]:
        L.append(_row("cold torch.load %s, ms" % ref, s["load_s:" + ref]))
    a = res.get("access_log") or {}
    L += ["", "Access log of the \"on\" mounts: %d records for %d opens made "
          "through them (%d counted by the mounts' own open counter); %d "
          "records reported lost in the log, %d by the lost-records counter. "
          "%d mounts, %d scrapes, %d failed." % (
              a.get("records", 0), a.get("opens_by_harness", 0),
              a.get("opens_counted_by_mounts", 0),
              a.get("lost_lines_total", 0), a.get("lost_counted_by_mounts", 0),
              a.get("mounts", 0), a.get("scrapes", 0),
              len(a.get("scrape_errors", [])))]
    if a.get("scrape_errors"):
        L.append("First failed scrape: %s." % a["scrape_errors"][0])
    L.append("")
    return "\n".join(L) + "\n"
