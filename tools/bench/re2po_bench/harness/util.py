"""Small helpers shared by the benchmark harness: commands, timing, stats,
disk usage, page-cache control, file reading, mounts, /proc."""

import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

MiB = 1024 * 1024

# A JSON object as the results file holds it.
Json = dict[str, Any]


class BenchError(RuntimeError):
    pass


def log(msg: str) -> None:
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


def run(cmd: Sequence[str], env: Mapping[str, str] | None = None,
        cwd: str | None = None, timeout: float = 600, check: bool = True
        ) -> "subprocess.CompletedProcess[str]":
    """Run a command; returns CompletedProcess (text). Raises BenchError.

    env adds to this process's environment rather than replacing it.
    """
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        r = subprocess.run(cmd, env=full_env, cwd=cwd, timeout=timeout,
                           capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        raise BenchError("%s: not found (%s)" % (cmd[0], e))
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out after %ss" % (" ".join(cmd), timeout))
    if check and r.returncode != 0:
        tail = (r.stderr or "").strip().splitlines()[-5:]
        raise BenchError("%s exited %d: %s" % (" ".join(map(str, cmd[:4])),
                                               r.returncode, " | ".join(tail)))
    return r


def summarize(values: Iterable[float | None]) -> Json | None:
    """Median, min, max and n of measured values (None when empty)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals), "values": vals}


def ratios(num: Iterable[float | None],
           den: Iterable[float | None]) -> Json | None:
    """Pair-by-pair ratios num[i]/den[i] of values measured in the same run."""
    out: list[float | None] = []
    for a, b in zip(num, den):
        if a is None or b is None or b == 0:
            continue
        out.append(a / b)
    return summarize(out)


def du_bytes(path: str) -> dict[str, int]:
    """Disk usage (allocated blocks) and apparent size of a tree, in bytes."""
    if not os.path.exists(path):
        return {"disk": 0, "apparent": 0}
    disk = int(run(["du", "-s", "-B1", path]).stdout.split()[0])
    apparent = int(run(["du", "-s", "-b", path]).stdout.split()[0])
    return {"disk": disk, "apparent": apparent}


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


@functools.cache
def can_drop_caches() -> bool:
    """Whether this process may drop the page cache (tried once: root in a
    container may still find /proc/sys read-only)."""
    try:
        _write_drop_caches()
        return True
    except OSError:
        return False


def _write_drop_caches() -> None:
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def drop_caches() -> None:
    """Drop the page cache; raises BenchError when not permitted."""
    if not can_drop_caches():
        raise BenchError("cannot write /proc/sys/vm/drop_caches (need root "
                         "outside a read-only /proc)")
    _write_drop_caches()


def read_files(paths: Iterable[str], block: int = 1 * MiB) -> int:
    """Read every file sequentially; returns bytes read."""
    buf = bytearray(block)
    mv = memoryview(buf)
    total = 0
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            while True:
                n = os.readv(fd, [mv])
                if n <= 0:
                    break
                total += n
        finally:
            os.close(fd)
    return total


def rmtree(path: str) -> None:
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=False)


def parse_json_tail(text: str) -> Json:
    """The last JSON object printed (tools print progress lines first)."""
    text = text.strip()
    try:
        obj: Json = json.loads(text)
        return obj
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                return obj
            except ValueError:
                continue
    start = text.rfind("\n{")
    if start >= 0:
        obj = json.loads(text[start + 1:])
        return obj
    raise BenchError("no JSON object in output: %r" % text[-200:])


def is_mounted(path: str) -> bool:
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and parts[1].replace("\\040", " ") == path:
                return True
    return False


def unmount(path: str, timeout: float = 30) -> None:
    """Unmount a FUSE mount point (fusermount3 -u, then umount)."""
    if not is_mounted(path):
        return
    for cmd in (["fusermount3", "-u", path], ["fusermount", "-u", path],
                ["umount", path]):
        if not have(cmd[0]):
            continue
        r = run(cmd, check=False, timeout=timeout)
        if r.returncode == 0:
            break
    deadline = time.time() + timeout
    while is_mounted(path) and time.time() < deadline:
        time.sleep(0.05)
    if is_mounted(path):
        run(["umount", "-l", path], check=False)


def wait_for(pred: Callable[[], Any], timeout: float,
             interval: float = 0.02) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def proc_status(pid: int, fields: Sequence[str] = ("VmRSS", "VmHWM")
                ) -> dict[str, int]:
    """`fields` (VmRSS, VmHWM, RssAnon, ...) in bytes from
    /proc/<pid>/status; empty once the process is gone."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in fields:
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def why_not_root_bench(binary: str) -> str | None:
    """What keeps a benchmark that mounts and drops caches from running
    here, or None."""
    if os.geteuid() != 0:
        return "needs root (FUSE mounts, drop_caches)"
    if not os.access(binary, os.X_OK):
        return "%s is not an executable file" % binary
    if not can_drop_caches():
        return "cannot write /proc/sys/vm/drop_caches: no cold reads"
    return None


def run_reported(prog: str, run: Callable[[], Json],
                 report: Callable[[Json], str], json_path: str,
                 md_path: str) -> int:
    """Runs a benchmark the way its command line does: SIGTERM unwinds like
    Ctrl-C (so the run's finally unmounts), errors become exit codes, and
    the result is written as JSON and markdown and printed."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        res = run()
    except BenchError as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("%s: interrupted; mounts removed" % prog, file=sys.stderr)
        return 130
    os.makedirs(os.path.dirname(json_path) or ".", exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1, default=str)
    md = report(res)
    with open(md_path, "w") as f:
        f.write(md)
    print(md)
    log("wrote %s and %s" % (json_path, md_path))
    return 0


def find_pids(*needles: str) -> list[int]:
    """PIDs whose command line contains every needle (read-only scan)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmd for n in needles):
            pids.append(int(d))
    return pids


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "B" else (
                "%.1f %s" % (n, unit))
        n /= 1024.0
    return str(n)
