#!/usr/bin/env bash
# Drop-in tests: Debian's podman and containerd use the runtime under test in
# place of runc.
#
#   dropin_test.sh podman|containerd
#
# Env: BERTH_RUNTIME (path of the runtime; default: $BERTH_DEFAULT_RUNTIME, set by
#      CMake to the built berth-runtime, else berth-runtime in PATH),
#      BERTH_FIXTURES (scripts/make-fixtures.sh output; default /var/tmp/berth-fixtures).
# Everything runs under a child subreaper (PID 1 here does not reap conmon or
# the shims) in a private mount namespace (podman's and containerd's overlay
# mounts vanish with it), with private storage under /var/tmp/berth-test-*:
# the host's podman and containerd stores are never touched. Exit 77 = skipped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPTS=$(cd "$HERE/../../scripts" && pwd)
ENGINE=${1:?usage: dropin_test.sh podman|containerd}
FIX=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}
want=${BERTH_RUNTIME:-${BERTH_DEFAULT_RUNTIME:-berth-runtime}}
RT=$(command -v "$want" || true)
[[ -n $RT && -x $RT ]] || { echo "runtime not found: $want"; exit 77; }
RT=$(realpath "$RT")
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 77; }

if [[ ${BERTH_DROPIN_INNER:-} != 1 ]]; then
  export BERTH_DROPIN_INNER=1 BERTH_RUNTIME=$RT
  exec python3 "$SCRIPTS/reap.py" unshare -m --propagation private "$0" "$@"
fi

[[ -f $FIX/oci-busybox.tar ]] || "$SCRIPTS/make-fixtures.sh"
T=$(mktemp -d /var/tmp/berth-test-dropin-XXXXXX)
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAILED: $*"; fail=$((fail + 1)); }
expect() {  # expect NAME WANT_STATUS WANT_OUTPUT_SUBSTRING CMD...
  local name=$1 want=$2 needle=$3; shift 3
  local out st=0
  out=$("$@" 2>&1) || st=$?
  if [[ $st == "$want" && $out == *"$needle"* ]]; then ok "$name"
  else bad "$name: status $st (want $want), output:"; printf '%s\n' "$out" | tail -20; fi
}
echo "runtime under test: $RT ($("$RT" --version 2>&1 | head -1))"

case $ENGINE in
podman)
  command -v podman >/dev/null || { echo "podman not installed"; exit 77; }
  # podman makes /run/containers/networks whatever its --runroot: remove it after
  # the run when it was not there before (and is still empty)
  had_run_containers=0; [[ -d /run/containers ]] && had_run_containers=1
  cleanup() {
    "${POD[@]}" rm -af -t 0 >/dev/null 2>&1 || true
    "${POD[@]}" system reset -f >/dev/null 2>&1 || true
    # overlay mounts live in this private namespace; unmount anything left before rm
    grep -o "$T[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$T"
    [[ $had_run_containers == 1 ]] || rmdir /run/containers/networks /run/containers 2>/dev/null || true
  }
  trap cleanup EXIT
  mkdir -p "$T/root" "$T/runroot" "$T/tmp"
  cat > "$T/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$T/root"
runroot = "$T/runroot"
CONF
  cat > "$T/containers.conf" <<CONF
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
[containers]
log_driver = "k8s-file"
CONF
  export CONTAINERS_STORAGE_CONF=$T/storage.conf CONTAINERS_CONF=$T/containers.conf
  POD=(podman --root "$T/root" --runroot "$T/runroot" --tmpdir "$T/tmp" --storage-driver overlay
       --cgroup-manager cgroupfs --events-backend file)
  # this host lacks CAP_SYS_RESOURCE: podman's default rlimits cannot be set
  RUN=("${POD[@]}" run --rm --runtime "$RT" --network none
       --ulimit nofile=1024:1024 --ulimit nproc=32768:32768)
  img=$("${POD[@]}" pull -q "oci:$FIX/oci-busybox:latest")
  expect "podman run true" 0 "" "${RUN[@]}" "$img" /bin/true
  expect "podman run echo" 0 "hello from berth" "${RUN[@]}" "$img" /bin/echo hello from berth
  expect "podman run exit code" 3 "" "${RUN[@]}" "$img" /bin/sh -c 'exit 3'
  expect "podman run env/user" 0 "uid=1000" "${RUN[@]}" --user 1000:1000 "$img" /bin/id
  expect "podman run -t" 0 "/dev/pts/" "${RUN[@]}" -t "$img" /bin/tty
  # resource limits, read back from inside (v1 file names, else v2's)
  expect "podman run --memory --pids-limit --cpus" 0 "mem=67108864 pids=50 cpu=50000" \
      "${RUN[@]}" --memory 64m --pids-limit 50 --cpus 0.5 --cgroupns private "$img" /bin/sh -c '
        m=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
        p=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)
        c=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d" " -f1 /sys/fs/cgroup/cpu.max)
        echo "mem=$m pids=$p cpu=$c"'
  # seccomp: podman's default profile is loaded; a profile of our own makes
  # mkdir fail with its errnoRet (EOPNOTSUPP), seen from inside
  expect "podman run default seccomp profile" 0 $'Seccomp:\t2' "${RUN[@]}" "$img" /bin/grep Seccomp: /proc/self/status
  cat > "$T/seccomp.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]}
