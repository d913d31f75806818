#!/usr/bin/env bash
# Every test of the project, as CI runs it: formatting, lints, then the whole test suite
# (unit tests, the HTTP integration suite, the storage conformance suite, and the local
# server end to end). Run from anywhere: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
