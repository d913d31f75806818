#!/usr/bin/env bash
# Every test of the project, as CI runs it, on a fresh machine. Run from anywhere:
#   ./scripts/test.sh           everything (what .ci/run runs)
#   ./scripts/test.sh --quick   the everyday loop: fmt, the unit tests and the HTTP suite on the
#                               embedded store; no moto, no tools to install, no arm64 build
#
# The full run installs the pinned tools (moto, SAM CLI, cargo-lambda, zig) from PyPI, starts
# two moto servers on 127.0.0.1 for the run (scripts/moto.sh; stopped on exit), then:
# formatting, lints, the whole test suite under cargo nextest (.config/nextest.toml: unit, the
# HTTP suite on both stores, storage conformance on both stores, SES, KMS and request-count
# tests, every Lambda binary against a fake Runtime API, the provisioning and event pipelines,
# the local server, the fuzzer), the OpenAPI document's validation, the real clients (the
# official spaceone-api client, schemathesis, pyotp, and the console in Debian's chromium
# under Playwright with axe-core, then Lighthouse on two of its pages) against the local
# server, the console's bundle rebuilt from
# its lock file and compared with the committed one, the SAM template
# lint, every function through `sam local invoke` in a Docker daemon of its own
# (scripts/sam-local.sh), and the arm64 Lambda build (beside the tests).
#
# It prints each step's seconds as the step ends and a table of them at the end, the tests
# passed per suite (test binary), every moto server's peak resident memory, and the most
# memory the machine had in use (sampled every 5 s into target/test-run/memory.log).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
quick=0
case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac

RUN_DIR="$PWD/target/test-run"
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR/moto-peaks"
# The machine's used memory (MB) every 5 s, for the run's peak.
(while true; do
    printf '%s %s\n' "$(date +%s)" "$(free -m | awk 'NR == 2 { print $3 }')"
    sleep 5
done) >"$RUN_DIR/memory.log" 2>/dev/null &
SAMPLER_PID=$!
ARM64_PID=""
TOOLS_PID=""
CLIENTS_PID=""
cleanup() {
    kill "$SAMPLER_PID" 2>/dev/null || true
    if [ -n "$TOOLS_PID" ]; then kill "$TOOLS_PID" 2>/dev/null || true; fi
    if [ -n "$CLIENTS_PID" ]; then kill "$CLIENTS_PID" 2>/dev/null || true; fi
    if [ -n "$ARM64_PID" ]; then kill -- -"$ARM64_PID" 2>/dev/null || true; fi
    if declare -F moto_stop >/dev/null; then moto_stop; fi
}
trap cleanup EXIT

# Each step's wall time, printed as it ends and again at the end.
timings=()
mark=$SECONDS
lap() {
    local line
    line="$(printf '%-48s %5d s' "$1" $((SECONDS - mark)))"
    timings+=("$line")
    echo "-- $line"
    mark=$SECONDS
}

# Tests passed per test binary, from nextest's JUnit report of the run just done.
suite_counts() {
    python3 - "$1" <<'EOF'
import collections, sys, xml.etree.ElementTree as ET
passed = collections.Counter()
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if not any(child.tag in ("failure", "error", "skipped") for child in case):
        passed[case.get("classname")] += 1
for suite, count in sorted(passed.items()):
    print(f"{suite:<48} {count:5d} passed")
print(f"{'total':<48} {sum(passed.values()):5d} passed")
EOF
}
JUNIT=target/nextest/default/junit.xml

# cargo with clippy in the compiler of the workspace's crates, its lints as errors (what
# `cargo clippy -- -D warnings` passes): the test build lints as it compiles (see below).
# Every cargo command here that builds the workspace goes through this, with the same
# settings, so none rebuilds what another built; tool installs and the arm64 build do not.
CLIPPY_DRIVER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
linted_cargo() {
    RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" cargo "$@"
}

if ! cargo nextest --version >/dev/null 2>&1; then
    cargo install --locked cargo-nextest@0.9.143
fi

