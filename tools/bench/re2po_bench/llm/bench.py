"""One LLM benchmark run (issue #20): the gen-llm set imported version by
version into a fresh store, then read back through fresh mounts, every
figure beside the same measurement on the native files in the same run.

- import: one `re2po import MODEL@VERSION DIR --json` per version (its
  files read once beforehand, so the source disk is not what is timed):
  wall time and MiB/s of model bytes; the process's RssAnon and VmRSS
  sampled every 50 ms, its VmHWM as last sampled, and ru_maxrss from
  wait4 (exact peak RSS, file pages included); its stdout and stderr
  searched for RocksDB's own lines ("rocksdb", "Stopping writes",
  "Stalling writes"); `du` of the store before and after;
- stored size per version vs raw, and `zstd -3 -T1` of every file as the
  peer figure; `re2po gc` at the end and the store's size after it;
- per run (`--runs`), per tensor file, native and Re2po back to back
  (Re2po first in odd runs): a cold sequential read in 1 MiB reads (fresh
  mount, page cache dropped) followed by a warm one on the same mount;
  then a cold read of every tensor through mmap in loader order (fresh
  mount, page cache dropped);
- the mount daemon's VmRSS/RssAnon/VmHWM after the cold and warm reads
  of the largest file, against the cache_size it was mounted with.
"""

import collections
import contextlib
import mmap
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import IO

from ..harness import machine, report as harness_report
from ..harness.systems import Mount, Re2po, unmount_all
from ..harness.util import (BenchError, Json, MiB, drop_caches, du_bytes,
                            find_pids, have, is_mounted, log, parse_json_tail,
                            proc_status, ratios, read_files, rmtree, summarize,
                            wait_for)
from . import gen

MOUNT_DEFAULT_CACHE = "256M"  # fs/core/mount_options.h: cache_bytes
SAMPLE_S = 0.05
TERMINAL_NOISE = re.compile(r"rocksdb|stopping writes|stalling writes", re.I)
TARGETS = ("native", "re2po")
TENSOR_SUFFIXES = (".safetensors", ".gguf")

# a set-relative path -> the path to read it at
PathFor = Callable[[str], str]


@dataclass(frozen=True)
class LlmOptions:
    work_dir: str  # model set, store, mount point, results
    re2po_binary: str
    scale: float = 1.0
    seed: int = gen.DEFAULT_SEED
    models_dir: str = ""  # default <work>/models-s<scale>-<seed>
    runs: int = 3
    cache_size: str = ""  # re2po mount -o cache_size=; "" = its default
    gc: bool = True
    keep: bool = False  # keep the store
    json_path: str = ""
    md_path: str = ""
    command: str = ""


def parse_size(text: str) -> int:
    """`re2po mount`'s SIZE: bytes, or K/M/G/T (powers of 1024), also
    KiB/KB..."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text,
                     re.I)
    if not m:
        raise ValueError("bad size %r" % text)
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * 1024 ** power)


def noise_lines(*texts: str) -> list[str]:
    """The lines RocksDB (or stall warnings) put on the terminal."""
    return [line for t in texts for line in t.splitlines()
            if TERMINAL_NOISE.search(line)]


def proc_memory(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile in bytes (empty once it is gone)."""
    return proc_status(pid, ("VmRSS", "VmHWM", "RssAnon", "RssFile"))


class MemorySampler:
    """Samples a process's /proc status from a thread while the caller
    blocks in wait4, so the wall time is not rounded to the interval."""

    def __init__(self, pid: int, interval: float = SAMPLE_S) -> None:
        self.pid = pid
        self.peak: dict[str, int] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval,),
                                        daemon=True)
        self._thread.start()

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            mem = proc_memory(self.pid)
            if mem:
                self.samples += 1
                for k, v in mem.items():
                    self.peak[k] = max(v, self.peak.get(k, 0))
            self._stop.wait(interval)

    def stop(self) -> Json:
        self._stop.set()
        self._thread.join()
        return {"samples": self.samples,
                "peak_rss_anon": self.peak.get("RssAnon"),
                "peak_vm_rss": self.peak.get("VmRSS"),
                "vm_hwm_sampled": self.peak.get("VmHWM")}


