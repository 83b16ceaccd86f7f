#!/usr/bin/env bash
# GPU actors as separate processes on one node (run by tools/device_check.sh on
# the device machine, or by hand where twotower and a GPU are): a context and a
# denoiser on GPU 0 on loopback, once with the transport chosen automatically
# (CUDA IPC: the cache never leaves device memory) and once forced through shared
# memory (host copies); with two GPUs also the denoiser on GPU 1 over CUDA IPC
# and over NCCL. Greedy diffusion and mock-AR must give the same tokens every
# way, and each run must have used the transport it names.
# The twotower binary and its libraries come from .devdeps/twotower (built here
# by tools/device_deps.sh), or TWOTOWER=path. Writes logs and JSON under $1.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-gpu/out/cluster}
# DRY_RUN=1: the same processes on the CPU (no --device; checks this script, not the GPU transports).
dry=${DRY_RUN:-0}
mkdir -p "$out"
bin=${TWOTOWER:-.devdeps/twotower/bin/twotower}
[ -d .devdeps/twotower/lib ] && export LD_LIBRARY_PATH=$PWD/.devdeps/twotower/lib:${LD_LIBRARY_PATH:-}
if ! "$bin" --help > /dev/null 2> "$out/start.err"; then
  echo "SKIP: $bin does not start here:"; head -5 "$out/start.err"; exit 77
fi
model=models/default
prompt="The old man walked down to the river and"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; pids=(); }
trap cleanup EXIT

# run TAG POLICY CTX_GPU DEN_GPU: a context and a denoiser with that transport policy, both modes.
run() {
  local t=$1 policy=$2 port="" i ctx_args=(--device "$3") den_args=(--device "$4")
  [ "$dry" = 1 ] && ctx_args=() && den_args=()
  "$bin" context --listen 127.0.0.1:0 --model $model "${ctx_args[@]}" --transport "$policy" --log-blocks \
    > "$out/context-$t.out" 2> "$out/context-$t.err" &
  local ctx=$!
  pids+=($ctx)
  for i in $(seq 1 300); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out/context-$t.out")
    [ -n "$port" ] && break; kill -0 $ctx 2>/dev/null || break; sleep 0.1
  done
  [ -n "$port" ] || { echo "context ($t) did not start"; tail -5 "$out/context-$t.err"; return 1; }
  "$bin" denoiser --context 127.0.0.1:$port --model $model "${den_args[@]}" \
    > "$out/denoiser-$t.out" 2> "$out/denoiser-$t.err" &
  local den=$!
  pids+=($den)
  for i in $(seq 1 300); do
    grep -q "registered" "$out/context-$t.err" && break; kill -0 $den 2>/dev/null || break; sleep 0.1
  done
  grep "registered" "$out/context-$t.err" || { echo "denoiser ($t) did not register"; tail -5 "$out/denoiser-$t.err"; return 1; }
  for mode in diffusion mock-ar; do
    timeout 120 "$bin" generate --connect 127.0.0.1:$port --prompt "$prompt" --mode $mode --max-tokens 96 --json \
      > "$out/$mode-$t.json" 2> "$out/$mode-$t.err" || { echo "generate $mode ($t) failed"; tail -5 "$out/$mode-$t.err"; return 1; }
  done
  cleanup
}

gpus=$(nvidia-smi -L 2>/dev/null | grep -c "^GPU")
status=0
run shm shm 0 0 || status=1
# tag, policy, context GPU, denoiser GPU, the transport the context must report
runs=("auto auto 0 0 cuda_ipc")
[ "${gpus:-0}" -ge 2 ] && runs+=("ipc2 cuda-ipc 0 1 cuda_ipc" "nccl nccl 0 1 nccl")
[ "$dry" = 1 ] && runs=("auto auto 0 0 shared_memory")
for r in "${runs[@]}"; do
  set -- $r
  run "$1" "$2" "$3" "$4" || { status=1; continue; }
  grep -q "sent to denoiser" "$out/context-$1.err" && ! grep "sent to denoiser" "$out/context-$1.err" | grep -qv ", $5," &&
    echo "$1: every block went over $5" || { echo "FAIL: $1 did not send every block over $5"; status=1; }
  for mode in diffusion mock-ar; do
    python3 - "$out/$mode-$1.json" "$out/$mode-shm.json" "$mode ($1 vs shm)" <<'PY' || status=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ta, tb = a.get("token_ids"), b.get("token_ids")
print(f"{sys.argv[3]}: {len(ta)} vs {len(tb)} tokens, identical: {ta == tb}")
print("  text:", repr(a.get("text", ""))[:160])
sys.exit(0 if ta == tb and ta else 1)
PY
  done
done
echo "cluster check status $status"
exit $status
