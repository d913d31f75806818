#!/usr/bin/env bash
# Every function through `sam local invoke`, and the API through `sam local start-api`, as
# ./scripts/test.sh runs them: a Docker daemon of this checkout's own (scripts/docker.sh), a
# moto server on that daemon's bridge gateway, then scripts/sam_local.py; everything started
# here is stopped on exit. Needs the functions built for this machine (`cargo build --bins`,
# or the test build) and root on Debian the first time (it installs docker.io). Run from
# anywhere: ./scripts/sam-local.sh [--bin-dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
source scripts/moto.sh
source scripts/docker.sh
trap docker_stop EXIT
moto_start "$DOCKER_GATEWAY"
SAM_MOTO_PID=$MOTO_STARTED_PID
trap 'kill "$SAM_MOTO_PID" 2>/dev/null || true; wait "$SAM_MOTO_PID" 2>/dev/null || true; docker_stop' EXIT
python3 scripts/sam_local.py --moto "$MOTO_STARTED_URL" --arch "$LAMBDA_ARCH" "$@"
