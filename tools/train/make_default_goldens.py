"""Reference logits of the embedded default model (models/default) for the C++ parity test
tests/model/default_model_test.cpp: context-tower logits over a few tokenized prompts and the
denoiser's logits for an all-mask block after the first prompt (t = 1).

usage: .venv/bin/python tools/train/make_default_goldens.py   (rerun after retraining the model)
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "reference"))
from twotower_ref import TwoTower  # noqa: E402

PROMPTS = ["In the beginning", "Elizabeth said to her sister,", "And Jesus said"]


def main():
    torch.set_num_threads(2)
    model_dir = os.path.join(REPO, "models", "default")
    out_dir = os.path.join(REPO, "tests", "data", "default-goldens")
    os.makedirs(out_dir, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tt = TwoTower(model_dir)
    tensors, ids = {}, {}
    for i, p in enumerate(PROMPTS):
        prompt = tok.encode(p).ids
        ids[f"prompt{i}"] = prompt
        with torch.no_grad():
            logits, cache = tt.context_extend(torch.tensor(prompt), tt.empty_cache())
            tensors[f"context.logits.{i}"] = logits.float().contiguous()
            if i == 0:
                block = torch.full((16,), 3, dtype=torch.long)
                tensors["denoiser.logits.0"] = tt.denoise(block, 1.0, cache).float().contiguous()
    save_file(tensors, os.path.join(out_dir, "logits.safetensors"))
    with open(os.path.join(out_dir, "prompts.json"), "w") as f:
        json.dump({"prompts": PROMPTS, "ids": ids}, f, indent=1)
    print("wrote", out_dir)


if __name__ == "__main__":
    main()
