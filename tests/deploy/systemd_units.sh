#!/usr/bin/env bash
# deploy/systemd: `systemd-analyze verify` accepts the units (no warning), and
# their ExecStart lines, expanded with twotower.env the way systemd expands them
# (${VAR} one word, $VAR split on blanks), start a cell and a router that serve a
# completion and stop cleanly on SIGTERM. (systemd itself cannot run here: it is
# not this machine's init.)
# Usage: systemd_units.sh TWOTOWER_BINARY REPO_ROOT. Exit 77: no systemd-analyze.
set -uo pipefail
bin=$1 repo=$2
units=$repo/deploy/systemd
D=$(mktemp -d /tmp/tt-systemd-XXXXXX)
pids=()
ok=0
finish() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$ok" = 1 ]; then rm -rf "$D"; else tail -20 "$D"/*.err 2>/dev/null; echo "logs kept in $D"; fi
}
trap finish EXIT
fail() { echo "FAIL: $*"; exit 1; }

if command -v systemd-analyze > /dev/null; then
  for f in "$units"/*.service "$units"/*.target; do
    sed "s#/usr/local/bin/twotower#$bin#" "$f" > "$D/$(basename "$f")"
  done
  out=$(cd "$D" && systemd-analyze verify --man=no ./*.service ./*.target 2>&1) || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
  echo "systemd-analyze verify: the units are clean"
  rm -f "$D"/*.service "$D"/*.target
else
  echo "SKIP: systemd-analyze not installed"; exit 77
fi

# The env file with this test's model and free ports.
read -r p_ctx p_met p_api < <(python3 "$repo/tests/deploy/free_ports.py" 1 3 1)
sed -e "s#^TT_MODEL=.*#TT_MODEL=$repo/models/default#" -e "s#^TT_CONTEXT_LISTEN=.*#TT_CONTEXT_LISTEN=127.0.0.1:$p_ctx#" \
    -e "s#^TT_METRICS_PORT=.*#TT_METRICS_PORT=$p_met#" -e "s#^TT_CELL_ARGS=.*#TT_CELL_ARGS=--threads 1#" \
    -e "s#^TT_ROUTER_LISTEN=.*#TT_ROUTER_LISTEN=127.0.0.1:$p_api#" -e "s#^TT_CONTEXTS=.*#TT_CONTEXTS=127.0.0.1:$p_ctx#" \
    "$units/twotower.env" > "$D/twotower.env"
# systemd's EnvironmentFile: KEY=value, the value is the rest of the line.
while IFS= read -r line; do
  [[ "$line" =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] && export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
done < "$D/twotower.env"
start() {  # unit name: runs its ExecStart line as systemd would expand it
  local line
  line=$(sed -n 's/^ExecStart=//p' "$units/$1.service" | sed "s#/usr/local/bin/twotower#$bin#")
  eval "exec $line" > "$D/$1.out" 2> "$D/$1.err" &
  pids+=($!)
}
start twotower-cell
start twotower-router
python3 - "$p_api" "$p_met" "$repo/tests/deploy" "${pids[@]}" <<'PY' || fail "the units' processes did not serve as expected"
import os, sys
api, met = int(sys.argv[1]), int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from api_client import complete, get_when_up, wait_ready
gone = lambda: next((f"process {p} exited" for p in sys.argv[4:] if not os.path.exists(f"/proc/{p}")), None)
wait_ready(api, gone, 120)
out = complete(api, "In the beginning", 8)
for port in (met, met + 1, met + 2):
    assert "twotower_" in get_when_up(port, "/metrics")[1], port
print("served:", repr(out["choices"][0]["text"]))
PY
for i in 1 0; do  # router first, as systemd stops twotower.target's units (router After cell)
  kill -TERM "${pids[$i]}"
  wait "${pids[$i]}"; rc=$?
  [ "$rc" = 0 ] || fail "unit process $i exited $rc on SIGTERM"
done
pids=()
ok=1
echo "PASS: systemd units verified; their ExecStart lines served a completion and stopped on SIGTERM"
