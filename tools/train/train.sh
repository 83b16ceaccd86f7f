#!/usr/bin/env bash
# Reproduce the default model (models/default) in one command:
#   corpus (if missing) -> tokenizer (if missing) -> equivalence check -> context tower ->
#   denoiser tower -> export -> distillation data (greedy continuations of the exported context
#   tower, C++ engine) -> distill phase (denoiser on those + corpus) -> export -> refinement rounds
#   (rows: per prompt the better-scored of greedy and the model's own diffusion decoding; denoiser
#   on those; export after each) -> samples.
#   Export is always attempted, also after an interrupted run.
#
# Usage: tools/train/train.sh [--steps context=2000,denoiser=700,distill=3600]
#                            [--budget-minutes 100] [--distill-minutes 100] [--distill-count 6144]
#                            [--distill-distinct 0] [--distill-batch 24] [--distill-frac 1]
#                            [--distill-prefix-frac 0] [--distill-full-frac 0] [--refine-rounds 4]
#                            [--refine-steps 600] [--refine-count 3072] [--refine-gamma 0.9]
#                            [--refine-lr 5e-4] [--resume]
#                            [train.py options]
#   --steps              training steps per phase (the committed recipe): the learning-rate
#                        schedule and the stopping point depend on steps only, so a seeded run takes
#                        the same steps (not bit-exact with 2 threads: runs part at the 6th digit;
#                        with 1 thread they are, ~20% slower); measured here (2 cores, AMD EPYC,
#                        AVX-512, 2026-11-30, GOMP_SPINCOUNT=2000, idle): 17 + 8 + 30 min,
#                        then rounds of 7.5 + 5, 5 + 5, 4.5 + 5 and 4 + 5 min (rows + training);
#                        98 min in all with the corpus prebuilt;
#   --budget-minutes N   safety stop for both towers together (default 100; --context-share 0.55
#                        of it for the context tower): a phase stops early only if its share of
#                        the time is spent, as on a machine much slower than ours;
#   --distill-minutes N  safety stop of the distill phase and of each refinement round (default 100;
#                        0 skips the phase and the refinement rounds, which start from its denoiser);
#   --distill-count N    greedy continuations per prompt length for the distill phase (default 6144);
#   --distill-distinct B 1: each length's prompts start at distinct paragraphs; 0 (default): drawn
#                        with replacement (about 10% of the rows repeat at 6144);
#   --distill-batch N    sequences per distillation batch (default 24; corpus batches stay 8 x 256);
#   --distill-lr X       peak learning rate of the distill phase (default 1.5e-3);
#   --distill-frac F     share of distill-phase batches drawn from the continuations (default 1; the
#                        rest are corpus windows);
#   --distill-prefix-frac F  share of distill sequences with a clean prefix per block (default 0);
#   --distill-full-frac F    share of distill blocks masked whole, t = 1 (default 0);
#   --refine-rounds N    refinement rounds after distillation (default 4; 0 skips them). Round r:
#                        distill.py --mode best with the current export (greedy rows reused from the
#                        distillation data when the counts match; rounds after the first reuse round
#                        1's greedy rows and scores, WORK/refine_greedy_N.npz), then train.py --phase refine<r>
#                        from round r - 1's denoiser, then export; ~10 min a round here;
#   --refine-steps N     steps per round (default 600); --refine-count N prompts per length
#                        (default 3072); --refine-gamma G threshold of the diffusion decoding that
#                        competes with greedy (default 0.9); --refine-lr X peak learning rate (5e-4);
#   --resume             continue from build-train/ckpt.pt (same options as the first run).
# Environment: WORK (default build-train), OUT (default models/default), PY (default .venv/bin/python),
#   TWOTOWER_BIN (the C++ engine for the distillation data; default build/bin/twotower, whose
#   twotower target is built when missing).
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$work" "$out"
# The CPU is shared: with busy-waiting OpenMP threads, 2 threads ran 5x slower than 1 under load.
# Fully passive threads sleep at every one of the many small ops, though. A short spin before
# sleeping (GOMP_SPINCOUNT, which overrides the wait policy) is the compromise: fast on an idle
# machine, little lost under load (measured in tools/train/README.md, "Throughput notes").
# GOMP_SPINCOUNT=0 restores fully passive threads.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
export GOMP_SPINCOUNT="${GOMP_SPINCOUNT:-2000}"

resume=0
distill_minutes=100
distill_count=6144
distill_batch=24
distill_lr=1.5e-3
distill_frac=1
prefix_frac=0
full_frac=0
distinct=0
steps="context=2000,denoiser=700,distill=3600"
refine_rounds=4
refine_steps=600
refine_count=3072
refine_gamma=0.9
refine_lr=5e-4
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --resume) resume=1; args+=("$1") ;;
        --distill-minutes) distill_minutes="$2"; shift ;;
        --distill-count) distill_count="$2"; shift ;;
        --distill-batch) distill_batch="$2"; shift ;;
        --distill-lr) distill_lr="$2"; shift ;;
        --distill-frac) distill_frac="$2"; shift ;;
        --distill-prefix-frac) prefix_frac="$2"; shift ;;
        --distill-full-frac) full_frac="$2"; shift ;;
        --distill-distinct) distinct="$2"; shift ;;
        --refine-rounds) refine_rounds="$2"; shift ;;
        --refine-steps) refine_steps="$2"; shift ;;
        --refine-count) refine_count="$2"; shift ;;
        --refine-gamma) refine_gamma="$2"; shift ;;
        --refine-lr) refine_lr="$2"; shift ;;
        --steps) steps="$2"; shift ;;
        *) args+=("$1") ;;
    esac
    shift
