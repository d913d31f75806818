# Sourced by the scripts: puts the pinned Python tools (scripts/tools-requirements.txt) on PATH,
# installing them into target/tools/venv on first use, and adds the arm64 Rust target.
TOOLS_VENV="${TOOLS_VENV:-$PWD/target/tools/venv}"
TOOLS_STAMP="$TOOLS_VENV/.requirements"
if ! cmp -s scripts/tools-requirements.txt "$TOOLS_STAMP" 2>/dev/null; then
    echo "== installing tools into $TOOLS_VENV (moto, aws-sam-cli, cargo-lambda, ziglang)"
    python3 -m venv "$TOOLS_VENV"
    "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/tools-requirements.txt
    cp scripts/tools-requirements.txt "$TOOLS_STAMP"
fi
export PATH="$TOOLS_VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
fi
