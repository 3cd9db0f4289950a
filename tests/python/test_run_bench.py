"""Tests for the benchmark harness, tools/bench/run-bench
(re2po_bench.harness; stdlib unittest):

    export RE2PO_BIN=build/tools/re2po PYTHONPATH=tools/bench
    /usr/bin/python3 -m unittest discover -s tests/python

The end-to-end test runs the smoke preset against the real re2po binary
named by RE2PO_BIN (real FUSE mounts: root and /dev/fuse), and is skipped,
saying why, when that cannot run here.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from bench_package import RUN_BENCH
from re2po_bench.harness import report, size, systems, util


def _have_torch():
    r = subprocess.run(["/usr/bin/python3", "-c", "import torch, onnx"],
                       capture_output=True)
    return r.returncode == 0


def _why_no_end_to_end():
    """None, or why the end-to-end run cannot happen here."""
    binary = os.environ.get("RE2PO_BIN")
    if not binary:
        return "RE2PO_BIN is not set (the path of a built re2po binary)"
    if not os.access(binary, os.X_OK):
        return "RE2PO_BIN=%s is not an executable file" % binary
    if os.geteuid() != 0:
        return "needs root (FUSE mounts, drop_caches)"
    if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
        return "needs /dev/fuse and fusermount3"
    if not _have_torch():
        return "needs python3-torch and python3-onnx in /usr/bin/python3"
    return None


class UtilTest(unittest.TestCase):

    def test_summarize_and_ratios(self):
        s = util.summarize([3.0, 1.0, 2.0])
        self.assertEqual((s["median"], s["min"], s["max"], s["n"]),
                         (2.0, 1.0, 3.0, 3))
        self.assertIsNone(util.summarize([]))
        self.assertIsNone(util.summarize([None]))
        r = util.ratios([2.0, 4.0, None], [1.0, 1.0, 1.0])
        self.assertEqual(r["values"], [2.0, 4.0])
        self.assertEqual(r["median"], 3.0)

    def test_parse_json_tail(self):
        self.assertEqual(util.parse_json_tail('progress\n{"a": 1}\n'),
                         {"a": 1})
        self.assertEqual(util.parse_json_tail('x\n{\n "b": 2\n}\n'),
                         {"b": 2})
        with self.assertRaises(util.BenchError):
            util.parse_json_tail("nothing here")

    def test_du_and_read(self):
        d = tempfile.mkdtemp()
        try:
            p = os.path.join(d, "f")
            with open(p, "wb") as f:
                f.write(b"x" * 10000)
            self.assertEqual(util.read_files([p]), 10000)
            du = util.du_bytes(d)
            self.assertGreaterEqual(du["apparent"], 10000)
            self.assertGreaterEqual(du["disk"], 8192)
        finally:
            shutil.rmtree(d)


class _Missing(systems.System):
    name = "missing"
    label = "missing tool"
    tools = ("re2po-bench-no-such-tool",)


class _FakeVersion:
    def __init__(self, d, i):
        self.model, self.version = "m", str(i)
        self.scenario = "base" if i == 1 else "series"
        self.format = "pt"
        self.dir = os.path.join(d, "m", str(i))
        os.makedirs(self.dir)
        p = os.path.join(self.dir, "model.pt")
        with open(p, "wb") as f:
            f.write(bytes([i]) * 5000 + b"same" * 5000)
        self.rel_files = [os.path.relpath(p, d)]
        self.files = [p]
        self.bytes = os.path.getsize(p)
        self.ref = "m@%d" % i


class _FakeZoo:
    def __init__(self, d):
        self.root = d
        self.versions = [_FakeVersion(d, 1), _FakeVersion(d, 2),
                         _FakeVersion(d, 1 + 2)]
        self.raw_bytes = sum(v.bytes for v in self.versions)
        self.rel_files = [r for v in self.versions for r in v.rel_files]


class SizePhaseTest(unittest.TestCase):

    def setUp(self):
        self.d = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.d)

    def test_missing_peer_is_na_with_reason(self):
        zoo = _FakeZoo(os.path.join(self.d, "zoo"))
        res = size.run_size(zoo, [_Missing(self.d)], self.d, 1, 0)
        r = res["systems"]["missing"]
        self.assertEqual(r["status"], "n/a")
        self.assertIn("not installed", r["reason"])
        self.assertNotIn("ingest_mbps", r)

    def test_wholefile_and_zstd_measured(self):
        zoo = _FakeZoo(os.path.join(self.d, "zoo"))
        sy = [systems.WholeFileDedup(self.d)]
        if shutil.which("zstd"):
            sy.append(systems.ZstdPerFile(self.d))
        res = size.run_size(zoo, sy, self.d, 2, 1)
        w = res["systems"]["wholefile"]
        self.assertEqual(w["status"], "ok")
        self.assertEqual(len(w["runs"]), 3)
        self.assertEqual(w["ingest_mbps"]["n"], 2)
        self.assertEqual(w["per_scenario"]["base"]["added_bytes"],
                         zoo.versions[0].bytes)
        if len(sy) > 1:
            z = res["systems"]["zstd"]
            self.assertLess(z["stored_over_raw"]["median"], 1.0)


class ReportTest(unittest.TestCase):

    def test_targets_na_without_measurements(self):
        rows = report.evaluate_targets({"preset": "smoke"})
        self.assertEqual(len(rows), 6)
        self.assertTrue(all(r["verdict"] == "n/a" for r in rows))
        md = report.markdown({"preset": "smoke", "targets": rows,
                              "machine": {}})
        self.assertIn("| n/a |", md)

    def test_targets_pass_and_miss(self):
        def st(v):
            return {"median": v, "min": v, "max": v, "n": 1, "values": [v]}
        res = {"preset": "default",
               "size": {"systems": {"re2po": {
                   "stored_over_raw": st(0.1), "ingest_mbps": st(500.0)}}},
               "reads": {"cold_supported": True, "targets": {"re2po": {
                   "vs_native": {"seq_cold_mbps": st(1.1),
                                 "seq_warm_mbps": st(0.9),
                                 "pt_load_cold_s": st(1.0)}}}},
               "scale": {"counts": [1000], "results": {"1000": {
                   "listdir_cold_s": st(0.004)}}}}
        v = {r["name"]: r["verdict"] for r in report.evaluate_targets(res)}
        self.assertEqual(v["stored/raw (du after gc)"], "PASS")
        self.assertEqual(v["ingest throughput"], "MISS")
        self.assertEqual(v["cold sequential read vs native"], "PASS")
        self.assertEqual(v["warm sequential read vs native"], "MISS")
        self.assertEqual(v["cold torch.load time vs native"], "PASS")
        self.assertEqual(v["ls of 1,000 versions (cold listdir)"], "PASS")


class EndToEndTest(unittest.TestCase):
    """run-bench --preset smoke against the real CLI, at a small scale."""

    SCALE = 20

    @classmethod
    def setUpClass(cls):
        why = _why_no_end_to_end()
        if why:
            print("\nskipping the end-to-end harness run: %s" % why,
                  file=sys.stderr)
            raise unittest.SkipTest(why)
        cls.binary = os.path.abspath(os.environ["RE2PO_BIN"])
        cls.work = tempfile.mkdtemp(prefix="run_bench_test_")
        cmd = [RUN_BENCH, "--preset", "smoke", "--work", cls.work,
               "--re2po", cls.binary, "--systems", "re2po,zstd,wholefile",
               "--no-install", "--scale-counts", str(cls.SCALE),
               "--fio-seconds", "1"]
        cls.proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=900)
        path = os.path.join(cls.work, "results.json")
        cls.results = None
        if os.path.exists(path):
            with open(path) as f:
                cls.results = json.load(f)

    @classmethod
    def tearDownClass(cls):
        mnt = os.path.join(cls.work, "mnt")
        if os.path.isdir(mnt):
            for d in os.listdir(mnt):
                util.unmount(os.path.join(mnt, d))
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_ran(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        self.assertIsNotNone(self.results)
        self.assertTrue(os.path.exists(os.path.join(self.work,
                                                    "results.md")))
        self.assertIn("## Targets", self.proc.stdout)
        self.assertEqual(self.results["re2po_binary"], self.binary)
        self.assertTrue(self.results["machine"]["tools"]["re2po"]
                        .startswith("re2po "))
        self.assertIn("-m re2po_bench run --preset smoke",
                      self.results["command"])

    def test_size(self):
        r = self.results["size"]["systems"]["re2po"]
        self.assertEqual(r["status"], "ok", r.get("reason"))
        self.assertGreater(r["stored_over_raw"]["median"], 0)
        self.assertIn("transfer", r["per_scenario"])
        # a transfer model shares its backbone: Re2po stores much less
        # than the files hold (whole-file dedup stores them all)
        self.assertLess(r["per_scenario"]["transfer"]["added_over_raw"], 0.5)
        self.assertIn("re2po_ingest_speedup",
                      self.results["size"]["systems"]["wholefile"])

    def test_reads(self):
        reads = self.results["reads"]
        t = reads["targets"]
        self.assertEqual(t["native"]["status"], "ok")
        self.assertEqual(t["re2po"]["status"], "ok", t["re2po"].get("reason"))
        for key in ("seq_warm_mbps", "pt_load_warm_s", "onnx_load_warm_s",
                    "fio_4k.iops", "fio_128k.mbps"):
            self.assertIn(key, t["re2po"]["vs_native"])
        if reads["cold_supported"]:
            self.assertIn("seq_cold_mbps", t["re2po"]["vs_native"])
            self.assertIn("pt_load_cold_s", t["re2po"]["vs_native"])
            # the mount daemon's memory under a parallel read
            self.assertGreater(t["re2po"]["parallel_read"]["vm_hwm"], 0)

    def test_scale(self):
        s = self.results["scale"]
        self.assertEqual(s["status"], "ok", s.get("reason"))
        r = s["results"][str(self.SCALE)]
        # the model directory lists every version, and "latest"
        self.assertEqual(r["entries"], self.SCALE + 1)
        self.assertEqual(r["mount_ready_s"]["n"], 2)

    def test_targets(self):
        rows = self.results["targets"]
        self.assertEqual(len(rows), 6)
        for r in rows:
            self.assertIn(r["verdict"], ("PASS", "MISS", "n/a"))
        ls = [r for r in rows if r["name"].startswith("ls of 1,000")][0]
        self.assertEqual(ls["verdict"], "n/a")

    def test_no_mounts_left(self):
        with open("/proc/self/mounts") as f:
            self.assertNotIn(self.work, f.read())


if __name__ == "__main__":
    unittest.main()