done
[[ $distinct == 0 || $distinct == 1 ]] || { echo "train.sh: --distill-distinct takes 0 or 1, got $distinct" >&2; exit 2; }
[[ $refine_rounds =~ ^[0-4]$ ]] || { echo "train.sh: --refine-rounds takes 0 to 4, got $refine_rounds" >&2; exit 2; }
has_budget=0 has_share=0
for arg in "${args[@]}"; do
    [[ "$arg" == "--budget-minutes" ]] && has_budget=1
    [[ "$arg" == "--context-share" ]] && has_share=1
done
[[ $has_budget == 0 ]] && args+=(--budget-minutes 100)
[[ $has_share == 0 ]] && args+=(--context-share 0.55)

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
    --log "$out/training_log.jsonl" --steps "$steps" "${args[@]}"
rc=$?
[[ $rc != 0 ]] && echo "train.py exited with $rc: exporting the best checkpoints so far" >&2

"$py" tools/train/export.py --work "$work" --out "$out" --tokenizer "$out/tokenizer.json" || exit 1

if [[ $rc == 0 && "$distill_minutes" != 0 ]]; then
    # The C++ engine generates the distillation data ~50x faster than the PyTorch reference.
    tt_engine || binary=reference
    if [[ ! -s "$work/distill.npz" ]]; then
        "$py" tools/train/distill.py --model "$out" --work "$work" --binary "$binary" \
            --count "$distill_count" $([[ $distinct == 1 ]] && echo --distinct) \
            --out "$work/distill.npz" || exit 1
        "$py" tools/train/distill.py --model "$out" --work "$work" --binary "$binary" \
            --split heldout --count 32 --prefix-blocks 1 2 --out "$work/distill_eval.npz" || exit 1
    fi
    "$py" tools/train/train.py --work "$work" --tokenizer "$out/tokenizer.json" \
        --log "$out/training_log.jsonl" --resume --phase distill --budget-minutes "$distill_minutes" \
        --steps "$steps" --distill "$work/distill.npz" --distill-eval "$work/distill_eval.npz" \
        --distill-batch "$distill_batch" --distill-lr "$distill_lr" --distill-frac "$distill_frac" \
        --distill-prefix-frac "$prefix_frac" --distill-full-frac "$full_frac"
    rc=$?
    "$py" tools/train/export.py --work "$work" --out "$out" --tokenizer "$out/tokenizer.json" || exit 1
    if [[ $refine_rounds != 0 && $binary == reference ]]; then
        echo "train.sh: refinement needs the C++ engine's diffusion decoding; skipping it" >&2
        refine_rounds=0
    fi
    # Greedy rows of the refinement prompts: the distillation rows when they are for the same prompts,
    # else round 1 makes them; round 1 saves them with their scores for the later rounds (the context
    # tower is frozen, so they are the same every round).
    saved="$work/refine_greedy_$refine_count.npz"
    greedy=()
    [[ $refine_count == "$distill_count" && $distinct == 0 ]] && greedy=(--greedy "$work/distill.npz")
    for ((r = 1; rc == 0 && r <= refine_rounds; r++)); do
        rows="$work/refine$r.npz" eval_rows="$work/refine${r}_eval.npz"
        if [[ ! -s "$rows" || ! -s "$eval_rows" ]]; then
            g=("${greedy[@]}" --save-greedy "$saved")
            [[ -s "$saved" ]] && g=(--greedy "$saved")
            "$py" tools/train/distill.py --model "$out" --work "$work" --mode best \
                --gamma "$refine_gamma" --count "$refine_count" "${g[@]}" --out "$rows" || exit 1
            "$py" tools/train/distill.py --model "$out" --work "$work" --mode best \
                --gamma "$refine_gamma" --split heldout --count 32 --prefix-blocks 1 2 \
                --out "$eval_rows" || exit 1
        fi
        "$py" tools/train/train.py --work "$work" --tokenizer "$out/tokenizer.json" \
            --log "$out/training_log.jsonl" --resume --phase "refine$r" \
            --budget-minutes "$distill_minutes" --steps "refine$r=$refine_steps" --distill "$rows" \
            --distill-eval "$eval_rows" --distill-batch "$distill_batch" --refine-lr "$refine_lr"
        rc=$?
        "$py" tools/train/export.py --work "$work" --out "$out" --tokenizer "$out/tokenizer.json" || exit 1
    done
fi
"$py" tools/train/sample.py --model "$out" --tokens 32 --json "$work/samples.json" || true
exit $rc
