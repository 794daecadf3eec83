#!/usr/bin/env bash
# The main job: builds Berth (release), builds a busybox image locally (offline,
# from Debian's busybox-static) and runs a container from it with `berth run`,
# which prints "hello from berth" and its network address. Needs root (Debian 12).
#
# The image goes into berth's default store (/var/lib/berth), the container
# onto the default network "berth" (bridge berth0, 10.89.0.0/24), as podman's
# would. BERTH_DEMO_ARGS adds run flags (e.g. "--network none").
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
FIX=${BERTH_FIXTURES:-/var/tmp/berth-fixtures}

./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target berth berth-monitor berth-runtime
BERTH_FIXTURES=$FIX ./scripts/make-fixtures.sh

BERTH=./build/release/berth
# A locally built image: the busybox rootfs imported with its command.
tar -C "$FIX/busybox-rootfs" -c . |
  $BERTH import -q - localhost/berth-demo:latest \
    --change 'CMD ["sh", "-c", "echo hello from berth; ip -4 -o addr show eth0 | cut -d\" \" -f2,7"]'

set -x
# reap.py: a child subreaper, as PID 1 here does not reap orphans
python3 scripts/reap.py $BERTH run --rm ${BERTH_DEMO_ARGS:-} localhost/berth-demo
