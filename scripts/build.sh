#!/usr/bin/env bash
# Configures and builds twotower (Release) into build/; the binary is build/bin/twotower.
# Arguments go to the configure step; TT_BUILD_TARGET=NAME builds only that target.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$jobs" ${TT_BUILD_TARGET:+--target "$TT_BUILD_TARGET"}
