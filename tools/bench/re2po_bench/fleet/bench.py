"""One fleet benchmark run: a loopback Ceph, the model set imported into a
local store and pushed to it, then cold torch.load of every .pt model from
native files, a local mount, an edge mount of the remote with an empty node
cache, and the same edge mount behind a delay proxy (WAN round trip)."""

import collections
import glob
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ..harness import machine, report as harness_report
from ..harness.reads import Loader
from ..harness.systems import Re2po
from ..harness.util import (BenchError, Json, MiB, drop_caches, log,
                            parse_json_tail, ratios, summarize)
from ..harness.zoo import Version, Zoo, ensure_zoo
from .config import FleetOptions
from .engine import Ceph, NodeMount, NodeStats, run_cmd
from .proxy import DelayProxy, ProxyConfig


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    edge: bool = False
    wan: bool = False


def targets(rtt_ms: float) -> list[Target]:
    return [Target("native", "native files"),
            Target("local", "local mount"),
            Target("edge", "edge mount, empty cache", edge=True),
            Target("edge_wan", "edge mount, empty cache, +%g ms RTT" %
                   rtt_ms, edge=True, wan=True)]


@dataclass(frozen=True)
class PollCost:
    """What one catalog poll of an idle node costs (counted in the stats
    the node writes after it), subtracted from a load's counters."""
    requests: float
    bytes: float
    interval_s: float
    polls: int  # observed


def netem_status() -> str:
    """Whether this kernel has the netem qdisc (not used either way)."""
    if os.path.isdir("/sys/module/sch_netem"):
        return "loaded"
    found = glob.glob("/lib/modules/%s/**/sch_netem.ko*" % os.uname().release,
                      recursive=True)
    return "module present" if found else "not available on this kernel"


