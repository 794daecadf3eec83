#!/bin/bash
# Layer unpack: Berth vs the floors `gzip -dc | tar -x` and `igzip -dc | tar -x`,
# plus decompression alone (zlib, ISA-L, libdeflate in process).
#
#   bench/unpack.sh [LAYER.tar.gz...]
#
# Without arguments it uses (and first makes) four layers of this machine's
# /usr in /var/tmp/berth-bench-layers: ~76 MB gzip, ~255 MB and ~10.5k
# entries of tar, comparable to the issue's 4-layer Debian fixture. Each
# variant runs RUNS times (default 3), interleaved, into a fresh directory
# after a sync; the table has the median wall time and CPU (user+sys).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BIN=${BIN:-build/release/unpack_bench}
[[ -x $BIN ]] || cmake --build build/release --target unpack_bench >/dev/null

layers=("$@")
if [[ ${#layers[@]} -eq 0 ]]; then
  dir=/var/tmp/berth-bench-layers
  mkdir -p "$dir"
  mk() {
    local out=$dir/$1.tar.gz
    shift
    [[ -s $out ]] || (cd / && tar --format=pax --numeric-owner -cf - "$@" | gzip -6 >"$out")
  }
  mk l1 usr/lib/python3.11 usr/share/zoneinfo usr/sbin
  mk l2 usr/share/perl usr/lib/x86_64-linux-gnu/perl usr/share/i18n
  mk l3 usr/lib/python3
  mk l4 usr/lib/git-core usr/share/vim
  layers=("$dir"/l{1,2,3,4}.tar.gz)
fi

echo "== decompression alone (in process, inputs in memory)"
"$BIN" decompress "${layers[@]}"

out=$(mktemp -d /var/tmp/berth-bench-unpack-XXXXXX)
trap 'rm -rf "$out"' EXIT

pipeline() {  # $1: decompressor command
  local i=0
  for f in "${layers[@]}"; do
    i=$((i + 1))
    mkdir -p "$out/t/$i"
    $1 "$f" | tar --numeric-owner -xf - -C "$out/t/$i"
  done
}
run() {  # name command...: appends "wall cpu" to $out/<name>
  local name=$1
  shift
  rm -rf "$out/t" && mkdir -p "$out/t" && sync
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%U %S" -o "$out/cpu" "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(awk '{print $1 + $2}' "$out/cpu")" >>"$out/$name"
}
export -f pipeline
export out
layer_list="${layers[*]}"

variants=(gzip-tar igzip-tar berth berth-1)
for ((r = 0; r < RUNS; r++)); do
  run gzip-tar bash -c "layers=($layer_list); $(declare -f pipeline); pipeline 'gzip -dc'"
  run igzip-tar bash -c "layers=($layer_list); $(declare -f pipeline); pipeline 'igzip -dc'"
  run berth env PARALLEL=2 "$BIN" unpack "$out/t" "${layers[@]}"
  run berth-1 env PARALLEL=1 "$BIN" unpack "$out/t" "${layers[@]}"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== unpack of ${#layers[@]} layers into files (median of $RUNS; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
printf "%-34s %8s %8s %8s\n" variant wall_s cpu_s "vs igzip|tar"
floor=$(cut -d' ' -f1 "$out/igzip-tar" | median)
for v in "${variants[@]}"; do
  wall=$(cut -d' ' -f1 "$out/$v" | median)
  cpu=$(cut -d' ' -f2 "$out/$v" | median)
  case $v in
    gzip-tar) label="gzip -dc | tar -x (per layer)" ;;
    igzip-tar) label="igzip -dc | tar -x (per layer)" ;;
    berth) label="berth (2 layers at a time)" ;;
    berth-1) label="berth (one layer at a time)" ;;
  esac
  printf "%-34s %8.3f %8.3f %7.2fx\n" "$label" "$wall" "$cpu" "$(echo "$wall / $floor" | bc -l)"
done
