"""Reads: native files vs the same files through Re2po (and peer) mounts.

Cold means: page cache dropped (echo 3 > /proc/sys/vm/drop_caches) and, for
a mount, a fresh mount (so no daemon-side cache survives). Warm means the
same read again right after.
"""

import collections
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from re2po_bench.interpreter import TORCH_PYTHON, module_env

from .systems import Mount, System
from .util import (BenchError, Json, MiB, can_drop_caches, drop_caches, log,
                   proc_status, ratios, read_files, run, summarize)
from .zoo import Zoo

# a set-relative path -> the path to read it at
PathFor = Callable[[str], str]


# ------------------------------------------------------------- targets

class ReadTarget:
    """Where the set's files are read from: cold() after dropping the page
    cache (and remounting), warm() as they are."""
    name = "?"
    label = "?"

    @property
    def pid(self) -> int | None:
        """The process serving the reads, whose memory is measured."""
        return None

    def cold(self) -> PathFor:
        raise NotImplementedError

    def warm(self) -> PathFor:
        raise NotImplementedError

    def close(self) -> None:
        pass


class NativeTarget(ReadTarget):
    name = "native"
    label = "native files"

    def __init__(self, zoo: Zoo) -> None:
        self.zoo = zoo

    def cold(self) -> PathFor:
        drop_caches()
        return lambda rel: os.path.join(self.zoo.root, rel)

    def warm(self) -> PathFor:
        return lambda rel: os.path.join(self.zoo.root, rel)


class MountTarget(ReadTarget):
    """A system's store seen through its FUSE mount."""

    def __init__(self, system: System, mp: str) -> None:
        self.system = system
        self.name = system.name
        self.label = system.label + " mount"
        self.mp = mp
        self.mount: Mount | None = None
        self.mount_seconds: list[float] = []

    @property
    def pid(self) -> int | None:
        return self.mount.pid if self.mount else None

    def _fresh(self, drop: bool) -> PathFor:
        self.close()
        if drop:
            drop_caches()
        t0 = time.perf_counter()
        self.mount = self.system.mount(self.mp)
        self.mount_seconds.append(time.perf_counter() - t0)
        return self.mount.path_for

    def cold(self) -> PathFor:
        return self._fresh(True)

    def warm(self) -> PathFor:
        if self.mount is None:
            return self._fresh(False)
        return self.mount.path_for

    def close(self) -> None:
        if self.mount is not None:
            self.mount.unmount()
            self.mount = None


# -------------------------------------------------------------- loader

