"""Tests for the LLM-sized model generator, tools/bench/gen-llm
(re2po_bench.llm.gen), and the pure parts of its benchmark (stdlib
unittest; needs /usr/bin/python3 with numpy; a few seconds):

    export PYTHONPATH=tools/bench
    /usr/bin/python3 -m unittest test_llm_gen

The set is generated at a tiny scale (H=256, I=768, 3 layers) and every
file is parsed back: safetensors headers cover the data exactly, the
index maps every tensor, GGUF headers, tensor infos and alignment are
valid, Q8_0/Q4_K blocks have llama.cpp's sizes and decode close to the
weights, the fine-tune and the LoRA change only what they should, and the
same seed gives the same bytes.
"""

import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

import numpy as np

from bench_package import BENCH_DIR
from re2po_bench.llm import bench, gen, report

GEN_LLM = os.path.join(BENCH_DIR, "gen-llm")
SCALE = 0.002
KINDS = {"safetensors-bf16", "safetensors-fp16", "gguf-f16", "gguf-q8_0",
         "gguf-q4_k", "finetune", "lora"}


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def _tensors(path):
    """{name: (dtype or ggml type, shape as stored, raw bytes)}."""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gguf"):
        info = gen.read_gguf(path)
        for t in info.tensors:
            a = info.data_start + t.offset
            out[t.name] = (t.type, t.dims, data[a:a + t.nbytes])
        return out
    start, header = gen.read_safetensors_header(path)
    for name, info in header.items():
        if name != "__metadata__":
            a, b = info["data_offsets"]
            out[name] = (info["dtype"], tuple(info["shape"]),
                         data[start + a:start + b])
    return out


def _version_tensors(root, version_dir):
    out = {}
    d = os.path.join(root, version_dir)
    for f in sorted(os.listdir(d)):
        if f.endswith((".safetensors", ".gguf")):
            out.update(_tensors(os.path.join(d, f)))
    return out


class GeneratedSetTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="llm_gen_")
        cls.root = os.path.join(cls.tmp, "a")
        r = subprocess.run([GEN_LLM, "--out", cls.root, "--scale",
                            str(SCALE), "--quiet"], capture_output=True,
                           text=True, timeout=300)
        if r.returncode != 0:
            raise AssertionError("gen-llm failed:\n%s" % r.stderr)
        cls.summary = json.loads(r.stdout)
        cls.manifest = gen.read_manifest(cls.root)
        cls.cfg = gen.config_for_scale(SCALE)
        cls.specs = gen.tensor_specs(cls.cfg)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def _files(self, suffix):
        return [f for f in self.manifest["files"]
                if f["path"].endswith(suffix)]

    def test_manifest_matches_the_files(self):
        self.assertEqual({v["kind"] for v in self.manifest["versions"]},
                         KINDS)
        self.assertEqual({f["kind"] for f in self.manifest["files"]}, KINDS)
        for f in self.manifest["files"]:
            p = os.path.join(self.root, f["path"])
            self.assertEqual(os.path.getsize(p), f["bytes"], f["path"])
            self.assertEqual(_sha(p), f["sha256"], f["path"])
        self.assertEqual(self.summary["bytes"], sum(
            f["bytes"] for f in self.manifest["files"]))
        self.assertEqual(self.manifest["config"]["hidden"], self.cfg.hidden)

    def test_safetensors_header_offsets_cover_the_data_exactly(self):
        for f in self._files(".safetensors"):
            p = os.path.join(self.root, f["path"])
            with open(p, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(n))
            self.assertEqual(n % 8, 0)
            self.assertEqual(header.pop("__metadata__"), {"format": "pt"})
            want = "F16" if f["kind"] == "safetensors-fp16" else "BF16"
            end = 0
            for name, info in header.items():
                a, b = info["data_offsets"]
                self.assertEqual(a, end, "%s: %s not contiguous" % (
                    f["path"], name))
                self.assertEqual(info["dtype"], want)
                self.assertEqual(b - a, 2 * math.prod(info["shape"]))
                end = b
            self.assertEqual(8 + n + end, f["bytes"], f["path"])
            if "-of-" in f["path"]:  # a shard: names sorted, as HF's
                self.assertEqual(list(header), sorted(header))

    def test_index_maps_every_tensor_to_its_shard(self):
        for v in self.manifest["versions"]:
            if v["encoding"] != "bf16":
                continue
            d = os.path.join(self.root, v["dir"])
            with open(os.path.join(d, "model.safetensors.index.json")) as f:
                index = json.load(f)
            wm = index["weight_map"]
            self.assertEqual(set(wm), {s.name for s in self.specs})
            shards = sorted(x for x in os.listdir(d) if "-of-" in x)
            self.assertGreaterEqual(len(shards), 2)
            self.assertEqual(set(wm.values()), set(shards))
            total = 0
            for shard in shards:
                ts = _tensors(os.path.join(d, shard))
                self.assertEqual({k for k, s in wm.items() if s == shard},
                                 set(ts))
                total += sum(len(t[2]) for t in ts.values())
            self.assertEqual(index["metadata"]["total_size"], total)

    def test_gguf_header_infos_and_alignment(self):
        shapes = {s.gguf_name: s.shape for s in self.specs}
        want = {"gguf-f16": gen.GGML_F16, "gguf-q8_0": gen.GGML_Q8_0,
                "gguf-q4_k": gen.GGML_Q4_K}
        for f in self._files(".gguf"):
            p = os.path.join(self.root, f["path"])
            with open(p, "rb") as fh:
                magic, version, nt, nkv = struct.unpack("<4sIQQ",
                                                        fh.read(24))
            self.assertEqual((magic, version), (b"GGUF", 3))
            g = gen.read_gguf(p)
            self.assertEqual((len(g.tensors), len(g.kvs)), (nt, nkv))
            self.assertEqual(g.kvs["general.architecture"], "llama")
            self.assertEqual(g.kvs["llama.block_count"], self.cfg.layers)
            self.assertEqual(g.kvs["llama.embedding_length"],
                             self.cfg.hidden)
            self.assertEqual(len(g.kvs["tokenizer.ggml.tokens"]),
                             self.cfg.vocab)
            self.assertEqual(g.alignment, 32)
            self.assertEqual(g.data_start % 32, 0)
            self.assertEqual(set(shapes), {t.name for t in g.tensors})
            end = 0
            for t in g.tensors:
                rows_cols = tuple(reversed(t.dims))
                self.assertEqual(rows_cols, shapes[t.name])
                self.assertEqual(t.offset % 32, 0)
                self.assertGreaterEqual(t.offset, end)
                n = math.prod(t.dims)
                if len(t.dims) == 1:  # norms stay F32
                    self.assertEqual((t.type, t.nbytes), (gen.GGML_F32, 4 * n))
                else:
                    self.assertEqual(t.type, want[f["kind"]])
                    self.assertEqual(t.nbytes, {
                        gen.GGML_F16: 2 * n, gen.GGML_Q8_0: n // 32 * 34,
                        gen.GGML_Q4_K: n // 256 * 144}[t.type])
                end = t.offset + t.nbytes
            self.assertEqual(f["bytes"], g.data_start + end + (-end % 32))

    def test_quantized_blocks_decode_close_to_the_weights(self):
        f16 = _version_tensors(self.root, "llm-gguf-f16/1")
        for vdir, decode, limit in (
                ("llm-gguf-q8/1", gen.dequantize_q8_0, 0.01),
                ("llm-gguf-q4k/1", gen.dequantize_q4_k, 0.12)):
            for name, (gtype, dims, raw) in _version_tensors(
                    self.root, vdir).items():
                ref_type, _, ref_raw = f16[name]
                if gtype == gen.GGML_F32:
                    self.assertEqual(raw, ref_raw, name)
                    continue
                x = np.frombuffer(ref_raw, "<f2").astype(np.float32)
                y = decode(np.frombuffer(raw, np.uint8))
                self.assertEqual(y.size, x.size)
                rel = np.sqrt(np.mean((y - x) ** 2)) / x.std()
                self.assertLess(rel, limit, "%s %s" % (vdir, name))

    def test_q4_k_and_q8_0_block_sizes(self):
        x = np.random.default_rng(0).standard_normal((4, 512)).astype(
            np.float32)
        self.assertEqual(gen.quantize_q8_0(x).nbytes, 4 * 512 // 32 * 34)
        q4 = gen.quantize_q4_k(x)
        self.assertEqual(q4.nbytes, 4 * 512 // 256 * 144)
        # block 0: d and dmin are fp16 and positive, 6-bit scales decode
        d, dmin = np.frombuffer(q4[:4].tobytes(), "<f2")
        self.assertGreater(d, 0)
        self.assertGreater(dmin, 0)
        sc, m = gen._q4_k_scale_min(q4[4:16].reshape(1, 12))
        self.assertTrue((sc <= 63).all() and (m <= 63).all())
        self.assertEqual(sc.max(), 63)  # the largest scale uses the range

    def test_fp16_file_and_gguf_f16_hold_the_same_bytes(self):
        st = _version_tensors(self.root, "llm-fp16/1")
        gg = _version_tensors(self.root, "llm-gguf-f16/1")
        for s in self.specs:
            if not s.is_norm:
                self.assertEqual(st[s.name][2], gg[s.gguf_name][2], s.name)

    def test_bf16_weights_look_like_a_model(self):
        ts = _version_tensors(self.root, "llm-bf16/1")
        w = gen.from_bf16(np.frombuffer(
            ts["model.layers.0.mlp.up_proj.weight"][2], "<u2"))
        self.assertAlmostEqual(float(w.std()), 0.02, delta=0.001)
        self.assertAlmostEqual(float(w.mean()), 0.0, delta=0.001)
        n = gen.from_bf16(np.frombuffer(ts["model.norm.weight"][2], "<u2"))
        self.assertAlmostEqual(float(n.mean()), 1.0, delta=0.01)

    def _changed(self, vdir):
        base = _version_tensors(self.root, "llm-bf16/1")
        other = _version_tensors(self.root, vdir)
        self.assertEqual(set(base), set(other))
        return base, other, {n for n in base if base[n][2] != other[n][2]}

    def test_finetune_changes_only_its_layers(self):
        _, _, changed = self._changed("llm-bf16/2")
        layers = self.manifest["finetune"]["layers"]
        self.assertTrue(0 < len(layers) < self.cfg.layers)
        want = {s.name for s in self.specs if s.layer in layers}
        self.assertEqual(changed, want)
        self.assertEqual(sorted(os.listdir(os.path.join(
            self.root, "llm-bf16/2"))), sorted(os.listdir(os.path.join(
                self.root, "llm-bf16/1"))))
        v2 = [v for v in self.manifest["versions"] if v["kind"] ==
              "finetune"][0]
        self.assertEqual(v2["changed_tensors"], len(want))
        self.assertEqual(v2["parent"], "llm-bf16@1")

    def test_lora_changes_q_and_v_by_a_rank_16_update(self):
        base, lora, changed = self._changed("llm-bf16-lora/1")
        self.assertEqual(changed, {s.name for s in self.specs
                                   if s.module in ("q_proj", "v_proj")})
        name = "model.layers.1.self_attn.q_proj.weight"
        shape = base[name][1]
        diff = (gen.from_bf16(np.frombuffer(lora[name][2], "<u2"))
                - gen.from_bf16(np.frombuffer(base[name][2], "<u2"))
                ).reshape(shape)
        s = np.linalg.svd(diff.astype(np.float64), compute_uv=False)
        rank = self.manifest["lora"]["rank"]
        self.assertGreater(s[rank - 1] / s[rank], 5)  # bf16 rounding after

    def test_same_seed_same_bytes_other_seed_other_bytes(self):
        again = os.path.join(self.tmp, "b")
        other = os.path.join(self.tmp, "c")
        gen.generate(again, SCALE, gen.DEFAULT_SEED, quiet=True)
        gen.generate(other, SCALE, gen.DEFAULT_SEED + 1, quiet=True)
        for f in self.manifest["files"]:
            self.assertEqual(_sha(os.path.join(again, f["path"])),
                             f["sha256"], f["path"])
        first = self.manifest["files"][0]["path"]
        self.assertNotEqual(_sha(os.path.join(other, first)),
                            self.manifest["files"][0]["sha256"])

    def test_loader_order_ranges(self):
        for f in self.manifest["files"]:
            if not f["path"].endswith((".safetensors", ".gguf")):
                continue
            p = os.path.join(self.root, f["path"])
            ranges = gen.tensor_ranges(p)
            self.assertEqual(bench.mmap_read(p, ranges),
                             sum(b - a for _, a, b in ranges))
            self.assertTrue(all(b <= f["bytes"] for _, _, b in ranges))


class DefaultScaleTest(unittest.TestCase):
    """The default set's shape, from the plan alone (nothing written)."""

    def test_sizes(self):
        cfg = gen.config_for_scale(1.0)
        specs = gen.tensor_specs(cfg)
        bf16 = sum(s.elements * 2 for s in specs)
        self.assertTrue(1.0e9 <= bf16 <= 1.3e9, bf16)
        total = sum(gen.encode_size(s, v.encoding) for v in gen.VERSIONS
                    for s in specs)
        self.assertGreaterEqual(total, 4e9)
        mats = [s.elements * 2 for s in specs if not s.is_norm]
        self.assertTrue(all(2 * 2 ** 20 <= n <= 32 * 2 ** 20 for n in mats))
        self.assertGreater(len({n for n in mats if n % 2 ** 20}), 2)
        shards = [sum(s.elements * 2 for s in g)
                  for g in gen.shard_plan(specs)]
        self.assertEqual(len(shards), gen.SHARDS)
        self.assertTrue(all(300e6 <= n <= 500e6 for n in shards), shards)
        for s in specs:  # Q4_K and Q8_0 rows are whole blocks
            self.assertEqual(s.shape[-1] % 256, 0, s.name)


class BenchHelpersTest(unittest.TestCase):

    def test_parse_size_and_noise(self):
        self.assertEqual(bench.parse_size("256M"), 256 << 20)
        self.assertEqual(bench.parse_size("1GiB"), 1 << 30)
        self.assertEqual(bench.parse_size("4096"), 4096)
        self.assertEqual(bench.noise_lines(
            "ok\n[WARN] RocksDB: Stalling writes because\nfine",
            "Stopping writes"), ["[WARN] RocksDB: Stalling writes because",
                                 "Stopping writes"])

    def test_run_monitored_measures_a_child(self):
        r = bench.run_monitored(["/usr/bin/python3", "-c",
                                 "import sys, time; b = bytearray(64 << 20);"
                                 " time.sleep(0.3); print('x');"
                                 " print('rocksdb', file=sys.stderr)"])
        self.assertEqual(r["returncode"], 0)
        self.assertEqual(r["stdout"].strip(), "x")
        self.assertGreaterEqual(r["ru_maxrss"], 64 << 20)
        self.assertGreaterEqual(r["peak_rss_anon"], 60 << 20)
        self.assertGreater(r["wall_s"], 0.3)

    def test_targets_and_markdown_from_results(self):
        f = bench.LlmFile("m/1/a.safetensors", "safetensors-bf16", 4 << 20,
                          [("t", 8, 4 << 20)])
        runs = [{f.rel: {"native": {"seq_cold_s": 1.0, "seq_warm_s": 0.1,
                                    "mmap_cold_s": 1.0},
                         "re2po": {"seq_cold_s": 2.0, "seq_warm_s": 0.1,
                                   "mmap_cold_s": 1.0,
                                   "daemon": {"VmRSS": 400 << 20}}}}]
        res = {"started": "now", "command": "x", "options": {"runs": 1},
               "cache_size": "256M", "reads": bench.summarize_reads(runs, [f]),
               "daemon": bench.daemon_memory(runs), "noise": [],
               "import": {"versions": [{
                   "ref": "m@1", "kind": f.kind, "bytes": f.bytes,
                   "wall_s": 0.01, "mbps": 400.0, "cli": {},
                   "stored_growth": 1 << 20, "stored_over_raw": 0.25,
                   "peak_rss_anon": 100 << 20, "peak_vm_rss": 120 << 20,
                   "ru_maxrss": 130 << 20, "noise_lines": 0}],
                   "bytes": f.bytes, "seconds": 0.01, "mbps": 400.0,
                   "stored_before_gc": {"disk": 1 << 20}}}
        rows = {r["name"].split(" vs")[0]: r["verdict"]
                for r in report.evaluate_targets(res)}
        self.assertEqual(rows["cold sequential read"], "**MISS**")  # 0.5x
        self.assertEqual(rows["cold mmap, tensors in loader order"], "PASS")
        self.assertEqual(rows["warm sequential re-read"], "PASS")
        self.assertEqual(rows["import throughput (all versions, wall "
                              "time)"], "**MISS**")  # 400 < 600 MiB/s
        self.assertEqual(rows["import peak RssAnon (sampled every 50 ms)"],
                         "PASS")
        self.assertEqual(rows["mount daemon VmRSS after the largest file "
                              "(worst run)"], "**MISS**")  # 400 > 320 MiB
        self.assertIn("Targets", report.markdown(res))


if __name__ == "__main__":
    unittest.main()
