"""Small helpers shared by the benchmark harness: commands, timing, stats,
disk usage, page-cache control, file reading."""

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

MiB = 1024 * 1024


class BenchError(RuntimeError):
    pass


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr,
          flush=True)


def run(cmd, env=None, cwd=None, timeout=600, check=True, capture=True,
        input_text=None):
    """Run a command; returns CompletedProcess (text). Raises BenchError."""
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        r = subprocess.run(cmd, env=full_env, cwd=cwd, timeout=timeout,
                           stdout=subprocess.PIPE if capture else None,
                           stderr=subprocess.PIPE if capture else None,
                           text=True, input=input_text,
                           stdin=None if input_text is not None
                           else subprocess.DEVNULL)
    except FileNotFoundError as e:
        raise BenchError("%s: not found (%s)" % (cmd[0], e))
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out after %ss" % (" ".join(cmd), timeout))
    if check and r.returncode != 0:
        tail = (r.stderr or "").strip().splitlines()[-5:]
        raise BenchError("%s exited %d: %s" % (" ".join(map(str, cmd[:4])),
                                               r.returncode, " | ".join(tail)))
    return r


def timed(fn, *a, **kw):
    """(seconds, result) of fn(*a, **kw), measured with perf_counter."""
    t0 = time.perf_counter()
    res = fn(*a, **kw)
    return time.perf_counter() - t0, res


def summarize(values):
    """Median, min, max and n of measured values (None when empty)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals),
            "max": max(vals), "n": len(vals), "values": vals}


def ratios(num, den):
    """Pair-by-pair ratios num[i]/den[i] of values measured in the same run."""
    out = []
    for a, b in zip(num, den):
        if a is None or b is None or b == 0:
            continue
        out.append(a / b)
    return summarize(out)


def du_bytes(path):
    """Disk usage (allocated blocks) and apparent size of a tree, in bytes."""
    if not os.path.exists(path):
        return {"disk": 0, "apparent": 0}
    disk = int(run(["du", "-s", "-B1", path]).stdout.split()[0])
    apparent = int(run(["du", "-s", "-b", path]).stdout.split()[0])
    return {"disk": disk, "apparent": apparent}


def have(tool):
    return shutil.which(tool) is not None


_DROP_OK = None


def can_drop_caches():
    global _DROP_OK
    if _DROP_OK is None:
        try:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
            _DROP_OK = True
        except OSError:
            _DROP_OK = False
    return _DROP_OK


def drop_caches():
    """Drop the page cache; raises BenchError when not permitted."""
    if not can_drop_caches():
        raise BenchError("cannot write /proc/sys/vm/drop_caches (need root "
                         "outside a read-only /proc)")
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def read_files(paths, block=1 * MiB):
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


def sha256_file(path, block=4 * MiB):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(block)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def rmtree(path):
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=False)


def parse_json_tail(text):
    """The last JSON object printed (tools print progress lines first)."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    start = text.rfind("\n{")
    if start >= 0:
        return json.loads(text[start + 1:])
    raise BenchError("no JSON object in output: %r" % text[-200:])


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if len(parts) > 1 and parts[1].replace("\\040", " ") == path:
                return True
    return False


def unmount(path, timeout=30):
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


def wait_for(pred, timeout, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def proc_status(pid):
    """VmRSS/VmHWM in bytes from /proc/<pid>/status."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def find_pids(*needles):
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


def fmt_bytes(n):
    if n is None:
        return "n/a"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "B" else (
                "%.1f %s" % (n, unit))
        n /= 1024.0
    return str(n)
