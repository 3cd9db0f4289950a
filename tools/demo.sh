#!/usr/bin/env bash
# The main job on an embedded default: installs what is missing, builds,
# generates a small seeded model zoo (tools/bench/gen-models --preset
# smoke), imports every <model>/<version> into a fresh store, mounts it,
# lists it, loads a model back through the mount and unmounts.
#
# RE2PO_DEMO_DIR (default /tmp/re2po-demo) holds the store, samples and mount.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
bash tools/setup-deps.sh
bash tools/build.sh >/dev/null
RE2PO="$ROOT/build/tools/re2po"

DEMO=${RE2PO_DEMO_DIR:-/tmp/re2po-demo}
STORE=$DEMO/store
SAMPLES=$DEMO/samples
MNT=$DEMO/models
if mountpoint -q "$MNT" 2>/dev/null; then fusermount3 -u "$MNT" || umount -l "$MNT"; fi
rm -rf "$STORE" "$SAMPLES"
mkdir -p "$MNT"

echo "== generating sample models into $SAMPLES"
tools/bench/gen-models --preset smoke --out "$SAMPLES" --quiet >/dev/null

echo "== importing them into $STORE"
"$RE2PO" --store "$STORE" init
for version_dir in $(find "$SAMPLES" -mindepth 2 -maxdepth 2 -type d | sort); do
  model=$(basename "$(dirname "$version_dir")")
  version=$(basename "$version_dir")
  "$RE2PO" --store "$STORE" import "$model@$version" "$version_dir" --label source=demo |
    sed -n '1p;/newly stored/p'
done

echo "== re2po ls"
"$RE2PO" --store "$STORE" ls
echo "== re2po stats"
"$RE2PO" --store "$STORE" stats

echo "== mounting on $MNT"
"$RE2PO" --store "$STORE" mount "$MNT"
trap 'fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"' EXIT
ls "$MNT"
echo "-- $MNT/resnet18-pets:"
ls -l "$MNT/resnet18-pets"
echo "-- $MNT/resnet18-pets/3:"
ls -l "$MNT/resnet18-pets/3"

echo "== loading a model through the mount"
/usr/bin/python3 - "$MNT/resnet18-pets/3" "$SAMPLES/resnet18-pets/3" <<'PY'
import hashlib, pathlib, sys, torch
mounted, original = map(pathlib.Path, sys.argv[1:])
for path in sorted(mounted.iterdir()):
    same = hashlib.sha256(path.read_bytes()).digest() == \
        hashlib.sha256((original / path.name).read_bytes()).digest()
    print(f"{path}: {path.stat().st_size} bytes, identical to the original: {same}")
    if path.suffix == ".pt":
        state = torch.load(path, map_location="cpu")
        print(f"torch.load: {len(state)} tensors, fc.weight {tuple(state['fc.weight'].shape)}")
PY
echo "== unmounting"
fusermount3 -u "$MNT"
trap - EXIT
echo "demo done: store $STORE, samples $SAMPLES"
