#!/usr/bin/env bash
# Builds the image of deploy/container/Containerfile with podman and runs it: not part of
# ctest (it compiles the binary inside the image: minutes on 2 cores). From the repo root:
#   deploy/container/check.sh            # needs podman (and runc where crun refuses)
# With BASE=debootstrap it first makes local debian:12 / debian:12-slim images from the
# Debian mirror (for machines that reach no container registry). Checks:
#  1. `generate` in the image (read-only root) gives the host binary's tokens (HOST_BIN);
#  2. `serve` in the image (read-only, uid 10001) answers a completion, exits 0 on SIGTERM;
#  3. a context and a denoiser in two containers sharing the PID namespace and /dev/shm
#     (a pod with shareProcessNamespace) pick shared memory and give the same tokens.
# PODMAN (default "podman") may carry runtime options, e.g.
#   PODMAN="podman --runtime runc --cgroup-manager cgroupfs" (hosts in cgroup hybrid mode).
set -euo pipefail
cd "$(dirname "$0")/../.."
P=${PODMAN:-podman}
# Limits the sandbox may not let a container raise.
R=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
host_bin=${HOST_BIN:-build/bin/twotower}
prompt="Elizabeth said to her sister,"
tokens() { python3 -c "import json,sys; print(json.load(sys.stdin)['token_ids'])"; }

if [ "${BASE:-}" = debootstrap ]; then
  root=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian > /dev/null
  tar -C "$root" -c . | $P import - localhost/debian:12 > /dev/null
  $P tag localhost/debian:12 localhost/debian:12-slim
  rm -rf "$root"
fi
$P build --pull=never --network host "${R[@]}" -f deploy/container/Containerfile -t localhost/twotower:check .
cleanup() { for c in tt-check-serve tt-check-den tt-check-ctx; do $P rm -f "$c" > /dev/null 2>&1 || true; done; }
cleanup
trap cleanup EXIT

want=$("$host_bin" generate --prompt "$prompt" --max-tokens 16 --json 2> /dev/null | tokens)
got=$($P run --rm "${R[@]}" --read-only localhost/twotower:check generate --prompt "$prompt" --max-tokens 16 --json \
      2> /dev/null | tokens)
[ "$got" = "$want" ] || { echo "FAIL: generate in the image: $got, host: $want"; exit 1; }
echo "ok: generate in the image gives the host's tokens"

$P run -d --name tt-check-serve "${R[@]}" --read-only --network host --user 10001 localhost/twotower:check \
  serve --host 127.0.0.1 --port 28000 --denoisers 2 > /dev/null
for _ in $(seq 1 60); do curl -sf localhost:28000/ready > /dev/null && break; sleep 0.5; done
curl -sf localhost:28000/v1/completions -d '{"model":"default","prompt":"In the beginning","max_tokens":16}' |
  python3 -c "import json,sys; assert json.load(sys.stdin)['usage']['completion_tokens'] == 16"
$P stop -t 60 tt-check-serve > /dev/null
[ "$($P inspect tt-check-serve --format '{{.State.ExitCode}}')" = 0 ] || { echo "FAIL: serve exit status"; exit 1; }
echo "ok: serve in the image (read-only, uid 10001) answers and exits 0 on SIGTERM"

$P run -d --name tt-check-ctx "${R[@]}" --read-only --network host --ipc shareable --user 10001 \
  localhost/twotower:check context --listen 127.0.0.1:27000 --log-blocks > /dev/null
$P run -d --name tt-check-den "${R[@]}" --read-only --network host --ipc container:tt-check-ctx \
  --pid container:tt-check-ctx --user 10001 localhost/twotower:check \
  denoiser --context 127.0.0.1:27000 --wait-context 60 > /dev/null
for _ in $(seq 1 60); do $P logs tt-check-ctx 2>&1 | grep -q registered && break; sleep 0.5; done
got=$("$host_bin" generate --connect 127.0.0.1:27000 --prompt "$prompt" --max-tokens 16 --json 2> /dev/null | tokens)
log=$($P logs tt-check-ctx 2>&1)
[ "$got" = "$want" ] || { echo "FAIL: context + denoiser containers: $got, in-process: $want"; exit 1; }
grep -q "registered (.*shared_memory transport)" <<< "$log" || { echo "FAIL: not shared memory: $log"; exit 1; }
echo "ok: context and denoiser containers (shared PID namespace and /dev/shm) use shared memory, same tokens"
