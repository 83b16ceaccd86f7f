#!/usr/bin/env bash
# Builds twotower and runs every test (ctest). Extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
./scripts/test_venv.sh build/test-venv  # openai + schemathesis for the router tests
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure -j "$jobs" "$@"
