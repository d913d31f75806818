# Sourced by the scripts: moto servers (scripts/moto_server.py: moto without its DynamoDB
# memory leak) on free ports, each log in ${TMPDIR:-/tmp}/moto-PORT.log.
#
#   moto_start HOST [--serial]   starts one on a free port of HOST (a local address) and waits
#                                until it listens; sets MOTO_STARTED_URL and MOTO_STARTED_PID
#   moto_run_servers             the test run's two on 127.0.0.1, a threaded one and one that
#                                answers a request at a time (for the race tests); exports
#                                MOTO_ENDPOINT and MOTO_SERIAL_ENDPOINT for the tests
#   moto_stop                    stops the run's two
moto_start() {
    local host="$1" port
    shift
    port="$(python3 -c "import socket; s = socket.socket(); s.bind(('$host', 0)); print(s.getsockname()[1])")"
    python3 scripts/moto_server.py "$port" --host "$host" "$@" >"${TMPDIR:-/tmp}/moto-$port.log" 2>&1 &
    MOTO_STARTED_PID=$!
    MOTO_STARTED_URL="http://$host:$port"
    # moto takes seconds to import, more on a machine busy with the steps beside it: wait a
    # minute by the clock, not a number of tries.
    local deadline=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if python3 -c "import socket; socket.create_connection(('$host', $port), 0.2)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "moto did not listen on $host:$port within 60 s (log: ${TMPDIR:-/tmp}/moto-$port.log)" >&2
    kill "$MOTO_STARTED_PID" 2>/dev/null || true
    return 1
}

moto_run_servers() {
    moto_start 127.0.0.1
    MOTO_PID=$MOTO_STARTED_PID
    export MOTO_ENDPOINT=$MOTO_STARTED_URL
    moto_start 127.0.0.1 --serial
    MOTO_SERIAL_PID=$MOTO_STARTED_PID
    export MOTO_SERIAL_ENDPOINT=$MOTO_STARTED_URL
    echo "== moto server on $MOTO_ENDPOINT; one request at a time on $MOTO_SERIAL_ENDPOINT (logs: ${TMPDIR:-/tmp}/moto-PORT.log)"
}

moto_stop() {
    kill "${MOTO_PID:-}" "${MOTO_SERIAL_PID:-}" 2>/dev/null || true
    wait "${MOTO_PID:-}" "${MOTO_SERIAL_PID:-}" 2>/dev/null || true
}