if [ "$quick" = 1 ]; then
    echo "== cargo fmt --check"
    cargo fmt --all -- --check
    lap "fmt"
    echo "== unit tests and the HTTP suite on the embedded store"
    # --workspace keeps the dependencies' features those of the full run: its build is reused.
    linted_cargo nextest run --workspace --locked --lib --test api
    lap "unit tests + HTTP suite (embedded)"
    echo "== tests passed per suite"
    suite_counts "$JUNIT"
    echo "== time per step"
    printf '%s\n' "${timings[@]}"
    echo "== quick run passed in $((SECONDS - started)) s"
    exit 0
fi

# A venv in DIR with the pinned REQUIREMENTS, made once (its stamp is the requirements file).
venv_install() {
    local requirements="$1" venv="$2"
    if ! cmp -s "$requirements" "$venv/.requirements" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$venv/.requirements"
    fi
}
OPENAPI_VENV="$PWD/target/tools/openapi-venv"
CLIENTS_VENV="$PWD/target/tools/clients-venv"
# The pinned tools and the two client venvs install (two minutes on a fresh clone, mostly
# downloads) while the formatting, the lints and the test build need only cargo; nothing
# before the moto servers uses them. Its output is shown once it is done.
TOOLS_LOG="$RUN_DIR/tools.log"
(
    source scripts/tools.sh
    venv_install scripts/openapi-requirements.txt "$OPENAPI_VENV"
    venv_install scripts/clients/requirements.txt "$CLIENTS_VENV"
    # Lighthouse for the console (console_browser.py runs it), from its lock file; it drives
    # Debian's chromium, so puppeteer downloads no browser.
    (cd scripts/lighthouse && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    # Debian's chromium for Playwright and Lighthouse, against users-local and through
    # `sam local start-api` (never `playwright install`: its host is unreachable).
    if ! [ -x /usr/bin/chromium ]; then
        echo "== installing chromium (apt)"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium
    fi
) >"$TOOLS_LOG" 2>&1 &
TOOLS_PID=$!

echo "== cargo fmt --check"
cargo fmt --all -- --check
lap "fmt"

# The console's bundle (console/dist) is committed so that building the binaries needs no
# Node; it must be exactly what its sources and lock file build.
echo "== console: npm ci and the build from the lock file; the committed bundle must be what it builds"
(cd console && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
# Against the index: what is (or is about to be) committed.
if ! git diff --quiet -- console/dist || [ -n "$(git ls-files --others --exclude-standard -- console/dist)" ]; then
    git status --short -- console/dist
    echo "console/dist differs from what console/ builds: run (cd console && npm ci && npm run build) and commit it" >&2
    exit 1
fi
lap "console bundle"

echo "== the test build, linted by clippy as it compiles (warnings are errors): every target"
# One build, not two: clippy-driver compiles the workspace's crates (and only those) in the
# test build itself, its lints as errors, where `cargo clippy` would first check every
# dependency again on its own. Libraries, binaries, tests and their unit tests come with
# nextest's build; the benchmarks are built (unoptimised, the test profile) beside them.
linted_cargo nextest run --workspace --locked --no-run
linted_cargo build --workspace --locked --benches
lap "test build with clippy's lints"

tools_status=0
wait "$TOOLS_PID" || tools_status=$?
TOOLS_PID=""
cat "$TOOLS_LOG"
test "$tools_status" -eq 0 || { echo "installing the tools failed ($tools_status)" >&2; exit 1; }
source scripts/tools.sh  # installed: only puts them on PATH
lap "waiting for the tools (venvs, arm64 target)"
export MOTO_PEAK_DIR="$RUN_DIR/moto-peaks"
source scripts/moto.sh
moto_run_servers  # stopped by cleanup (moto_stop)
python3 scripts/moto_server_check.py "$MOTO_ENDPOINT"
lap "moto servers start and check"

# The arm64 build of the functions runs beside the tests from here on: they leave a core
# idle much of the time (waiting on moto and on the real clients), and it has its own target
# directory, so neither waits for the other's Cargo lock. Its output is shown at the end.
# At the lowest priority, so the tests keep their pace; in a session of its own, so a failed
# run stops it with all its compilers. Its last line is its own wall time.
ARM64_LOG="$RUN_DIR/arm64-check.log"
CARGO_TARGET_DIR="$PWD/target/arm64-check" setsid nice -n 19 bash -c \
    'started=$SECONDS; ./scripts/lambda-build.sh --check; status=$?; echo "$((SECONDS - started))"; exit $status' \
    >"$ARM64_LOG" 2>&1 &
ARM64_PID=$!

echo "== cargo nextest run (the HTTP suite on both stores; DynamoDB, SES, KMS, SQS on moto)"
linted_cargo nextest run --workspace --locked
lap "tests (run)"
echo "== tests passed per suite"
suite_counts "$JUNIT" | tee "$RUN_DIR/suites.txt"

echo "== docs/openapi.json validates as OpenAPI 3.1 (openapi-spec-validator)"
venv_install scripts/openapi-requirements.txt "$OPENAPI_VENV"
"$OPENAPI_VENV/bin/python" -m openapi_spec_validator docs/openapi.json
lap "openapi validator"

# The real clients run beside the sam steps: schemathesis keeps one core busy while the sam
# steps mostly wait on Docker. Their output is shown after the sam steps.
echo "== real clients against users-local: the official spaceone-api 2.0.25 client, schemathesis, the console in chromium (beside the sam steps)"
venv_install scripts/clients/requirements.txt "$CLIENTS_VENV"
CLIENTS_LOG="$RUN_DIR/real-clients.log"
(
    set -e
    "$CLIENTS_VENV/bin/python" scripts/clients/real_clients.py target/debug/users-local docs/openapi.json
    "$CLIENTS_VENV/bin/python" scripts/clients/console_browser.py target/debug/users-local "$RUN_DIR/console-screenshots"
) >"$CLIENTS_LOG" 2>&1 &
CLIENTS_PID=$!
lap "real clients (started)"

echo "== sam validate --lint"
sam validate --lint --region us-east-1 --template template.yaml
lap "sam validate"

echo "== sam local invoke and start-api: every function as template.yaml declares it, in Docker (scripts/sam-local.sh)"
./scripts/sam-local.sh
lap "sam local invoke and start-api (Docker)"

echo "== real clients: their output"
clients_status=0
wait "$CLIENTS_PID" || clients_status=$?
CLIENTS_PID=""
cat "$CLIENTS_LOG"
test "$clients_status" -eq 0 || { echo "the real clients failed ($clients_status)" >&2; exit 1; }
lap "waiting for the real clients"

echo "== cargo lambda build --arm64 --profile lambda-check (unoptimised; deployed sizes: docs/performance.md)"
arm64_status=0
wait "$ARM64_PID" || arm64_status=$?
ARM64_PID=""
arm64_seconds="$(tail -n 1 "$ARM64_LOG")"
head -n -1 "$ARM64_LOG"
test "$arm64_status" -eq 0 || { echo "the arm64 build failed ($arm64_status)" >&2; exit 1; }
lap "waiting for the arm64 build"
timings+=("$(printf '%-48s %5d s' "  (arm64 build, beside the steps above)" "$arm64_seconds")")

moto_stop
echo "== time per step"
printf '%s\n' "${timings[@]}"
echo "== tests passed per suite"
cat "$RUN_DIR/suites.txt"
echo "== moto servers' peak resident memory (ru_maxrss; the run's two, then one per test that starts its own)"
over=0
for file in "$MOTO_PEAK_DIR"/*; do
    read -r port kind kb <"$file"
    printf 'moto on port %-6s %-9s %6.2f GB\n' "$port" "$kind" "$(echo "$kb" | awk '{ print $1 / 1048576 }')"
    if [ "$kb" -gt $((2 * 1048576)) ]; then over=1; fi
done
kill "$SAMPLER_PID" 2>/dev/null || true
echo "== the machine's used memory at its highest (free -m every 5 s): $(sort -n -k2 "$RUN_DIR/memory.log" | tail -n 1 | awk '{ printf "%.2f GB", $2 / 1024 }')"
test "$over" -eq 0 || { echo "a moto server passed 2 GB" >&2; exit 1; }
echo "== all passed in $((SECONDS - started)) s"
