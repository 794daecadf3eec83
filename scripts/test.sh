#!/usr/bin/env bash
# Builds Berth with the "ci" preset (release, warnings as errors) and runs every
# test: unit, integration (real containers as root), conformance, drop-in
# (podman, containerd) and fuzz. Needs root (Debian 12). Extra arguments go to ctest.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"

./scripts/install-deps.sh
cmake --preset ci >/dev/null
cmake --build --preset ci
# fixtures are also a ctest fixture; making them first keeps test timing honest
./scripts/make-fixtures.sh
# berth-runtime keeps a read-only overlay of its binary's directory mounted
# under /run/berth-exe-seal (exe_guard.h); drop the ones of this build at exit.
unseal_build() {
  awk -v top="lowerdir=$TOP/" '$5 ~ "^/run/berth-exe-seal/" && index($0, top) { print $5 }' /proc/self/mountinfo |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
trap unseal_build EXIT
# create/start orphan container processes and PID 1 here does not reap them:
# run the whole suite under a child subreaper
python3 scripts/reap.py ctest --preset ci "$@"
