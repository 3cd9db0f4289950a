"""The pieces of the fleet benchmark that run processes: the loopback Ceph
(tools/engines/ceph.sh), commands with the S3 credentials, node mounts of
the remote (mount.re2po s3://...) and the counters their daemons write."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..harness.util import (BenchError, find_pids, is_mounted, log, unmount,
                            wait_for)
from .config import Timeouts


def run_cmd(cmd: Sequence[str], env: Mapping[str, str], timeout: float,
            check: bool = True) -> "subprocess.CompletedProcess[str]":
    """Run with exactly `env` (not merged: no stray AWS_* of the caller)."""
    try:
        r = subprocess.run(list(cmd), env=dict(env), timeout=timeout,
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        raise BenchError("%s: not found (%s)" % (cmd[0], e))
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out after %.0f s" % (" ".join(cmd[:3]),
                                                         timeout))
    if check and r.returncode != 0:
        tail = (r.stderr or r.stdout or "").strip().splitlines()[-8:]
        raise BenchError("%s exited %d: %s" % (" ".join(cmd[:3]),
                                               r.returncode, " | ".join(tail)))
    return r


def base_env() -> dict[str, str]:
    """This process's environment without AWS_* (a stray AWS_PROFILE or
    AWS_SESSION_TOKEN would break or leak into the requests) and with
    loopback exempt from any proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for var in ("no_proxy", "NO_PROXY"):
        env[var] = "127.0.0.1,localhost" + (
            "," + env[var] if env.get(var) else "")
    return env


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port(start: int, avoid: Sequence[int] = ()) -> int:
    for port in range(start, start + 200):
        if port not in avoid and not port_in_use(port):
            return port
    raise BenchError("no free port on 127.0.0.1 in %d-%d" % (start,
                                                            start + 199))


# -------------------------------------------------------------- Ceph

@dataclass
class Ceph:
    """tools/engines/ceph.sh on a DIR of our own: start, env, stop by the
    pids it recorded (ceph.sh stop signals exactly DIR/pids/*.pid)."""
    script: str
    dir: str
    timeouts: Timeouts
    started: bool = False
    start_seconds: float | None = None
    s3: dict[str, str] = field(default_factory=dict)  # DIR/s3.env

    def start(self, fresh: bool = True) -> None:
        if fresh and os.path.isdir(self.dir):
            run_cmd([self.script, "stop", self.dir], base_env(),
                    self.timeouts.ceph_stop, check=False)
            shutil.rmtree(self.dir)
        os.makedirs(self.dir, exist_ok=True)
        env = base_env()
        # away from ceph.sh's defaults and the ctest fixture's ports
        rgw = free_port(17680)
        env["RE2PO_CEPH_RGW_PORT"] = str(rgw)
        env["RE2PO_CEPH_MON_PORT"] = str(free_port(13600, avoid=[rgw]))
        env["RE2PO_CEPH_OSD_SIZE"] = "16G"  # sparse; several pushes of the set
        log("starting Ceph (tools/engines/ceph.sh start %s)" % self.dir)
        self.started = True  # from here on, stop() must run
        t0 = time.perf_counter()
        r = run_cmd([self.script, "start", self.dir], env,
                    self.timeouts.ceph_start, check=False)
        self.start_seconds = time.perf_counter() - t0
        if r.returncode != 0:
            raise BenchError("ceph.sh start failed: %s" % "\n".join(
                (r.stderr or "").strip().splitlines()[-15:]))
        self.s3 = read_env_file(os.path.join(self.dir, "s3.env"))
        log("Ceph ready in %.1f s at %s" % (self.start_seconds,
                                            self.endpoint))

    @property
    def endpoint(self) -> str:
        return self.s3["AWS_ENDPOINT_URL"]

    @property
    def rgw_port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1].rstrip("/"))

    def env(self) -> dict[str, str]:
        """The environment for re2po and mount.re2po: the test user's keys
        (never on a command line)."""
        env = base_env()
        env.update(self.s3)
        return env

    def daemon_pids(self) -> dict[str, int]:
        out = {}
        pids = os.path.join(self.dir, "pids")
        if os.path.isdir(pids):
            for name in sorted(os.listdir(pids)):
                try:
                    with open(os.path.join(pids, name)) as f:
                        out[name.removesuffix(".pid")] = int(f.read().strip())
                except (OSError, ValueError):
                    continue
        return out

    def stop(self) -> None:
        if not self.started:
            return
        log("stopping Ceph (tools/engines/ceph.sh stop %s)" % self.dir)
        r = run_cmd([self.script, "stop", self.dir], base_env(),
                    self.timeouts.ceph_stop, check=False)
        if r.returncode != 0:
            log("ceph.sh stop exited %d: %s" % (r.returncode,
                                                r.stderr.strip()[-300:]))
        self.started = False