class Loader:
    """torch.load / onnx.load timed in a separate /usr/bin/python3 that
    imported torch and onnx once (import time is not part of a load)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [TORCH_PYTHON, "-u", "-m", "re2po_bench.harness.loader"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=module_env())
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.requests = self.proc.stdin
        self.replies = self.proc.stdout
        hello = self.replies.readline()
        if not hello:
            raise BenchError("loader did not start (python3-torch/onnx?)")
        self.info = json.loads(hello)

    def load(self, kind: str, path: str, repeat: int = 2) -> list[float]:
        self.requests.write(json.dumps({"kind": kind, "path": path,
                                        "repeat": repeat}) + "\n")
        self.requests.flush()
        line = self.replies.readline()
        if not line:
            raise BenchError("loader died")
        out = json.loads(line)
        if "error" in out:
            raise BenchError("load %s failed: %s" % (path, out["error"]))
        times: list[float] = out["times"]
        return times

    def close(self) -> None:
        if self.proc.poll() is None:
            self.requests.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ----------------------------------------------------------------- fio

def _short_names(paths: Sequence[str], workdir: str) -> list[str]:
    """fio caps an option value at 4096 bytes, and peers' mounts have long
    paths: hand fio short symlinks (l0, l1, ...) in a fresh directory."""
    links = os.path.join(workdir, "links")
    if os.path.isdir(links):
        for name in os.listdir(links):
            os.unlink(os.path.join(links, name))
    os.makedirs(links, exist_ok=True)
    names = []
    for i, path in enumerate(paths):
        name = "l%d" % i
        os.symlink(path, os.path.join(links, name))
        names.append(os.path.join("links", name))
    return names


def fio_randread(paths: Sequence[str], bs: str, seconds: int,
                 workdir: str) -> Json:
    """fio random reads over the files (buffered, psync, 1 job)."""
    cmd = ["fio", "--name=randread-%s" % bs, "--rw=randread", "--bs=%s" % bs,
           "--ioengine=psync", "--readonly", "--time_based",
           "--runtime=%ds" % seconds, "--file_service_type=random",
           "--filename=" + ":".join(_short_names(paths, workdir)),
           "--output-format=json"]
    r = run(cmd, cwd=workdir, timeout=seconds + 300)
    d = json.loads(r.stdout[r.stdout.index("{"):])
    rd = d["jobs"][0]["read"]
    pct = rd.get("clat_ns", {}).get("percentile", {})
    return collections.OrderedDict(
        iops=rd["iops"], mbps=rd["bw_bytes"] / MiB,
        p50_us=pct.get("50.000000", 0) / 1000.0,
        p99_us=pct.get("99.000000", 0) / 1000.0)


# ----------------------------------------------------------- one run

def _measure(target: ReadTarget, zoo: Zoo, rels: list[str],
             loads: list[tuple[str, str]], fio_bs: Sequence[str],
             fio_seconds: int, workdir: str, loader: Loader | None,
             cold_ok: bool) -> Json:
    rec: Json = collections.OrderedDict()
    total = sum(os.path.getsize(os.path.join(zoo.root, r)) for r in rels)
    # sequential, cold then warm
    pf = target.cold() if cold_ok else target.warm()
    paths = [pf(r) for r in rels]
    if cold_ok:
        t0 = time.perf_counter()
        n = read_files(paths)
        rec["seq_cold_mbps"] = n / MiB / (time.perf_counter() - t0)
        if n != total:
            raise BenchError("%s: read %d bytes, expected %d" % (
                target.name, n, total))
    read_files(paths)  # make sure everything is cached before "warm"
    t0 = time.perf_counter()
    n = read_files(paths)
    rec["seq_warm_mbps"] = n / MiB / (time.perf_counter() - t0)
    # model loads: cold (fresh) then warm (again, same process)
    if loader is not None:
        for kind, rel in loads:
            pf = target.cold() if cold_ok else target.warm()
            times = loader.load(kind, pf(rel), repeat=2)
            if cold_ok:
                rec["%s_load_cold_s" % kind] = times[0]
            rec["%s_load_warm_s" % kind] = times[1]
    # random reads with fio, from a cold start
    for bs in fio_bs:
        pf = target.cold() if cold_ok else target.warm()
        rec["fio_%s" % bs] = fio_randread([pf(r) for r in rels], bs,
                                          fio_seconds, workdir)
    return rec


def parallel_read_rss(target: ReadTarget, zoo: Zoo, rels: list[str],
                      threads: int, workdir: str) -> Json:
    """Peak RSS (VmHWM) of the mount daemon while `threads` readers read the
    whole set concurrently from a cold, fresh mount."""
    pf = target.cold()
    found = target.pid
    if not found:
        raise BenchError("could not find the %s mount daemon's pid" %
                         target.name)
    pid: int = found
    paths = [pf(r) for r in rels]
    errors: list[str] = []
    peak = [0]
    done = threading.Event()

    def reader(k: int) -> None:
        try:
            order = paths[k % len(paths):] + paths[:k % len(paths)]
            read_files(order)
        except OSError as e:
            errors.append(str(e))

    def sampler() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc_status(pid).get("VmRSS", 0))
            time.sleep(0.02)

    before = proc_status(pid)
    s = threading.Thread(target=sampler)
    s.start()
    ts = [threading.Thread(target=reader, args=(k,)) for k in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = time.perf_counter() - t0
    done.set()
    s.join()
    after = proc_status(pid)
    if errors:
        raise BenchError("parallel read failed: %s" % errors[0])
    total = sum(os.path.getsize(os.path.join(zoo.root, r)) for r in rels)
    return collections.OrderedDict(
        pid=pid, threads=threads, bytes_read=total * threads,
        aggregate_mbps=total * threads / MiB / dt,
        rss_before=before.get("VmRSS"), rss_peak_sampled=peak[0],
        vm_hwm=after.get("VmHWM"))


# ---------------------------------------------------------------- phase

def run_reads(zoo: Zoo, systems: list[System], work: str, runs: int,
              warmup: int, fio_seconds: int,
              fio_bs: Sequence[str] = ("4k", "128k"), rss_threads: int = 4,
              peers_mount: bool = True) -> Json:
    cold_ok = can_drop_caches()
    rels = zoo.rel_files
    pt = zoo.find("resnet18") or zoo.first("base", "pt")
    onnx_v = zoo.find("resnet18-onnx") or zoo.first("formats", "onnx")
    if pt is None:
        raise BenchError("the model set has no base .pt model to load")
    loads = [("pt", pt.rel_files[0])]
    if onnx_v:
        loads.append(("onnx", onnx_v.rel_files[0]))
    res: Json = collections.OrderedDict(
        cold_supported=cold_ok,
        cold_note=None if cold_ok else
        "cannot drop the page cache here: cold numbers not measured",
        files=len(rels), bytes=sum(v.bytes for v in zoo.versions),
        loads={k: r for k, r in loads}, runs=runs, warmup=warmup,
        fio_seconds=fio_seconds, targets=collections.OrderedDict())
    targets: list[ReadTarget] = [NativeTarget(zoo)]
    mounts: list[MountTarget] = []
    for s in systems:
        if not s.mountable:
            continue
        if s.name != "re2po" and not peers_mount:
            res["targets"][s.name] = {
                "status": "n/a", "label": s.label + " mount",
                "reason": "peer mounts not read in this preset "
                          "(--peer-mounts yes)"}
            continue
        if not s.ready_for_reads:
            res["targets"][s.name] = {"status": "n/a",
                                      "label": s.label + " mount",
                                      "reason": s.not_ready_reason}
            continue
        mounts.append(MountTarget(s, os.path.join(work, "mnt", s.name)))
    targets += mounts
    loader: Loader | None = None
    try:
        loader = Loader()
    except (BenchError, OSError) as e:
        res["loader_error"] = str(e)
        log("model loads n/a: %s" % e)
    for t in targets:
        res["targets"][t.name] = collections.OrderedDict(
            label=t.label, status="ok", reason=None, runs=[])
    os.makedirs(os.path.join(work, "fio"), exist_ok=True)
    try:
        for i in range(warmup + runs):
            for t in targets:
                r = res["targets"][t.name]
                if r["status"] != "ok":
                    continue
                try:
                    rec = _measure(t, zoo, rels, loads, fio_bs, fio_seconds,
                                   os.path.join(work, "fio"), loader, cold_ok)
                except (BenchError, OSError, KeyError) as e:
                    r.update(status="n/a", reason=str(e))
                    log("reads via %s: n/a (%s)" % (t.name, e))
                    t.close()
                    continue
                rec["warmup"] = i < warmup
                r["runs"].append(rec)
                log("reads %s run %d: seq cold %s warm %.0f MB/s" % (
                    t.name, i, "%.0f" % rec["seq_cold_mbps"]
                    if "seq_cold_mbps" in rec else "n/a",
                    rec["seq_warm_mbps"]))
            for t in targets:
                t.close()
        # peak RSS of each mount daemon under a parallel read load
        if cold_ok:
            for t in mounts:
                r = res["targets"][t.name]
                if r["status"] != "ok":
                    continue
                try:
                    r["parallel_read"] = parallel_read_rss(
                        t, zoo, rels, rss_threads, work)
                except (BenchError, OSError) as e:
                    r["parallel_read"] = {"status": "n/a", "reason": str(e)}
                finally:
                    t.close()
        for t in mounts:
            res["targets"][t.name]["mount_seconds"] = summarize(
                t.mount_seconds)
    finally:
        for t in targets:
            t.close()
        if loader:
            loader.close()
    # column order: native, Re2po, then the peers
    order = sorted(res["targets"], key=lambda n: (n != "native",
                                                  n != "re2po"))
    res["targets"] = collections.OrderedDict(
        (n, res["targets"][n]) for n in order)
    _summarize(res)
    return res


def _metric(rec: Json, key: str) -> Any:
    if "." in key:
        a, b = key.split(".")
        return rec.get(a, {}).get(b)
    return rec.get(key)


METRICS = ["seq_cold_mbps", "seq_warm_mbps", "pt_load_cold_s",
           "pt_load_warm_s", "onnx_load_cold_s", "onnx_load_warm_s",
           "fio_4k.iops", "fio_4k.mbps", "fio_128k.iops", "fio_128k.mbps",
           "fio_4k.p99_us", "fio_128k.p99_us"]


def _summarize(res: Json) -> None:
    native = res["targets"].get("native")
    nruns = [x for x in native["runs"] if not x["warmup"]] if native else []
    for name, r in res["targets"].items():
        if r.get("status") != "ok":
            continue
        m = [x for x in r["runs"] if not x["warmup"]]
        r["summary"] = collections.OrderedDict()
        r["vs_native"] = collections.OrderedDict()
        for key in METRICS:
            vals = [_metric(x, key) for x in m]
            if all(v is None for v in vals):
                continue
            r["summary"][key] = summarize(vals)
            if name != "native" and len(nruns) == len(m):
                # same run index = measured back to back: pair by pair
                r["vs_native"][key] = ratios(
                    vals, [_metric(x, key) for x in nruns])
