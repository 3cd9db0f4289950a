"""Tests for the model-zoo generator, tools/bench/gen-models
(re2po_bench.modelgen; stdlib unittest; needs /usr/bin/python3 with
python3-torch, python3-torchvision, python3-onnx, python3-h5py).

    export PYTHONPATH=tools/bench
    /usr/bin/python3 -m unittest discover -s tests/python
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from bench_package import GEN_MODELS

try:
    import torch
    import onnx
    import onnx.numpy_helper
    import h5py
    import numpy
    HAVE_STACK = True
except ImportError as e:  # pragma: no cover
    HAVE_STACK = False
    MISSING = str(e)

if HAVE_STACK:
    from re2po_bench.modelgen.presets import ALL_SCENARIO_KINDS
    from re2po_bench.modelgen.writers.safetensors import read_safetensors


def _sha_tree(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(
                    fh.read()).hexdigest()
    return out


def _run_gen(*args):
    cmd = [GEN_MODELS, "--quiet"] + list(args)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=300)
    if r.returncode != 0:
        raise AssertionError("gen-models failed: %s\n%s" % (cmd, r.stderr))
    return r.stdout


def _load_pt(path):
    return torch.load(path, map_location="cpu")


def _tbytes(t):
    return t.contiguous().numpy().tobytes()


@unittest.skipUnless(HAVE_STACK, "torch/onnx/h5py stack not importable")
class SmokeZooTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="gen_models_test_")
        cls.a = os.path.join(cls.tmp, "a")
        cls.b = os.path.join(cls.tmp, "b")
        _run_gen("--preset", "smoke", "--out", cls.a)
        _run_gen("--preset", "smoke", "--out", cls.b)
        with open(os.path.join(cls.a, "manifest.json")) as f:
            cls.manifest = json.load(f)
        cls.entries = {(e["model"], e["version"]): e
                       for e in cls.manifest["models"]}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, model, version="1"):
        e = self.entries[(model, str(version))]
        return os.path.join(self.a, e["files"][0]["path"])

    def sd(self, model, version="1"):
        return _load_pt(self.path(model, version))

    # -- reproducibility and manifest

    def test_reproducible_bytes(self):
        ha, hb = _sha_tree(self.a), _sha_tree(self.b)
        self.assertEqual(sorted(ha), sorted(hb))
        for k in ha:
            self.assertEqual(ha[k], hb[k], k)

    def test_smoke_is_small(self):
        self.assertLess(self.manifest["total_bytes"], 32 * 1024 * 1024)

    def test_every_scenario_and_format_in_manifest(self):
        scen = {e["scenario"] for e in self.manifest["models"]}
        for s in ALL_SCENARIO_KINDS:
            self.assertIn(s, scen)
        fmts = {e["format"] for e in self.manifest["models"]}
        self.assertEqual(fmts, {"pt", "onnx", "safetensors", "h5", "keras"})
        archs = {e["model"] for e in self.manifest["models"]
                 if e["scenario"] == "base"}
        self.assertEqual(archs, {"resnet18", "mobilenet_v2",
                                 "efficientnet_b0"})

    def test_manifest_files_match_disk(self):
        total = 0
        for e in self.manifest["models"]:
            self.assertTrue(e["files"])
            for f in e["files"]:
                p = os.path.join(self.a, f["path"])
                self.assertEqual(os.path.getsize(p), f["bytes"])
                parts = f["path"].split(os.sep)
                self.assertEqual(parts[:2], [e["model"], e["version"]])
                total += f["bytes"]
            self.assertEqual(e["bytes"], sum(f["bytes"] for f in e["files"]))
            if e["scenario"] in ("transfer", "series", "partial"):
                self.assertGreater(e["head_bytes"], 0)
        self.assertEqual(total, self.manifest["total_bytes"])

    # -- every file loads back

    def test_files_load(self):
        for e in self.manifest["models"]:
            p = os.path.join(self.a, e["files"][0]["path"])
            if e["format"] == "pt":
                sd = _load_pt(p)
                self.assertGreater(len(sd), 10)
            elif e["format"] == "onnx":
                m = onnx.load(p)  # loads external data next to it too
                onnx.checker.check_model(m)
                self.assertGreater(len(m.graph.initializer), 10)
            elif e["format"] in ("h5", "keras"):
                with h5py.File(p, "r") as f:
                    self.assertEqual(len(f.keys()), e["tensor_count"])
                    for name in f:
                        self.assertTrue(f[name].id.get_create_plist()
                                        .get_layout() in (h5py.h5d.CONTIGUOUS,
                                                          h5py.h5d.COMPACT))
                        self.assertIsNone(f[name].compression)
            elif e["format"] == "safetensors":
                t = read_safetensors(p)
                self.assertEqual(len(t), e["tensor_count"])
                with open(p, "rb") as fh:
                    n = int.from_bytes(fh.read(8), "little")
                self.assertEqual(n % 8, 0)

    def test_keras_layout_is_the_base_transposed(self):
        sd = self.sd("resnet18")
        with h5py.File(self.path("resnet18-keras"), "r") as f:
            conv = f["conv1.weight"][()]
            fc = f["fc.weight"][()]
            bias = f["fc.bias"][()]
        self.assertTrue(numpy.array_equal(
            conv, sd["conv1.weight"].permute(2, 3, 1, 0).numpy()))
        self.assertTrue(numpy.array_equal(fc, sd["fc.weight"].t().numpy()))
        self.assertTrue(numpy.array_equal(bias, sd["fc.bias"].numpy()))

    def test_external_data_onnx(self):
        e = self.entries[("resnet18-onnx-ext", "1")]
        names = sorted(os.path.basename(f["path"]) for f in e["files"])
        self.assertEqual(names, ["model.onnx", "model.onnx.data"])
        m = onnx.load(self.path("resnet18-onnx-ext"),
                      load_external_data=False)
        ext = [i for i in m.graph.initializer
               if i.data_location == onnx.TensorProto.EXTERNAL]
        self.assertGreater(len(ext), 10)

    # -- no trivial tensors

    def test_base_tensors_not_trivial(self):
        sd = self.sd("resnet18")
        for name, t in sd.items():
            if t.is_floating_point() and t.numel() > 1:
                self.assertGreater(float(t.std()), 0.0, name)
            if name.endswith("running_var"):
                self.assertFalse(torch.allclose(t, torch.ones_like(t)), name)
            if name.endswith("running_mean") or name.endswith(".bias"):
                self.assertFalse(torch.all(t == 0), name)

    # -- scenario semantics

    def test_renamed_same_bytes_other_names(self):
        base = self.sd("resnet18")
        ren = self.sd("resnet18-ddp")
        self.assertEqual(list(ren.keys()),
                         ["module." + k for k in reversed(list(base.keys()))])
        for k, t in base.items():
            self.assertEqual(_tbytes(ren["module." + k]), _tbytes(t), k)

    def test_full_finetune_changes_every_tensor(self):
        for arch in ("resnet18", "efficientnet_b0"):
            base = self.sd(arch)
            ft = self.sd(arch + "-finetuned")
            self.assertEqual(list(ft.keys()), list(base.keys()))
            for k in base:
                self.assertEqual(ft[k].shape, base[k].shape)
                self.assertFalse(torch.equal(ft[k], base[k]),
                                 "%s %s unchanged" % (arch, k))
                if base[k].is_floating_point() and "running_" not in k:
                    # slightly: a small learning rate (BN running
                    # statistics move with their momentum instead)
                    d = float((ft[k] - base[k]).abs().max())
                    self.assertLess(d, 0.5, k)

    def _check_shares_backbone(self, derived, base, head):
        for k, t in base.items():
            if k.startswith(head + "."):
                continue
            self.assertIn(k, derived)
            self.assertEqual(_tbytes(derived[k]), _tbytes(t), k)
        heads = [k for k in derived if k.startswith(head + ".")]
        self.assertTrue(heads)

    def test_transfer_shares_every_backbone_tensor(self):
        heads = {"resnet18": "fc", "mobilenet_v2": "classifier.1",
                 "efficientnet_b0": "classifier.1"}
        n = 0
        for e in self.manifest["models"]:
            if e["scenario"] != "transfer":
                continue
            arch = e["parent"].split("@")[0]
            base = self.sd(arch)
            derived = self.sd(e["model"], e["version"])
            self._check_shares_backbone(derived, base, heads[arch])
            head_keys = [k for k in derived
                         if k.startswith(heads[arch] + ".")]
            self.assertEqual(sorted(head_keys), sorted(e["head_tensors"]))
            hb = sum(derived[k].numel() * derived[k].element_size()
                     for k in head_keys)
            self.assertEqual(hb, e["head_bytes"])
            self.assertEqual(e["new_tensor_bytes"], e["head_bytes"])
            n += 1
        self.assertGreaterEqual(n, 3)

    def test_series_only_head_changes(self):
        series = sorted((int(e["version"]), e) for e in self.manifest["models"]
                        if e["model"] == "resnet18-pets")
        self.assertGreaterEqual(len(series), 3)
        self.assertEqual([v for v, _ in series],
                         list(range(1, len(series) + 1)))
        prev = None
        for v, e in series:
            sd = self.sd("resnet18-pets", v)
            if prev is not None:
                self._check_shares_backbone(sd, prev, "fc")
                self.assertFalse(torch.equal(sd["fc.weight"],
                                             prev["fc.weight"]))
                self.assertEqual(e["scenario"], "series")
            prev = sd

    def test_partial_only_last_block_and_head_change(self):
        base = self.sd("resnet18")
        part = self.sd("resnet18-flowers-partial")
        changed = [k for k in base if not k.startswith("fc.")
                   and not torch.equal(base[k], part[k])]
        self.assertTrue(changed)
        for k in changed:
            self.assertTrue(k.startswith("layer4."), k)
        self.assertEqual(part["fc.weight"].shape[0], 102)

    def test_int8_and_fp16(self):
        base = self.sd("resnet18")
        q = self.sd("resnet18-int8")
        for k, t in base.items():
            if t.is_floating_point() and t.dim() >= 2:
                self.assertEqual(q[k].dtype, torch.int8, k)
                deq = q[k].float() * q[k + ".scale"]
                self.assertLessEqual(float((deq - t).abs().max()),
                                     float(q[k + ".scale"]) * 0.5 + 1e-6)
        h = self.sd("resnet18-fp16")
        for k, t in base.items():
            if t.is_floating_point():
                self.assertEqual(h[k].dtype, torch.float16)
                self.assertTrue(torch.equal(h[k], t.half()))
        st = read_safetensors(
            self.path("mobilenet_v2-fp16"))
        self.assertTrue(any(v[0] == "F16" for v in st.values()))

    def test_formats_carry_the_same_bytes(self):
        base = self.sd("resnet18")
        st = read_safetensors(self.path("resnet18-safetensors"))
        self.assertEqual(list(st.keys()), list(base.keys()))
        for k, t in base.items():
            dtype, shape, data = st[k]
            self.assertEqual(shape, tuple(t.shape))
            self.assertEqual(data, _tbytes(t), k)
        with h5py.File(self.path("resnet18-h5"), "r") as f:
            for k, t in base.items():
                self.assertEqual(f[k][()].tobytes(), _tbytes(t), k)
        m = onnx.load(self.path("resnet18-onnx"))
        inits = {i.name: onnx.numpy_helper.to_array(i)
                 for i in m.graph.initializer}
        contents = {a.tobytes() for a in inits.values()}
        by_name = 0
        for k, t in base.items():
            if "num_batches_tracked" in k:
                continue  # not part of the inference graph
            if k in inits:
                self.assertEqual(inits[k].tobytes(), _tbytes(t), k)
                by_name += 1
            else:
                # the exporter stores identical initializers once (a block's
                # bn2.bias and its downsample BN bias get identical updates)
                self.assertIn(_tbytes(t), contents, k)
        self.assertGreater(by_name, 50)


@unittest.skipUnless(HAVE_STACK, "torch/onnx/h5py stack not importable")
class ScenarioTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gen_models_scn_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scenario(self, name):
        out = _run_gen("--scenario", name, "--preset", "smoke", "--out",
                       self.tmp)
        return json.loads(out)

    def test_transfer(self):
        r = self.scenario("resnet18-transfer")
        base = _load_pt(os.path.join(self.tmp, "base", "1", "model.pt"))
        pets = _load_pt(os.path.join(self.tmp, "pets", "1", "model.pt"))
        self.assertEqual(r["derived"]["path"],
                         os.path.join(r["out"], "pets", "1", "model.pt"))
        self.assertEqual(sorted(r["head_tensors"]), ["fc.bias", "fc.weight"])
        self.assertEqual(r["head_bytes"],
                         (pets["fc.weight"].numel() + pets["fc.bias"].numel())
                         * 4)
        self.assertEqual(r["new_tensor_bytes"], r["head_bytes"])
        for k in base:
            if not k.startswith("fc."):
                self.assertTrue(torch.equal(base[k], pets[k]), k)

    def test_renamed(self):
        r = self.scenario("resnet18-renamed")
        self.assertEqual(r["new_tensor_bytes"], 0)
        ren = _load_pt(r["derived"]["path"])
        self.assertTrue(all(k.startswith("module.") for k in ren))

    def test_formats(self):
        r = self.scenario("resnet18-formats")
        self.assertEqual(sorted(r["formats"]),
                         ["h5", "onnx", "pt", "safetensors"])
        for fmt, info in r["formats"].items():
            self.assertTrue(os.path.exists(info["path"]), fmt)
        for e in r["entries"][1:]:
            self.assertEqual(e["new_tensor_bytes"], 0, e["model"])

    def test_finetuned(self):
        r = self.scenario("resnet18-finetuned")
        base = _load_pt(os.path.join(self.tmp, "base", "1", "model.pt"))
        tuned = _load_pt(r["derived"]["path"])
        self.assertEqual(list(base), list(tuned))
        moved = [k for k in base if base[k].is_floating_point()
                 and base[k].numel() > 1 and not torch.equal(base[k], tuned[k])]
        weights = [k for k in base if k.endswith(".weight")]
        self.assertTrue(set(weights) <= set(moved), set(weights) - set(moved))
        for k in weights:
            rel = ((tuned[k] - base[k]).abs().max() /
                   base[k].abs().max().clamp(min=1e-12)).item()
            self.assertLess(rel, 0.05, k)


if __name__ == "__main__":
    unittest.main()
