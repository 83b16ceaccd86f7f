"""Distillation data for the denoiser: greedy continuations of the frozen context tower.

A denoiser commits several tokens per forward only where it is confident about tokens beyond the
next one. On natural prose a small model never is (the context tower itself passes p > 0.8 on
~7% of held-out tokens), but the AR model's *greedy* continuation is a deterministic function of
the context, so a denoiser trained on it can learn to predict whole stretches with confidence
(the idea of consistency / self-distillation for parallel decoders). This script writes
prompt + greedy continuation pairs from the *training* split, with prompts ending at a block
boundary so train.py's block-aligned denoiser loss covers exactly the continuation blocks.

Usage: .venv/bin/python tools/train/distill.py --model models/default --out build-train/distill.npz
       [--count 4096] [--prefix-blocks 1 2 3] [--blocks 4] [--binary build/bin/twotower]
The C++ engine (`twotower batch --mode ar`) generates with the context tower of --model (the
exported BF16 weights), ~50x faster than the PyTorch reference; `greedy_batch` is the reference
path (tests/check: the two agree token for token). A continuation that ends at EOS is padded with
EOS (the engine stops there; the denoiser learns that EOS is followed by EOS).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
sys.path.insert(0, HERE)
import data as D  # noqa: E402
import model as M  # noqa: E402
import twotower_ref as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


@torch.no_grad()
def greedy_batch(m, prompts, n_new):
    """prompts int64 [B, P] -> greedy continuation int64 [B, n_new] (batched, cached)."""
    B = prompts.shape[0]
    cache = ref.TowerCache(m.cfg, batch=(B,))
    h, cache = m.context.forward(m.context.embed(prompts), cache, causal=True)
    out = []
    for _ in range(n_new):
        _, logits = m.context.final(h[:, -1:])
        nxt = logits[:, 0].argmax(-1)                 # ties: lowest id, as the engine
        out.append(nxt)
        h, cache = m.context.forward(m.context.embed(nxt[:, None]), cache, causal=True)
    return torch.stack(out, 1)


def engine_greedy(binary, model_dir, prompts, n_new, work):
    """The same continuation through the C++ engine's batch command."""
    src = os.path.join(work, "distill_prompts.jsonl")
    dst = os.path.join(work, "distill_out.jsonl")
    with open(src, "w") as f:
        for p in prompts:
            f.write(json.dumps({"prompt_ids": [int(x) for x in p]}) + "\n")
    subprocess.run([binary, "batch", "--model", model_dir, "--mode", "ar", "--max-tokens", str(n_new),
                    "--batch", "64", "--input", src, "--output", dst], check=True)
    out = np.full((len(prompts), n_new), D.EOS, dtype=np.int32)
    with open(dst) as f:
        for line in f:
            r = json.loads(line)
            ids = r["token_ids"]
            out[r["index"], :len(ids)] = ids
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(REPO, "models", "default"))
    ap.add_argument("--corpus", default=os.path.join(REPO, "build-corpus"))
    ap.add_argument("--split", choices=["train", "heldout"], default="train",
                    help="prompts from this corpus split (heldout: the distillation eval set)")
    ap.add_argument("--work", default=os.path.join(REPO, "build-train"))
    ap.add_argument("--out", default=os.path.join(REPO, "build-train", "distill.npz"))
    ap.add_argument("--count", type=int, default=4096, help="sequences per prefix length")
    ap.add_argument("--prefix-blocks", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--distinct", action="store_true",
                    help="prompts from distinct paragraph starts per prefix length (default: drawn "
                         "with replacement, so some rows repeat)")
    ap.add_argument("--blocks", type=int, default=4, help="continuation blocks per sequence")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "bin", "twotower"),
                    help="the C++ engine; 'reference' generates with PyTorch instead")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    stream, starts = D.tokenize_corpus(os.path.join(a.corpus, a.split + ".txt"),
                                       os.path.join(a.model, "tokenizer.json"), a.work)
    rng = np.random.default_rng(a.seed)
    arrays = {}
    t0 = time.time()
    for pb in a.prefix_blocks:
        P = pb * M.BLOCK                                       # <s> + P-1 corpus tokens
        win = D.Windows(stream, starts, P - 1)
        if a.distinct and a.count > len(win.starts):
            sys.exit(f"distill.py: --distinct needs --count <= {len(win.starts)} (the paragraph "
                     f"starts with {P - 1} tokens after them), got {a.count}")
        prompts = win.sample(rng, a.count, replace=not a.distinct)
        if a.binary == "reference":
            m = ref.TwoTower(a.model)
            cont = np.concatenate([greedy_batch(m, torch.from_numpy(prompts[i:i + a.batch]),
                                                a.blocks * M.BLOCK).numpy()
                                   for i in range(0, a.count, a.batch)])
        else:
            cont = engine_greedy(a.binary, a.model, prompts, a.blocks * M.BLOCK, a.work)
        arrays[f"prefix{P}"] = np.concatenate([prompts.astype(np.int32), cont.astype(np.int32)], 1)
        print(f"prefix {P}: {a.count} sequences ({time.time() - t0:.0f}s)", flush=True)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    np.savez(a.out, **arrays)
    print(f"wrote {a.out}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}")


if __name__ == "__main__":
    main()
