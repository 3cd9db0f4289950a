"""The stores compared: Re2po and its peers.

Every system has the same small interface:
  check()            -> None, or why it cannot run here
  prepare_async()    start slow one-time set-up in the background
  reset(root)        a fresh, empty store under root
  ingest(version)    store one model version (a directory); returns a dict
                     of what the tool itself reported (may be empty)
  finalize()         post-ingest maintenance (Re2po: gc, which compacts)
  stored()           {"disk": bytes, "apparent": bytes} of the store
  mountable          whether reads can go through a mount
  mount(mp)          -> a Mount (path_for(rel), pid or None); unmount()
"""

import hashlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .util import (BenchError, Json, du_bytes, find_pids, is_mounted, log,
                   parse_json_tail, rmtree, run, unmount, wait_for)
from .zoo import Version

DEFAULT_MOUNT_LAYOUT = "{model}/{version}/{file}"


@dataclass
class Mount:
    system: "System"
    mp: str
    path_for: Callable[[str], str]  # a set-relative path -> its mounted path
    pid: int | None = None  # the mount daemon, when it can be found
    proc: "subprocess.Popen[bytes] | None" = None  # when we started it

    def unmount(self) -> None:
        unmount(self.mp)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                self.proc.wait(timeout=10)


def unmount_all(mounts: list[Mount]) -> None:
    """Unmounts every mount left in `mounts` (emptying it), logging rather
    than raising, so a clean-up after an error gets through the list."""
    while mounts:
        m = mounts.pop()
        try:
            m.unmount()
        except (BenchError, OSError) as e:
            log("unmount %s: %s" % (m.mp, e))


class System:
    name = "?"
    label = "?"
    mountable = False
    tools: tuple[str, ...] = ()

    def __init__(self, work: str) -> None:
        self.work = work
        self.root = ""  # set by reset()
        self.zoo_root = "/"  # where the ingested versions lived (mount paths)
        # set by the driver from the size phase: reads need an ingested store
        self.ready_for_reads = False
        self.not_ready_reason: str | None = "no ingested store"

    def check(self) -> str | None:
        for t in self.tools:
            if shutil.which(t) is None:
                return "%s not installed" % t
        return None

    def prepare_async(self) -> None:
        pass

    def reset(self, root: str) -> None:
        rmtree(root)
        os.makedirs(root)
        self.root = root

    def store_dir(self) -> str:
        return self.root

    def ingest(self, version: Version) -> Json:
        raise NotImplementedError

    def finalize(self) -> Json:
        return {}

    def stored(self) -> dict[str, int]:
        return du_bytes(self.store_dir())

    def mount(self, mp: str) -> Mount:
        raise BenchError("%s cannot mount" % self.name)


# ------------------------------------------------------------------ Re2po

class Re2po(System):
    name = "re2po"
    label = "Re2po"
    mountable = True

    def __init__(self, work: str, binary: str | None,
                 cache_size: str | None = None,
                 layout: str = DEFAULT_MOUNT_LAYOUT) -> None:
        super().__init__(work)
        self.binary = binary
        self.cache_size = cache_size
        self.layout = layout

    def check(self) -> str | None:
        if not self.binary:
            return "no re2po binary (pass --re2po PATH)"
        if not os.access(self.binary, os.X_OK):
            return "re2po binary %s not found or not executable" % self.binary
        return None

    def _binary(self) -> str:
        if not self.binary:
            raise BenchError("no re2po binary (pass --re2po PATH)")
        return self.binary

    def cli(self, *args: str, timeout: float = 600,
            check: bool = True) -> "subprocess.CompletedProcess[str]":
        return run([self._binary(), "--store", self.store_dir()] + list(args),
                   timeout=timeout, check=check)

    def store_dir(self) -> str:
        return os.path.join(self.root, "store")

    def reset(self, root: str) -> None:
        super().reset(root)
        self.cli("init")

    def ingest(self, version: Version) -> Json:
        r = self.cli("import", version.ref, version.dir, "--json")
        try:
            return parse_json_tail(r.stdout)
        except BenchError:
            return {}

    def import_path(self, ref: str,
                    path: str) -> "subprocess.CompletedProcess[str]":
        return self.cli("import", ref, path)

    def finalize(self) -> Json:
        t0 = time.perf_counter()
        self.cli("gc", timeout=3600)
        gc_s = time.perf_counter() - t0
        info: Json = {"gc_seconds": gc_s}
        try:
            info["stats"] = parse_json_tail(self.cli("stats", "--json").stdout)
        except BenchError as e:
            info["stats_error"] = str(e)
        return info

    def rel_to_mount(self, rel: str) -> str:
        parts = rel.split(os.sep)
        model, version, fname = parts[0], parts[1], os.sep.join(parts[2:])
        return self.layout.format(model=model, version=version, file=fname)

    def model_dir(self, mp: str, model: str) -> str:
        prefix = self.layout.split("{version}")[0]
        return os.path.join(mp, prefix.format(model=model))

    def mount(self, mp: str) -> Mount:
        os.makedirs(mp, exist_ok=True)
        args = [self._binary(), "--store", self.store_dir(), "mount", mp]
        if self.cache_size:
            args += ["-o", "cache_size=%s" % self.cache_size]
        run(args, timeout=120)
        if not wait_for(lambda: is_mounted(mp), 30):
            raise BenchError("re2po mount returned but %s is not mounted" % mp)
        # the daemon forked away from `re2po mount`: find it by command line
        pids = [p for p in find_pids("mount", mp) if p != os.getpid()]
        pid = max(pids) if pids else None
        return Mount(self, mp, lambda rel: os.path.join(
            mp, self.rel_to_mount(rel)), pid=pid)


