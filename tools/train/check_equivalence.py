"""Unit check: the batched training forwards equal twotower_ref's per-sequence model.

  1. chunked differentiable scan == exact sequential recurrence (seeded state, batched);
  2. context tower: batched training logits (chunked scan, causal mask) == TwoTower.context_extend;
  3. denoiser: the batched training forward of block b (all blocks in parallel, block-causal mask,
     caches sliced from one context pass) == TwoTower.denoise(block b, t_b, cache of seq[:b*16]),
     i.e. the computation the C++ engine runs.
Relative error (max |a-b| / max |b|) must be < 1e-4.  Run on random-init weights with non-trivial
time conditioning and router biases (so every path is exercised), or on a checkpoint (--ckpt).

Usage: .venv/bin/python tools/train/check_equivalence.py [--ckpt build-train/xxx.pt] [--json OUT]
"""
import argparse
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
from model import ref  # noqa: E402


def rel(a, b):
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


def run(params, cfg_dict, seq_len=64, batch=2, seed=5, blocks=None):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    tm = M.TrainModel(cfg_dict, params)
    cfg = tm.cfg
    results = {}
    # 1. scan
    nh, hd, G, N = cfg.mamba_heads, cfg.mamba_head_dim, cfg.n_groups, cfg.state_size
    T = 48
    x = torch.randn(batch, 3, T, nh, hd, generator=gen)
    dt = torch.rand(batch, 3, T, nh, generator=gen) * 0.2
    A = -torch.rand(nh, generator=gen) * 4
    B = torch.randn(batch, 3, T, G, N, generator=gen)
    C = torch.randn(batch, 3, T, G, N, generator=gen)
    D = torch.randn(nh, generator=gen)
    S0 = torch.randn(batch, 3, nh, hd, N, generator=gen)
    goh = torch.arange(nh) // (nh // G)
    y1, s1 = ref.ssm_scan(x, dt, A, B, C, D, S0, goh)
    y2, s2 = ref.ssm_scan_chunked(x, dt, A, B, C, D, S0, goh, chunk=16)
    results["scan_y"] = rel(y2, y1)
    results["scan_final_state"] = rel(s2[..., -1, :, :, :], s1)
    _, smid = ref.ssm_scan(x[..., :32, :, :], dt[..., :32, :], A, B[..., :32, :, :], C[..., :32, :, :], D, S0, goh)
    results["scan_boundary_state_32"] = rel(s2[..., 2, :, :, :], smid)

    # reference model on the same weights
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg_dict, f)
        W = {k: v.detach().clone() for k, v in tm.W.items()}
        rm = ref.TwoTower(d, weights=W)
    seq = torch.randint(4, cfg.vocab_size, (batch, seq_len), generator=gen)
    seq[:, 0] = 1
    with torch.no_grad():
        # 2. context tower
        h, _ = tm.context_forward(seq)
        _, logits = tm.context.final(h)
        errs = []
        for r in range(batch):
            lr, _ = rm.context_extend(seq[r].tolist(), rm.empty_cache())
            errs.append(rel(logits[r], lr))
        results["context_logits"] = max(errs)
        # 3. denoiser, all blocks 1.. in parallel, against denoise() per block
        nbt = seq_len // M.BLOCK
        first = 1
        _, full = tm.context_forward(seq)
        cache = tm.block_caches(full, first, nbt - first)
        clean = seq[:, first * M.BLOCK:].reshape(batch, nbt - first, M.BLOCK)
        m = torch.rand(clean.shape, generator=gen) < 0.6
        m[0, 0] = True                                # one all-masked block
        noisy = torch.where(m, torch.full_like(clean, M.MASK_ID), clean)
        t_blocks = m.float().mean(-1)
        dl = tm.denoiser_logits(noisy, t_blocks, cache, first)
        errs = {}
        for r in range(batch):
            for j in range(nbt - first):
                b = first + j
                _, c = rm.context_extend(seq[r, :b * M.BLOCK].tolist(), rm.empty_cache())
                lr = rm.denoise(noisy[r, j].tolist(), float(t_blocks[r, j]), c)
                errs[(r, b)] = rel(dl[r, j], lr)
        results["denoiser_logits_max"] = max(errs.values())
        results["denoiser_blocks_checked"] = len(errs)
    return results


def perturb_for_check(params, gen):
    """Random-init weights have t_block = 0 and zero router biases; give them values so the
    check exercises time conditioning and biased routing."""
    W = params.W()
    with torch.no_grad():
        for k, v in W.items():
            if k.startswith("t_block.1.") or k.startswith("scale_shift_tables."):
                v.add_(torch.randn(v.shape, generator=gen) * 0.05)
            if k.endswith("e_score_correction_bias"):
                v.copy_(torch.randn(v.shape, generator=gen) * 0.05)
            if k.startswith("denoiser_tower.") or k == "lm_head.weight":
                v.add_(torch.randn(v.shape, generator=gen) * 0.01 * v.std().clamp_min(0.01))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", help="a training checkpoint (.pt with 'params'); default random init")
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    cfg_dict = dict(M.DEFAULT_CONFIG)
    cfg = M.ref_config(cfg_dict)
    params = M.ParamTree(M.all_shapes(cfg))
    gen = torch.Generator().manual_seed(0)
    if a.ckpt:
        ck = torch.load(a.ckpt, map_location="cpu", weights_only=False)
        cfg_dict = ck.get("config", cfg_dict)
        params = M.ParamTree(M.all_shapes(M.ref_config(cfg_dict)))
        params.load_state_dict(ck["params"])
    else:
        M.init_weights(params, cfg, gen)
        perturb_for_check(params, gen)
    res = run(params, cfg_dict, seq_len=a.seq_len)
    ok = all(v < 1e-4 for k, v in res.items() if not k.endswith("checked"))
    res["pass"] = ok
    print(json.dumps(res, indent=1))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
