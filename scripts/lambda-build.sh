#!/usr/bin/env bash
# Builds the 20 Lambda functions (15 User API methods, 3 Token API functions, provisioning,
# event publishing) for arm64 (provided.al2023) with cargo-lambda, as `sam build` does,
# checks each is an arm64 executable, and prints its size. Run from anywhere:
#   ./scripts/lambda-build.sh           the release profile as deployed (fat LTO, one codegen
#                                       unit): about 15 minutes on 2 cores, LTO is per binary
#   ./scripts/lambda-build.sh --check   the `lambda-check` profile (Cargo.toml: unoptimised,
#                                       no debug info): proves all 20 cross-build and link, in
#                                       about 6 minutes on a fresh target directory (what
#                                       ./scripts/test.sh runs; its sizes are not the deployed ones)
# The binaries land in ${CARGO_TARGET_DIR:-target}/lambda/<function>/bootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
profile=(--release)
if [ "${1:-}" = "--check" ]; then
    profile=(--profile lambda-check)
fi
# Every binary but the local server.
mapfile -t FUNCTIONS < <(ls functions/src/bin | sed -n 's/^\(\(users\?\|token\)-.*\)\.rs$/\1/p' | grep -vx users-local)
# As many as template.yaml declares (a function without its binary, or the reverse, fails).
declared=$(grep -c '^    Type: AWS::Serverless::Function$' template.yaml)
test "${#FUNCTIONS[@]}" -eq "$declared" || { echo "template.yaml declares $declared functions, found ${#FUNCTIONS[@]} binaries: ${FUNCTIONS[*]}" >&2; exit 1; }
args=()
for f in "${FUNCTIONS[@]}"; do args+=(--bin "$f"); done
cargo lambda build "${profile[@]}" --arm64 --locked "${args[@]}"
echo "== arm64 bootstrap sizes (target/lambda/<function>/bootstrap)"
for f in "${FUNCTIONS[@]}"; do
    file="${CARGO_TARGET_DIR:-target}/lambda/$f/bootstrap"
    test -x "$file" || { echo "missing $file" >&2; exit 1; }
    file "$file" | grep -q "ARM aarch64" || { echo "$file is not an arm64 binary" >&2; exit 1; }
    printf '%-28s %8d bytes\n' "$f" "$(stat -c %s "$file")"
done