class FleetBench:
    def __init__(self, opts: FleetOptions) -> None:
        self.opts = opts
        self.work = opts.work_dir
        self.t = opts.timeouts
        self.ceph = Ceph(opts.ceph_script, os.path.join(self.work, "ceph"),
                         opts.timeouts)
        self.re2po = Re2po(self.work, opts.re2po_binary)
        self.key = os.path.join(self.work, "keys", "publisher")
        self.proxy: DelayProxy | None = None
        self.loader: Loader | None = None
        self.nodes: list[NodeMount] = []  # mounted now
        self.local_mounts: list[Callable[[], None]] = []  # their unmounts
        self.node_count = 0

    # ------------------------------------------------------------ run

    def run(self) -> Json:
        t_start = time.time()
        opts = self.opts
        os.makedirs(self.work, exist_ok=True)
        res: Json = collections.OrderedDict(
            kind="fleet", command=opts.command,
            started=harness_report.now_text(), options=asdict(opts))
        res["machine"] = machine.describe(self.work, opts.re2po_binary)
        res["latency"] = {
            "method": "user-space TCP delay proxy (re2po_bench.fleet.proxy)"
                      " between the node and radosgw on 127.0.0.1",
            "one_way_ms": opts.wan_delay_ms, "rtt_ms": opts.rtt_ms,
            "handshake_rtt": True, "netem": netem_status(),
            "why": "tc netem needs the sch_netem qdisc, which this kernel "
                   "lacks (\"Specified qdisc kind is unknown\")"}
        load = os.getloadavg()[0]
        if load > (os.cpu_count() or 1) * 0.5:
            log("warning: load average %.2f at start; numbers will be noisy"
                % load)
        try:
            self._setup(res)
            res["push"] = self._push_phase()
            self.proxy = DelayProxy(ProxyConfig(
                "127.0.0.1", self.ceph.rgw_port,
                delay=opts.wan_delay_ms / 1000.0))
            self.proxy.start()
            log("delay proxy on %s -> %s (%g ms each way)" % (
                self.proxy.url, self.ceph.endpoint, opts.wan_delay_ms))
            self.loader = Loader()
            res["loader"] = self.loader.info
            poll = self._calibrate_polls()
            res["poll"] = asdict(poll)
            res["loads"] = self._load_phase(poll)
            res["proxy"] = asdict(self.proxy.counters)
        finally:
            self._clean_up()
        res["ceph"] = {"start_seconds": self.ceph.start_seconds,
                       "version": _ceph_version()}
        res["duration_s"] = time.time() - t_start
        res["duration_text"] = "took %.0f s" % res["duration_s"]
        return res

    def _setup(self, res: Json) -> None:
        opts = self.opts
        zoo_dir = opts.zoo_dir or os.path.join(self.work,
                                               "zoo-" + opts.zoo_preset)
        self.zoo: Zoo = ensure_zoo(zoo_dir, opts.zoo_preset, opts.regenerate_zoo)
        self.pt = [v for v in self.zoo.versions if v.format == "pt"
                   and (not opts.models or v.model in opts.models)]
        if not self.pt:
            raise BenchError("the model set has no .pt model to load")
        res["zoo"] = {"root": self.zoo.root, "preset": opts.zoo_preset,
                      "versions": len(self.zoo.versions),
                      "raw_bytes": self.zoo.raw_bytes,
                      "loaded": [{"ref": v.ref, "file": v.rel_files[0],
                                  "bytes": v.bytes, "scenario": v.scenario}
                                 for v in self.pt]}
        self.ceph.start()
        res["ceph_daemons"] = self.ceph.daemon_pids()
        log("importing %d versions into a local store" %
            len(self.zoo.versions))
        self.re2po.reset(os.path.join(self.work, "publisher"))
        t0 = time.perf_counter()
        for v in self.zoo.versions:
            self.re2po.ingest(v)
        res["import_seconds"] = time.perf_counter() - t0
        shutil.rmtree(os.path.dirname(self.key), ignore_errors=True)
        os.makedirs(os.path.dirname(self.key))
        made = run_cmd([opts.re2po_binary, "key", "generate", self.key],
                       self.ceph.env(), self.t.command)
        res["key"] = made.stdout.strip() or made.stderr.strip()

    # ----------------------------------------------------------- push

    def _url(self, run: int) -> str:
        return "s3://%s/push-%d" % (self.opts.bucket, run)

    def _push_phase(self) -> Json:
        """`re2po push` of the whole set, each run to an empty prefix."""
        runs = []
        raw = self.zoo.raw_bytes
        for i in range(self.opts.runs):
            cmd = [self.opts.re2po_binary, "--store", self.re2po.store_dir(),
                   "push", self._url(i), "--key", self.key, "--json"]
            t0 = time.perf_counter()
            r = run_cmd(cmd, self.ceph.env(), self.t.command)
            dt = time.perf_counter() - t0
            out = parse_json_tail(r.stdout)
            up = int(out.get("bytes_uploaded", 0))
            rec: Json = {"url": self._url(i), "seconds": dt, "model_bytes": raw,
                   "bytes_uploaded": up,
                   "model_mbps": raw / MiB / dt, "uploaded_mbps": up / MiB / dt,
                   "chunks_uploaded": out.get("chunks_uploaded"),
                   "packs_uploaded": out.get("packs_uploaded"),
                   "versions": len(out.get("pushed") or [])}
            runs.append(rec)
            log("push run %d: %.2f s, %.0f MB/s of model bytes, %.0f MB/s "
                "uploaded (%d bytes)" % (i, dt, rec["model_mbps"],
                                         rec["uploaded_mbps"], up))
        return {"runs": runs,
                "summary": {k: summarize(r[k] for r in runs) for k in
                            ("seconds", "model_mbps", "uploaded_mbps",
                             "bytes_uploaded")}}

    # ---------------------------------------------------------- nodes

    def _node(self, wan: bool) -> NodeMount:
        self.node_count += 1
        n = self.node_count
        if wan:
            assert self.proxy is not None
            endpoint = self.proxy.url
        else:
            endpoint = self.ceph.endpoint
        os.makedirs(os.path.join(self.work, "logs"), exist_ok=True)
        return NodeMount(
            binary=self.opts.mount_binary, url=self._url(0),
            mountpoint=os.path.join(self.work, "mnt", "edge"),
            cache_dir=os.path.join(self.work, "node-cache", "n%d" % n),
            endpoint=endpoint, trust=self.key + ".pub",
            log_file=os.path.join(self.work, "logs", "node-%d.log" % n),
            env=self.ceph.env(), timeouts=self.t)

    def _mount_node(self, wan: bool) -> NodeMount:
        node = self._node(wan)
        self.nodes.append(node)
        node.mount()
        return node

    def _unmount_node(self, node: NodeMount) -> None:
        node.unmount()
        if node in self.nodes:
            self.nodes.remove(node)
        if not self.opts.keep:
            shutil.rmtree(node.cache_dir, ignore_errors=True)

    def _calibrate_polls(self) -> PollCost:
        """An idle node's counters over a few polls."""
        node = self._mount_node(False)
        try:
            w = node.watcher
            assert w is not None
            first = w.wait_write(-1, 0.0, self.t.stats)
            last = first
            for _ in range(3):
                last = w.wait_write(last, 0.0, self.t.stats)
            ws = w.snapshot()
            a, b = ws[first], ws[last]
            polls = last - first
            cost = PollCost(requests=(b.requests - a.requests) / polls,
                            bytes=(b.bytes_received - a.bytes_received) / polls,
                            interval_s=(b.mtime - a.mtime) / polls,
                            polls=polls)
        finally:
            self._unmount_node(node)
        log("an idle node's poll: %.2f requests, %.0f bytes, every %.2f s" % (
            cost.requests, cost.bytes, cost.interval_s))
        return cost

    # ---------------------------------------------------------- loads

    def _load(self, path: str) -> float:
        assert self.loader is not None
        drop_caches()
        return self.loader.load("pt", path, repeat=1)[0]

    def _load_native(self, v: Version) -> Json:
        return {"load_s": self._load(os.path.join(self.zoo.root,
                                                  v.rel_files[0]))}

    def _load_local(self, v: Version) -> Json:
        mp = os.path.join(self.work, "mnt", "local")
        t0 = time.perf_counter()
        m = self.re2po.mount(mp)
        mount_s = time.perf_counter() - t0
        self.local_mounts.append(m.unmount)
        try:
            return {"load_s": self._load(m.path_for(v.rel_files[0])),
                    "mount_s": mount_s}
        finally:
            m.unmount()
            self.local_mounts.remove(m.unmount)

    def _load_edge(self, v: Version, wan: bool, poll: PollCost) -> Json:
        node = self._mount_node(wan)
        try:
            w = node.watcher
            assert w is not None
            # the counters after the mount's own requests (catalog, version
            # objects), before the load
            before = w.wait_write(-1, 0.0, self.t.stats)
            t_load = self._load(os.path.join(node.mountpoint, v.rel_files[0]))
            after = w.wait_write(before, time.time(), self.t.stats)
            ws = w.snapshot()
            return _edge_record(ws[before], ws[after], after - before, poll,
                                v.bytes, t_load, node.mount_seconds)
        finally:
            self._unmount_node(node)

    def _load_phase(self, poll: PollCost) -> Json:
        tg = targets(self.opts.rtt_ms)
        per: Json = collections.OrderedDict(
            (v.ref, collections.OrderedDict((t.name, []) for t in tg))
            for v in self.pt)
        for i in range(self.opts.runs):
            for v in self.pt:
                for t in tg:
                    if t.name == "native":
                        rec = self._load_native(v)
                    elif t.name == "local":
                        rec = self._load_local(v)
                    else:
                        rec = self._load_edge(v, t.wan, poll)
                    rec["run"] = i
                    per[v.ref][t.name].append(rec)
                log("run %d %s (%.1f MB): %s" % (
                    i, v.ref, v.bytes / 1e6, ", ".join(
                        "%s %.0f ms%s" % (t.name, per[v.ref][t.name][-1]
                                          ["load_s"] * 1e3,
                                          " %d req" % per[v.ref][t.name][-1]
                                          ["requests"] if t.edge else "")
                        for t in tg)))
        return {"targets": [asdict(t) for t in tg],
                "models": _summarize_loads(per, self.pt, tg),
                "total": _summarize_total(per, tg)}

    # -------------------------------------------------------- clean up

    def _clean_up(self) -> None:
        """Always: mounts, loader, proxy, then Ceph by its pids."""
        for node in list(self.nodes):
            try:
                self._unmount_node(node)
            except (BenchError, OSError) as e:
                log("unmount %s: %s" % (node.mountpoint, e))
        for unmount_local in list(self.local_mounts):
            try:
                unmount_local()
            except (BenchError, OSError) as e:
                log("unmount local: %s" % e)
        if self.loader is not None:
            self.loader.close()
        if self.proxy is not None:
            self.proxy.stop()
        self.ceph.stop()
        if not self.opts.keep:
            for d in ("ceph", "publisher", "node-cache", "mnt"):
                shutil.rmtree(os.path.join(self.work, d), ignore_errors=True)


