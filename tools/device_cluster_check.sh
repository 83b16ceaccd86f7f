#!/usr/bin/env bash
# GPU actors as separate processes on one node (run by tools/device_check.sh on
# the device machine, or by hand where twotower and a GPU are): a context on GPU
# N and a denoiser on GPU M (default both 0) on loopback, once with the CUDA IPC
# transport (chosen automatically: the cache never leaves device memory) and
# once forced through shared memory (host copies). Greedy diffusion and mock-AR
# must give the same tokens both ways, and the context must have used cuda_ipc.
# The twotower binary and its libraries come from .devdeps/twotower (built here
# by tools/device_deps.sh), or TWOTOWER=path. Writes logs and JSON under $1.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-gpu/out/cluster}
ctx_dev=${CTX_DEVICE:-0}; den_dev=${DEN_DEVICE:-0}
# DRY_RUN=1: the same processes on the CPU (no --device; checks this script, not CUDA IPC).
ctx_args=(--device "$ctx_dev"); den_args=(--device "$den_dev")
[ "${DRY_RUN:-0}" = 1 ] && ctx_args=() && den_args=()
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

# run TRANSPORT: a context and a denoiser with that transport policy, both modes; 0 on success.
run() {
  local t=$1 port="" i
  "$bin" context --listen 127.0.0.1:0 --model $model "${ctx_args[@]}" --transport "$t" --log-blocks \
    > "$out/context-$t.out" 2> "$out/context-$t.err" &
  pids+=($!)
  for i in $(seq 1 300); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out/context-$t.out")
    [ -n "$port" ] && break; sleep 0.1
  done
  [ -n "$port" ] || { echo "context ($t) did not start"; tail -5 "$out/context-$t.err"; return 1; }
  "$bin" denoiser --context 127.0.0.1:$port --model $model "${den_args[@]}" \
    > "$out/denoiser-$t.out" 2> "$out/denoiser-$t.err" &
  pids+=($!)
  for i in $(seq 1 300); do grep -q "registered" "$out/context-$t.err" && break; sleep 0.1; done
  grep "registered" "$out/context-$t.err" || { echo "denoiser ($t) did not register"; tail -5 "$out/denoiser-$t.err"; return 1; }
  for mode in diffusion mock-ar; do
    timeout 120 "$bin" generate --connect 127.0.0.1:$port --prompt "$prompt" --mode $mode --max-tokens 96 --json \
      > "$out/$mode-$t.json" 2> "$out/$mode-$t.err" || { echo "generate $mode ($t) failed"; tail -5 "$out/$mode-$t.err"; return 1; }
  done
  cleanup
}

status=0
run auto || status=1
run shm || status=1
if [ $status = 0 ]; then
  [ "${DRY_RUN:-0}" = 1 ] || grep -q "cuda_ipc" "$out/context-auto.err" ||
    { echo "FAIL: the auto run did not use cuda_ipc"; status=1; }
  for mode in diffusion mock-ar; do
    python3 - "$out/$mode-auto.json" "$out/$mode-shm.json" "$mode" <<'PY' || status=1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
ta, tb = a.get("token_ids"), b.get("token_ids")
print(f"{sys.argv[3]}: auto (cuda_ipc) {len(ta)} tokens, shm {len(tb)} tokens, identical: {ta == tb}")
print("  text:", repr(a.get("text", ""))[:200])
sys.exit(0 if ta == tb and ta else 1)
PY
  done
fi
echo "cluster check status $status"
exit $status