JSON
  expect "podman run --security-opt seccomp=FILE" 0 "Operation not supported" \
      "${RUN[@]}" --security-opt seccomp="$T/seccomp.json" "$img" /bin/sh -c 'mkdir /tmp/berth 2>&1; true'
  # detached: create/start/kill/delete through conmon
  name=berth-test-pod-$$
  expect "podman run -d" 0 "" "${POD[@]}" run -d --name "$name" --runtime "$RT" --network none \
      --ulimit nofile=1024:1024 --ulimit nproc=32768:32768 "$img" /bin/sleep 60
  expect "podman ps" 0 "$name" "${POD[@]}" ps
  expect "podman exec" 0 "hello from exec" "${POD[@]}" exec "$name" /bin/echo hello from exec
  expect "podman exec exit code" 4 "" "${POD[@]}" exec "$name" /bin/sh -c 'exit 4'
  expect "podman exec env/user/workdir" 0 "1000 /tmp X=y" "${POD[@]}" exec --user 1000 --workdir /tmp \
      --env X=y "$name" /bin/sh -c 'echo $(id -u) $(pwd) X=$X'
  expect "podman exec -t" 0 "/dev/pts/" "${POD[@]}" exec -t "$name" /bin/tty
  expect "podman exec -d" 0 "" "${POD[@]}" exec -d "$name" /bin/sleep 1
  expect "podman exec-less stop" 0 "" "${POD[@]}" stop -t 1 "$name"
  expect "podman rm" 0 "" "${POD[@]}" rm "$name"
  ;;
containerd)
  command -v containerd >/dev/null && command -v ctr >/dev/null || { echo "containerd not installed"; exit 77; }
  CD=$T/containerd
  NS=berth-test-$$
  CTR=(ctr -a "$CD/containerd.sock" -n "$NS")
  cleanup() {
    for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do
      "${CTR[@]}" task kill -s KILL "$c" >/dev/null 2>&1 || true
      "${CTR[@]}" task delete -f "$c" >/dev/null 2>&1 || true
      "${CTR[@]}" containers rm "$c" >/dev/null 2>&1 || true
    done
    "$SCRIPTS/containerd.sh" stop "$CD" || true
    rm -rf "/run/containerd/runc/$NS"
    # containerd puts containers under /<namespace>/<id> and, like runc, leaves
    # the namespace's cgroup behind: remove it (only when empty)
    for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do rmdir "$h$NS" 2>/dev/null || true; done
    # ctr and the shims make these on first use; remove them only when empty
    rmdir /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null || true
    grep -o "$T[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$T"
  }
  trap cleanup EXIT
  "$SCRIPTS/containerd.sh" start "$CD"
  "${CTR[@]}" images import --base-name localhost/berth-busybox "$FIX/oci-busybox.tar" >/dev/null
  IMG=localhost/berth-busybox:latest
  RUN=("${CTR[@]}" run --rm --runc-binary "$RT")
  expect "ctr run true" 0 "" "${RUN[@]}" "$IMG" "berth-test-ctr-$$-1" /bin/true
  expect "ctr run echo" 0 "hello from berth" "${RUN[@]}" "$IMG" "berth-test-ctr-$$-2" /bin/echo hello from berth
  expect "ctr run exit code" 3 "" "${RUN[@]}" "$IMG" "berth-test-ctr-$$-3" /bin/sh -c 'exit 3'
  # ctr -t needs a terminal of its own: script(1) gives it one
  expect "ctr run -t" 0 "/dev/pts/" script -qec "${RUN[*]} -t $IMG berth-test-ctr-$$-4 /bin/tty" /dev/null
  # detached task: start, list, kill, delete
  id=berth-test-ctr-$$-5
  expect "ctr run -d" 0 "" "${CTR[@]}" run -d --runc-binary "$RT" "$IMG" "$id" /bin/sleep 60
  expect "ctr task ls" 0 "RUNNING" "${CTR[@]}" task ls
  expect "ctr task exec" 0 "hello from exec" "${CTR[@]}" task exec --exec-id e1 "$id" /bin/echo hello from exec
  expect "ctr task exec exit code" 4 "" "${CTR[@]}" task exec --exec-id e2 "$id" /bin/sh -c 'exit 4'
  expect "ctr task kill" 0 "" "${CTR[@]}" task kill -s KILL "$id"
  for _ in $(seq 50); do "${CTR[@]}" task ls | grep -q "$id.*STOPPED" && break; sleep 0.1; done
  expect "ctr task delete" 0 "" "${CTR[@]}" task delete "$id"
  expect "ctr container rm" 0 "" "${CTR[@]}" containers rm "$id"
  ;;
*) echo "usage: $0 podman|containerd" >&2; exit 2 ;;
esac

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
