"""Scale: a store holding N versions of one tiny model. Measures import rate,
mount-ready time and directory listing latency through the mount."""

import collections
import os
import struct
import subprocess
import time
from collections.abc import Iterable

from .systems import Re2po
from .util import BenchError, Json, log, rmtree, summarize

TINY_MODEL = "tiny"


def _tiny_file(path: str, i: int) -> None:
    """A ~4 KiB safetensors file whose tensor differs for every version."""
    data = struct.pack("<Q", i) * 512
    header = ('{"w":{"dtype":"I64","shape":[512],"data_offsets":[0,%d]}}'
              % len(data)).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def _listing(model_dir: str) -> tuple[float, float, int]:
    """(seconds for listdir, seconds for listdir+lstat (like ls -l), n)."""
    t0 = time.perf_counter()
    names = os.listdir(model_dir)
    t1 = time.perf_counter()
    for n in names:
        os.lstat(os.path.join(model_dir, n))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t0, len(names)


def _ls_command(model_dir: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["ls", model_dir], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _mount_and_list(re2po: Re2po, mp: str, n: int, mount_runs: int,
                    warm_repeats: int) -> Json:
    ready: list[float] = []
    cold_ls: list[float] = []
    cold_lsl: list[float] = []
    warm_ls: list[float] = []
    warm_lsl: list[float] = []
    ls_cmd: list[float] = []
    listed: int | None = None
    for _ in range(mount_runs):
        t0 = time.perf_counter()
        m = re2po.mount(mp)
        try:
            mdir = re2po.model_dir(mp, TINY_MODEL)
            os.stat(mdir)
            ready.append(time.perf_counter() - t0)
            a, b, listed = _listing(mdir)  # first listing: cold
            cold_ls.append(a)
            cold_lsl.append(b)
            for _ in range(warm_repeats):
                a, b, _n = _listing(mdir)
                warm_ls.append(a)
                warm_lsl.append(b)
            ls_cmd.append(_ls_command(mdir))
        finally:
            m.unmount()
    if listed is not None and listed < n:
        raise BenchError("listing shows %d entries, expected %d" %
                         (listed, n))
    return collections.OrderedDict(
        mount_ready_s=summarize(ready), listdir_cold_s=summarize(cold_ls),
        listdir_stat_cold_s=summarize(cold_lsl),
        listdir_warm_s=summarize(warm_ls),
        listdir_stat_warm_s=summarize(warm_lsl),
        ls_command_s=summarize(ls_cmd), entries=listed)


def run_scale(re2po: Re2po, work: str, counts: Iterable[int], mount_runs: int,
              warm_repeats: int = 10) -> Json:
    res: Json = collections.OrderedDict(model=TINY_MODEL, counts=list(counts),
                                  results=collections.OrderedDict())
    reason = re2po.check()
    if reason:
        res.update(status="n/a", reason=reason)
        return res
    res["status"] = "ok"
    src = os.path.join(work, "scale-src")
    rmtree(src)
    os.makedirs(src)
    fpath = os.path.join(src, "model.safetensors")
    root = os.path.join(work, "stores", "scale")
    mp = os.path.join(work, "mnt", "scale")
    re2po.reset(root)
    have = 0
    import_s: list[float] = []
    mount_error = None
    for n in sorted(counts):
        r: Json = collections.OrderedDict()
        res["results"][str(n)] = r
        try:
            t0 = time.perf_counter()
            while have < n:
                have += 1
                _tiny_file(fpath, have)
                t1 = time.perf_counter()
                re2po.import_path("%s@%d" % (TINY_MODEL, have), src)
                import_s.append(time.perf_counter() - t1)
                if have % 1000 == 0:
                    log("scale: %d versions imported" % have)
        except (BenchError, OSError) as e:
            r.update(status="n/a", reason="import failed: %s" % e)
            log("scale %d: n/a (%s)" % (n, e))
            break
        r["import_seconds_total_to_here"] = sum(import_s)
        r["import_seconds_this_step"] = time.perf_counter() - t0
        r["import_per_version_s"] = summarize(
            import_s[-min(len(import_s), 500):])
        r["store"] = re2po.stored()
        if mount_error:
            r["mount"] = {"status": "n/a", "reason": mount_error}
            continue
        try:
            r.update(_mount_and_list(re2po, mp, n, mount_runs,
                                     warm_repeats))
            log("scale %d versions: mount ready %.1f ms, ls cold %.2f ms" % (
                n, r["mount_ready_s"]["median"] * 1e3,
                r["listdir_cold_s"]["median"] * 1e3))
        except (BenchError, OSError) as e:
            mount_error = str(e)
            r["mount"] = {"status": "n/a", "reason": mount_error}
            log("scale %d: mount/list n/a (%s)" % (n, e))
    return res
