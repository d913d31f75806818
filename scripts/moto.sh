# Sourced by the scripts: starts one moto server (scripts/moto_server.py: moto without its
# DynamoDB memory leak) on a free 127.0.0.1 port for the whole run, exports MOTO_ENDPOINT for
# the tests, and stops the server when the script exits.
MOTO_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
MOTO_LOG="${TMPDIR:-/tmp}/moto-$MOTO_PORT.log"
python3 scripts/moto_server.py "$MOTO_PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
# A second server answering one request at a time, for the race tests (scripts/moto_server.py).
MOTO_SERIAL_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
python3 scripts/moto_server.py "$MOTO_SERIAL_PORT" --serial >"${TMPDIR:-/tmp}/moto-$MOTO_SERIAL_PORT.log" 2>&1 &
MOTO_SERIAL_PID=$!
moto_stop() {
    kill "$MOTO_PID" "$MOTO_SERIAL_PID" 2>/dev/null || true
    wait "$MOTO_PID" "$MOTO_SERIAL_PID" 2>/dev/null || true
}
trap moto_stop EXIT
for port in "$MOTO_PORT" "$MOTO_SERIAL_PORT"; do
    for _ in $(seq 1 100); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
done
export MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export MOTO_SERIAL_ENDPOINT="http://127.0.0.1:$MOTO_SERIAL_PORT"
echo "== moto server on $MOTO_ENDPOINT (log: $MOTO_LOG); one request at a time on $MOTO_SERIAL_ENDPOINT"