def run_monitored(cmd: Sequence[str], timeout: float = 7200) -> Json:
    """Run a command, sampling its memory; its output goes to files (a pipe
    could fill and stall it)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(list(cmd), stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL)
        sampler = MemorySampler(p.pid)
        timer = threading.Timer(timeout, p.kill)  # the child we started
        timer.start()
        t0 = time.perf_counter()
        try:
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
        finally:
            timer.cancel()
            mem = sampler.stop()
            if p.returncode is None:  # interrupted: do not leave it running
                p.kill()
                p.wait()
        out.seek(0)
        err.seek(0)
        res: Json = dict(mem, wall_s=wall, returncode=p.returncode,
                         ru_maxrss=usage.ru_maxrss * 1024,
                         stdout=out.read().decode(errors="replace"),
                         stderr=err.read().decode(errors="replace"))
    return res


def zstd_size(path: str) -> tuple[int, float]:
    """(bytes of `zstd -3 -T1` of the file, seconds): the stream is counted,
    not stored."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["zstd", "-3", "-T1", "-q", "-c", path],
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert p.stdout is not None
    stream: IO[bytes] = p.stdout
    n = 0
    done = False
    try:
        for b in iter(lambda: stream.read(4 * MiB), b""):
            n += len(b)
        done = True
    finally:
        if not done:  # interrupted: do not leave it running
            p.kill()
            p.wait()
    if p.wait() != 0:
        raise BenchError("zstd -3 %s exited %d" % (path, p.returncode))
    return n, time.perf_counter() - t0


def mmap_read(path: str, ranges: Sequence[tuple[str, int, int]]) -> int:
    """Map the file and copy every tensor out of the mapping in the given
    order (what safe_open/get_tensor and llama.cpp's mmap do to its pages);
    returns bytes copied."""
    total = 0
    with open(path, "rb") as f:
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for _, a, b in ranges:
                total += len(mm[a:b])
    return total


def read_twice(path: str) -> tuple[float, float, int]:
    """(cold seconds, warm seconds, bytes) of two sequential reads."""
    t0 = time.perf_counter()
    n = read_files([path])
    t1 = time.perf_counter()
    read_files([path])
    return t1 - t0, time.perf_counter() - t1, n


@dataclass
class LlmFile:
    rel: str
    kind: str
    bytes: int
    ranges: list[tuple[str, int, int]]  # tensors in loader order

    @property
    def tensor_bytes(self) -> int:
        return sum(b - a for _, a, b in self.ranges)


