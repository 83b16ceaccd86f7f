"""Writes the tiny random-weight TwoTower checkpoint and the goldens the C++ tests compare against:

  tests/data/tiny-random/{config.json, model.safetensors, tokenizer.json}
  tests/data/tiny-random/goldens/{layers.safetensors, trajectories.json}

Deterministic: rerunning reproduces the same bytes (fixed seeds, 2 torch threads).
Usage:  .venv/bin/python tools/reference/make_tiny_random.py [--out DIR] [--seed N] [--no-check]
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modes  # noqa: E402
import tiny_weights  # noqa: E402
import twotower_ref as ref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOKENIZER = os.path.join(ROOT, "tests", "data", "tokenizer", "tokenizer.json")
WEIGHT_SEED = 20240611

PROMPT_TEXTS = {"long": "The cat sat on the mat.", "short": "Hi"}   # 11 and 3 ids with BOS
EXTEND_TEXT = " The dog ran"                                        # 5 ids, no BOS
M = modes.MASK_ID
# 16-token block for the single denoiser-forward golden: 10 masked, 6 real tokens.
BLOCK_IDS = [M, 565, M, M, 483, M, 74, M, M, M, 642, M, 290, M, 310, M]


def encode(tok, text, bos):
    return tok.encode(text, add_special_tokens=bos).ids


def write_checkpoint(out_dir, seed):
    os.makedirs(out_dir, exist_ok=True)
    cfg = tiny_weights.TINY_CONFIG
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    save_file(tiny_weights.make_weights(cfg, seed), os.path.join(out_dir, "model.safetensors"),
              metadata={"format": "pt"})
    shutil.copyfile(TOKENIZER, os.path.join(out_dir, "tokenizer.json"))


def layer_goldens(model, P, E, X):
    """Named per-layer tensors (all F32) of the fixed prompt/extension/block."""
    g = {}
    rec = {}
    logits, cache = model.context_extend(P, model.empty_cache(), record=rec)
    g["context.embed"] = rec["embed"]
    for i, h in enumerate(rec["layers"]):
        g[f"context.layer.{i}"] = h
    g["context.final_norm"] = rec["final_norm"]
    g["context.logits"] = logits
    for i in cache.ssm:
        g[f"context.mamba.{i}.ssm"] = cache.ssm[i]
        g[f"context.mamba.{i}.conv"] = cache.conv[i]
    rec = {}
    ext_logits, _ = model.context_extend(E, cache, record=rec)
    for i, h in enumerate(rec["layers"]):
        g[f"context_ext.layer.{i}"] = h
    g["context_ext.logits"] = ext_logits
    rec = {}
    n_masked = sum(1 for x in X if x == M)
    g["denoiser.logits"] = model.denoise(X, n_masked / len(X), cache, record=rec)
    g["denoiser.t_emb"] = rec["t_emb"]
    for i, h in enumerate(rec["layers"]):
        g[f"denoiser.layer.{i}"] = h
    g["denoiser_allmask.logits"] = model.denoise([M] * len(X), 1.0, cache)
    _, cache_wo_last = model.context_extend(P[:-1], model.empty_cache())
    g["mock_ar.logits"] = modes.mock_ar_first_logits(model, P, cache_wo_last)
    return {k: v.to(torch.float32).contiguous() for k, v in g.items()}


def trajectory_runs(model, prompts, extend_ids):
    runs = []

    def add(run, margins):
        run["min_margin"] = margins.as_dict()
        runs.append(run)

    for P in prompts:
        base = {"prompt_ids": P}
        toks, mg = modes.generate_ar(model, P, 40)
        add({"mode": "ar", **base, "max_tokens": 40, "temperature": 0.0, "seed": 0,
             "tokens": toks}, mg)
        greedy_ar = toks
        toks, mg = modes.generate_ar(model, P, 40, temperature=0.8, seed=7)
        add({"mode": "ar", **base, "max_tokens": 40, "temperature": 0.8, "seed": 7,
             "tokens": toks}, mg)
        toks, mg = modes.generate_mock_ar(model, P, 24)
        add({"mode": "mock_ar", **base, "max_tokens": 24, "temperature": 0.0, "seed": 0,
             "tokens": toks}, mg)
        for gamma, S, T, n, temp, seed in ((0.5, 16, 16, 48, 0.0, 0), (0.8, 16, 16, 48, 0.0, 0),
                                           (0.95, 16, 16, 48, 0.0, 0), (0.8, 16, 16, 48, 0.7, 11),
                                           (0.8, 8, 4, 20, 0.0, 0)):
            toks, blocks, fw, mg = modes.generate_diffusion(model, P, n, gamma, S, T, temp, seed)
            add({"mode": "diffusion", **base, "max_tokens": n, "temperature": temp, "seed": seed,
                 "gamma": gamma, "block_size": S, "steps": T, "tokens": toks,
                 "denoiser_forwards": fw, "blocks": blocks}, mg)
        for cont in (extend_ids, [t for t in greedy_ar if t != modes.EOS_ID][:8]):
            lp, per = modes.score(model, P, cont)
            runs.append({"mode": "score", **base, "continuation_ids": cont, "logprob": lp,
                         "token_logprobs": per})
    return runs


def rng_vectors():
    out = []
    for seed, stream, counter in ((0, 0, 0), (7, modes.AR_STREAM_BASE, 5), (11, (1 << 24) | (3 << 12) | 9, 1023),
                                  ((1 << 64) - 1, 12345, 77)):
        key = modes.mix64(modes.mix64(modes.mix64(seed) ^ stream) ^ counter)
        u = modes.counter_uniform(seed, stream, counter)
        out.append({"seed": str(seed), "stream": str(stream), "counter": counter,
                    "mix64_seed_hex": f"{modes.mix64(seed):016x}", "key_hex": f"{key:016x}",
                    "uniform": u, "gumbel": float(-np.log(-np.log(u)))})
    return out


def confidence_summary(model, prompts):
    """Distribution of the denoiser's max probability (MASK excluded) at every masked position
    of the greedy gamma=0.8 runs."""
    seen = []
    plain = model.denoise

    def hook(x, t, cache, record=None):
        lg = plain(x, t, cache, record)
        l2 = lg.clone()
        l2[:, M] = float("-inf")
        p = torch.softmax(l2, -1).max(-1).values
        seen.extend(float(p[i]) for i in range(len(x)) if x[i] == M)
        return lg

    model.denoise = hook
    try:
        for P in prompts:
            modes.generate_diffusion(model, P, 48, 0.8)
    finally:
        model.denoise = plain
    c = np.array(seen)
    return {"count": len(c), "quantiles": dict(zip(["min", "p10", "p25", "p50", "p75", "p90", "max"],
                                                    np.quantile(c, [0, .1, .25, .5, .75, .9, 1]).round(4).tolist())),
            "frac_gt_0.5": float((c > 0.5).mean()), "frac_gt_0.8": float((c > 0.8).mean()),
            "frac_gt_0.95": float((c > 0.95).mean())}


def build(out_dir, seed=WEIGHT_SEED):
    torch.set_num_threads(2)
    write_checkpoint(out_dir, seed)
    tok = Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))
    prompts = {k: encode(tok, v, True) for k, v in PROMPT_TEXTS.items()}
    assert len(prompts["long"]) == 11 and len(prompts["short"]) == 3, prompts
    E = encode(tok, EXTEND_TEXT, False)
    assert len(E) == 5, E
    model = ref.TwoTower(out_dir)
    gdir = os.path.join(out_dir, "goldens")
    os.makedirs(gdir, exist_ok=True)
    save_file(layer_goldens(model, prompts["long"], E, BLOCK_IDS),
              os.path.join(gdir, "layers.safetensors"), metadata={"format": "pt"})
    traj = {
        "prompt_texts": PROMPT_TEXTS, "prompt_ids": prompts, "extend_text": EXTEND_TEXT,
        "extend_ids": E, "block_ids": BLOCK_IDS,
        "block_t": sum(1 for x in BLOCK_IDS if x == M) / len(BLOCK_IDS),
        "tokenizer_sha256": hashlib.sha256(open(TOKENIZER, "rb").read()).hexdigest(),
        "mask_id": M, "eos_id": modes.EOS_ID, "rng_vectors": rng_vectors(),
        "runs": trajectory_runs(model, [prompts["long"], prompts["short"]], E),
    }
    with open(os.path.join(gdir, "trajectories.json"), "w") as f:
        json.dump(traj, f, indent=1)
        f.write("\n")
    for d, names in ((out_dir, ("model.safetensors",)), (gdir, ("layers.safetensors",))):
        for n in names:
            os.chmod(os.path.join(d, n), 0o644)   # safetensors creates files 0600
    return model, traj, prompts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "tiny-random"))
    ap.add_argument("--seed", type=int, default=WEIGHT_SEED)
    ap.add_argument("--no-check", action="store_true", help="skip selfcheck.py")
    args = ap.parse_args()
    model, traj, prompts = build(args.out, args.seed)
    for r in traj["runs"]:
        if r["mode"] != "score":
            extra = f" gamma={r['gamma']} S={r['block_size']} T={r['steps']} fw={r['denoiser_forwards']}" \
                if r["mode"] == "diffusion" else ""
            print(f"{r['mode']:9s} P{len(r['prompt_ids']):<2d} temp={r['temperature']}{extra} "
                  f"n={len(r['tokens'])} eos={modes.EOS_ID in r['tokens']} margins={r['min_margin']}")
    print("denoiser confidence:", json.dumps(confidence_summary(model, list(prompts.values()))))
    if not args.no_check:
        import selfcheck
        selfcheck.run(args.out)


if __name__ == "__main__":
    main()
