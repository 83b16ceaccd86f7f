#!/usr/bin/env python3
"""Writes profiles/nemotron-twotower-30b-h100.json: forward costs of the 30B
TwoTower (BF16) on one H100 SXM per tower, from roofline arithmetic.

Every number comes from the checkpoint shapes (shared/design/CHECKPOINT.md,
TWOTOWER.md) and the H100 SXM data sheet; nothing here was measured on a GPU.
Run: python3 tools/sim/roofline_30b_h100.py > profiles/nemotron-twotower-30b-h100.json

A forward over n tokens reads every weight it touches once (batched GEMMs) and
does 2 FLOP per active parameter per token:
  time(n) = overhead + max(bytes(n) / (eff_bw * HBM), flops(n) / (eff_fl * PEAK))
bytes(n) = dense weights + routed experts touched by n tokens:
  distinct experts per MoE layer for n tokens with top-6 of 128, routing taken
  as uniform: 128 * (1 - (1 - 6/128)^n)   (real routing is skewed: fewer).
Per sequence in the batch: the Mamba state (23 layers x 64 heads x 64 x 128
fp32 = 48 MiB + 1 MiB conv state) is read (denoiser) or read and written
(context extension). Per context token read by attention: 6 layers x 2 (K, V)
x 2 KV heads x 128 x 2 B = 6 KiB.
"""
import json
import math

# --- checkpoint shapes (CHECKPOINT.md: per-layer parameter counts) -----------
HIDDEN, VOCAB = 2688, 131072
N_MAMBA, N_ATTN, N_MOE = 23, 6, 23
MAMBA_LAYER = 38_744_896
ATTN_LAYER = 23_399_040
EXPERT = 2 * 1856 * HIDDEN            # up + down, non-gated
SHARED_EXPERT = 2 * 3712 * HIDDEN
ROUTER = 128 * HIDDEN
EXPERTS, TOP_K = 128, 6
LM_HEAD = VOCAB * HIDDEN
BYTES = 2                             # BF16 weights

# --- H100 SXM 80 GB data sheet, derated to what good kernels reach ----------
HBM = 3.35e12                          # bytes/s
PEAK = 989e12                          # dense BF16 FLOP/s
EFF_BW, EFF_FLOPS = 0.80, 0.60
OVERHEAD_S = 0.5e-3                    # ~52 layers of launches under CUDA graphs

STATE_BYTES = N_MAMBA * 64 * 64 * 128 * 4 + N_MAMBA * 4 * 6144 * 2  # SSM fp32 + conv (bf16, 4 x xBC 6144)
KV_BYTES_PER_TOKEN = N_ATTN * 2 * 2 * 128 * 2


def forward_seconds(n, with_head):
    dense = N_MAMBA * MAMBA_LAYER + N_ATTN * ATTN_LAYER + N_MOE * (SHARED_EXPERT + ROUTER)
    head = LM_HEAD if with_head else 0
    touched = EXPERTS * (1 - (1 - TOP_K / EXPERTS) ** n)
    weight_bytes = BYTES * (dense + head + N_MOE * touched * EXPERT)
    active = dense + head + N_MOE * TOP_K * EXPERT
    t_mem = weight_bytes / (EFF_BW * HBM)
    t_fl = 2 * active * n / (EFF_FLOPS * PEAK)
    return OVERHEAD_S + max(t_mem, t_fl)


POINTS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1536, 2048, 2560, 3072, 4096, 8192, 16384, 32768, 65536]


def table(with_head):
    return [[n, round(forward_seconds(n, with_head), 7)] for n in POINTS]


# Tokens committed per denoiser step at each gamma. Not measured on the 30B:
# third-party reproductions report 7.4 tokens per pass at low gamma down to 1.35
# at high gamma (TWOTOWER.md); the means below span that range and each
# histogram is a geometric distribution over 1..16 with that mean. Replace with
# measured histograms (see docs/capacity.md) when a 30B run is available.
MEANS = {"0.5": 7.4, "0.7": 4.5, "0.8": 3.0, "0.9": 2.0, "0.95": 1.35}


def geometric(mean, size=16):
    # P(k) proportional to (1-q)^(k-1); find q whose truncated mean matches.
    lo, hi = 1e-6, 1 - 1e-9
    for _ in range(200):
        q = (lo + hi) / 2
        w = [(1 - q) ** (k - 1) for k in range(1, size + 1)]
        m = sum(k * x for k, x in zip(range(1, size + 1), w)) / sum(w)
        lo, hi = (q, hi) if m > mean else (lo, q)
    s = sum(w)
    return [round(x / s, 6) for x in w]


profile = {
    "name": "nemotron-twotower-30b-a3b-bf16-h100",
    "description": "30B TwoTower, BF16, one H100 SXM 80GB per tower; roofline arithmetic "
                   "(tools/sim/roofline_30b_h100.py), not measured. Commit histograms assumed (geometric, "
                   "means from published tokens-per-pass range).",
    "block_size": 16,
    "steps": 16,
    "gpus_per_context": 1,
    "gpus_per_denoiser": 1,
    "router_request_s": 50e-6,
    "kv_bytes_per_token": KV_BYTES_PER_TOKEN,
    "state_bytes": STATE_BYTES,
    # Context: no logits in diffusion mode; per sequence the Mamba state is read and written.
    "context_forward": {"tokens_seconds": table(False),
                        "per_sequence_s": 2 * STATE_BYTES / (EFF_BW * HBM),
                        "per_context_token_s": KV_BYTES_PER_TOKEN / (EFF_BW * HBM)},
    # Denoiser: logits for every position; per block the state is read once per step.
    "denoiser_forward": {"tokens_seconds": table(True),
                         "per_sequence_s": STATE_BYTES / (EFF_BW * HBM),
                         "per_context_token_s": KV_BYTES_PER_TOKEN / (EFF_BW * HBM)},
    "tokens_per_step": {g: geometric(m) for g, m in MEANS.items()},
}
print(json.dumps(profile, indent=1))
