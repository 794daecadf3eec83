#!/usr/bin/env bash
# Regenerates hot-functions.txt: the functions a `berth-runtime run` of the
# busybox bundle executes, which the link places side by side
# (--section-ordering-file). The kernel maps a binary's pages in 64 KiB
# windows around each page used, so code used by every run but spread over
# the whole text made nearly all of it resident (3 MB); grouped, it is
# resident once, and each window left out costs a page fault in the runtime
# and again in the container's init (fork does not copy a file mapping's
# page tables). A stale list only costs memory and time, never correctness.
#
#   tools/berth-runtime/hot-functions.sh [BUILD_DIR]     (default build/release; root)
#
# First perf samples user time every 5 us over 150 runs; then, as sampling
# misses short functions, the functions whose code page faults in (perf's
# page-fault event) are added and the binary relinked, until no new one
# turns up (a few rounds). What stays out is glibc's (no per-function
# sections) and read-only data.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$TOP/build/release}
BIN=$BUILD/berth-runtime
LIST=$HERE/hot-functions.txt
BUNDLE=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}/bundle-busybox
ST=$(mktemp -d /run/berth-hot.XXXXXX)
DATA=$(mktemp /tmp/berth-hot.XXXXXX)
trap 'rm -rf "$ST" "$DATA"' EXIT
in_bench_ns() { unshare -m --propagation private python3 "$TOP/scripts/reap.py" "$@"; }
sections() { awk '{print ".text." $1; print ".text.startup." $1; print ".text.hot." $1}'; }

in_bench_ns perf record -q -e cpu-clock:u -c 5000 -o "$DATA" -- \
  bash -c "for i in \$(seq 150); do '$BIN' --root '$ST' run --bundle '$BUNDLE' berth-hot || exit 1; done"
# The ELF entry (entry.cc) runs in every run's two images, too briefly to be sampled.
{
  printf '%s\n' .text.berth_runtime_entry .text.berth_runtime_entry_check
  perf report -i "$DATA" --no-demangle --dso "$(basename "$BIN")" --sort sym -g none 2>/dev/null |
    awk '$2 == "[.]" {print $3}' | sort -u | sections
} > "$LIST"

for round in 1 2 3 4 5 6; do
  cmake --build "$BUILD" --target berth-runtime >/dev/null
  in_bench_ns perf record -q -e page-faults -c 1 -d -o "$DATA" -- \
    bash -c "for i in \$(seq 5); do '$BIN' --root '$ST' run --bundle '$BUNDLE' berth-hot || exit 1; done"
  # Each text address that faulted, named by the function around it (both
  # constructor and destructor variants: aliases share an address).
  new=$(perf script -i "$DATA" -F comm,addr 2>/dev/null | awk '$1 == "berth-runtime" {print $2}' |
    python3 -c '
import bisect, subprocess, sys
syms = []
for line in subprocess.run(["nm", "-n", sys.argv[1]], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if len(f) == 3 and f[1] in "tTwW": syms.append((int(f[0], 16), f[2]))
addrs = [a for a, _ in syms]
have = set(l.strip() for l in open(sys.argv[2]))
out = set()
for line in sys.stdin:
    a = int(line, 16)
    i = bisect.bisect_right(addrs, a) - 1
    if i < 0 or a >= syms[-1][0]: continue
    name = syms[i][1]
    for x, y in (("", ""), ("C2E", "C1E"), ("C1E", "C2E"), ("D2E", "D1E"), ("D1E", "D2E"), ("D0E", "D1E")):
        n = name.replace(x, y, 1) if x else name
        if ".text." + n not in have: out.add(n)
print("\n".join(sorted(out)))
' "$BIN" "$LIST")
  [[ -n $new ]] || break
  echo "$new" | sections >> "$LIST"
done
cmake --build "$BUILD" --target berth-runtime >/dev/null
echo "$(wc -l < "$LIST") sections in $LIST"
