#!/bin/sh
# run-fuzzer.sh BUILD_DIR TARGET TARGET_FILE SEED_CORPUS_DIR [DICTIONARY]
#
# Builds a libFuzzer target (if out of date) and fuzzes it for
# $BERTH_FUZZ_SECONDS seconds (default 20) from a copy of the seed corpus, in
# a temporary directory removed afterwards. A crashing input is kept in
# BUILD_DIR/fuzz-artifacts/ and the run fails.
set -eu
build_dir=$1 target=$2 binary=$3 seeds=$4 dict=${5:-}
seconds=${BERTH_FUZZ_SECONDS:-20}

cmake --build "$build_dir" --target "$target"

work=$(mktemp -d /tmp/berth-test-fuzz-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"

status=0
# -rss_limit_mb and -timeout catch blow-ups on hostile input; leaks fail too.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$binary" ${dict:+-dict="$dict"} -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
  >"$work/log" 2>&1 || status=$?
tail -n 25 "$work/log"

if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  mkdir -p "$build_dir/fuzz-artifacts"
  cp "$work/artifacts/"* "$build_dir/fuzz-artifacts/" 2>/dev/null || true
  echo "run-fuzzer: $target failed (status $status); inputs in $build_dir/fuzz-artifacts/" >&2
  exit 1
fi
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)
echo "run-fuzzer: $target ran $runs inputs in ${seconds}s without a failure"
