#!/usr/bin/env bash
# Builds berth-runtime (release) and runs one container from the locally built
# busybox bundle, printing "hello from berth". Needs root (Debian 12).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
FIX=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target berth-runtime
BERTH_FIXTURES=$FIX ./scripts/make-fixtures.sh

# A bundle that uses the fixture rootfs in place (read-only) and says hello.
DEMO=$FIX/bundle-demo
mkdir -p "$DEMO"
jq --arg root "$FIX/busybox-rootfs" \
  '.root = {path: $root, readonly: true} | .process.args = ["/bin/echo", "hello from berth"] | .process.terminal = false' \
  "$FIX/bundle-busybox/config.json" > "$DEMO/config.json"

set -x
# reap.py: a child subreaper, as PID 1 here does not reap orphans
python3 scripts/reap.py ./build/release/berth-runtime run --bundle "$DEMO" "berth-demo-$$"
