"""One observe benchmark run: the model set imported into a fresh store, then
per run, back to back: native files, a mount with the access log off (and
metrics off, their default) and a mount with the access log on and metrics
served and scraped every second. Cold and warm sequential reads of every
file, then a cold torch.load of every .pt model, each from a fresh mount.

With `protect`, the same measurements compare an open store ("off") with
a store where every version was imported with --protect ("on", mounted
with -o keyring=): what sealed chunks cost on the read path (issue #16)."""

import collections
import contextlib
import glob
import json
import os
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from ..harness import machine, report as harness_report
from ..harness.reads import Loader, PathFor
from ..harness.systems import Mount, Re2po, unmount_all
from ..harness.util import (BenchError, Json, MiB, drop_caches, find_pids,
                            is_mounted, log, ratios, read_files, summarize,
                            wait_for)
from ..harness.zoo import Zoo, ensure_zoo

# what is compared: `re2po mount -o` of each configuration. "on" keeps the
# access log's default (on, STORE/access/access.jsonl) and adds metrics.
CONFIGS = {"off": "access_log=off", "on": "metrics=127.0.0.1:0"}
PROTECT_KEY = "bench"
TARGETS = ("native", "off", "on")
SCRAPE_INTERVAL_S = 1.0  # a Prometheus scraping far more often than usual
WARM_READS = 2  # warm = the last of these reads after the cold one


@dataclass(frozen=True)
class ObserveOptions:
    work_dir: str  # store, mount point, model set, results
    re2po_binary: str
    zoo_preset: str = "fleet"  # re2po-bench gen-models --preset
    zoo_dir: str = ""  # default <work>/zoo-<preset>
    runs: int = 5  # each: native, off, on back to back (on first in odd runs)
    json_path: str = ""
    md_path: str = ""
    command: str = ""  # how the run was started, for the report
    # `-o` of the "on" mounts; scraped only when it has metrics=
    on_options: str = CONFIGS["on"]
    # "on" is a second store, every version imported --protect, instead
    protect: bool = False


def _metric(text: str, name: str) -> float | None:
    """A sample's value in Prometheus text (name includes any labels)."""
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def metrics_addr(store: str, mp: str, timeout: float = 10) -> str:
    """HOST:PORT of the mount's endpoint: STORE/access/metrics/*.addr holds
    the address on its first line and the mount point on its second."""
    found: list[str] = []

    def look() -> bool:
        for p in glob.glob(os.path.join(store, "access", "metrics", "*.addr")):
            with open(p) as f:
                lines = f.read().splitlines()
            if len(lines) > 1 and lines[1] == mp and lines[0]:
                found.append(lines[0])
                return True
        return False
    if not wait_for(look, timeout):
        raise BenchError("no metrics address for %s under %s" % (mp, store))
    return found[0]


class Scraper:
    """GETs a mount's /metrics every second from a thread, as Prometheus
    would, so the "on" figures include serving it; stop() scrapes once more
    after the measured work for the mount's own counters."""

    def __init__(self, addr: str) -> None:
        self.url = "http://%s/metrics" % addr
        self.scrapes = 0
        self.errors: list[str] = []
        self.last = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _scrape(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=5) as r:
                self.last = r.read().decode()
            self.scrapes += 1
        except OSError as e:
            self.errors.append(str(e))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._scrape()
            self._stop.wait(SCRAPE_INTERVAL_S)

    def stop(self) -> Json:
        self._stop.set()
        self._thread.join()
        self._scrape()
        return {"scrapes": self.scrapes, "scrape_errors": self.errors,
                "opens": _metric(self.last, 're2po_fuse_requests_total'
                                 '{operation="open"}') or 0,
                "lost": _metric(self.last,
                                "re2po_access_log_lost_records_total") or 0}


def access_log_records(store: str) -> tuple[int, int]:
    """(records, records reported lost) in the store's access log and its
    rotations."""
    records = lost = 0
    for p in glob.glob(os.path.join(store, "access", "access.jsonl*")):
        with open(p) as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    lost += int(rec.get("lost", 0))
                    records += "lost" not in rec
    return records, lost


