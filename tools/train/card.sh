#!/usr/bin/env bash
# Measure a model trained by train.sh with the C++ engine and write its model card:
#   twotower eval of the export -> eval of the denoiser before distillation (best_context.pt +
#   best_denoiser.pt exported on the side) -> frontier.py -> the refinement rounds' row statistics
#   -> OUT/eval/*.json -> model_card.py.
#
# Usage: tools/train/card.sh [--wall-minutes N [--wall-note TEXT]] [--previous-eval FILE --previous-recipe TEXT]
#                            [--variant-eval FILE --variant-recipe TEXT] [--machine TEXT]
#                            [--distill-variant-eval FILE --distill-variant-recipe TEXT]
#   --wall-minutes N      the measured wall time of the whole train.sh run, for the card;
#   --wall-note TEXT      what that run included or skipped (default: corpus and tokenizer prebuilt);
#   --previous-eval FILE  `twotower eval` JSON of the model this one replaces (kept as
#                         OUT/eval/previous_recipe.json), with one sentence on its recipe;
#   --variant-eval FILE   `twotower eval` JSON of a recipe variant measured and not committed (kept
#                         under OUT/eval/ by its file name), with what it changed and measured
#                         (--variant-recipe); repeat both for several variants, in the same order;
#   --distill-variant-eval FILE  the same for a variant of the distillation stage, compared with
#                         --previous-eval (the distilled model a refined one replaces).
# Environment: WORK (default build-train), OUT (default models/default), PY (default .venv/bin/python),
#   TWOTOWER_BIN (default build/bin/twotower, built when missing), HELDOUT (default
#   build-corpus/heldout.txt).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
heldout="${HELDOUT:-$repo/build-corpus/heldout.txt}"
card_args=()
previous=""
variants=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --wall-minutes|--wall-note|--machine|--previous-recipe|--variant-recipe|--distill-variant-recipe)
            card_args+=("$1" "$2"); shift ;;
        --variant-eval|--distill-variant-eval) variants+=("$1" "$2"); shift ;;
        --previous-eval) previous="$2"; shift ;;
        *) echo "card.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for f in "$work/best_context.pt" "$out/model.safetensors" "$heldout"; do
    [[ -s "$f" ]] || { echo "card.sh: missing $f (run tools/train/train.sh first)" >&2; exit 1; }
done
tt_engine

# Copies FILE into OUT/eval/ as NAME (unless it is that file) and prints the path there.
kept_in_eval() {
    local dst="$out/eval/$2"
    [[ "$(realpath "$1")" == "$(realpath -m "$dst")" ]] || cp "$1" "$dst" || return
    echo "$dst"
}

mkdir -p "$out/eval"
"$binary" eval --model "$out" --heldout "$heldout" > "$out/eval/eval.json"
card_args+=(--eval "$out/eval/eval.json")

if [[ -s "$work/best_distill.pt" && -s "$work/best_denoiser.pt" ]]; then
    pre="$work/before_distillation"
    rm -rf "$pre" && mkdir -p "$pre/work" "$pre/out"
    ln -s "$work/best_context.pt" "$work/best_denoiser.pt" "$pre/work/"
    "$py" tools/train/export.py --work "$pre/work" --out "$pre/out" --tokenizer "$out/tokenizer.json" >/dev/null
    "$binary" eval --model "$pre/out" --heldout "$heldout" > "$out/eval/before_distillation.json"
    card_args+=(--baseline-eval "$out/eval/before_distillation.json")
fi
if [[ -s "$work/distill_eval.npz" ]]; then
    "$py" tools/train/frontier.py --model "$out" --rows "$work/distill_eval.npz" \
        --json "$out/eval/frontier.json" > "$work/frontier.out"
    card_args+=(--frontier "$out/eval/frontier.json")
fi
for ((r = 1; ; r++)); do  # the refinement rounds' row statistics (distill.py --mode best)
    [[ -s "$work/refine$r.npz.json" ]] || break
    card_args+=(--refine-rows "$(kept_in_eval "$work/refine$r.npz.json" "refine${r}_rows.json")")
done
[[ -z "$previous" ]] || card_args+=(--previous-eval "$(kept_in_eval "$previous" previous_recipe.json)")
for ((i = 0; i < ${#variants[@]}; i += 2)); do
    card_args+=("${variants[i]}" "$(kept_in_eval "${variants[i + 1]}" "$(basename "${variants[i + 1]}")")")
done
"$py" tools/train/model_card.py --out "$out" "${card_args[@]}"
