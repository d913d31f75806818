#!/usr/bin/env bash
# Every test of the project, as CI runs it, on a fresh machine: installs the pinned tools
# (moto, SAM CLI, cargo-lambda, zig) from PyPI, starts one moto server on 127.0.0.1 for the run
# (stopped on exit), then: formatting, lints, the whole test suite (unit, HTTP suite on the
# embedded store, storage conformance on both stores, SES and request-count tests, every Lambda
# binary against a fake Runtime API, the local server, the fuzzer), the OpenAPI document's
# validation, the real clients (the official spaceone-api client, schemathesis) against the
# local server, the HTTP suite again on DynamoDB, the SAM template lint, and the arm64 Lambda
# build. Run from anywhere: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

source scripts/tools.sh
source scripts/moto.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test (embedded store; DynamoDB and SES on moto)"
cargo test --workspace --locked

echo "== docs/openapi.json validates as OpenAPI 3.1 (openapi-spec-validator)"
OPENAPI_VENV="$PWD/target/tools/openapi-venv"
if ! cmp -s scripts/openapi-requirements.txt "$OPENAPI_VENV/.requirements" 2>/dev/null; then
    python3 -m venv "$OPENAPI_VENV"
    "$OPENAPI_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/openapi-requirements.txt
    cp scripts/openapi-requirements.txt "$OPENAPI_VENV/.requirements"
fi
"$OPENAPI_VENV/bin/python" -m openapi_spec_validator docs/openapi.json

echo "== real clients against users-local: the official spaceone-api 2.0.25 client, schemathesis"
CLIENTS_VENV="$PWD/target/tools/clients-venv"
if ! cmp -s scripts/clients/requirements.txt "$CLIENTS_VENV/.requirements" 2>/dev/null; then
    python3 -m venv "$CLIENTS_VENV"
    "$CLIENTS_VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/clients/requirements.txt
    cp scripts/clients/requirements.txt "$CLIENTS_VENV/.requirements"
fi
"$CLIENTS_VENV/bin/python" scripts/clients/real_clients.py target/debug/users-local docs/openapi.json

echo "== HTTP suite on the DynamoDB store (moto)"
# --workspace keeps the features of the build above: `-p users-tests` alone would resolve
# them differently and rebuild the AWS SDK crates.
USERS_TEST_STORE=dynamo cargo test --workspace --locked --test api

echo "== sam validate --lint"
sam validate --lint --region us-east-1 --template template.yaml

echo "== cargo lambda build --release --arm64 (LTO off, opt-level 1 to fit CI; deployed sizes: docs/performance.md)"
./scripts/lambda-build.sh --check

echo "== all passed in $((SECONDS - started)) s"
