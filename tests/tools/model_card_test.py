"""tools/train/model_card.py: paired differences only between evals of the same prompts.

Uses eval files kept in tests/data/model-card (a model's eval and two variants measured against it,
from the default model of 2026-11-29): a variant on the same prompts gets paired interval
columns; the 2,048-token variant, whose tokenizer cut other prompts from the same paragraphs,
gets none and is introduced as having its own prompts.
Usage: python3 model_card_test.py REPO"""
import json
import os
import sys

repo = sys.argv[1]
sys.path.insert(0, os.path.join(repo, "tools", "train"))
import model_card  # noqa: E402

evals = os.path.join(repo, "tests", "data", "model-card")
load = lambda name: json.load(open(os.path.join(evals, name)))
ev, same, other = load("eval.json"), load("variant_prefix_masks.json"), load("variant_vocab_2048.json")


def table(variant):
    lines = []
    model_card.comparison_table(lines.append, "variant", variant, ev)
    return "\n".join(lines)


assert model_card.same_prompts(same, ev)
assert not model_card.same_prompts(other, ev)
assert other["prompts"]["count"] == ev["prompts"]["count"]  # same count: only the examples tell
assert "this model − variant" in table(same) and "Differences: paired" in table(same)
assert "this model − variant" not in table(other) and "Differences" not in table(other), table(other)
assert model_card.prompt_groups(other, ev) is None
assert "same prompts and settings" in model_card.eval_lead("x.json", same, ev)
assert "its own prompts" in model_card.eval_lead("x.json", other, ev)
print("model_card: paired only on the same prompts")
