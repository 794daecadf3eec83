#!/usr/bin/env bash
# The engine benchmark: Berth against podman and containerd (ctr), side by side
# in one run, on the same busybox image loaded locally into each.
#
#   bench/run.sh [BERTH]      BERTH: the berth binary (default build/release/berth,
#                             else build/debug/berth); BERTH_CMD overrides the
#                             whole command prefix ("valgrind build/debug/berth")
#
# 1. Start latency: `run --rm busybox true`, N times each (hyperfine, one at a
#    time), with each engine's default bridge network:
#      berth run --rm IMG true          (builtin runtime; network "berth", CNI)
#      podman run --rm IMG true         (crun, conmon; network "podman", netavark)
#      ctr run --rm --cni IMG ID true   (crun, containerd-shim-runc-v2; a CNI bridge)
#    It prints ms per run and the ratios berth/podman, berth/ctr, berth/min(peers).
# 2. Memory: COUNT detached `sleep 1000` containers per engine (berth run -d vs
#    podman run -d); the proportional set size (PSS, /proc/PID/smaps_rollup) of
#    every process they added outside the containers (berth-monitor or conmon,
#    plus any runtime leftover) divided by COUNT; then all are stopped and removed.
#
# Everything runs inside private mount and network namespaces (unshare -m -n)
# under a child subreaper (scripts/reap.py; PID 1 here does not reap): the
# bridges, veths, iptables rules, netns and overlay mounts of all three engines
# live and die there, and the host's network is untouched. In that mount
# namespace /sys/fs/cgroup/unified is unmounted (crun 1.8 refuses this host's
# hybrid cgroup layout; everyone gets pure cgroup v1), tmpfs hide /opt,
# /var/lib/cni and /run/netns, and /etc/cni/net.d shows only the bench's own
# conflist (ctr --cni reads /etc/cni/net.d and /opt/cni/bin, fixed paths).
# podman runs with --cgroup-manager cgroupfs and lowered ulimits (root lacks
# CAP_SYS_RESOURCE here: podman's default nofile 1048576 fails with EPERM).
#
# Until `berth run` works, Berth is skipped with a line saying why and the peers
# are measured alone.
# Env: N (20) WARMUP (2) COUNT (200) BERTH_FIXTURES (/var/tmp/berth-fixtures)
#      SKIP_MEMORY=1 (latency only) SKIP_LATENCY=1 (memory only).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
DATA=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
N=${N:-20}; WARMUP=${WARMUP:-2}; COUNT=${COUNT:-200}
IMG=docker.io/library/busybox:latest

log() { printf '== %s\n' "$*" >&2; }

if [[ ${BERTH_BENCH_INSIDE:-} != 1 ]]; then
  [[ $(id -u) == 0 ]] || { echo "run.sh: needs root (containers, namespaces)" >&2; exit 2; }
  [[ -f $DATA/oci-busybox.tar ]] || BERTH_FIXTURES=$DATA "$TOP/scripts/make-fixtures.sh"
  for tool in hyperfine podman ctr containerd crun conmon; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool missing (scripts/install-deps.sh)" >&2; exit 2; }
  done
  if [[ -z ${BERTH_CMD:-} ]]; then
    bin=${1:-}
    if [[ -z $bin ]]; then
      for b in "$TOP/build/release/berth" "$TOP/build/debug/berth"; do [[ -x $b ]] && { bin=$b; break; }; done
    fi
    if [[ -n $bin && -x $bin ]]; then BERTH_CMD=$(realpath "$bin")
    elif [[ -n $bin ]]; then log "berth: no executable at $bin"; fi
  fi
  export BERTH_CMD=${BERTH_CMD:-} N WARMUP COUNT DATA
  # Mount points the namespace covers with tmpfs must exist; made here if
  # missing (empty directories) and removed again afterwards.
  made=()
  for d in /var/lib/cni /run/netns /etc/cni/net.d; do
    [[ -d $d ]] || { mkdir -p "$d"; made+=("$d"); }
  done
  W=$(mktemp -d /var/tmp/berth-bench-run.XXXXXX)
  cleanup() {
    rm -rf "$W"
    for d in "${made[@]}"; do rmdir "$d" 2>/dev/null || true; done
  }
  trap cleanup EXIT
  log "berth: ${BERTH_CMD:-none}; scratch $W; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  BERTH_BENCH_INSIDE=1 W=$W python3 "$TOP/scripts/reap.py" \
    unshare -m -n --propagation private "$0"
  exit $?
fi

