#!/usr/bin/env python3
"""PyTorch-eager reference timings for the shapes of tt_cuda_bench (30B model).

Prints one JSON object: "kernels" with the same (kernel, shape) keys as
tt_cuda_bench, and "layer_stack": the real-size M, * and E layers (random bf16
weights) run eagerly for a denoiser step (batch x 16 rows over a context of
--context tokens) and a context extension (16 new tokens per sequence),
extrapolated to the 52-layer tower (23 M + 6 * + 23 E).
Usage: python3 tools/bench/torch_eager_ref.py [--quick] [--context 2048]
"""
import argparse
import json
import math
import sys

import torch
import torch.nn.functional as F

H, V = 2688, 131072
NH, HD, G, N, CONV = 64, 64, 8, 128, 6144      # Mamba-2
QH, KVH, AHD = 32, 2, 128                       # attention
E, TOPK, EI, SI = 128, 6, 1856, 3712            # MoE
MIN_SECONDS = 0.2


def timed(fn):
    """Seconds per call (CUDA events): 3 warm-ups, then repeats for MIN_SECONDS."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    n, total = 0, 0.0
    while total < MIN_SECONDS and n < 100000:
        batch = 5 if n == 0 else n
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(batch):
            fn()
        b.record()
        b.synchronize()
        total += a.elapsed_time(b) / 1e3
        n += batch
    return total / n


def rms_norm(x, w, eps=1e-5):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps) * w.float()).to(x.dtype)


class Mamba:
    def __init__(s, dev):
        bf = dict(device=dev, dtype=torch.bfloat16)
        s.in_proj = torch.randn(NH * HD + CONV + NH, H, **bf) * 0.02
        s.conv_w = torch.randn(CONV, 1, 4, **bf) * 0.5
        s.conv_b = torch.zeros(CONV, **bf)
        s.A = -torch.rand(NH, device=dev)
        s.D = torch.ones(NH, device=dev)
        s.dt_bias = torch.zeros(NH, device=dev)
        s.norm = torch.ones(NH * HD, **bf)
        s.out_proj = torch.randn(H, NH * HD, **bf) * 0.02

    def __call__(s, u, batch, rows, conv_hist, ssm):
        """u: [batch*rows, H]; conv_hist [batch, CONV, 3]; ssm [batch, NH, HD, N] fp32 (seed, not modified)."""
        p = F.linear(u, s.in_proj).view(batch, rows, -1)
        z, xbc, dt = p.split([NH * HD, CONV, NH], dim=-1)
        xin = torch.cat([conv_hist, xbc.transpose(1, 2)], dim=-1)
        xbc = F.silu(F.conv1d(xin, s.conv_w, s.conv_b, groups=CONV)).transpose(1, 2)
        x, B, C = xbc.split([NH * HD, G * N, G * N], dim=-1)
        x = x.float().view(batch, rows, NH, HD)
        B = B.float().view(batch, rows, G, N).repeat_interleave(NH // G, dim=2)
        C = C.float().view(batch, rows, G, N).repeat_interleave(NH // G, dim=2)
        dt = F.softplus(dt.float() + s.dt_bias)
        st = ssm.clone()
        ys = []
        for t in range(rows):  # exact recurrence, as the reference's block path
            dA = torch.exp(dt[:, t] * s.A)[:, :, None, None]
            st = st * dA + (dt[:, t, :, None] * x[:, t])[..., None] * B[:, t, :, None, :]
            ys.append((st * C[:, t, :, None, :]).sum(-1) + s.D[:, None] * x[:, t])
        y = torch.stack(ys, 1).reshape(batch * rows, NH * HD)
        v = y * F.silu(z.reshape(batch * rows, -1).float())
        v = v.view(-1, G, NH * HD // G)
        v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + 1e-5)
        v = (v.view(-1, NH * HD) * s.norm.float()).to(torch.bfloat16)
        return F.linear(v, s.out_proj)


class Attention:
    def __init__(s, dev):
        bf = dict(device=dev, dtype=torch.bfloat16)
        s.q = torch.randn(QH * AHD, H, **bf) * 0.02
        s.k = torch.randn(KVH * AHD, H, **bf) * 0.02
        s.v = torch.randn(KVH * AHD, H, **bf) * 0.02
        s.o = torch.randn(H, QH * AHD, **bf) * 0.02

    def __call__(s, u, batch, rows, k_ctx, v_ctx, causal):
        q = F.linear(u, s.q).view(batch, rows, QH, AHD).transpose(1, 2)
        k = F.linear(u, s.k).view(batch, rows, KVH, AHD).transpose(1, 2)
        v = F.linear(u, s.v).view(batch, rows, KVH, AHD).transpose(1, 2)
        k = torch.cat([k_ctx, k], 2).repeat_interleave(QH // KVH, dim=1)
        v = torch.cat([v_ctx, v], 2).repeat_interleave(QH // KVH, dim=1)
        mask = None
        if causal:
            n_ctx = k_ctx.shape[2]
            mask = torch.ones(rows, n_ctx + rows, dtype=torch.bool, device=u.device).tril(n_ctx)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return F.linear(o.transpose(1, 2).reshape(batch * rows, QH * AHD), s.o)


class Moe:
    def __init__(s, dev):
        bf = dict(device=dev, dtype=torch.bfloat16)
        s.gate = torch.randn(E, H, device=dev) * 0.02
        s.bias = torch.zeros(E, device=dev)
        s.up = [torch.randn(EI, H, **bf) * 0.02 for _ in range(E)]
        s.down = [torch.randn(H, EI, **bf) * 0.02 for _ in range(E)]
        s.shared_up = torch.randn(SI, H, **bf) * 0.02
        s.shared_down = torch.randn(H, SI, **bf) * 0.02

    def __call__(s, u):
        """HF-style eager MoE: router in fp32, a loop over the experts that got tokens."""
        scores = torch.sigmoid(F.linear(u.float(), s.gate))
        idx = torch.topk(scores + s.bias, TOPK, dim=-1, sorted=False).indices
        w = scores.gather(1, idx)
        w = w / (w.sum(-1, keepdim=True) + 1e-20) * 2.5
        out = torch.zeros(u.shape[0], H, device=u.device, dtype=torch.float32)
        for e in torch.unique(idx).tolist():
            tok, slot = (idx == e).nonzero(as_tuple=True)
            h = F.relu(F.linear(u[tok], s.up[e])).square()
            out.index_add_(0, tok, F.linear(h, s.down[e]).float() * w[tok, slot, None])
        shared = F.linear(F.relu(F.linear(u, s.shared_up)).square(), s.shared_down)
        return out.to(torch.bfloat16) + shared


def kernels(dev, quick):
    rows = []

    def add(kernel, shape, fn):
        rows.append({"kernel": kernel, "shape": shape, "us": timed(fn) * 1e6})

    bf = dict(device=dev, dtype=torch.bfloat16)
    for name, n, k in [("in_proj", 10304, 2688), ("out_proj", 2688, 4096), ("q_proj", 4096, 2688), ("lm_head", V, 2688)]:
        w = torch.randn(n, k, **bf)
        for m in [1, 8, 32, 256, 2048]:
            if n == V and m > 256:
                continue
            x = torch.randn(m, k, device=dev)
            add(f"gemm.{name}", f"m={m}", lambda: F.linear(x.to(torch.bfloat16), w).float())
    moe = Moe(dev)
    for T in [1, 8, 32, 512]:
        x = torch.randn(T, H, **bf)
        add("moe.eager_layer", f"T={T}", lambda: moe(x))
    for T in [1, 16]:
        x = torch.randn(T, NH * HD, device=dev)
        st = torch.randn(NH, HD, N, device=dev)
        Bv, Cv, dt = torch.randn(T, NH, N, device=dev), torch.randn(T, NH, N, device=dev), torch.rand(T, NH, device=dev)
        A, D = -torch.rand(NH, device=dev), torch.ones(NH, device=dev)

        def scan():
            s = st
            for t in range(T):
                s = s * torch.exp(dt[t] * A)[:, None, None] + (dt[t, :, None] * x[t].view(NH, HD))[..., None] * Bv[t, :, None]
                y = (s * Cv[t, :, None]).sum(-1) + D[:, None] * x[t].view(NH, HD)
            return y
        add("ssm.recurrent", f"T={T}", scan)
    for name, n_ctx, n_q, causal in [("decode", 4096, 1, True), ("block", 4096, 16, False)]:
        q = torch.randn(1, QH, n_q, AHD, device=dev)
        k = torch.randn(1, KVH, n_ctx + n_q, AHD, device=dev)
        v = torch.randn(1, KVH, n_ctx + n_q, AHD, device=dev)
        add(f"attention.{name}", f"ctx={n_ctx} q={n_q}",
            lambda: F.scaled_dot_product_attention(q, k.repeat_interleave(16, 1), v.repeat_interleave(16, 1)))
    for r in [16, 512]:
        x, w = torch.randn(r, H, device=dev), torch.rand(H, device=dev)
        add("rms_norm", f"rows={r}", lambda: x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w)
        logits = torch.randn(r, V, device=dev)

        def pick():
            lp = torch.log_softmax(logits, -1)
            tok = lp.argmax(-1)
            return tok, lp.gather(1, tok[:, None]).exp()
        add("pick_tokens.greedy", f"rows={r}", pick)
    return rows


def layer_stack(dev, context, batches):
    torch.manual_seed(0)
    m, a, e = Mamba(dev), Attention(dev), Moe(dev)
    out = []
    for batch in batches:
        rows = 16
        u = torch.randn(batch * rows, H, device=dev, dtype=torch.bfloat16)
        hist = torch.randn(batch, CONV, 3, device=dev, dtype=torch.bfloat16)
        ssm = torch.randn(batch, NH, HD, N, device=dev) * 0.1
        kc = torch.randn(batch, KVH, context, AHD, device=dev, dtype=torch.bfloat16)
        vc = torch.randn(batch, KVH, context, AHD, device=dev, dtype=torch.bfloat16)
        with torch.no_grad():
            tm = timed(lambda: m(rms_norm(u, m.norm[:H]), batch, rows, hist, ssm))
            for causal, kind in [(False, "denoiser_step"), (True, "context_extension")]:
                ta = timed(lambda: a(rms_norm(u, m.norm[:H]), batch, rows, kc, vc, causal))
                te = timed(lambda: e(rms_norm(u, m.norm[:H])))
                total = 23 * tm + 6 * ta + 23 * te
                out.append({"kind": kind, "batch": batch, "rows": batch * rows, "context": context,
                            "mamba_ms": tm * 1e3, "attention_ms": ta * 1e3, "moe_ms": te * 1e3,
                            "tower_ms_52_layers": total * 1e3, "tokens_per_s": batch * rows / total})
    return out


def main():
    global MIN_SECONDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--context", type=int, default=2048)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"error": "no CUDA device"}))
        return 3
    if args.quick:
        MIN_SECONDS = 0.03
    dev = torch.device("cuda")
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "mode": "eager"}
    res["kernels"] = kernels(dev, args.quick)
    print("kernels done", file=sys.stderr)
    res["layer_stack"] = layer_stack(dev, args.context, [1, 8] if args.quick else [1, 8, 32])
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
