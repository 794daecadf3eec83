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
# create/start orphan container processes and PID 1 here does not reap them:
# run the whole suite under a child subreaper
exec python3 scripts/reap.py ctest --preset ci "$@"
