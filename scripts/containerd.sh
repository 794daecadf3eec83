#!/usr/bin/env bash
# A private containerd 1.6 for tests and benchmarks: root, state, socket and
# log under DIR, CRI plugin off, no TCP listener. Run it under a child
# subreaper (scripts/reap.py) so the exited shims are reaped (PID 1 here does
# not), and inside a private mount namespace so its mounts die with it.
#
#   containerd.sh start DIR    starts it in the background; prints nothing; DIR/containerd.pid
#   containerd.sh stop DIR     stops it (by its PID) and waits for it
#   ctr -a DIR/containerd.sock ...
set -euo pipefail
cmd=${1:?usage: containerd.sh start|stop DIR}
CD=${2:?usage: containerd.sh start|stop DIR}
PIDF=$CD/containerd.pid
SOCK=$CD/containerd.sock
running() { [[ -f $PIDF ]] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }

case $cmd in
start)
  running && exit 0
  mkdir -p "$CD/root" "$CD/state"
  cat > "$CD/config.toml" <<CFG
version = 2
root = "$CD/root"
state = "$CD/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$CD/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
CFG
  containerd --config "$CD/config.toml" --log-level warn >> "$CD/containerd.log" 2>&1 < /dev/null &
  echo $! > "$PIDF"
  for _ in $(seq 100); do
    ctr -a "$SOCK" version >/dev/null 2>&1 && exit 0
    running || break
    sleep 0.1
  done
  echo "containerd did not come up; $CD/containerd.log:" >&2
  tail -20 "$CD/containerd.log" >&2
  exit 1 ;;
stop)
  if running; then
    pid=$(cat "$PIDF")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$PIDF" ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
