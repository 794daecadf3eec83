#!/usr/bin/env bash
# Side-by-side lifecycle benchmark of runc-compatible OCI runtimes, plus the floor.
#
#   bench/runtime-lifecycle.sh [RUNTIME...]     default: <build>/berth-runtime crun runc
#
# For each runtime, in one hyperfine run: `RT run` of the busybox bundle running
# /bin/true (create + start + wait + delete in one call), one at a time; then N
# runs in sequence inside one shell loop. "floor" is floor.c: the kernel work any
# runtime must do for that config (namespaces, pivot_root, /proc, exec, wait) and
# nothing else, a lower bound. Then peak RSS of one `run` per runtime, and the
# ratios of the first runtime (berth) to the others and to the floor.
#
# crun 1.8 refuses this machine's hybrid cgroup layout, so everything runs in a
# private mount namespace with /sys/fs/cgroup/unified unmounted and a tmpfs of
# its own there (crun makes its directories in that plain directory: they must
# not land in the host's /sys/fs/cgroup); the host is untouched. AS_IS=1 runs
# in the real layout instead. Everything runs under a child subreaper
# (scripts/reap.py): PID 1 here does not reap orphans.
# CONFIG=realistic runs a config closer to what engines generate: memory and pids
# limits plus the default-sized seccomp profile of containers-common (converted
# by scripts/default-seccomp.py); the floor stays the same.
# Env: RUNS (30) N (100) BUILD (build/release) BERTH_FIXTURES (/var/tmp/berth-fixtures)
#      CONFIG (plain | realistic).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DATA=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
RUNS=${RUNS:-30}; N=${N:-100}
BUILD=${BUILD:-$TOP/build/release}
BUNDLE=$DATA/bundle-busybox
[[ -f $BUNDLE/config.json ]] || BERTH_FIXTURES=$DATA "$TOP/scripts/make-fixtures.sh"
command -v hyperfine >/dev/null || "$TOP/scripts/install-deps.sh"
[[ $# -gt 0 ]] || set -- "$BUILD/berth-runtime" crun runc

if [[ ${CONFIG:-plain} == realistic ]]; then
  # A bundle beside the fixture's, sharing its rootfs by absolute path.
  RBUNDLE=$(mktemp -d /tmp/berth-bench-bundle.XXXXXX)
  trap 'rm -rf "$RBUNDLE"' EXIT
  python3 "$TOP/scripts/default-seccomp.py" > "$RBUNDLE/seccomp.json"
  python3 - "$BUNDLE" "$RBUNDLE" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
c = json.load(open(f"{src}/config.json"))
c["root"]["path"] = f"{src}/rootfs"
res = c["linux"].setdefault("resources", {})
res["memory"] = {"limit": 256 * 1024 * 1024}
res["pids"] = {"limit": 1024}
c["linux"]["seccomp"] = json.load(open(f"{dst}/seccomp.json"))
json.dump(c, open(f"{dst}/config.json", "w"))
PY
  echo "== realistic config: memory 256M, pids 1024, seccomp with $(python3 -c 'import json,sys; print(sum(len(s["names"]) for s in json.load(open(sys.argv[1]))["syscalls"]))' "$RBUNDLE/seccomp.json") syscall rules"
  BUNDLE=$RBUNDLE
fi

FLOOR=$DATA/floor
[[ -x $FLOOR && $FLOOR -nt $HERE/floor.c ]] || gcc -O2 -o "$FLOOR" "$HERE/floor.c"
ST=$(mktemp -d /run/berth-bench.XXXXXX)
OUT=$(mktemp -d /tmp/berth-bench-out.XXXXXX)
trap 'rm -rf "$ST" "$OUT" ${RBUNDLE:-}' EXIT

bins=() names=() one=() loop=()
for rt in "$@"; do
  bin=$(command -v "$rt" || true); [[ -n $bin && -x $bin ]] || { echo "no runtime $rt" >&2; exit 2; }
  bin=$(realpath "$bin"); name=$(basename "$bin")
  bins+=("$bin"); names+=("$name"); mkdir -p "$ST/$name"
  one+=(-n "$name run" "$bin --root $ST/$name run --bundle $BUNDLE b-$name")
  loop+=(-n "$name x$N" "for i in \$(seq $N); do $bin --root $ST/$name run --bundle $BUNDLE b-$name || exit 1; done")
done
one+=(-n "floor" "$FLOOR $DATA/bundle-busybox/rootfs 1")
loop+=(-n "floor x$N" "$FLOOR $DATA/bundle-busybox/rootfs $N")

wrap=(python3 "$TOP/scripts/reap.py")
[[ ${AS_IS:-0} == 1 ]] || wrap=(unshare -m --propagation private bash -c \
  'umount /sys/fs/cgroup/unified 2>/dev/null && mount -t tmpfs -o size=1m berth-bench /sys/fs/cgroup/unified; exec "$@"' _ "${wrap[@]}")

echo "== one at a time ($RUNS runs each)"
"${wrap[@]}" hyperfine --style basic -N --warmup 3 --runs "$RUNS" --export-json "$OUT/one.json" "${one[@]}"
echo "== $N in sequence (3 runs each)"
"${wrap[@]}" hyperfine --style basic --warmup 1 --runs 3 --export-json "$OUT/loop.json" "${loop[@]}"

: > "$OUT/rss.txt"
for i in "${!bins[@]}"; do
  rss=$("${wrap[@]}" /usr/bin/time -f %M "${bins[$i]}" --root "$ST/${names[$i]}" run --bundle "$BUNDLE" "r-${names[$i]}" 2>&1 >/dev/null | tail -1)
  echo "${names[$i]} $rss" >> "$OUT/rss.txt"
done

python3 - "$OUT" "$N" <<'PY'
import json, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
def medians(f, per):
    return {r["command"].split()[0]: statistics.median(r["times"]) * 1000 / per
            for r in json.load(open(f"{out}/{f}"))["results"]}
one, loop = medians("one.json", 1), medians("loop.json", n)
rss = dict(l.split() for l in open(f"{out}/rss.txt"))
names = [k for k in one if k != "floor"]
print(f"\n{'runtime':16s} {'median/run (ms)':>16s} {'in a loop (ms)':>15s} {'peak RSS (KiB)':>15s}")
for k in names + ["floor"]:
    print(f"{k:16s} {one[k]:16.2f} {loop[k]:15.2f} {rss.get(k, '-'):>15s}")
first = names[0]
print()
for k in names[1:] + ["floor"]:
    r = f"  peak RSS {int(rss[first]) / int(rss[k]):.2f}x" if k in rss else ""
    print(f"{first}/{k}: {one[first] / one[k]:.2f}x per run, {loop[first] / loop[k]:.2f}x in a loop{r}")
PY