class LlmBench:
    def __init__(self, opts: LlmOptions) -> None:
        self.opts = opts
        self.re2po = Re2po(opts.work_dir, opts.re2po_binary)
        self.mp = os.path.join(opts.work_dir, "mnt")
        self.mounts: list[Mount] = []
        self.noise: list[Json] = []  # RocksDB lines seen, and where
        self.root = ""
        self.manifest: Json = {}

    # ---------------------------------------------------------- set-up

    def _models(self) -> None:
        """Reuse a complete set of this scale and seed, else generate."""
        o = self.opts
        root = o.models_dir or os.path.join(
            o.work_dir, "models-s%g-%d" % (o.scale, o.seed))
        try:
            m = gen.read_manifest(root)
            ok = o.models_dir or (m["scale"], m["seed"]) == (o.scale, o.seed)
        except (OSError, ValueError, KeyError):
            ok = False
        if not ok:
            log("generating the LLM set at scale %g into %s" % (o.scale, root))
            gen.generate(root, o.scale, o.seed)
        self.root = root
        self.manifest = gen.read_manifest(root)
        self.files = [LlmFile(f["path"], f["kind"], f["bytes"],
                              gen.tensor_ranges(os.path.join(root, f["path"])))
                      for f in self.manifest["files"]
                      if f["path"].endswith(TENSOR_SUFFIXES)]

    def _path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def _note_noise(self, where: str, *texts: str) -> None:
        for line in noise_lines(*texts):
            self.noise.append({"where": where, "line": line})

    # ---------------------------------------------------------- imports

    def _import_one(self, v: Json) -> Json:
        paths = [self._path(f["path"]) for f in v["files"]]
        read_files(paths)  # the source in the page cache, as run-bench does
        before = du_bytes(self.re2po.store_dir())
        r = run_monitored([self.opts.re2po_binary, "--store",
                           self.re2po.store_dir(), "import", v["ref"],
                           self._path(v["dir"]), "--json"])
        if r["returncode"] != 0:
            raise BenchError("re2po import %s exited %d: %s" % (
                v["ref"], r["returncode"], r["stderr"].strip()[-500:]))
        after = du_bytes(self.re2po.store_dir())
        out = r.pop("stdout")
        err = r.pop("stderr")
        json_at = out.find("{")
        terminal = (err, out[:json_at] if json_at >= 0 else out)
        self._note_noise("import " + v["ref"], *terminal)
        try:
            cli: Json = parse_json_tail(out)
        except BenchError:
            cli = {}
        rec: Json = collections.OrderedDict(
            ref=v["ref"], kind=v["kind"], bytes=v["bytes"],
            mbps=v["bytes"] / MiB / r["wall_s"], **r)
        rec.update(stored_growth=after["disk"] - before["disk"],
                   stored_growth_apparent=after["apparent"]
                   - before["apparent"],
                   noise_lines=len(noise_lines(*terminal)),
                   stderr_tail=err.strip().splitlines()[-5:],
                   cli={k: cli.get(k) for k in (
                       "seconds", "new_bytes", "new_raw_bytes", "chunks",
                       "new_chunks", "delta_chunks", "delta_raw_bytes",
                       "dedup_ratio", "formats", "warnings")})
        rec["stored_over_raw"] = rec["stored_growth"] / v["bytes"]
        return rec

    def _imports(self) -> Json:
        self.re2po.reset(os.path.join(self.opts.work_dir, "store"))
        recs = []
        for v in self.manifest["versions"]:
            rec = self._import_one(v)
            log("import %s: %.2f s, %.0f MiB/s, peak anon %.0f MiB, stored "
                "%.1f MiB of %.1f MiB" % (
                    v["ref"], rec["wall_s"], rec["mbps"],
                    (rec["peak_rss_anon"] or 0) / MiB,
                    rec["stored_growth"] / MiB, v["bytes"] / MiB))
            recs.append(rec)
        total_b = sum(r["bytes"] for r in recs)
        total_s = sum(r["wall_s"] for r in recs)
        res: Json = {"versions": recs, "bytes": total_b, "seconds": total_s,
                     "mbps": total_b / MiB / total_s,
                     "stored_before_gc": du_bytes(self.re2po.store_dir())}
        if self.opts.gc:
            res["gc"] = self._gc()
        return res

    def _gc(self) -> Json:
        t0 = time.perf_counter()
        r = self.re2po.cli("gc", timeout=7200)
        dt = time.perf_counter() - t0
        self._note_noise("gc", r.stdout, r.stderr)
        return {"seconds": dt, "stored": du_bytes(self.re2po.store_dir())}

    # ------------------------------------------------------------ zstd

    def _zstd(self) -> Json:
        if not have("zstd"):
            return {"status": "n/a", "reason": "the zstd CLI is not installed "
                    "(nor python3-zstandard): no peer figure"}
        per: dict[str, Json] = collections.OrderedDict()
        for f in self.manifest["files"]:
            read_files([self._path(f["path"])])
            n, dt = zstd_size(self._path(f["path"]))
            k = per.setdefault(f["kind"], {"bytes": 0, "zstd_bytes": 0,
                                           "seconds": 0.0})
            k["bytes"] += f["bytes"]
            k["zstd_bytes"] += n
            k["seconds"] += dt
        for k in per.values():
            k["ratio"] = k["zstd_bytes"] / k["bytes"]
            k["mbps"] = k["bytes"] / MiB / k["seconds"]
        return {"status": "ok", "kinds": per}

    # ----------------------------------------------------------- reads

    def _daemons(self) -> list[int]:
        return [p for p in find_pids("mount", self.mp) if p != os.getpid()]

    @contextlib.contextmanager
    def _session(self, target: str) -> Iterator[tuple[PathFor, int | None]]:
        """Native paths, or a fresh mount unmounted on the way out (waiting
        for its daemon to exit, so no two daemons ever run together)."""
        if target == "native":
            yield self._path, None
            return
        os.makedirs(self.mp, exist_ok=True)
        args = ["mount", self.mp]
        if self.opts.cache_size:
            args += ["-o", "cache_size=" + self.opts.cache_size]
        r = self.re2po.cli(*args, timeout=120)
        m = Mount(self.re2po, self.mp, lambda rel: os.path.join(
            self.mp, self.re2po.rel_to_mount(rel)))
        self.mounts.append(m)
        self._note_noise("mount", r.stdout, r.stderr)
        if not wait_for(lambda: is_mounted(self.mp), 30):
            raise BenchError("re2po mount returned; %s not mounted" % self.mp)
        pids = self._daemons()
        try:
            yield m.path_for, max(pids) if pids else None
        finally:
            m.unmount()
            self.mounts.remove(m)
            if not wait_for(lambda: not self._daemons(), 30):
                log("a mount daemon of %s is still running" % self.mp)

    def _sequential(self, target: str, f: LlmFile, largest: bool) -> Json:
        with self._session(target) as (path_for, pid):
            path = path_for(f.rel)
            drop_caches()
            cold, warm, n = read_twice(path)
            rec: Json = {"seq_cold_s": cold, "seq_warm_s": warm}
            if largest and pid is not None:
                rec["daemon"] = proc_memory(pid)
        if n != f.bytes:
            raise BenchError("%s via %s: read %d bytes, expected %d" % (
                f.rel, target, n, f.bytes))
        return rec

    def _mmap(self, target: str, f: LlmFile) -> float:
        with self._session(target) as (path_for, _):
            path = path_for(f.rel)
            drop_caches()
            t0 = time.perf_counter()
            n = mmap_read(path, f.ranges)
            dt = time.perf_counter() - t0
        if n != f.tensor_bytes:
            raise BenchError("%s via %s: mapped %d tensor bytes, expected %d"
                             % (f.rel, target, n, f.tensor_bytes))
        return dt

    def _one_run(self, i: int) -> Json:
        order = TARGETS if i % 2 == 0 else tuple(reversed(TARGETS))
        largest = max(self.files, key=lambda f: f.bytes)
        rec: Json = collections.OrderedDict()
        for f in self.files:
            per: Json = {t: {} for t in TARGETS}
            for t in order:
                per[t].update(self._sequential(t, f, f is largest))
            for t in order:
                per[t]["mmap_cold_s"] = self._mmap(t, f)
            rec[f.rel] = per
        s = summarize_reads([rec], self.files)["all"]
        log("run %d, Re2po/native: %s" % (i, ", ".join(
            "%s %s" % (k, _ratio_text(s[k]["ratio"]))
            for k in ("seq_cold", "mmap_cold", "seq_warm"))))
        return rec

    # ------------------------------------------------------------- run

    def run(self) -> Json:
        t_start = time.time()
        o = self.opts
        os.makedirs(o.work_dir, exist_ok=True)
        res: Json = collections.OrderedDict(
            kind="llm", command=o.command, started=harness_report.now_text(),
            options=asdict(o),
            cache_size=o.cache_size or MOUNT_DEFAULT_CACHE,
            cache_size_source="-o cache_size=" if o.cache_size else
            "re2po mount's default (fs/core/mount_options.h)")
        res["machine"] = machine.describe(o.work_dir, o.re2po_binary)
        if os.getloadavg()[0] > (os.cpu_count() or 1) * 0.5:
            log("warning: load average %.2f at start: absolute figures will "
                "be noisy" % os.getloadavg()[0])
        try:
            self._models()
            res["models"] = self._models_summary()
            res["zstd"] = self._zstd()
            res["import"] = self._imports()
            res["runs"] = [self._one_run(i) for i in range(o.runs)]
        finally:
            self._clean_up()
        res["reads"] = summarize_reads(res["runs"], self.files)
        res["daemon"] = daemon_memory(res["runs"])
        res["noise"] = self.noise
        res["duration_s"] = time.time() - t_start
        res["duration_text"] = "took %.0f s" % res["duration_s"]
        return res

    def _models_summary(self) -> Json:
        m = self.manifest
        return {"root": self.root, "scale": m["scale"], "seed": m["seed"],
                "config": m["config"], "bytes": m["bytes"],
                "bf16_bytes": m["bf16_bytes"], "finetune": m["finetune"],
                "lora": m["lora"], "versions": [
                    {k: v[k] for k in ("ref", "kind", "bytes", "tensor_count",
                                       "changed_tensors",
                                       "changed_tensor_bytes")}
                    for v in m["versions"]],
                "files": [{"path": f.rel, "kind": f.kind, "bytes": f.bytes,
                           "tensors": len(f.ranges)} for f in self.files]}

    def _clean_up(self) -> None:
        unmount_all(self.mounts)
        if not self.opts.keep and self.re2po.root:
            rmtree(self.re2po.root)


