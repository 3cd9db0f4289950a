#!/usr/bin/python3
"""A TEST DOUBLE of the re2po CLI, used only to exercise the benchmark
harness's plumbing (tests/python/test_run_bench.py) before the real CLI
exists. It implements the interface the harness calls with whole-file
dedup and a bind mount; its numbers mean nothing and are never reported.

  fake_re2po.py --store DIR init|import REF PATH [--json]|ls [MODEL] [--json]
                |gc|stats --json|mount MP [-o ...]|--version
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def _meta(store):
    p = os.path.join(store, "meta.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {"versions": []}


def _save(store, meta):
    with open(os.path.join(store, "meta.json"), "w") as f:
        json.dump(meta, f)


def main(argv):
    if argv[:1] == ["--version"]:
        print("fake-re2po 0 (test double)")
        return 0
    if len(argv) < 3 or argv[0] != "--store":
        print(__doc__, file=sys.stderr)
        return 2
    store, cmd, rest = argv[1], argv[2], argv[3:]
    as_json = "--json" in rest
    rest = [a for a in rest if a != "--json"]
    if cmd == "init":
        os.makedirs(os.path.join(store, "tree"), exist_ok=True)
        os.makedirs(os.path.join(store, "objects"), exist_ok=True)
        _save(store, {"versions": []})
        return 0
    meta = _meta(store)
    if cmd == "import":
        ref, src = rest[0], rest[1]
        model, _, version = ref.partition("@")
        vdir = os.path.join(store, "tree", model, version)
        os.makedirs(vdir, exist_ok=True)
        files = ([src] if os.path.isfile(src) else
                 [os.path.join(src, f) for f in sorted(os.listdir(src))])
        logical = new = 0
        for f in files:
            digest = _sha(f)
            obj = os.path.join(store, "objects", digest)
            size = os.path.getsize(f)
            logical += size
            if not os.path.exists(obj):
                shutil.copyfile(f, obj)
                new += size
            dst = os.path.join(vdir, os.path.basename(f))
            if os.path.exists(dst):
                os.unlink(dst)
            os.link(obj, dst)
        meta["versions"].append({"model": model, "version": version,
                                 "logical_bytes": logical, "new_bytes": new})
        _save(store, meta)
        out = {"model": model, "version": version, "logical_bytes": logical,
               "new_bytes": new, "files": len(files)}
        print(json.dumps(out) if as_json else "imported %s" % ref)
        return 0
    if cmd == "ls":
        vs = [v for v in meta["versions"] if not rest or v["model"] == rest[0]]
        print(json.dumps(vs) if as_json else "\n".join(
            "%s@%s" % (v["model"], v["version"]) for v in vs))
        return 0
    if cmd == "gc":
        return 0
    if cmd == "stats":
        logical = sum(v["logical_bytes"] for v in meta["versions"])
        stored = sum(v["new_bytes"] for v in meta["versions"])
        print(json.dumps({"logical_bytes": logical, "stored_bytes": stored,
                          "disk_bytes": stored, "chunk_count": 0,
                          "dedup_ratio": logical / stored if stored else 0,
                          "compression_ratio": 1.0}))
        return 0
    if cmd == "mount":
        mp = rest[0]
        subprocess.run(["mount", "--bind", "-o", "ro",
                        os.path.join(store, "tree"), mp], check=True)
        return 0
    print("unknown command %s" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
