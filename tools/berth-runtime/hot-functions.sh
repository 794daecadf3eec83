#!/usr/bin/env bash
# Regenerates hot-functions.txt: the functions a `berth-runtime run` of the
# busybox bundle executes, which the link places side by side
# (--section-ordering-file). The kernel maps a binary's pages in 64 KiB
# windows around each page used, so code used by every run but spread over
# the whole text made nearly all of it resident (3 MB); grouped, it is
# resident once. A stale list only costs memory, never correctness.
#
#   tools/berth-runtime/hot-functions.sh [BUILD_DIR]     (default build/release; root)
#
# perf samples user time every 5 us over 150 runs, enough to catch functions
# that run once per container.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BIN=${1:-$TOP/build/release}/berth-runtime
BUNDLE=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}/bundle-busybox
ST=$(mktemp -d /run/berth-hot.XXXXXX)
DATA=$(mktemp /tmp/berth-hot.XXXXXX)
trap 'rm -rf "$ST" "$DATA"' EXIT
unshare -m --propagation private python3 "$TOP/scripts/reap.py" perf record -q -e cpu-clock:u -c 5000 -o "$DATA" -- \
  bash -c "for i in \$(seq 150); do '$BIN' --root '$ST' run --bundle '$BUNDLE' berth-hot || exit 1; done"
# The ELF entry (entry.cc) runs in every run's two images, too briefly to be sampled.
{
  printf '%s\n' .text.berth_runtime_entry .text.berth_runtime_entry_check
  perf report -i "$DATA" --no-demangle --dso "$(basename "$BIN")" --sort sym -g none 2>/dev/null |
    awk '$2 == "[.]" {print $3}' | sort -u |
    awk '{print ".text." $1; print ".text.startup." $1; print ".text.hot." $1}'
} > "$HERE/hot-functions.txt"
echo "$(wc -l < "$HERE/hot-functions.txt") sections in $HERE/hot-functions.txt"
