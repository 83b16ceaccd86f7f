#!/usr/bin/env bash
# The prepared GPU check, for a session lent a GPU (H100/H200, 16 cores): in one
# run, < 8 minutes, it builds the kernels-only project (tools/device) for this
# card, runs the gpu-labelled parity tests (kernels, GPU tower, GPU decoding
# backend), the CUDA kernel benchmark, AR vs diffusion on the default model and the
# PyTorch-eager reference on the same shapes, the context and denoiser as two
# processes over CUDA IPC (tools/device_cluster_check.sh), and writes everything to $OUT
# (or build-gpu/out). Prepare here first: tools/device_deps.sh, then run with
# carry [".devdeps"] and command `tools/device_check.sh`.
# Options: --quick (shorter timings), --no-bench (tests only).
set -uo pipefail
cd "$(dirname "$0")/.."
quick=""; bench=1
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    --no-bench) bench=0 ;;
    *) echo "usage: tools/device_check.sh [--quick] [--no-bench]" >&2; exit 2 ;;
  esac
done
# Everything goes to build-gpu/out; $OUT (the device tool's folder, which returns at most
# 8 files) gets a tarball of it and the main results.
out=build-gpu/out
rm -rf "$out"; mkdir -p "$out"
deliver() {
  [ -n "${OUT:-}" ] || return 0
  tar czf "$OUT/device_check.tgz" -C build-gpu out
  for f in ctest.log cluster.txt compare.txt bench_cuda.json bench_decode.json bench_torch.json; do
    [ -f "$out/$f" ] && cp "$out/$f" "$OUT/"
  done
}
trap deliver EXIT
start=$(date +%s)
step() { echo "== [$(( $(date +%s) - start ))s] $*"; }
status=0

step "device"
nvidia-smi --query-gpu=name,compute_cap,memory.total,clocks.max.sm,clocks.max.mem --format=csv | tee "$out/device.txt"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
arch=${arch:-90}
jobs=$(nproc)

step "configure (sm_$arch)"
gen=""; command -v ninja >/dev/null && gen="-G Ninja"
timeout 120 cmake -S tools/device -B build-gpu $gen -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CUDA_ARCHITECTURES="$arch" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }

step "build"
timeout 300 cmake --build build-gpu -j "$jobs" > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }

step "ctest -L gpu"
timeout 180 ctest --test-dir build-gpu -L gpu --output-on-failure 2>&1 | tee "$out/ctest.log" | tail -40
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
grep -q "Skipped" "$out/ctest.log" && { echo "gpu tests were SKIPPED: no device visible"; status=1; }

step "GPU actors as processes: context + denoiser over CUDA IPC vs shared memory"
timeout 150 tools/device_cluster_check.sh "$out/cluster" 2>&1 | tee "$out/cluster.txt" | tail -12
case "${PIPESTATUS[0]}" in 0|77) ;; *) status=1 ;; esac

if [ "$bench" = 1 ]; then
  step "CUDA kernel benchmark"
  timeout 150 build-gpu/bin/tt_cuda_bench $quick > "$out/bench_cuda.json" 2> "$out/bench_cuda.err" || status=1
  step "GPU decoding: AR vs diffusion on the default model (GPU and CPU backends)"
  timeout 120 build-gpu/bin/tt_gpu_decode_bench $quick > "$out/bench_decode.json" 2> "$out/bench_decode.err" || status=1
  tail -8 "$out/bench_decode.err"
  step "PyTorch eager reference"
  PYTHONUNBUFFERED=1 timeout 150 python3 tools/bench/torch_eager_ref.py $quick > "$out/bench_torch.json" \
    2> "$out/bench_torch.err" || status=1
  step "side by side"
  python3 tools/bench/gpu_compare.py "$out/bench_cuda.json" "$out/bench_torch.json" | tee "$out/compare.txt"
fi
step "done (status $status)"
exit $status
