#!/usr/bin/env bash
# Copies what the kernels-only device build (tools/device) needs and a bare CUDA
# image may lack -- googletest sources and the nlohmann/json headers -- into
# .devdeps/ (git-ignored through .git/info/exclude), and the twotower binary
# built here (BUILD, default build-main, configured with CUDA) with the CAF,
# OpenSSL and PCRE2 libraries it links, for tools/device_cluster_check.sh (the
# image has no CAF to build it there). Run here, then name .devdeps in the
# device run's carry list.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .devdeps && mkdir -p .devdeps/include
cp -r /usr/src/googletest .devdeps/googletest
cp -r /usr/include/nlohmann .devdeps/include/nlohmann
bin=${BUILD:-build-main}/bin/twotower
if [ -x "$bin" ] && ldd "$bin" | grep -q libcudart; then
  mkdir -p .devdeps/twotower/bin .devdeps/twotower/lib
  cp "$bin" .devdeps/twotower/bin/
  ldd "$bin" | awk '/libcaf_|libssl|libcrypto|libpcre2/ {print $3}' | xargs -r -I{} cp -L {} .devdeps/twotower/lib/
else
  echo "no CUDA-enabled $bin: the cluster check will be skipped on the device" >&2
fi
exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devdeps/' "$exclude" 2>/dev/null || echo '/.devdeps/' >> "$exclude"
du -sh .devdeps