# ------------------------------------------------------------- zstd -3

class ZstdPerFile(System):
    name = "zstd"
    label = "zstd -3 per file"
    tools = ("zstd",)

    def ingest(self, version: Version) -> Json:
        for src, rel in zip(version.files, version.rel_files):
            dst = os.path.join(self.root, rel + ".zst")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            run(["zstd", "-3", "-q", "-f", src, "-o", dst])
        return {}


# --------------------------------------------------------- whole-file dedup

class WholeFileDedup(System):
    """Content-addressed copy of whole files: sha256 -> one copy each."""
    name = "wholefile"
    label = "whole-file dedup"

    def ingest(self, version: Version) -> Json:
        new = 0
        for src in version.files:
            h = hashlib.sha256()
            with open(src, "rb") as f:
                while True:
                    b = f.read(4 << 20)
                    if not b:
                        break
                    h.update(b)
            dst = os.path.join(self.root, h.hexdigest())
            if not os.path.exists(dst):
                shutil.copyfile(src, dst)
                new += os.path.getsize(dst)
        return {"new_bytes": new}


# ------------------------------------------------------------------ restic

class _TemplateRepo(System):
    """Peers whose init is slow (key derivation, fsyncs): init once into a
    template and copy it for every fresh store."""

    def __init__(self, work: str) -> None:
        super().__init__(work)
        self._thread: threading.Thread | None = None
        self._thread_error: BenchError | None = None

    def _template(self) -> str:
        raise NotImplementedError

    def prepare_async(self) -> None:
        """Start creating the template in the background (it is slow)."""
        def work() -> None:
            try:
                self._template()
            except BenchError as e:
                self._thread_error = e
        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def _wait_template(self) -> str:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            if self._thread_error:
                raise self._thread_error
        return self._template()

    def reset(self, root: str) -> None:
        rmtree(root)
        os.makedirs(root)
        self.root = root
        tpl = self._wait_template()
        shutil.copytree(tpl, self.store_dir(), symlinks=True)


