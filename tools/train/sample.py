"""Load an exported model with the reference `TwoTower` (tools/reference/twotower_ref.py) and
generate from a few prompts in AR and diffusion mode (tools/reference/modes.py), plus held-out
scores. A check that the export is complete and loadable, and a look at the samples.

Usage: .venv/bin/python tools/train/sample.py [--model models/default] [--tokens 32] [--json OUT]
"""
import argparse
import json
import os
import sys
import time

import torch
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import modes  # noqa: E402
import twotower_ref as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PROMPTS = ["The cat sat on the mat.", "In the beginning", "Elizabeth said to her sister,",
           "And Jesus said"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "models", "default"))
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--gamma", type=float, default=0.8)
    ap.add_argument("--prompts", nargs="*", default=PROMPTS)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(2)
    tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
    m = ref.TwoTower(a.model)
    res = []
    with torch.no_grad():
        for p in a.prompts:
            ids = tok.encode(p).ids
            t0 = time.time()
            ar, _ = modes.generate_ar(m, ids, a.tokens)
            t1 = time.time()
            df, blocks, fw, _ = modes.generate_diffusion(m, ids, a.tokens, a.gamma)
            t2 = time.time()
            r = {"prompt": p, "ar": tok.decode(ar, skip_special_tokens=False),
                 "diffusion": tok.decode(df, skip_special_tokens=False),
                 "diffusion_denoiser_forwards": fw, "diffusion_tokens": len(df),
                 "ar_s": round(t1 - t0, 2), "diffusion_s": round(t2 - t1, 2)}
            res.append(r)
            print(json.dumps(r, ensure_ascii=False), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