class ObserveBench:
    def __init__(self, opts: ObserveOptions) -> None:
        self.opts = opts
        self.configs = dict(CONFIGS, on=opts.on_options)
        self.re2po = Re2po(opts.work_dir, opts.re2po_binary)
        self.keyring = os.path.join(opts.work_dir, "keyring")
        self.protected = Re2po(opts.work_dir, opts.re2po_binary)
        if opts.protect:
            self.configs = {"off": "access_log=off",
                            "on": "access_log=off,keyring=" + self.keyring}
        self.mp = os.path.join(opts.work_dir, "mnt")
        self.mounts: list[Mount] = []  # mounted now
        self.loader: Loader | None = None
        self.sessions: list[Json] = []  # the "on" mounts' counters
        self.opens = 0  # model-file opens the harness made through "on"

    def run(self) -> Json:
        t_start = time.time()
        opts = self.opts
        os.makedirs(opts.work_dir, exist_ok=True)
        res: Json = collections.OrderedDict(
            kind="observe", command=opts.command,
            started=harness_report.now_text(), options=asdict(opts),
            configs=self.configs, scrape_interval_s=SCRAPE_INTERVAL_S)
        res["machine"] = machine.describe(opts.work_dir, opts.re2po_binary)
        if os.getloadavg()[0] > (os.cpu_count() or 1) * 0.5:
            log("warning: load average %.2f at start: absolute figures will "
                "be noisy; the interleaved ratios are what to compare"
                % os.getloadavg()[0])
        try:
            self._setup(res)
            self.loader = Loader()
            res["loader"] = self.loader.info
            res["runs"] = [self._one_run(i) for i in range(opts.runs)]
            if not opts.protect:
                res["access_log"] = self._access_log()
        finally:
            self._clean_up()
        res["summary"] = summarize_runs(res["runs"], res["zoo"]["loaded"])
        res["duration_s"] = time.time() - t_start
        res["duration_text"] = "took %.0f s" % res["duration_s"]
        return res

    def _setup(self, res: Json) -> None:
        o = self.opts
        if o.zoo_dir and os.path.exists(os.path.join(o.zoo_dir,
                                                     "manifest.json")):
            self.zoo = Zoo(o.zoo_dir)
        else:
            self.zoo = ensure_zoo(o.zoo_dir or os.path.join(
                o.work_dir, "zoo-" + o.zoo_preset), o.zoo_preset)
        self.pt = [v for v in self.zoo.versions if v.format == "pt"]
        res["zoo"] = {"root": self.zoo.root, "preset": o.zoo_preset,
                      "files": len(self.zoo.rel_files),
                      "raw_bytes": self.zoo.raw_bytes,
                      "loaded": [v.ref for v in self.pt]}
        log("importing %d versions into a fresh store" %
            len(self.zoo.versions))
        self.re2po.reset(os.path.join(o.work_dir, "re2po"))
        t0 = time.perf_counter()
        for v in self.zoo.versions:
            self.re2po.ingest(v)
        res["import_s"] = {"off": time.perf_counter() - t0}
        if o.protect:
            res["import_s"]["on"] = self._import_protected()

    def _import_protected(self) -> float:
        """The model set again, into a second store, every version sealed
        by a fresh key; returns the seconds the imports took."""
        self.protected.reset(os.path.join(self.opts.work_dir, "re2po-protected"))
        if os.path.exists(self.keyring):
            os.remove(self.keyring)
        self.protected.cli("keyring", "create", self.keyring)
        self.protected.cli("keyring", "add", self.keyring, PROTECT_KEY)
        t0 = time.perf_counter()
        for v in self.zoo.versions:
            self.protected.cli("--keyring", self.keyring, "import", v.ref,
                               v.dir, "--protect", PROTECT_KEY, "--json")
        return time.perf_counter() - t0

    @contextlib.contextmanager
    def _session(self, target: str) -> Iterator[PathFor]:
        """Native paths, or a fresh mount of a configuration (scraped when
        on) that is unmounted on the way out."""
        if target == "native":
            yield lambda rel: os.path.join(self.zoo.root, rel)
            return
        os.makedirs(self.mp, exist_ok=True)
        store = (self.protected if self.opts.protect and target == "on"
                 else self.re2po)
        store.cli("mount", self.mp, "-o", self.configs[target], timeout=120)
        m = Mount(store, self.mp, lambda rel: os.path.join(
            self.mp, store.rel_to_mount(rel)))
        self.mounts.append(m)
        if not wait_for(lambda: is_mounted(self.mp), 30):
            raise BenchError("re2po mount returned; %s not mounted" % self.mp)
        scraper = (Scraper(metrics_addr(self.re2po.store_dir(), self.mp))
                   if target == "on" and "metrics=" in self.configs["on"]
                   else None)
        try:
            yield m.path_for
        finally:
            if scraper is not None:
                self.sessions.append(scraper.stop())
            m.unmount()
            self.mounts.remove(m)
            # the daemon outlives its unmount (flushing the access log,
            # removing its .addr file): let it go before the next mount
            if not wait_for(lambda: not self._daemons(), 30):
                log("a mount daemon of %s is still running" % self.mp)

    def _daemons(self) -> list[int]:
        return [p for p in find_pids("mount", self.mp) if p != os.getpid()]

    def _read_mbps(self, paths: list[str]) -> float:
        t0 = time.perf_counter()
        n = read_files(paths)
        dt = time.perf_counter() - t0
        if n != self.zoo.raw_bytes:
            raise BenchError("read %d bytes, expected %d" % (
                n, self.zoo.raw_bytes))
        return n / MiB / dt

    def _sequential(self, target: str) -> Json:
        with self._session(target) as path_for:
            paths = [path_for(r) for r in self.zoo.rel_files]
            drop_caches()
            cold = self._read_mbps(paths)
            warm = [self._read_mbps(paths) for _ in range(WARM_READS)]
        if target == "on":
            self.opens += (1 + WARM_READS) * len(paths)
        return {"seq_cold_mbps": cold, "seq_warm_mbps": warm[-1]}

    def _cold_load(self, target: str, rel: str) -> float:
        assert self.loader is not None
        with self._session(target) as path_for:
            drop_caches()
            t = self.loader.load("pt", path_for(rel), repeat=1)[0]
        if target == "on":
            self.opens += 1
        return t

    def _one_run(self, i: int) -> Json:
        # odd runs put "on" before "off", so neither always follows the
        # other's unmount or the native reads
        order = TARGETS if i % 2 == 0 else ("native", "on", "off")
        rec: Json = {t: self._sequential(t) for t in order}
        for t in TARGETS:
            rec[t]["loads"] = collections.OrderedDict()
        for v in self.pt:
            for t in order:
                rec[t]["loads"][v.ref] = self._cold_load(t, v.rel_files[0])
        for t in TARGETS:
            rec[t]["load_s"] = sum(rec[t]["loads"].values())
        log("run %d: %s" % (i, "; ".join(
            "%s cold %.0f warm %.0f MiB/s, loads %.0f ms" % (
                t, rec[t]["seq_cold_mbps"], rec[t]["seq_warm_mbps"],
                rec[t]["load_s"] * 1e3) for t in TARGETS)))
        return rec

    def _access_log(self) -> Json:
        """Lines the "on" mounts wrote against the opens made through them
        (the last daemon may still be writing just after its unmount)."""
        store = self.re2po.store_dir()
        wait_for(lambda: access_log_records(store)[0] >= self.opens, 15, 0.2)
        records, lost = access_log_records(store)
        s = self.sessions
        return {"records": records, "lost_lines_total": lost,
                "opens_by_harness": self.opens,
                "opens_counted_by_mounts": sum(x["opens"] for x in s),
                "lost_counted_by_mounts": sum(x["lost"] for x in s),
                "mounts": len(s), "scrapes": sum(x["scrapes"] for x in s),
                "scrape_errors": [e for x in s for e in x["scrape_errors"]]}

    def _clean_up(self) -> None:
        unmount_all(self.mounts)
        if self.loader is not None:
            self.loader.close()


def summarize_runs(runs: list[Json], loaded: list[str]) -> Json:
    """Per measurement: each target's median/min/max, and ratios taken pair
    by pair within a run; `on_vs_off_time` is the time ratio for all."""
    keys = [("seq_cold_mbps", False), ("seq_warm_mbps", False),
            ("load_s", True)] + [("load_s:" + ref, True) for ref in loaded]
    out: Json = collections.OrderedDict()
    for key, is_time in keys:
        def vals(t: str) -> list[float]:
            if key.startswith("load_s:"):
                return [r[t]["loads"][key[7:]] for r in runs]
            return [r[t][key] for r in runs]
        v = {t: vals(t) for t in TARGETS}
        s: Json = {t: summarize(v[t]) for t in TARGETS}
        s.update(is_time=is_time, on_vs_off=ratios(v["on"], v["off"]),
                 on_vs_off_time=ratios(*((v["on"], v["off"]) if is_time
                                         else (v["off"], v["on"]))),
                 off_vs_native=ratios(v["off"], v["native"]),
                 on_vs_native=ratios(v["on"], v["native"]))
        out[key] = s
    return out


def run_observe(opts: ObserveOptions) -> Json:
    return ObserveBench(opts).run()
