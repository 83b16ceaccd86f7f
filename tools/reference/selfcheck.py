"""Sanity checks of the reference against itself, on the tiny checkpoint:
  1. sequential Mamba recurrence vs an independent chunked (SSD) formulation, incl. seeded state;
  2. K/V-cached extension and token-by-token decode vs full recompute;
  3. mock-AR first logits three ways;
  4. float32 reference vs float64 reference (how much fp32 noise the goldens carry);
  5. counter RNG: Python-int vs vectorised numpy.
Usage: .venv/bin/python tools/reference/selfcheck.py [MODEL_DIR]   (exit status 1 on failure)
"""
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import modes  # noqa: E402
import twotower_ref as ref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def chunked_scan(x, dt, A, B, C, D, state, group_of_head, chunk=4):
    """Mamba-2 SSD in chunk form (float64): within a chunk, y_t = C_t . (exp(a_t) S0 +
    sum_{s<=t} exp(a_t - a_s) dt_s x_s B_s) + D x_t with a_t the cumulative log-decay."""
    dtp = x.dtype
    x, dt, A, B, C, D, S = (v.double() for v in (x, dt, A, B, C, D, state))
    Bh, Ch = B[:, group_of_head], C[:, group_of_head]                   # [T, nh, N]
    ys = []
    for c0 in range(0, x.shape[0], chunk):
        sl = slice(c0, c0 + chunk)
        a = torch.cumsum(dt[sl] * A, 0)                                  # [L, nh]
        L = a.shape[0]
        decay = torch.exp(a[:, None, :] - a[None, :, :])                 # [t, s, nh]
        decay = decay * torch.tril(torch.ones(L, L, dtype=x.dtype))[:, :, None]
        cb = torch.einsum("thn,shn->tsh", Ch[sl], Bh[sl])
        y = torch.einsum("tsh,sh,shp->thp", cb * decay, dt[sl], x[sl])
        y = y + torch.einsum("thn,hpn,th->thp", Ch[sl], S, torch.exp(a))
        ys.append(y + D[None, :, None] * x[sl])
        w = torch.exp(a[-1][None, :] - a) * dt[sl]                       # [L, nh]
        S = torch.exp(a[-1])[:, None, None] * S + torch.einsum("sh,shp,shn->hpn", w, x[sl], Bh[sl])
    return torch.cat(ys).to(dtp), S.to(dtp)


def rel(a, b):
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


class Checker:
    def __init__(self):
        self.failed = 0

    def __call__(self, name, err, tol):
        ok = err <= tol
        self.failed += not ok
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {err:.3g} (tol {tol:g})")


def run(model_dir):
    torch.set_num_threads(2)
    import json
    traj = json.load(open(os.path.join(model_dir, "goldens", "trajectories.json")))
    P, E, X = traj["prompt_ids"]["long"], traj["extend_ids"], traj["block_ids"]
    t_block = traj["block_t"]
    m = ref.TwoTower(model_dir)
    check = Checker()
    print("selfcheck:", model_dir)

    # 1. sequential vs chunked scan, through whole forwards (prefill from zero state, extension
    #    and the denoiser block from seeded states), chunk 4 so that chunks straddle everything.
    seq_logits, seq_cache = m.context_extend(P, m.empty_cache())
    seq_ext, _ = m.context_extend(E, seq_cache)
    seq_den = m.denoise(X, t_block, seq_cache)
    plain = ref.ssm_scan
    ref.ssm_scan = chunked_scan
    try:
        ch_logits, ch_cache = m.context_extend(P, m.empty_cache())
        ch_ext, _ = m.context_extend(E, ch_cache)
        ch_den = m.denoise(X, t_block, ch_cache)
    finally:
        ref.ssm_scan = plain
    check("chunked vs sequential scan: prefill logits", rel(ch_logits, seq_logits), 1e-5)
    check("chunked vs sequential scan: final SSM states",
          max(rel(ch_cache.ssm[i], seq_cache.ssm[i]) for i in seq_cache.ssm), 1e-5)
    check("chunked vs sequential scan: seeded extension logits", rel(ch_ext, seq_ext), 1e-5)
    check("chunked vs sequential scan: seeded denoiser block logits", rel(ch_den, seq_den), 1e-5)

    # 2. cached extension vs full recompute; token-by-token decode vs prefill
    full, _ = m.context_extend(P + E, m.empty_cache())
    check("cached extension vs full recompute (logits)", rel(seq_ext, full[len(P):]), 1e-5)
    c = m.empty_cache()
    step_logits = []
    for tkn in P + E:
        lg, c = m.context_extend([tkn], c)
        step_logits.append(lg)
    check("token-by-token decode vs full prefill (logits)", rel(torch.cat(step_logits), full), 1e-5)
    _, c_full = m.context_extend(P + E, m.empty_cache())
    check("token-by-token decode vs prefill (Mamba SSM/conv, K/V)",
          max([rel(c.ssm[i], c_full.ssm[i]) for i in c.ssm] + [rel(c.conv[i], c_full.conv[i]) for i in c.conv]
              + [rel(c.k[i], c_full.k[i]) for i in c.k] + [rel(c.v[i], c_full.v[i]) for i in c.v]), 1e-5)

    # 3. mock-AR first logits: prefill cache / step-by-step cache / identity-modulated path
    _, c_pre = m.context_extend(P[:-1], m.empty_cache())
    a = modes.mock_ar_first_logits(m, P, c_pre)
    c = m.empty_cache()
    for tkn in P[:-1]:
        _, c = m.context_extend([tkn], c)
    b = modes.mock_ar_first_logits(m, P, c)
    H = m.cfg.hidden_size
    ident = [(torch.zeros(H), torch.zeros(H), torch.ones(H))] * m.cfg.n_layers
    h, _ = m.denoiser.forward(m.denoiser.embed([P[-1]]), c_pre, causal=False, modulation=ident)
    _, d = m.denoiser.final(h)
    check("mock-AR first logits: prefill vs step-by-step cache", rel(a, b), 1e-5)
    check("mock-AR first logits: plain vs identity-modulated block", rel(a, d), 1e-6)
    gold = load_file(os.path.join(model_dir, "goldens", "layers.safetensors"))
    check("mock-AR first logits vs golden", rel(a, gold["mock_ar.logits"]), 0.0)

    # 4. float32 goldens vs a float64 reference
    m64 = ref.TwoTower(model_dir, dtype=torch.float64)
    lg64, c64 = m64.context_extend(P, m64.empty_cache())
    ext64, _ = m64.context_extend(E, c64)
    den64 = m64.denoise(X, t_block, c64)
    _, c64b = m64.context_extend(P[:-1], m64.empty_cache())
    mock64 = modes.mock_ar_first_logits(m64, P, c64b)
    for name, v64 in (("context.logits", lg64), ("context_ext.logits", ext64),
                      ("denoiser.logits", den64), ("mock_ar.logits", mock64)):
        check(f"fp32 golden vs fp64 reference: {name}", rel(gold[name], v64), 1e-4)

    # 5. RNG: scalar and vectorised agree
    for seed, stream in ((0, 0), (7, modes.AR_STREAM_BASE + 3), (11, (2 << 24) | (5 << 12) | 15)):
        g = modes.gumbel_vector(seed, stream, 1024)
        s = np.array([-np.log(-np.log(modes.counter_uniform(seed, stream, i))) for i in range(1024)])
        check(f"gumbel vector vs scalar (seed {seed})", float(np.abs(g - s).max()), 0.0)

    print("selfcheck:", "all passed" if not check.failed else f"{check.failed} FAILED")
    if check.failed:
        sys.exit(1)


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "tiny-random"))
