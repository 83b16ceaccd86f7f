#!/usr/bin/env bash
# Reproduce the default model (models/default) in one command:
#   corpus (if missing) -> tokenizer (if missing) -> equivalence check -> context tower ->
#   denoiser tower -> export (always attempted, also after an interrupted run) -> samples.
#
# Usage: tools/train/train.sh [--budget-minutes 90] [--resume] [other train.py options]
#   --budget-minutes N   training time of both towers together (default 90; half each);
#                        corpus/tokenizer building, checks and export come on top (~3 min).
#   --resume             continue from build-train/ckpt.pt (same options as the first run).
# Environment: WORK (default build-train), OUT (default models/default), PY (default .venv/bin/python).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
py="${PY:-$repo/.venv/bin/python}"
work="${WORK:-$repo/build-train}"
out="${OUT:-$repo/models/default}"
mkdir -p "$work" "$out"
# The CPU is shared: with busy-waiting OpenMP threads, 2 threads ran 5x slower than 1 under load.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

resume=0
for arg in "$@"; do [[ "$arg" == "--resume" ]] && resume=1; done

if [[ ! -s build-corpus/train.txt || ! -s build-corpus/heldout.txt ]]; then
    tools/train/corpus/build_corpus.sh || exit 1
fi
if [[ ! -s "$out/tokenizer.json" ]]; then
    "$py" tools/train/tokenizer/train_tokenizer.py --out "$out/tokenizer.json" || exit 1
fi

if [[ $resume == 0 ]]; then
    # The batched training forwards must equal the reference model (the C++ engine's spec).
    "$py" tools/train/check_equivalence.py --json "$work/equivalence.json" || exit 1
fi

"$py" tools/train/train.py --work "$work" --tokenizer "$out/tokenizer.json" \
    --log "$out/training_log.jsonl" "$@"
rc=$?
[[ $rc != 0 ]] && echo "train.py exited with $rc: exporting the best checkpoints so far" >&2

"$py" tools/train/export.py --work "$work" --out "$out" --tokenizer "$out/tokenizer.json" || exit 1
"$py" tools/train/sample.py --model "$out" --tokens 32 --json "$work/samples.json" || true
exit $rc
