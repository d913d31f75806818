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
source scripts/docker.sh
SAM_MOTO_PORT="$(python3 -c "import socket; s=socket.socket(); s.bind(('$DOCKER_GATEWAY', 0)); print(s.getsockname()[1])")"
mkdir -p target/sam-local
python3 scripts/moto_server.py "$SAM_MOTO_PORT" --host "$DOCKER_GATEWAY" >target/sam-local/moto.log 2>&1 &
SAM_MOTO_PID=$!
trap 'kill "$SAM_MOTO_PID" 2>/dev/null || true; wait "$SAM_MOTO_PID" 2>/dev/null || true; docker_stop' EXIT
for _ in $(seq 1 100); do
    if python3 -c "import socket; socket.create_connection(('$DOCKER_GATEWAY', $SAM_MOTO_PORT), 0.2)" 2>/dev/null; then break; fi
    sleep 0.2
done
python3 scripts/sam_local.py --moto "http://$DOCKER_GATEWAY:$SAM_MOTO_PORT" --arch "$LAMBDA_ARCH" "$@"
