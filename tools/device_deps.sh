#!/usr/bin/env bash
# Copies what the kernels-only device build (tools/device) needs and a bare CUDA
# image may lack -- googletest sources and the nlohmann/json headers -- into
# .devdeps/ (git-ignored through .git/info/exclude). Run here, then name .devdeps
# in the device run's carry list.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .devdeps && mkdir -p .devdeps/include
cp -r /usr/src/googletest .devdeps/googletest
cp -r /usr/include/nlohmann .devdeps/include/nlohmann
exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devdeps/' "$exclude" 2>/dev/null || echo '/.devdeps/' >> "$exclude"
du -sh .devdeps