def _edge_record(a: NodeStats, b: NodeStats, polls: int, poll: PollCost,
                 file_bytes: int, load_s: float,
                 mount_s: float | None) -> Json:
    """A load's counters: the stats written after it minus those written
    before it, minus the polls in between (each write follows one poll)."""
    raw_req = b.requests - a.requests
    raw_bytes = b.bytes_received - a.bytes_received
    req = max(0.0, raw_req - polls * poll.requests)
    got = max(0.0, raw_bytes - polls * poll.bytes)
    return {"load_s": load_s, "mount_s": mount_s, "requests": req,
            "bytes_received": got, "fetched_over_file": got / file_bytes,
            "raw_requests": raw_req, "raw_bytes_received": raw_bytes,
            "polls": polls, "cache_chunks": b.cache_chunks - a.cache_chunks,
            "cache_bytes": b.cache_bytes - a.cache_bytes}


def _vals(recs: list[Json], key: str) -> list[float | None]:
    return [r.get(key) for r in recs]


def _summarize_loads(per: Json, pt: list[Version],
                     tg: list[Target]) -> Json:
    out: Json = collections.OrderedDict()
    for v in pt:
        runs = per[v.ref]
        m: Json = collections.OrderedDict(
            file=v.rel_files[0], bytes=v.bytes, scenario=v.scenario,
            targets=collections.OrderedDict())
        native = _vals(runs["native"], "load_s")
        local = _vals(runs["local"], "load_s")
        for t in tg:
            recs = runs[t.name]
            times = _vals(recs, "load_s")
            s: Json = {"runs": recs, "load_s": summarize(times)}
            if t.name != "native":
                s["vs_native"] = ratios(times, native)
                s["mount_s"] = summarize(_vals(recs, "mount_s"))
            if t.edge:
                s["vs_local"] = ratios(times, local)
                for key in ("requests", "bytes_received",
                            "fetched_over_file", "raw_requests", "polls",
                            "cache_chunks"):
                    s[key] = summarize(_vals(recs, key))
            m["targets"][t.name] = s
        out[v.ref] = m
    return out


