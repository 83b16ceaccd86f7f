"""How far ahead the denoiser reproduces the context tower's greedy continuation.

For held-out prompts (distill.py --split heldout rows: prompt + the context tower's greedy
continuation) the denoiser sees a block whose first j tokens are committed (the true greedy
tokens) and the rest masked, as in left-to-right confidence decoding; for each distance d from the
frontier (d = 0: the next token) it reports the share of positions where its argmax is the greedy
token, the share whose confidence passes 0.8, and the accuracy of those. Tokens per forward at
gamma 0.8 and the quality of what is committed follow from these curves.

Usage: .venv/bin/python tools/train/frontier.py --model models/default --rows build-train/distill_eval.npz
       [--per-length 32] [--clean 0 4 8] [--json out.json]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import twotower_ref as ref  # noqa: E402

BLOCK = 16


@torch.no_grad()
def measure(model_dir, rows_path, per_length, cleans, gamma=0.8):
    m = ref.TwoTower(model_dir)
    mask = m.cfg.mask_token_id if hasattr(m.cfg, "mask_token_id") else 3
    z = np.load(rows_path)
    counts = {j: np.zeros((BLOCK, 4)) for j in cleans}  # n, correct, confident, confident and correct
    for key in z.files:
        P = int(key[len("prefix"):])
        for row in z[key][:per_length]:
            prompt = torch.tensor(row[:P].astype(np.int64))
            cont = row[P:P + BLOCK].astype(np.int64)
            _, cache = m.context_extend(prompt, m.empty_cache())
            for j in cleans:
                blk = torch.tensor(cont.copy())
                blk[j:] = mask
                logits = m.denoise(blk, torch.tensor((BLOCK - j) / BLOCK), cache)
                logits[:, mask] = -float("inf")
                conf, pred = torch.softmax(logits.double(), -1).max(-1)
                for pos in range(j, BLOCK):
                    ok = int(pred[pos]) == int(cont[pos])
                    hi = float(conf[pos]) > gamma
                    counts[j][pos - j] += (1, ok, hi, ok and hi)
    out = {}
    for j, c in counts.items():
        n = np.maximum(c[:, 0], 1)
        valid = c[:, 0] > 0
        out[f"clean_{j}"] = {
            "accuracy": np.round(c[valid, 1] / n[valid], 3).tolist(),
            "confident_share": np.round(c[valid, 2] / n[valid], 3).tolist(),
            "accuracy_when_confident": np.round(c[valid, 3] / np.maximum(c[valid, 2], 1), 3).tolist(),
            "positions": int(c[:, 0].sum()),
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(HERE, "..", "..", "models", "default"))
    ap.add_argument("--rows", default=os.path.join(HERE, "..", "..", "build-train", "distill_eval.npz"))
    ap.add_argument("--per-length", type=int, default=32, help="rows per prompt length")
    ap.add_argument("--clean", type=int, nargs="+", default=[0, 4, 8], help="committed tokens before the frontier")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    out = measure(a.model, a.rows, a.per_length, a.clean)
    text = json.dumps(out, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    for k, v in out.items():
        print(k, "accuracy by distance", v["accuracy"][:8], "confident", v["confident_share"][:8])


if __name__ == "__main__":
    main()