# ------------------------------------------------------------- inside the namespaces
REAPER=$PPID  # reap.py: unshare execs this script, so our parent is the subreaper
# A tmpfs of the namespace's own where the cgroup2 mount was: crun makes its
# directories in that plain directory, which would be the host's /sys/fs/cgroup.
umount /sys/fs/cgroup/unified 2>/dev/null && mount -t tmpfs -o size=1m berth-bench /sys/fs/cgroup/unified
ip link set lo up
mount -t tmpfs -o mode=0755 berth-bench /opt
mkdir -p /opt/cni/bin && mount --bind /usr/lib/cni /opt/cni/bin
mount -t tmpfs -o mode=0755 berth-bench /var/lib/cni
mount -t tmpfs -o mode=0755 berth-bench /run/netns
mount -t tmpfs -o mode=0755 berth-bench /etc/cni/net.d
cat > /etc/cni/net.d/10-ctr-bench.conflist <<EOF
{
  "cniVersion": "1.0.0",
  "name": "ctr-bench",
  "plugins": [
    {"type": "bridge", "bridge": "ctr0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$W/ctr-ipam", "routes": [{"dst": "0.0.0.0/0"}],
              "ranges": [[{"subnet": "10.4.0.0/16", "gateway": "10.4.0.1"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"},
    {"type": "tuning"}
  ]
}
EOF

ULIM=(--ulimit nofile=1024:1024 --ulimit nproc=32768:32768)
PODMAN=(podman --root "$W/podman/root" --runroot "$W/podman/runroot" --tmpdir "$W/podman/tmp"
        --network-config-dir "$W/podman/networks" --cgroup-manager cgroupfs --events-backend file
        --storage-driver overlay --runtime crun)
CTR=(ctr -a "$W/containerd/containerd.sock")
BERTH=()
[[ -n $BERTH_CMD ]] && read -r -a BERTH <<< "$BERTH_CMD" && BERTH+=(--root "$W/berth/root" --runroot "$W/berth/run")

# Processes the bench started and that are still there: every descendant of
# the subreaper but this shell's own ancestry. Killed by pid at the end (the
# subreaper waits for all of them).
descendants() {
  local -a todo=("$REAPER") out=()
  while ((${#todo[@]})); do
    local p=${todo[0]}; todo=("${todo[@]:1}")
    for t in /proc/"$p"/task/*/children; do
      for c in $(cat "$t" 2>/dev/null); do out+=("$c"); todo+=("$c"); done
    done
  done
  echo "${out[@]}"
}
finish() {
  set +e
  [[ -f $W/containerd/containerd.pid ]] && "$TOP/scripts/containerd.sh" stop "$W/containerd"
  for p in $(descendants); do
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    kill -9 "$p" 2>/dev/null
  done
}
trap finish EXIT

# The busybox image under one full name everywhere: the fixture archive with
# that name in its index annotations.
mkdir -p "$W/image"
tar -xf "$DATA/oci-busybox.tar" -C "$W/image"
python3 - "$W/image/index.json" "$IMG" <<'PY'
import json, sys
path, name = sys.argv[1], sys.argv[2]
index = json.load(open(path))
for m in index["manifests"]:
    m["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}
json.dump(index, open(path, "w"))
PY
tar -cf "$W/busybox.tar" -C "$W/image" oci-layout index.json blobs

log "loading $IMG into each engine"
"${PODMAN[@]}" load -q -i "$W/busybox.tar" >/dev/null
"$TOP/scripts/containerd.sh" start "$W/containerd"
"${CTR[@]}" images import "$W/busybox.tar" >/dev/null

# Berth takes part once `berth run` works: one probe run decides.
if ((${#BERTH[@]})); then
  if ! out=$("${BERTH[@]}" load -q -i "$W/busybox.tar" 2>&1); then
    log "berth: SKIPPED (berth load failed: $out)"; BERTH=()
  elif ! out=$("${BERTH[@]}" run --rm "$IMG" true 2>&1); then
    log "berth: SKIPPED (\`berth run --rm $IMG true\` failed: ${out:-exit status $?})"; BERTH=()
  fi
else
  log "berth: SKIPPED (no berth binary: pass its path or set BERTH_CMD)"
fi
{ podman --version; conmon --version | head -1; ctr --version; crun --version | head -1
  if ((${#BERTH[@]})); then "${BERTH[@]}" --version; fi; } 2>&1 | sed 's/^/   /' >&2

# Equal terms: each engine's container is on its default bridge network.
log "addresses inside a container, per engine:"
{ if ((${#BERTH[@]})); then echo "berth:  $("${BERTH[@]}" run --rm "$IMG" ip -o -4 addr show eth0 2>&1)"; fi
  echo "podman: $("${PODMAN[@]}" run --rm "${ULIM[@]}" "$IMG" ip -o -4 addr show eth0 2>&1)"
  echo "ctr:    $("${CTR[@]}" run --rm --cni --runc-binary /usr/bin/crun "$IMG" berth-bench-ctr ip -o -4 addr show eth0 2>&1)"
} | sed 's/^/   /' >&2

ms_of() {  # median and mean ms of each command in a hyperfine json: "name median mean"
  python3 - "$1" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = [x * 1000 for x in r["times"]]
    bad = sum(1 for c in (r.get("exit_codes") or []) if c)
    print(r["command"], f"{statistics.median(t):.1f}", f"{statistics.mean(t):.1f}", bad)
PY
}

if [[ ${SKIP_LATENCY:-0} != 1 ]]; then
  log "start latency: run --rm $IMG true, $N runs each (+$WARMUP warmup), one at a time"
  cmds=()
  ((${#BERTH[@]})) && cmds+=(-n berth "${BERTH[*]} run --rm $IMG true")
  cmds+=(-n podman "${PODMAN[*]} run --rm ${ULIM[*]} $IMG true")
  cmds+=(-n ctr "${CTR[*]} run --rm --cni --runc-binary /usr/bin/crun $IMG berth-bench-ctr true")
  hyperfine --style basic -N --warmup "$WARMUP" --runs "$N" --export-json "$W/latency.json" "${cmds[@]}" >&2
  declare -A med mean
  echo
  echo "# run --rm busybox true: ms per run (median, mean of $N), load $(cut -d' ' -f1-3 /proc/loadavg)"
  while read -r name m a bad; do
    med[$name]=$m; mean[$name]=$a
    printf '%-8s %8s ms median %8s ms mean%s\n' "$name" "$m" "$a" "$( ((bad)) && echo "  NONZERO EXITS: $bad")"
  done < <(ms_of "$W/latency.json")
  if [[ -n ${med[berth]:-} ]]; then
    python3 - "${med[berth]}" "${med[podman]}" "${med[ctr]}" <<'PY'
import sys
b, p, c = map(float, sys.argv[1:])
print(f"ratio berth/podman      {b / p:6.3f}")
print(f"ratio berth/ctr         {b / c:6.3f}")
print(f"ratio berth/min(peers)  {b / min(p, c):6.3f}   (target <= 0.2)")
PY
  else
    echo "ratios: berth skipped"
  fi
fi

# ---------------------------------------------------------------- memory
pss_kb() { awk '/^Pss:/ {print $2; exit}' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2; exit}' "/proc/$1/status" 2>/dev/null || echo 0; }
MYPIDNS=$(readlink /proc/self/ns/pid)

# Sums PSS and RSS of the processes the engine added since `before`, outside
# the containers (another pid namespace = a container's process).
overhead() {  # before-list label
  local before=" $1 " label=$2 pss=0 rss=0 n=0 p
  declare -A by_comm=()
  for p in $(descendants); do
    [[ $before == *" $p "* || $p == "$$" || $p == "$BASHPID" ]] && continue
    [[ $(readlink "/proc/$p/ns/pid" 2>/dev/null) == "$MYPIDNS" ]] || continue
    local c; c=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    local k; k=$(pss_kb "$p")
    pss=$((pss + k)); rss=$((rss + $(rss_kb "$p"))); n=$((n + 1))
    by_comm[$c]=$(( ${by_comm[$c]:-0} + 1 ))
  done
  local what=""; for c in "${!by_comm[@]}"; do what+="$c x${by_comm[$c]} "; done
  printf '%-8s %7d kB PSS per container (%d kB RSS), %d processes: %s\n' \
    "$label" $((pss / COUNT)) $((rss / COUNT)) "$n" "$what"
  echo "$((pss / COUNT))" > "$W/mem-$label"
}

sleepers() {  # label start-command...
  local label=$1; shift
  log "memory: $COUNT detached sleep containers with $label"
  local before; before=$(descendants)
  local i t0=$SECONDS
  for ((i = 1; i <= COUNT; i++)); do
    "$@" --name "berth-bench-sleep-$i" "$IMG" sleep 1000 >/dev/null || { log "$label: container $i failed"; return 1; }
  done
  log "$label: $COUNT started in $((SECONDS - t0)) s"
  sleep 1
  overhead "$before" "$label"
}

if [[ ${SKIP_MEMORY:-0} != 1 ]]; then
  "$TOP/scripts/containerd.sh" stop "$W/containerd"  # not part of either side
  echo
  echo "# $COUNT detached \`sleep 1000\` containers: memory outside the containers (monitors + runtime leftovers)"
  names=(); for ((i = 1; i <= COUNT; i++)); do names+=("berth-bench-sleep-$i"); done
  if ((${#BERTH[@]})); then
    sleepers berth "${BERTH[@]}" run -d || true
    log "berth: stopping and removing them"
    "${BERTH[@]}" stop -t 0 "${names[@]}" >/dev/null || log "berth stop failed"
    "${BERTH[@]}" rm -f "${names[@]}" >/dev/null || log "berth rm failed"
  fi
  sleepers podman "${PODMAN[@]}" run -d "${ULIM[@]}" || true
  log "podman: stopping and removing them"
  "${PODMAN[@]}" stop -t 0 "${names[@]}" >/dev/null || log "podman stop failed"
  "${PODMAN[@]}" rm -f "${names[@]}" >/dev/null || log "podman rm failed"
  if [[ -f $W/mem-berth && -f $W/mem-podman ]]; then
    python3 -c "import sys; b, p = map(int, sys.argv[1:]); print(f'ratio berth/podman (memory per container) {b / p:6.3f}' if p else 'podman: 0 kB?')" \
      "$(cat "$W/mem-berth")" "$(cat "$W/mem-podman")"
  else
    echo "memory ratio: berth skipped"
  fi
fi