def _summarize_total(per: Json, tg: list[Target]) -> Json:
    """Per run, the sum over models of each target's load times."""
    sums: dict[str, list[float | None]] = {}
    for t in tg:
        by_run: dict[int, float] = collections.defaultdict(float)
        for runs in per.values():
            for r in runs[t.name]:
                by_run[r["run"]] += r["load_s"]
        sums[t.name] = [by_run[k] for k in sorted(by_run)]
    out: Json = collections.OrderedDict()
    for t in tg:
        s: Json = {"load_s": summarize(sums[t.name])}
        if t.name != "native":
            s["vs_native"] = ratios(sums[t.name], sums["native"])
        if t.edge:
            s["vs_local"] = ratios(sums[t.name], sums["local"])
            reqs: dict[int, float] = collections.defaultdict(float)
            for runs in per.values():
                for r in runs[t.name]:
                    reqs[r["run"]] += r["requests"]
            s["requests"] = summarize([reqs[k] for k in sorted(reqs)])
        out[t.name] = s
    return out


def _ceph_version() -> str | None:
    try:
        r = run_cmd(["ceph", "--version"], dict(os.environ), 30, check=False)
        return r.stdout.strip() or None
    except BenchError:
        return None


def run_fleet(opts: FleetOptions) -> Json:
    return FleetBench(opts).run()

