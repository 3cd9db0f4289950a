"""One benchmark run: the model set, then the size, reads and scale phases
over the chosen systems, then the targets; results written as JSON and
markdown."""

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict

from . import machine, reads, report, scale, size, systems
from .config import BenchPreset, RunOptions
from .systems import System
from .util import BenchError, Json, log, rmtree, unmount
from .zoo import Zoo, ensure_zoo


def _phase(fn: Callable[[], Json]) -> Json:
    """Run one phase; a failure makes the phase n/a with the reason."""
    try:
        return fn()
    except (BenchError, OSError) as e:
        log("phase failed: %s" % e)
        return {"status": "n/a", "reason": str(e)}


def _warn_if_busy() -> None:
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) * 0.5:
        log("warning: load average %.2f at start; numbers will be noisy" %
            load)


def _start_slow_setups(sysobjs: list[System]) -> None:
    # restic/borg init are slow (key derivation, fsyncs): prepare their
    # empty-repository templates while the model set is generated
    for s in sysobjs:
        if s.check() is None:
            s.prepare_async()


def _zoo_summary(zoo: Zoo) -> Json:
    return {"root": zoo.root, "preset": zoo.manifest["preset"],
            "versions": len(zoo.versions), "files": len(zoo.rel_files),
            "raw_bytes": zoo.raw_bytes}


def _mark_ready_for_reads(sysobjs: list[System], size_res: Json) -> None:
    """Reads go through the stores the size phase built."""
    for s in sysobjs:
        st = (size_res.get("systems") or {}).get(s.name, {})
        s.ready_for_reads = st.get("status") == "ok"
        s.not_ready_reason = st.get("reason") or size_res.get("reason")


def _run_phases(results: Json, opts: RunOptions, cfg: BenchPreset, zoo: Zoo,
                sysobjs: list[System], re2po: systems.Re2po) -> None:
    work = opts.work_dir
    if "size" not in opts.skip:
        log("phase: size and ingest")
        results["size"] = _phase(lambda: size.run_size(
            zoo, sysobjs, work, cfg.ingest_runs, cfg.ingest_warmup))
        _mark_ready_for_reads(sysobjs, results["size"])
    if "reads" not in opts.skip:
        log("phase: reads")
        results["reads"] = _phase(lambda: reads.run_reads(
            zoo, sysobjs, work, cfg.read_runs, cfg.read_warmup,
            cfg.fio_seconds, rss_threads=cfg.rss_threads,
            peers_mount=cfg.peer_mounts))
    if "scale" not in opts.skip:
        log("phase: scale")
        results["scale"] = _phase(lambda: scale.run_scale(
            re2po, work, cfg.scale_counts, cfg.scale_mount_runs))


def _clean_up(work: str, keep_stores: bool) -> None:
    """Leave no mount behind, even after a failure."""
    mnt = os.path.join(work, "mnt")
    if os.path.isdir(mnt):
        for d in os.listdir(mnt):
            unmount(os.path.join(mnt, d))
    if not keep_stores:
        rmtree(os.path.join(work, "stores"))
        rmtree(os.path.join(work, "scale-src"))


def run_benchmark(opts: RunOptions) -> Json:
    t_start = time.time()
    cfg = opts.config()
    os.makedirs(opts.work_dir, exist_ok=True)
    names = list(opts.systems)
    tool_status = machine.ensure_tools(
        ["fio"] + systems.tools_needed(names), opts.install_tools)
    results: Json = {
        "preset": opts.preset, "config": asdict(cfg),
        "command": opts.command, "started": report.now_text(),
        "re2po_binary": opts.re2po_binary, "tool_status": tool_status,
    }
    results["machine"] = machine.describe(opts.work_dir, opts.re2po_binary)
    _warn_if_busy()

    sysobjs = systems.make_systems(opts.work_dir, names, opts.re2po_binary,
                                   opts.cache_size, opts.mount_layout)
    _start_slow_setups(sysobjs)
    zoo = ensure_zoo(opts.zoo_dir, opts.preset, opts.regenerate_zoo)
    results["zoo"] = _zoo_summary(zoo)

    for s in sysobjs:
        s.not_ready_reason = "size phase skipped: no store to mount"
    # scale always measures Re2po, even when it is not among --systems
    re2po = next((s for s in sysobjs if isinstance(s, systems.Re2po)),
                 None) or systems.Re2po(opts.work_dir, opts.re2po_binary,
                                        opts.cache_size, opts.mount_layout)
    try:
        _run_phases(results, opts, cfg, zoo, sysobjs, re2po)
    finally:
        _clean_up(opts.work_dir, opts.keep_stores)

    results["targets"] = report.evaluate_targets(results)
    results["duration_s"] = time.time() - t_start
    results["duration_text"] = "took %.0f s" % results["duration_s"]
    return results


def write_results(results: Json, opts: RunOptions) -> None:
    with open(opts.json_path, "w") as f:
        json.dump(results, f, indent=1, default=str)
        f.write("\n")
    md = report.markdown(results)
    with open(opts.md_path, "w") as f:
        f.write(md)
    print(md)
    log("wrote %s and %s in %.0f s" % (opts.json_path, opts.md_path,
                                       results["duration_s"]))
