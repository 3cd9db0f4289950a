#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, seeded from the
# fixtures when ../shared/fixtures is present. Corpora live in a temporary
# directory: fixtures are never copied into the repository.
#
# The long run of docs/reliability.md: RE2PO_FUZZ_RUNS=10000000 runs each
# target for that many executions instead (SECONDS then caps each target),
# RE2PO_FUZZ_ONLY="gguf onnx" picks targets, RE2PO_FUZZ_MAX_LEN caps inputs,
# RE2PO_FUZZ_FORKS=N runs N fuzzing processes per target (libFuzzer's fork
# mode; the executions reported are their sum).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build-fuzz}
SECONDS_EACH=${2:-20}
RUNS=${RE2PO_FUZZ_RUNS:-}
ONLY=${RE2PO_FUZZ_ONLY:-}
MAX_LEN=${RE2PO_FUZZ_MAX_LEN:-1048576}
FORKS=${RE2PO_FUZZ_FORKS:-}
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
    # libhdf5 leaks small blocks on its own error paths, asks malloc for
    # sizes read from the file, and some 40 KB files make it allocate small
    # blocks without end (finding 12 in docs/reliability.md). In production
    # it runs in a child capped at 1 GiB more address space
    # (store/formats/isolated_parse.cc), which fails those mallocs; here the
    # fuzzer runs in fork mode, counts such inputs as OOMs and goes on.
    # Crashes and sanitizer reports still fail the run.
    hdf5|keras) options="detect_leaks=0:allocator_may_return_null=1"
      extra="-malloc_limit_mb=1000000 -fork=${FORKS:-1} -ignore_ooms=1 -ignore_timeouts=0" ;;
    *) [ -n "$FORKS" ] && extra="-fork=$FORKS -ignore_ooms=0 -ignore_timeouts=0" ;;
  esac
  [ -n "$RUNS" ] && extra="$extra -runs=$RUNS"
  start=$SECONDS
  if ASAN_OPTIONS="$options" "$fuzzer" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
      -max_len="$MAX_LEN" -print_final_stats=1 -artifact_prefix="$WORK/" $extra "$corpus" >"$log" 2>&1; then
    runs=$(grep -m1 "stat::number_of_executed_units" "$log" | awk '{print $2}')
    ooms=""
    if [ -z "$runs" ]; then  # fork mode: "#RUNS: cov: ... oom/timeout/crash: O/T/C ..."
      last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1)
      runs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
      ooms=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9]+)\/([0-9]+)\/.*/, \1 inputs over the memory limit, \2 over the time limit/p' <<<"$last")
    fi
    echo "fuzz: $name: ${runs:-?} executions in $((SECONDS - start)) s, no crash$ooms"
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
