"""The model set: generate it with gen_models.py and read its manifest."""

import json
import os
import sys

from .util import log, run

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(HERE, "gen_models.py")
TORCH_PYTHON = "/usr/bin/python3"


class Version:
    """One model version of the set: a directory with its files."""

    def __init__(self, root, entry):
        self.root = root
        self.entry = entry
        self.model = entry["model"]
        self.version = entry["version"]
        self.scenario = entry["scenario"]
        self.format = entry["format"]
        self.bytes = entry["bytes"]
        self.rel_files = [f["path"] for f in entry["files"]]
        self.dir = os.path.join(root, self.model, self.version)

    @property
    def ref(self):
        return "%s@%s" % (self.model, self.version)

    @property
    def files(self):
        return [os.path.join(self.root, p) for p in self.rel_files]


class Zoo:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        with open(os.path.join(self.root, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.versions = [Version(self.root, e)
                         for e in self.manifest["models"]]

    @property
    def raw_bytes(self):
        return sum(v.bytes for v in self.versions)

    @property
    def rel_files(self):
        return [p for v in self.versions for p in v.rel_files]

    def find(self, model, version="1"):
        for v in self.versions:
            if v.model == model and v.version == str(version):
                return v
        return None

    def first(self, scenario, fmt):
        for v in self.versions:
            if v.scenario == scenario and v.format == fmt:
                return v
        return None


def ensure_zoo(path, preset, regenerate=False):
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
    python = TORCH_PYTHON if os.path.exists(TORCH_PYTHON) else sys.executable
    log("generating model set (%s) into %s" % (preset, path))
    run([python, GEN, "--preset", preset, "--out", path, "--quiet"],
        timeout=1800)
    return Zoo(path)