class Restic(_TemplateRepo):
    name = "restic"
    label = "restic"
    mountable = True
    tools = ("restic",)

    def __init__(self, work: str) -> None:
        super().__init__(work)
        self.snapshots: dict[str, str] = {}

    def env(self, repo: str | None = None) -> dict[str, str]:
        return {"RESTIC_REPOSITORY": repo or self.store_dir(),
                "RESTIC_PASSWORD": "re2po-bench",
                "RESTIC_CACHE_DIR": os.path.join(self.root or self.work,
                                                 "cache")}

    def store_dir(self) -> str:
        return os.path.join(self.root, "repo")

    def _template(self) -> str:
        tpl = os.path.join(self.work, "templates", "restic")
        if not os.path.exists(os.path.join(tpl, "config")):
            rmtree(tpl)
            os.makedirs(os.path.dirname(tpl), exist_ok=True)
            log("restic init (template; its key derivation is slow)")
            run(["restic", "init"], env=self.env(tpl), timeout=300)
        return tpl

    def reset(self, root: str) -> None:
        super().reset(root)
        self.snapshots = {}

    def ingest(self, version: Version) -> Json:
        r = run(["restic", "backup", "--json", "-q", version.dir],
                env=self.env(), timeout=1800)
        summary = parse_json_tail(r.stdout)
        sid = summary.get("snapshot_id")
        if sid:
            self.snapshots[version.ref] = sid
        return {"new_bytes": summary.get("data_added"), "snapshot": sid}

    def mount(self, mp: str) -> Mount:
        os.makedirs(mp, exist_ok=True)
        with open(os.path.join(self.root, "mount.log"), "w") as logf:
            proc = subprocess.Popen(["restic", "mount", "--no-lock", mp],
                                    env=dict(os.environ, **self.env()),
                                    stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        ok = wait_for(lambda: is_mounted(mp) and os.path.isdir(
            os.path.join(mp, "ids")) and os.listdir(os.path.join(mp, "ids")),
            60)
        if not ok:
            proc.terminate()
            raise BenchError("restic mount did not come up")

        def path_for(rel: str) -> str:
            parts = rel.split(os.sep)
            sid = self.snapshots["%s@%s" % (parts[0], parts[1])]
            src = os.path.join(self.zoo_root, rel)
            return os.path.join(mp, "ids", sid, src.lstrip("/"))
        return Mount(self, mp, path_for, pid=proc.pid, proc=proc)


# ------------------------------------------------------------------- borg

class Borg(_TemplateRepo):
    name = "borg"
    label = "borg (zstd,3)"
    mountable = True
    tools = ("borg",)

    def env(self) -> dict[str, str]:
        return {"BORG_BASE_DIR": os.path.join(self.root or self.work, "base"),
                "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
                "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
                "BORG_PASSPHRASE": ""}

    def store_dir(self) -> str:
        return os.path.join(self.root, "repo")

    def _template(self) -> str:
        tpl = os.path.join(self.work, "templates", "borg")
        if not os.path.exists(os.path.join(tpl, "config")):
            rmtree(tpl)
            os.makedirs(os.path.dirname(tpl), exist_ok=True)
            log("borg init (template)")
            env = self.env()
            env["BORG_BASE_DIR"] = os.path.join(self.work, "templates",
                                                "borg-base")
            run(["borg", "init", "-e", "none", tpl], env=env, timeout=300)
        return tpl

    @staticmethod
    def archive(version: Version) -> str:
        return ("%s_%s" % (version.model, version.version)).replace("/", "_")

    def ingest(self, version: Version) -> Json:
        r = run(["borg", "create", "--json", "--compression", "zstd,3",
                 "%s::%s" % (self.store_dir(), self.archive(version)),
                 version.dir], env=self.env(), timeout=1800)
        info = parse_json_tail(r.stdout)
        stats = info.get("archive", {}).get("stats", {})
        return {"new_bytes": stats.get("deduplicated_size")}

    def mount(self, mp: str) -> Mount:
        os.makedirs(mp, exist_ok=True)
        run(["borg", "mount", self.store_dir(), mp], env=self.env(),
            timeout=120)
        if not wait_for(lambda: is_mounted(mp), 30):
            raise BenchError("borg mount did not come up")
        pids = find_pids("borg", "mount", mp)

        def path_for(rel: str) -> str:
            parts = rel.split(os.sep)
            arch = ("%s_%s" % (parts[0], parts[1])).replace("/", "_")
            src = os.path.join(self.zoo_root, rel)
            return os.path.join(mp, arch, src.lstrip("/"))
        return Mount(self, mp, path_for, pid=max(pids) if pids else None)


# ----------------------------------------------------------------- casync

class Casync(System):
    name = "casync"
    label = "casync (zstd)"
    tools = ("casync",)

    def ingest(self, version: Version) -> Json:
        idx = os.path.join(self.root, "index", "%s_%s.caidx" % (
            version.model, version.version))
        os.makedirs(os.path.dirname(idx), exist_ok=True)
        run(["casync", "make", "--compression=zstd",
             "--store=%s" % os.path.join(self.root, "store.castr"), idx,
             version.dir], timeout=1800)
        return {}


# every system --systems accepts, in report order
SYSTEM_CLASSES: dict[str, type[System]] = {
    "re2po": Re2po, "zstd": ZstdPerFile, "wholefile": WholeFileDedup,
    "restic": Restic, "borg": Borg, "casync": Casync,
}
ALL_SYSTEMS = list(SYSTEM_CLASSES)


def tools_needed(names: list[str]) -> list[str]:
    """The peer tools the named systems run, in report order."""
    return [t for n, cls in SYSTEM_CLASSES.items() if n in names
            for t in cls.tools]


def make_systems(work: str, names: list[str], re2po_binary: str | None = None,
                 cache_size: str | None = None,
                 layout: str = DEFAULT_MOUNT_LAYOUT) -> list[System]:
    out: list[System] = []
    for n in names:
        cls = SYSTEM_CLASSES.get(n)
        if cls is None:
            raise SystemExit("unknown system %r" % n)
        out.append(Re2po(work, re2po_binary, cache_size, layout)
                   if cls is Re2po else cls(work))
    return out
