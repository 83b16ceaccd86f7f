#!/usr/bin/env bash
# Prepares .devdeps/ (git-ignored through .git/info/exclude) for the device check
# (tools/device_check.sh), so a session lent a GPU spends its minutes measuring:
#  - googletest sources and nlohmann/json headers, for building tools/device there;
#  - the twotower binary built here (BUILD, default build-main, configured with CUDA)
#    with the CAF, OpenSSL and PCRE2 libraries it links, for
#    tools/device_cluster_check.sh (the image has no CAF to build it there);
#  - with PREBUILT=DIR (a tools/device build made here, e.g. with
#    -DTT_DEVICE_MARCH=x86-64-v3 -DCMAKE_CUDA_ARCHITECTURES=90): its test and
#    benchmark binaries, stripped, in .devdeps/gpu-bin, and the source root they
#    were compiled against (they embed it) in .devdeps/source_root.
# Build portable binaries (TWOTOWER_NATIVE=OFF, TT_DEVICE_MARCH=x86-64-v3): the
# device's CPU is not this one. Then name .devdeps in the device run's carry list.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .devdeps && mkdir -p .devdeps/include
cp -r /usr/src/googletest .devdeps/googletest
cp -r /usr/include/nlohmann .devdeps/include/nlohmann
bin=${BUILD:-build-main}/bin/twotower
if [ -x "$bin" ] && ldd "$bin" | grep -q libcudart; then
  mkdir -p .devdeps/twotower/bin .devdeps/twotower/lib
  cp "$bin" .devdeps/twotower/bin/ && strip .devdeps/twotower/bin/twotower
  ldd "$bin" | awk '/libcaf_|libssl|libcrypto|libpcre2/ {print $3}' | xargs -r -I{} cp -L {} .devdeps/twotower/lib/
else
  echo "no CUDA-enabled $bin: the cluster check will be skipped on the device" >&2
fi
if [ -n "${PREBUILT:-}" ]; then
  mkdir -p .devdeps/gpu-bin
  cp "$PREBUILT"/bin/gpu_*_test "$PREBUILT"/bin/tt_cuda_bench "$PREBUILT"/bin/tt_gpu_decode_bench .devdeps/gpu-bin/
  strip .devdeps/gpu-bin/*
  pwd -P > .devdeps/source_root
fi
exclude=$(git rev-parse --git-path info/exclude)
grep -qx '/.devdeps/' "$exclude" 2>/dev/null || echo '/.devdeps/' >> "$exclude"
du -sh .devdeps
