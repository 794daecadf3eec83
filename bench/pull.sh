#!/usr/bin/env bash
# Pull benchmark: the 4-layer Debian fixture (scripts/make-fixtures.sh --debian;
# ~80 MB gzip, ~225 MB and ~10.8k files unpacked) from a private loopback
# registry, pulled and unpacked by Berth and its peers side by side in one
# hyperfine run, each preceded by a --prepare that removes the previous copy:
#
#   berth pull                       content store + overlay snapshots
#   berth pull (no ranged layer)     the same, max-connections-per-layer = 1
#   ctr images pull                  a private containerd 1.6 (overlayfs snapshotter)
#   podman pull                      private storage (overlay driver)
#   skopeo copy + umoci unpack       fetch to an OCI layout, then unpack
#   floors: gzip -dc, igzip -dc      the layers' decompression alone (no writes)
#           igzip -dc | tar -x       decompression plus creating the files
#
# It prints each command's median and the ratios berth/peer and berth/floor.
# Everything runs in a private mount namespace (containerd's mounts die with
# it); the registry, containerd and all stores live in one temp dir, removed
# at the end (KEEP=1 keeps it).
# Env: RUNS (5) WARMUP (1) BUILD (build/release) BERTH_FIXTURES (/var/tmp/berth-fixtures).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
if [[ -z ${BERTH_BENCH_NS:-} ]]; then
  export BERTH_BENCH_NS=1
  exec unshare -m --propagation private "$0" "$@"
fi
DATA=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
RUNS=${RUNS:-5}; WARMUP=${WARMUP:-1}
BUILD=${BUILD:-$TOP/build/release}
BERTH=$BUILD/berth
log() { printf '== pull bench: %s\n' "$*" >&2; }

[[ -x $BERTH ]] || { echo "no $BERTH (cmake --build --preset release --target berth)" >&2; exit 1; }
[[ -f $DATA/oci-debian/index.json ]] || BERTH_FIXTURES=$DATA "$TOP/scripts/make-fixtures.sh" --debian
command -v hyperfine >/dev/null || "$TOP/scripts/install-deps.sh"

W=$(mktemp -d /var/tmp/berth-bench-pull-XXXXXX)
cleanup() {
  "$TOP/scripts/containerd.sh" stop "$W/containerd" || true
  "$TOP/scripts/registry.sh" stop "$W/registry" || true
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$W"
}
trap cleanup EXIT

REG=127.0.0.1:$("$TOP/scripts/registry.sh" free-port)
"$TOP/scripts/registry.sh" start "$W/registry" "$REG"
"$TOP/scripts/registry.sh" push "$W/registry" "$REG" "fixtures/debian:bookworm=$DATA/oci-debian:bookworm"
"$TOP/scripts/containerd.sh" start "$W/containerd"
IMG=$REG/fixtures/debian:bookworm

# The same pull with every layer in one stream (no ranged download of the big one).
printf '[pull]\nmax-connections-per-layer = 1\n' > "$W/one-stream.toml"
CTR="ctr -a $W/containerd/containerd.sock -n berth-bench"
POD="podman --root $W/podman/root --runroot $W/podman/runroot --tmpdir $W/podman/tmp --cgroup-manager cgroupfs
     --events-backend file --storage-driver overlay"
POD=$(echo $POD)
BLOBS=$(python3 - "$DATA/oci-debian" <<'PY'
import json, sys
d = sys.argv[1]
idx = json.load(open(f"{d}/index.json"))
m = [x for x in idx["manifests"] if x.get("annotations", {}).get("org.opencontainers.image.ref.name") == "bookworm"][0]
man = json.load(open(f"{d}/blobs/sha256/{m['digest'].split(':')[1]}"))
print(" ".join(f"{d}/blobs/sha256/{l['digest'].split(':')[1]}" for l in man["layers"]))
PY
)
CTR_CLEAN="$CTR images rm --sync $IMG >/dev/null 2>&1; $CTR content ls -q | xargs -r $CTR content rm >/dev/null 2>&1; true"
POD_CLEAN="$POD rmi -af >/dev/null 2>&1; true"

{ "$BERTH" --version; ctr --version; podman --version; skopeo --version; umoci --version; } > "$W/versions.txt"
log "image $IMG: $(du -sh --apparent-size "$DATA/oci-debian/blobs" | cut -f1) in the layout; loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$W/pull.json" \
  --prepare "rm -rf $W/berth" -n "berth pull" \
      "$BERTH --root $W/berth pull -q --tls-verify=false $IMG >/dev/null" \
  --prepare "rm -rf $W/berth" -n "berth pull (no ranged layer)" \
      "$BERTH --root $W/berth --config $W/one-stream.toml pull -q --tls-verify=false $IMG >/dev/null" \
  --prepare "$CTR_CLEAN" -n "ctr images pull" \
      "$CTR images pull --plain-http $IMG >/dev/null" \
  --prepare "$POD_CLEAN" -n "podman pull" \
      "$POD pull -q --tls-verify=false $IMG >/dev/null" \
  --prepare "rm -rf $W/skopeo $W/umoci" -n "skopeo copy + umoci unpack" \
      "skopeo copy -q --src-tls-verify=false docker://$IMG oci:$W/skopeo:bookworm && umoci unpack --image $W/skopeo:bookworm $W/umoci >/dev/null" \
  --prepare true -n "gzip -dc (floor)" "gzip -dc $BLOBS >/dev/null" \
  --prepare true -n "igzip -dc (floor)" "igzip -dc $BLOBS >/dev/null" \
  --prepare "rm -rf $W/floor && mkdir -p $W/floor" -n "igzip -dc | tar -x (floor)" \
      "for b in $BLOBS; do igzip -dc \$b | tar --numeric-owner -x -C $W/floor || exit 1; done" \
  >"$W/pull.txt"

files=$(find "$W/floor" | wc -l)
python3 - "$W/pull.json" "$files" "$(du -sh "$W/floor" | cut -f1)" <<'PY'
import json, statistics, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {k: statistics.median(r["times"]) for k, r in res.items()}
print(f"pull of the 4-layer Debian image ({sys.argv[3]}, {sys.argv[2]} files unpacked), median of runs:")
for k, r in res.items():
    bad = sum(1 for c in (r.get("exit_codes") or []) if c)
    print(f"  {k:30s} {med[k]:6.2f} s   cpu {r['user'] + r['system']:5.2f} s" + (f"   FAILED RUNS: {bad}" if bad else ""))
b = med["berth pull"]
print("ratios (berth / other; < 1 means berth is faster):")
for k in res:
    if k != "berth pull":
        print(f"  berth / {k:30s} {b / med[k]:5.2f}")
PY
