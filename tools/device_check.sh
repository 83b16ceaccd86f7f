#!/usr/bin/env bash
# The prepared GPU check, for a session lent a GPU (H100/H200, 16 cores). In one
# run of a few minutes it runs the gpu-labelled parity tests (kernels, GPU tower,
# GPU decoding backend, cache regions), the context and denoiser as two processes
# over CUDA IPC (tools/device_cluster_check.sh), the CUDA kernel and layer-stack
# benchmark, AR vs diffusion on the default model, and the PyTorch-eager
# reference on the same shapes, and writes everything to build-gpu/out.
#
# Prepare here first (it takes no device time):
#   cmake -S tools/device -B build-devport -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 \
#         -DTT_DEVICE_MARCH=x86-64-v3 && ninja -C build-devport
#   cmake -S . -B build-devbin -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 -DTWOTOWER_NATIVE=OFF \
#         && ninja -C build-devbin twotower
#   BUILD=build-devbin PREBUILT=build-devport tools/device_deps.sh
# then run `tools/device_check.sh` there with carry [".devdeps"]. Without the
# prebuilt binaries (or if they do not start there) it builds tools/device there.
#
# The device tool returns at most 8 files: after every step $OUT gets a tarball of
# build-gpu/out and the main results, so a run cut off by its limit still reports.
# Options: --quick (shorter timings), --no-bench (tests only), --build (ignore prebuilt).
set -uo pipefail
cd "$(dirname "$0")/.."
quick=""; bench=1; prebuilt=1
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    --no-bench) bench=0 ;;
    --build) prebuilt=0 ;;
    *) echo "usage: tools/device_check.sh [--quick] [--no-bench] [--build]" >&2; exit 2 ;;
  esac
done
out=build-gpu/out
rm -rf "$out"; mkdir -p "$out/tests"
deliver() {
  [ -n "${OUT:-}" ] || return 0
  tar czf "$OUT/device_check.tgz" -C build-gpu out 2>/dev/null
  for f in tests.log cluster.txt compare.txt bench_cuda.json bench_decode.json bench_torch.json; do
    [ -f "$out/$f" ] && cp "$out/$f" "$OUT/"
  done
}
trap deliver EXIT
start=$(date +%s)
step() { deliver; echo "== [$(( $(date +%s) - start ))s] $*"; }
status=0

step "device"
{ nvidia-smi --query-gpu=name,compute_cap,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv
  nvcc --version | tail -1; lscpu | grep -E '^Model name|^CPU\(s\)'; uname -r; } 2>&1 | tee "$out/device.txt"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
arch=${arch:-90}

# CUDA's runtime libraries for binaries built elsewhere: the toolkit's, else PyTorch's wheels.
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
         $(python3 -c 'import nvidia, os; [print(os.path.join(p, "cu13", "lib")) for p in nvidia.__path__]' 2>/dev/null); do
  [ -d "$d" ] && export LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d
done
nccl=$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib", "libnccl.so.2"))' 2>/dev/null)
[ -n "$nccl" ] && [ -f "$nccl" ] && export TT_NCCL_LIBRARY=$nccl

bin=""
if [ "$prebuilt" = 1 ] && [ -x .devdeps/gpu-bin/gpu_norm_test ]; then
  # The binaries embed the source root they were built in (model and test data paths).
  root=$(cat .devdeps/source_root 2>/dev/null)
  if [ -n "$root" ] && [ "$(pwd -P)" != "$root" ] && [ ! -e "$root" ]; then
    mkdir -p "$(dirname "$root")" && ln -s "$(pwd -P)" "$root"
  fi
  if .devdeps/gpu-bin/gpu_norm_test --gtest_list_tests > "$out/prebuilt.txt" 2>&1; then
    bin=.devdeps/gpu-bin; step "prebuilt binaries start here (source root $root)"
  else
    step "prebuilt binaries do not start here:"; tail -5 "$out/prebuilt.txt"
  fi
fi
if [ -z "$bin" ]; then
  step "configure (sm_$arch)"
  gen=""; command -v ninja >/dev/null && gen="-G Ninja"
  timeout 120 cmake -S tools/device -B build-gpu $gen -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  step "build"
  timeout 300 cmake --build build-gpu -j "$(nproc)" > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
  bin=build-gpu/bin
fi

step "gpu tests (each binary on its own, 6 at a time)"
ls "$bin"/gpu_*_test | xargs -P 6 -I{} sh -c \
  'n=$(basename {}); timeout 120 {} > '"$out"'/tests/$n.log 2>&1; echo "$n rc=$?"' | sort > "$out/tests/rc.txt"
{ for f in "$out"/tests/gpu_*_test.log; do
    n=$(basename "$f" .log)
    echo "## $n $(grep "^$n rc=" "$out/tests/rc.txt" | head -1)"
    grep -E '^\[  (PASSED|FAILED|SKIPPED) |^\[==========\] [0-9]+ tests? from .* ran|Failure|error|Error' "$f" | head -40
  done; } > "$out/tests.log"
cat "$out/tests/rc.txt"
grep -v "rc=0$" "$out/tests/rc.txt" > /dev/null && status=1
grep -h "^\[  SKIPPED \] .* (" "$out"/tests/*.log | sed 's/ (.*//' | sort -u | head -20
# A failing binary's failed tests again under compute-sanitizer (memcheck), two binaries at most.
if command -v compute-sanitizer > /dev/null; then
  for n in $(grep -v "rc=0$" "$out/tests/rc.txt" | awk '{print $1}' | head -2); do
    filter=$(sed -n 's/^\[  FAILED  \] \([A-Za-z0-9_/.]*\) (.*/\1/p' "$out/tests/$n.log" | head -3 | paste -sd: -)
    step "compute-sanitizer $n ${filter:-all}"
    timeout 60 compute-sanitizer --tool memcheck --print-limit 20 "$bin/$n" ${filter:+--gtest_filter=$filter} \
      > "$out/tests/$n.memcheck.log" 2>&1
    grep -E "Invalid|ERROR SUMMARY|Program hit|at 0x|by thread" "$out/tests/$n.memcheck.log" | head -12 | tee -a "$out/tests.log"
  done
fi

step "GPU actors as processes: context + denoiser over CUDA IPC vs shared memory"
timeout 120 tools/device_cluster_check.sh "$out/cluster" > "$out/cluster.txt" 2>&1
case "$?" in 0|77) ;; *) status=1 ;; esac
tail -12 "$out/cluster.txt"

if [ "$bench" = 1 ]; then
  step "CUDA kernel benchmark + real-size layer stack"
  timeout 120 "$bin"/tt_cuda_bench $quick > "$out/bench_cuda.json" 2> "$out/bench_cuda.err" || status=1
  tail -3 "$out/bench_cuda.err"
  step "PyTorch eager reference (same shapes)"
  PYTHONUNBUFFERED=1 timeout 120 python3 tools/bench/torch_eager_ref.py $quick > "$out/bench_torch.json" \
    2> "$out/bench_torch.err" || status=1
  tail -3 "$out/bench_torch.err"
  step "side by side"
  python3 tools/bench/gpu_compare.py "$out/bench_cuda.json" "$out/bench_torch.json" > "$out/compare.txt" 2>&1
  cat "$out/compare.txt"
  step "GPU decoding: AR vs diffusion on the default model (GPU and CPU backends)"
  timeout 120 "$bin"/tt_gpu_decode_bench $quick > "$out/bench_decode.json" 2> "$out/bench_decode.err" || status=1
  tail -8 "$out/bench_decode.err"
fi
step "done (status $status)"
exit $status
