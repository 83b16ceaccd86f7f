#!/usr/bin/env bash
# deploy/slurm/twotower.sbatch on a real, private Slurm cluster of this machine:
# starts slurmctld and slurmd (auth/none, every file under a temporary folder,
# free ports), submits the job, waits for the router's /ready, asks for a
# completion through it, checks the Prometheus targets the job wrote, stops it
# the graceful way (SIGTERM to the batch script) and checks that it drained and
# left no process behind.
# Usage: slurm_job.sh TWOTOWER_BINARY REPO_ROOT. Exit 77: Slurm is not installed,
# not root, or this host's name does not resolve (skipped, with the reason).
set -uo pipefail
bin=$1 repo=$2
for c in slurmctld slurmd sbatch squeue scancel sinfo scontrol python3; do
  command -v "$c" > /dev/null || { echo "SKIP: $c not installed (scripts/setup.sh installs Slurm)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: the private Slurm cluster runs its daemons as root"; exit 77; }
host=$(hostname)
getent hosts "$host" > /dev/null || { echo "SKIP: host name $host does not resolve"; exit 77; }

D=$(mktemp -d /tmp/tt-slurm-XXXXXX)
export SLURM_CONF=$D/slurm.conf
daemons=()
ok=0
finish() {
  if [ -n "${job:-}" ]; then  # a failed check: the job goes, whatever state it is in
    scancel "$job" 2>/dev/null
    for _ in $(seq 1 100); do [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  for p in "${daemons[@]}"; do kill "$p" 2>/dev/null; done
  for _ in $(seq 1 50); do
    alive=0; for p in "${daemons[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.1
  done
  for p in "${daemons[@]}"; do kill -9 "$p" 2>/dev/null; done
  # Step daemons of this private cluster's job that outlived it (job ids start at 1 here).
  [ -n "${job:-}" ] && pkill -9 -f "slurmstepd: \[$job\." 2>/dev/null
  wait 2>/dev/null
  if [ "$ok" = 1 ]; then rm -rf "$D"; else
    echo "--- job log"; cat "$D/job.out" 2>/dev/null | tail -40
    echo "--- slurmctld"; tail -15 "$D/slurmctld.log" 2>/dev/null
    echo "--- slurmd"; tail -15 "$D/slurmd.log" 2>/dev/null
    echo "logs kept in $D"
  fi
}
trap finish EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Free TCP ports: slurmctld, slurmd, 2 contexts, metrics x4 (2 cells of a context and a denoiser), router.
read -r p_ctld p_d p_ctx p_met p_api < <(python3 "$repo/tests/deploy/free_ports.py" 1 1 2 4 1)
mkdir -p "$D/state" "$D/spool" "$D/sd"
cat > "$SLURM_CONF" <<EOF
ClusterName=ttprivate
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$p_ctld
SlurmdPort=$p_d
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=30
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=tt Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i > "$D/slurmctld.out" 2>&1 & daemons+=($!)
slurmd -D > "$D/slurmd.out" 2>&1 & daemons+=($!)
for _ in $(seq 1 100); do
  [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.2
done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || fail "the private Slurm node never became idle: $(sinfo 2>&1)"

job=$(sbatch --parsable -N 1 -o "$D/job.out" --chdir "$D" \
  --export=ALL,TT_BIN="$bin",TT_MODEL="$repo/models/default",TT_CELLS_PER_NODE=2,TT_DENOISERS=1,TT_THREADS=1,TT_CONTEXT_PORT="$p_ctx",TT_METRICS_PORT="$p_met",TT_ROUTER_PORT="$p_api",TT_PROM_SD_DIR="$D/sd" \
  "$repo/deploy/slurm/twotower.sbatch") || fail "sbatch refused the job"
echo "job $job submitted"

python3 - "$p_api" "$p_met" "$D/sd" "$host" "$job" "$repo/tests/deploy" <<'PY' || fail "the job's API did not answer as expected"
import json, os, subprocess, sys, time
api, met, sd, host, job = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
sys.path.insert(0, sys.argv[6])
import urllib.request
from api_client import complete, completion_request, get_when_up, wait_ready
queued = lambda: subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True).stdout.strip()
wait_ready(api, lambda: None if queued() else "the job ended before its router was ready", 180)
for _ in range(100):  # the router connects to both cells
    if open(os.path.join(os.path.dirname(sd), "job.out")).read().count("connected to context") == 2:
        break
    time.sleep(0.1)
assert open(os.path.join(os.path.dirname(sd), "job.out")).read().count("connected to context") == 2
out = complete(api, "Once upon a time", 16)
print("completion:", repr(out["choices"][0]["text"]), out["twotower"])
assert out["twotower"]["denoiser_forwards"] > 0, out
# Two cells on the node: context and denoiser /metrics at met, met+1 and met+2, met+3.
for i, family in enumerate(["twotower_context_", "twotower_denoiser_"] * 2):
    assert family in get_when_up(met + i, "/metrics")[1], (met + i, family)
files = sorted(os.listdir(sd))
assert [f.split("-slurm-")[0] for f in files] == ["context", "denoiser", "router"], files
text = open(os.path.join(sd, [f for f in files if f.startswith("denoiser")][0])).read()
assert f'"{host}:{met + 1}", "{host}:{met + 3}"' in text, text
print("prometheus targets:", files)
# A long streamed completion is in flight when the batch script gets SIGTERM: the
# router drains it before the cells stop, so it ends complete.
# gamma 1 commits one token per denoiser forward: 1000 forwards, so the stream is still
# running when TERM comes (a few seconds here).
req = completion_request(api, {"prompt": "Once upon a time", "max_tokens": 1000, "gamma": 1.0, "stream": True,
                              "ignore_eos": True,
                              "stream_options": {"include_usage": True}})
events = []
with urllib.request.urlopen(req, timeout=120) as r:
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        events.append(line[6:])
        if len(events) == 1:
            subprocess.run(["scancel", "--batch", "--signal=TERM", job], check=True)
assert events and events[-1] == "[DONE]", events[-3:]
usage = [json.loads(e)["usage"] for e in events[:-1] if json.loads(e).get("usage")]
assert usage and usage[-1]["completion_tokens"] == 1000, (usage, len(events))
print(f"in-flight stream drained: {len(events) - 1} events, {usage[-1]['completion_tokens']} tokens")
PY
for _ in $(seq 1 300); do
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 0.2
done
[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] || fail "job $job still in the queue 60 s after SIGTERM"
grep -q "twotower: stopped" "$D/job.out" || fail "the job did not stop through its drain path"
# The cells got SIGTERM themselves (scancel --signal=TERM JOB.0), not through srun, which
# would cancel the step and kill them.
! grep -q "forcing job termination" "$D/job.out" || fail "srun killed the cells instead of letting them stop"
[ -z "$(ls "$D/sd")" ] || fail "the job left Prometheus targets behind: $(ls "$D/sd")"
sleep 0.5
left=$(pgrep -f -- "--context-listen 0.0.0.0:$p_ctx|--listen 0.0.0.0:$p_api|--context 127.0.0.1:$p_ctx" || true)
[ -z "$left" ] && echo "no process left" || fail "processes left behind: $left"
job=""
ok=1
echo "PASS: Slurm job served a completion through its router and drained on SIGTERM (scancel --batch)"
