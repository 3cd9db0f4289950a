#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, seeded from the
# fixtures when ../shared/fixtures is present. Corpora live in a temporary
# directory: fixtures are never copied into the repository.
#
# The long run of docs/reliability.md: RE2PO_FUZZ_RUNS=10000000 runs each
# target for that many executions instead (SECONDS then caps each target),
# RE2PO_FUZZ_ONLY="gguf onnx" picks targets, RE2PO_FUZZ_MAX_LEN caps inputs.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-fuzz}
SECONDS_EACH=${2:-20}
RUNS=${RE2PO_FUZZ_RUNS:-}
ONLY=${RE2PO_FUZZ_ONLY:-}
MAX_LEN=${RE2PO_FUZZ_MAX_LEN:-1048576}
FIXTURES=../shared/fixtures
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

seed_pattern() {
  case "$1" in
    safetensors) echo "*.safetensors" ;;
    gguf) echo "*.gguf" ;;
    onnx) echo "*.onnx" ;;
    tflite) echo "*.tflite" ;;
    pytorch) echo "*.pt *.pth *.bin" ;;
    tf_bundle) echo "*.index" ;;
    hdf5) echo "*.h5" ;;
    keras) echo "*.keras" ;;
    zip) echo "*.pt *.pth" ;;
    *) echo "" ;;
  esac
}

status=0
for fuzzer in "$BUILD_DIR"/tests/fuzz/*_fuzz; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer" _fuzz)
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  corpus="$WORK/$name"
  mkdir -p "$corpus"
  if [ -d "$FIXTURES" ]; then
    for pattern in $(seed_pattern "$name"); do
      find "$FIXTURES" -name "$pattern" -size -2M -exec cp {} "$corpus"/ \; 2>/dev/null
    done
  else
    echo "fuzz: $FIXTURES absent, $name starts from an empty corpus"
  fi
  log="$WORK/$name.log"
  options=""
  extra=""
  case "$name" in
    # libhdf5 leaks small blocks on its own error paths and asks malloc for
    # sizes read from the file (in production it runs in a limited child,
    # store/formats/isolated_parse.cc); its leaks are not ours to fix.
    hdf5|keras) options="detect_leaks=0:allocator_may_return_null=1"
      extra="-malloc_limit_mb=1000000" ;;
  esac
  [ -n "$RUNS" ] && extra="$extra -runs=$RUNS"
  start=$SECONDS
  if ASAN_OPTIONS="$options" "$fuzzer" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
      -max_len="$MAX_LEN" -print_final_stats=1 -artifact_prefix="$WORK/" $extra "$corpus" >"$log" 2>&1; then
    runs=$(grep -m1 "stat::number_of_executed_units" "$log" | awk '{print $2}')
    echo "fuzz: $name: ${runs:-?} executions in $((SECONDS - start)) s, no crash"
  else
    echo "fuzz: $name: FAILED"
    tail -n 40 "$log"
    # Keep the input that failed: the temporary directory goes at exit.
    mkdir -p "$BUILD_DIR/fuzz-artifacts"
    cp "$WORK"/crash-* "$WORK"/leak-* "$WORK"/oom-* "$WORK"/timeout-* "$BUILD_DIR/fuzz-artifacts/" 2>/dev/null
    echo "fuzz: $name: failing inputs kept in $BUILD_DIR/fuzz-artifacts/"
    status=1
  fi
done
exit $status
