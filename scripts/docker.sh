# Sourced by the scripts: a Docker daemon of this checkout's own, for `sam local`, and the Lambda
# base image SAM asks for, built here (no image can be pulled on this machine).
#
# - Installs Debian's docker.io and busybox-static when `dockerd` is missing (as root, via apt).
# - Starts `dockerd` with its data under target/docker/ (kept between runs, with the image) and
#   its socket there too; exports DOCKER_HOST for the docker and sam commands. It keeps its
#   bridge (docker0), whose gateway address is the only one the functions' containers are
#   given to reach (DOCKER_GATEWAY: moto for `sam local` listens there); --iptables=false, so
#   nothing is routed further.
# - Builds `public.ecr.aws/lambda/provided:al2023-<arch>` for this machine's architecture when
#   the daemon lacks it: busybox (the shell and tools SAM's image build runs) and this host's
#   glibc, which the functions built here (target/debug) link against. SAM adds its own
#   Runtime Interface Emulator on top; run it with --skip-pull-image.
# - docker_stop stops the daemon by its pid (and so every container it runs).
DOCKER_DIR="$PWD/target/docker"
mkdir -p "$DOCKER_DIR"
if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1; then
    echo "== installing docker.io and busybox-static (apt)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q docker.io busybox-static >"$DOCKER_DIR/apt.log" 2>&1 ||
        { cat "$DOCKER_DIR/apt.log" >&2; echo "cannot install docker.io (apt-get, as root)" >&2; return 1; }
fi
export DOCKER_HOST="unix://$DOCKER_DIR/docker.sock"
# A daemon of an earlier run that was stopped hard leaves its pid file, which a new one refuses.
if [ -f "$DOCKER_DIR/dockerd.pid" ] && ! kill -0 "$(cat "$DOCKER_DIR/dockerd.pid")" 2>/dev/null; then
    rm -f "$DOCKER_DIR/dockerd.pid"
fi
DOCKER_EXEC_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/users-docker.XXXXXX")"
dockerd --iptables=false --storage-driver=overlay2 --data-root "$DOCKER_DIR/data" \
    --exec-root "$DOCKER_EXEC_ROOT" --pidfile "$DOCKER_DIR/dockerd.pid" --host "$DOCKER_HOST" \
    >"$DOCKER_DIR/dockerd.log" 2>&1 &
DOCKERD_PID=$!
docker_stop() {
    if [ -n "${DOCKERD_PID:-}" ]; then
        kill "$DOCKERD_PID" 2>/dev/null || true
        wait "$DOCKERD_PID" 2>/dev/null || true
        DOCKERD_PID=""
        rm -rf "$DOCKER_EXEC_ROOT"
    fi
}
for _ in $(seq 1 100); do
    if docker info >/dev/null 2>&1; then break; fi
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
        cat "$DOCKER_DIR/dockerd.log" >&2
        echo "dockerd stopped (log above; is another daemon using the docker0 bridge?)" >&2
        return 1
    fi
    sleep 0.2
done
docker info >/dev/null || { cat "$DOCKER_DIR/dockerd.log" >&2; echo "dockerd did not answer in 20 s" >&2; return 1; }
# The bridge's gateway is the address of its interface (docker0). A daemon that had to create
# that interface (the first on a machine since it booted) leaves the gateway out of its network's
# IPAM config until it is restarted, so read the interface itself when the config has none; a
# daemon started for the first time may also answer `docker info` before either has it: wait.
DOCKER_GATEWAY=""
docker_bridge_address() {
    local name
    name="$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null || true)"
    ip -4 -o addr show dev "${name:-docker0}" 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }'
}
for _ in $(seq 1 100); do
    DOCKER_GATEWAY="$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)"
    if [ -z "$DOCKER_GATEWAY" ]; then DOCKER_GATEWAY="$(docker_bridge_address)"; fi
    if [ -n "$DOCKER_GATEWAY" ]; then break; fi
    sleep 0.2
done
[ -n "$DOCKER_GATEWAY" ] || {
    cat "$DOCKER_DIR/dockerd.log" >&2
    docker network inspect bridge >&2 || true
    echo "the docker bridge has no gateway address after 20 s" >&2
    return 1
}
case "$(uname -m)" in
    x86_64) LAMBDA_ARCH=x86_64; GLIBC_DIR=/lib/x86_64-linux-gnu; LOADER=/lib64/ld-linux-x86-64.so.2 ;;
    aarch64) LAMBDA_ARCH=arm64; GLIBC_DIR=/lib/aarch64-linux-gnu; LOADER=/lib/ld-linux-aarch64.so.1 ;;
    *) echo "no Lambda architecture for $(uname -m)" >&2; return 1 ;;
esac
LAMBDA_BASE_IMAGE="public.ecr.aws/lambda/provided:al2023-$LAMBDA_ARCH"
if ! docker image inspect "$LAMBDA_BASE_IMAGE" >/dev/null 2>&1; then
    echo "== building $LAMBDA_BASE_IMAGE (busybox and this host's glibc)"
    context="$DOCKER_DIR/base-image"
    rm -rf "$context"
    mkdir -p "$context/rootfs/bin" "$context/rootfs/etc" "$context/rootfs$GLIBC_DIR" \
        "$context/rootfs$(dirname "$LOADER")" "$context/rootfs/var/task" "$context/rootfs/var/runtime" \
        "$context/rootfs/opt" "$context/rootfs/tmp"
    chmod 1777 "$context/rootfs/tmp"
    cp "$(command -v busybox)" "$context/rootfs/bin/busybox"
    for lib in libc.so.6 libm.so.6 libgcc_s.so.1 libpthread.so.0 libdl.so.2 librt.so.1; do
        cp -L "$GLIBC_DIR/$lib" "$context/rootfs$GLIBC_DIR/"
    done
    cp -L "$LOADER" "$context/rootfs$LOADER"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$context/rootfs/etc/passwd"
    echo 'root:x:0:' >"$context/rootfs/etc/group"
    cat >"$context/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
ENV PATH=/usr/local/bin:/usr/bin:/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime LANG=C.UTF-8
WORKDIR /var/task
EOF
    DOCKER_BUILDKIT=0 docker build -q -t "$LAMBDA_BASE_IMAGE" "$context" >/dev/null
fi
echo "== docker daemon pid $DOCKERD_PID at $DOCKER_HOST, bridge gateway $DOCKER_GATEWAY, image $LAMBDA_BASE_IMAGE"