def read_env_file(path: str) -> dict[str, str]:
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
    return out


# -------------------------------------------------------- node stats

@dataclass(frozen=True)
class NodeStats:
    """One node-stats.json as the daemon wrote it (after a catalog poll)."""
    requests: int
    bytes_received: int
    cache_chunks: int
    cache_bytes: int
    mtime: float  # wall clock, seconds
    identity: tuple[int, int]  # (inode, mtime ns): one write


def read_node_stats(cache_dir: str) -> NodeStats | None:
    """The stats file as one snapshot (content and mtime of the same inode:
    the daemon replaces it by rename), or None while there is none."""
    try:
        fd = os.open(os.path.join(cache_dir, "node-stats.json"),
                     os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
    finally:
        os.close(fd)
    try:
        d = json.loads(b"".join(chunks))
        remote, cache = d["remote"], d["cache"]
        return NodeStats(int(remote["requests"]),
                         int(remote["bytes_received"]),
                         int(cache.get("chunks", 0)),
                         int(cache.get("bytes", 0)), st.st_mtime,
                         (st.st_ino, st.st_mtime_ns))
    except (ValueError, KeyError, TypeError):
        return None


class StatsWatcher:
    """Records every distinct write of a node's node-stats.json (sampled
    every 10 ms; the daemon writes it about every 2 s), so the polls
    between two snapshots can be counted."""

    def __init__(self, cache_dir: str) -> None:
        self.cache_dir = cache_dir
        self.writes: list[NodeStats] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        last: tuple[int, int] | None = None
        while not self._done.wait(0.01):
            s = read_node_stats(self.cache_dir)
            if s is not None and s.identity != last:
                last = s.identity
                with self._lock:
                    self.writes.append(s)

    def snapshot(self) -> list[NodeStats]:
        with self._lock:
            return list(self.writes)

    def wait_write(self, after_index: int, not_before: float,
                   timeout: float) -> int:
        """The index of the first write after writes[after_index] (-1: any)
        whose mtime is >= not_before; BenchError after timeout."""
        found: list[int] = []

        def pred() -> bool:
            ws = self.snapshot()
            for i in range(after_index + 1, len(ws)):
                if ws[i].mtime >= not_before:
                    found.append(i)
                    return True
            return False
        if not wait_for(pred, timeout, interval=0.01):
            raise BenchError("%s/node-stats.json not rewritten within %.0f s"
                             % (self.cache_dir, timeout))
        return found[0]

    def stop(self) -> None:
        self._done.set()
        self._thread.join(5)


# ------------------------------------------------------- node mounts

def process_runs(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    state = stat[stat.rfind(")") + 2:stat.rfind(")") + 3]
    return state not in ("Z", "X", "")


@dataclass
class NodeMount:
    """An edge node: `mount.re2po s3://BUCKET/PREFIX MP -o endpoint=...,
    cache_dir=...,trust=...,log_file=...`, backgrounded like an fstab
    mount, with a fresh (empty) cache directory."""
    binary: str
    url: str
    mountpoint: str
    cache_dir: str
    endpoint: str
    trust: str
    log_file: str
    env: dict[str, str]
    timeouts: Timeouts
    pid: int | None = None
    watcher: StatsWatcher | None = None
    mount_seconds: float | None = None

    def mount(self) -> None:
        if os.path.exists(self.cache_dir):
            shutil.rmtree(self.cache_dir)
        os.makedirs(self.cache_dir)
        os.makedirs(self.mountpoint, exist_ok=True)
        opts = "endpoint=%s,cache_dir=%s,trust=%s,log_file=%s" % (
            self.endpoint, self.cache_dir, self.trust, self.log_file)
        t0 = time.perf_counter()
        run_cmd([self.binary, self.url, self.mountpoint, "-o", opts],
                self.env, self.timeouts.mount)
        if not wait_for(lambda: is_mounted(self.mountpoint),
                        self.timeouts.mount):
            raise BenchError("mount.re2po returned but %s is not mounted" %
                             self.mountpoint)
        self.mount_seconds = time.perf_counter() - t0
        pids = [p for p in find_pids("mount.re2po", self.mountpoint)
                if p != os.getpid()]
        self.pid = max(pids) if pids else None
        self.watcher = StatsWatcher(self.cache_dir)

    def unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        unmount(self.mountpoint)
        if self.pid is None:
            return
        pid: int = self.pid
        self.pid = None
        # the daemon we started: let it go, then kill that pid only
        if not wait_for(lambda: not process_runs(pid),
                        self.timeouts.daemon_exit, interval=0.05):
            log("mount.re2po %d outlived its unmount; killing it" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            wait_for(lambda: not process_runs(pid), 10, interval=0.05)