# ---------------------------------------------------------- summaries

def _ratio_text(stat: Json | None) -> str:
    return "%.2fx" % stat["median"] if stat else "n/a"


_METRICS = (("seq_cold", "seq_cold_s", "bytes"),
            ("seq_warm", "seq_warm_s", "bytes"),
            ("mmap_cold", "mmap_cold_s", "tensor_bytes"))


def _mbps(run: Json, files: Sequence[LlmFile], target: str, key: str,
          size: str) -> float:
    """MiB/s of a run over these files: their bytes over the sum of their
    times (so big files weigh as much as their bytes)."""
    n = sum(getattr(f, size) for f in files)
    return n / MiB / sum(run[f.rel][target][key] for f in files)


def summarize_reads(runs: Sequence[Json], files: Sequence[LlmFile]) -> Json:
    """Per file kind and for all files: each target's MiB/s per run and
    Re2po/native ratios taken pair by pair within a run."""
    groups: dict[str, list[LlmFile]] = collections.OrderedDict(
        all=list(files))
    for f in files:
        groups.setdefault(f.kind, []).append(f)
    out: Json = collections.OrderedDict()
    for g, fs in groups.items():
        out[g] = {"files": len(fs), "bytes": sum(f.bytes for f in fs)}
        for name, key, size in _METRICS:
            v = {t: [_mbps(r, fs, t, key, size) for r in runs]
                 for t in TARGETS}
            out[g][name] = {"native": summarize(v["native"]),
                            "re2po": summarize(v["re2po"]),
                            "ratio": ratios(v["re2po"], v["native"])}
    return out


def daemon_memory(runs: Sequence[Json]) -> Json:
    """The daemon's memory after reading the largest file, every run."""
    samples = [per["re2po"]["daemon"] for r in runs for per in r.values()
               if "daemon" in per["re2po"]]
    return {k: summarize([s.get(k) for s in samples])
            for k in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def run_llm(opts: LlmOptions) -> Json:
    return LlmBench(opts).run()
