"""Describe the machine and the tools, and install missing peer tools."""

import os
import platform
import shutil
from collections.abc import Sequence

from .util import BenchError, Json, log, run

# tool -> Debian package
PEER_PACKAGES = {"restic": "restic", "borg": "borgbackup",
                 "casync": "casync", "fio": "fio", "zstd": "zstd"}


def ensure_tools(tools: Sequence[str],
                 allow_install: bool = True) -> dict[str, str | None]:
    """Install the Debian packages of missing tools with apt-get.

    Returns {tool: None or a reason it is unavailable}.
    """
    missing = [t for t in tools if shutil.which(t) is None]
    status: dict[str, str | None] = {t: None for t in tools}
    if missing and allow_install:
        pkgs = sorted({PEER_PACKAGES[t] for t in missing
                       if t in PEER_PACKAGES})
        env = {"DEBIAN_FRONTEND": "noninteractive"}
        log("installing %s with apt-get" % " ".join(pkgs))
        try:
            r = run(["apt-get", "install", "-y", "--no-install-recommends"]
                    + pkgs, env=env, check=False, timeout=600)
            if r.returncode != 0:
                run(["apt-get", "update"], env=env, check=False, timeout=600)
                run(["apt-get", "install", "-y", "--no-install-recommends"]
                    + pkgs, env=env, check=False, timeout=600)
        except BenchError as e:
            log("apt-get failed: %s" % e)
    for t in tools:
        if shutil.which(t) is None:
            status[t] = ("%s not installed (Debian package %s%s)" % (
                t, PEER_PACKAGES.get(t, "?"),
                "" if allow_install else "; --no-install given"))
    return status


def _first_line(cmd: Sequence[str]) -> str | None:
    try:
        r = run(cmd, check=False, timeout=30)
        text = (r.stdout or r.stderr or "").strip()
        return text.splitlines()[0] if text else None
    except BenchError:
        return None


def tool_versions(re2po: str | None = None) -> dict[str, str | None]:
    v: dict[str, str | None] = {}
    if re2po:
        v["re2po"] = (_first_line([re2po, "--version"]) or
                      "unknown (no --version)")
    for name, cmd in (("zstd", ["zstd", "--version"]),
                      ("restic", ["restic", "version"]),
                      ("borg", ["borg", "--version"]),
                      ("casync", ["casync", "--version"]),
                      ("fio", ["fio", "--version"]),
                      ("fuse3", ["fusermount3", "--version"])):
        if shutil.which(cmd[0]):
            v[name] = _first_line(cmd)
    v["python"] = platform.python_version()
    try:
        r = run(["/usr/bin/python3", "-c",
                 "import warnings; warnings.filterwarnings('ignore');"
                 "import torch, onnx; print(torch.__version__, "
                 "onnx.__version__)"], check=False, timeout=120)
        parts = r.stdout.split()
        if len(parts) == 2:
            v["torch"], v["onnx"] = parts
    except BenchError:
        pass
    return v


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total() -> int | None:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return None


def _fs_of(path: str) -> dict[str, str]:
    try:
        r = run(["df", "-T", "-P", path], check=False)
        lines = r.stdout.strip().splitlines()
        if len(lines) >= 2:
            parts = lines[1].split()
            return {"device": parts[0], "type": parts[1],
                    "mount": parts[-1]}
    except BenchError:
        pass
    return {}


def describe(workdir: str, re2po: str | None = None) -> Json:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": _mem_total(),
        "kernel": platform.release(),
        "os": _first_line(["sh", "-c", ". /etc/os-release; echo "
                           "$PRETTY_NAME"]),
        "workdir": os.path.abspath(workdir),
        "workdir_fs": _fs_of(workdir),
        "loadavg_at_start": os.getloadavg(),
        "tools": tool_versions(re2po),
    }
