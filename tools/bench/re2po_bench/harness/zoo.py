"""The model set: generate it with `re2po-bench gen-models` and read its
manifest."""

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from re2po_bench.interpreter import TORCH_PYTHON, module_env

from .util import log, run


@dataclass
class Version:
    """One model version of the set: a directory with its files."""
    root: str
    entry: dict[str, Any]  # its manifest entry
    model: str = field(init=False)
    version: str = field(init=False)
    scenario: str = field(init=False)
    format: str = field(init=False)
    bytes: int = field(init=False)
    rel_files: list[str] = field(init=False)
    dir: str = field(init=False)

    def __post_init__(self) -> None:
        self.model = self.entry["model"]
        self.version = self.entry["version"]
        self.scenario = self.entry["scenario"]
        self.format = self.entry["format"]
        self.bytes = self.entry["bytes"]
        self.rel_files = [f["path"] for f in self.entry["files"]]
        self.dir = os.path.join(self.root, self.model, self.version)

    @property
    def ref(self) -> str:
        return "%s@%s" % (self.model, self.version)

    @property
    def files(self) -> list[str]:
        return [os.path.join(self.root, p) for p in self.rel_files]


class Zoo:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        with open(os.path.join(self.root, "manifest.json")) as f:
            self.manifest: dict[str, Any] = json.load(f)
        self.versions = [Version(self.root, e)
                         for e in self.manifest["models"]]

    @property
    def raw_bytes(self) -> int:
        return sum(v.bytes for v in self.versions)

    @property
    def rel_files(self) -> list[str]:
        return [p for v in self.versions for p in v.rel_files]

    def find(self, model: str, version: str = "1") -> Version | None:
        for v in self.versions:
            if v.model == model and v.version == str(version):
                return v
        return None

    def first(self, scenario: str, fmt: str) -> Version | None:
        for v in self.versions:
            if v.scenario == scenario and v.format == fmt:
                return v
        return None


def ensure_zoo(path: str, preset: str, regenerate: bool = False) -> Zoo:
    """Generate the set into path unless a manifest of that preset is
    there already."""
    man = os.path.join(path, "manifest.json")
    if os.path.exists(man) and not regenerate:
        with open(man) as f:
            m = json.load(f)
        if m.get("preset") == preset:
            log("reusing model set %s (%s, %d bytes)" % (
                path, preset, m["total_bytes"]))
            return Zoo(path)
    # the generator needs torch, which only Debian's interpreter has
    python = TORCH_PYTHON if os.path.exists(TORCH_PYTHON) else sys.executable
    log("generating model set (%s) into %s" % (preset, path))
    run([python, "-m", "re2po_bench", "gen-models", "--preset", preset,
         "--out", path, "--quiet"], env=module_env(), timeout=1800)
    return Zoo(path)
