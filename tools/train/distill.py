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

Refinement rows (`--mode best`, train.py --phase refineN): for the same prompts, the greedy
continuation and the model's own diffusion decoding at --gamma; per prompt the row keeps the one
the context tower gives the higher mean log-probability per token (through the first EOS). The
denoiser then trains on continuations it can produce itself (so it grows confident on them and
commits more per forward) without falling below the teacher's own greedy choice on the measure
`twotower eval` reports. `--greedy FILE` reuses this model's greedy rows for the same prompts (the
context tower is frozen, so they do not change between rounds). Statistics go to OUT.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

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


def engine_continue(binary, model_dir, prompts, n_new, work, mode="ar", gamma=0.8, procs=2):
    """The same continuation through the C++ engine's batch command (mode "ar"), or the model's
    own diffusion decoding at threshold gamma (mode "diffusion", block 16, 16 steps, greedy).
    The prompts are split over `procs` engine processes of one thread each: on this tiny model
    two 1-thread processes decode 1.8x as fast as one 2-thread process, token for token the same
    (measured on 2 cores: 512 prompts at gamma 0.9, 10.0 s against 18.3 s)."""
    size = max(1, -(-len(prompts) // procs))
    shards = [(i, prompts[i:i + size]) for i in range(0, len(prompts), size)]
    runs = []
    for k, (start, part) in enumerate(shards):
        src = os.path.join(work, f"distill_prompts.{k}.jsonl")
        dst = os.path.join(work, f"distill_out.{k}.jsonl")
        with open(src, "w") as f:
            for p in part:
                f.write(json.dumps({"prompt_ids": [int(x) for x in p]}) + "\n")
        cmd = [binary, "batch", "--model", model_dir, "--mode", mode, "--gamma", str(gamma),
               "--block-size", str(M.BLOCK), "--steps", str(M.BLOCK), "--max-tokens", str(n_new),
               "--batch", "64", "--threads", "1", "--input", src, "--output", dst]
        runs.append((start, dst, cmd, subprocess.Popen(cmd)))
    out = np.full((len(prompts), n_new), D.EOS, dtype=np.int32)
    failed = [(proc.returncode, cmd) for _, _, cmd, proc in runs if proc.wait() != 0]
    if failed:
        raise subprocess.CalledProcessError(*failed[0])
    for start, dst, _, _ in runs:
        with open(dst) as f:
            for line in f:
                r = json.loads(line)
                ids = r["token_ids"]
                out[start + r["index"], :len(ids)] = ids
    return out


def load_trainable(model_dir):
    """An export (config.json + model.safetensors) as model.TrainModel, in float32."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    params = M.ParamTree(M.all_shapes(M.ref_config(cfg)))
    sd = params.state_dict()
    sd.update(ref.load_weights(os.path.join(model_dir, "model.safetensors")))
    params.load_state_dict(sd)
    return M.TrainModel(cfg, params)


@torch.no_grad()
def continuation_logprob(tm, rows, P, batch=128):
    """rows int [N, P + n]: the context tower's mean log-probability per continuation token,
    through the first EOS (the engine stops there; the EOS padding after it is not scored)."""
    out = []
    for i in range(0, len(rows), batch):
        x = torch.from_numpy(rows[i:i + batch].astype(np.int64))
        h, _ = tm.context_forward(x)
        _, logits = tm.context.final(h[:, P - 1:-1])
        lp = F.log_softmax(logits.float(), -1).gather(-1, x[:, P:, None])[..., 0]
        eos = x[:, P:] == D.EOS
        n = lp.shape[1]
        first = torch.where(eos.any(1), eos.int().argmax(1), torch.full((len(x),), n - 1))
        keep = torch.arange(n)[None] <= first[:, None]
        out.append(((lp * keep).sum(1) / keep.sum(1)).numpy())
    return np.concatenate(out)


def repeated_bigrams(rows, P):
    """Per row: 1 - distinct bigrams / bigrams of the continuation (through the first EOS)."""
    out = []
    for r in rows:
        x = r[P:].tolist()
        x = x[:x.index(D.EOS)] if D.EOS in x else x
        bg = list(zip(x, x[1:]))
        out.append(1.0 - len(set(bg)) / len(bg) if bg else 0.0)
    return np.array(out)


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
    ap.add_argument("--mode", choices=["ar", "diffusion", "best"], default="ar",
                    help="ar: the context tower's greedy continuation (distillation); diffusion: the "
                         "model's own diffusion decoding at --gamma; best: per prompt the one of the "
                         "two the context tower scores higher (refinement rows)")
    ap.add_argument("--gamma", type=float, default=0.9, help="threshold of the diffusion decoding")
    ap.add_argument("--greedy", default=None,
                    help="--mode best: this model's greedy rows for the same prompts (same --seed, "
                         "--count, --prefix-blocks, --split), instead of generating them again; "
                         "their context-tower scores too when the file holds them (--save-greedy)")
    ap.add_argument("--save-greedy", default=None,
                    help="--mode best: write the greedy rows and their scores here, for the next "
                         "round's --greedy (the frozen context tower gives the same ones every round)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engine-procs", type=int, default=2,
                    help="engine processes of one thread each that share the prompts")
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "bin", "twotower"),
                    help="the C++ engine; 'reference' generates with PyTorch instead")
    a = ap.parse_args()
    if not 0.0 < a.gamma < 1.0:
        ap.error(f"--gamma: a threshold between 0 and 1, got {a.gamma}")
    if a.engine_procs < 1:
        ap.error(f"--engine-procs: at least 1, got {a.engine_procs}")
    if a.binary == "reference" and a.mode != "ar":
        ap.error("--binary reference generates greedy AR continuations only (--mode ar)")
    greedy = np.load(a.greedy) if a.greedy else None
    torch.set_num_threads(a.threads)
    stream, starts = D.tokenize_corpus(os.path.join(a.corpus, a.split + ".txt"),
                                       os.path.join(a.model, "tokenizer.json"), a.work)
    rng = np.random.default_rng(a.seed)
    arrays, stats, tm, saved_greedy = {}, {}, None, {}
    t0 = time.time()
    for pb in a.prefix_blocks:
        P = pb * M.BLOCK                                       # <s> + P-1 corpus tokens
        win = D.Windows(stream, starts, P - 1)
        if a.distinct and a.count > len(win.starts):
            sys.exit(f"distill.py: --distinct needs --count <= {len(win.starts)} (the paragraph "
                     f"starts with {P - 1} tokens after them), got {a.count}")
        prompts = win.sample(rng, a.count, replace=not a.distinct)
        key, n_new = f"prefix{P}", a.blocks * M.BLOCK
        if a.binary == "reference":
            m = ref.TwoTower(a.model)
            cont = np.concatenate([greedy_batch(m, torch.from_numpy(prompts[i:i + a.batch]),
                                                n_new).numpy()
                                   for i in range(0, a.count, a.batch)])
        elif a.mode != "best":
            cont = engine_continue(a.binary, a.model, prompts, n_new, a.work, a.mode, a.gamma,
                                   a.engine_procs)
        else:
            if greedy is not None:
                g = greedy[key] if key in greedy.files else None
                if g is None or g.shape != (a.count, P + n_new) or (g[:, :P] != prompts).any():
                    sys.exit(f"distill.py: {a.greedy} does not hold greedy rows for these prompts "
                             f"({key}: same --seed, --count, --prefix-blocks and --split needed)")
                g = g[:, P:]
            else:
                g = engine_continue(a.binary, a.model, prompts, n_new, a.work, "ar",
                                    procs=a.engine_procs)
            d = engine_continue(a.binary, a.model, prompts, n_new, a.work, "diffusion", a.gamma,
                                a.engine_procs)
            rows_g = np.concatenate([prompts, g], 1)
            rows_d = np.concatenate([prompts, d], 1)
            if tm is None:
                tm = load_trainable(a.model)
            lg = (greedy["logprob_" + key] if greedy is not None and "logprob_" + key in greedy.files
                  else continuation_logprob(tm, rows_g, P))
            ld = continuation_logprob(tm, rows_d, P)
            saved_greedy[key], saved_greedy["logprob_" + key] = rows_g.astype(np.int32), lg
            pick = ld >= lg
            cont = np.where(pick[:, None], d, g)
            rg, rd = repeated_bigrams(rows_g, P), repeated_bigrams(rows_d, P)
            stats[key] = {"diffusion_share": float(pick.mean()),
                          "same_as_greedy": float((d == g).all(1).mean()),
                          "logprob_greedy": float(lg.mean()), "logprob_diffusion": float(ld.mean()),
                          "logprob_kept": float(np.where(pick, ld, lg).mean()),
                          "repeated_bigrams_greedy": float(rg.mean()),
                          "repeated_bigrams_diffusion": float(rd.mean()),
                          "repeated_bigrams_kept": float(np.where(pick, rd, rg).mean())}
            print(f"prefix {P}: " + ", ".join(f"{k} {v:.3f}" for k, v in stats[key].items()), flush=True)
        arrays[key] = np.concatenate([prompts.astype(np.int32), cont.astype(np.int32)], 1)
        print(f"prefix {P}: {a.count} sequences ({time.time() - t0:.0f}s)", flush=True)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    np.savez(a.out, **arrays)
    if a.save_greedy and saved_greedy:
        np.savez(a.save_greedy, **saved_greedy)
    if stats:
        with open(a.out + ".json", "w") as f:
            json.dump({"gamma": a.gamma, "count": a.count, "split": a.split,
                       "seconds": round(time.time() - t0), "prefixes": stats}, f, indent=1)
    print(f"wrote {a.out}: {', '.join(f'{k} {v.shape}' for k, v in arrays.items())}")


if __name__ == "__main__":
    main()
