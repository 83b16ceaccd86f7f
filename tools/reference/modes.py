"""Decoding modes of the reference (AR, mock-AR, diffusion, scoring) and the counter RNG shared
with the C++ engine. Semantics: the brief of tools/reference/README.md ("Decoding semantics").

Every decision (argmax, Gumbel-max, threshold test, commit ranking) also records its margin, the
distance to flipping it; `min_margin` of a run tells how much numerical noise the run tolerates.
"""
import math

import numpy as np
import torch

MASK_ID = 3
EOS_ID = 2
M64 = (1 << 64) - 1
AR_STREAM_BASE = 1 << 63


# ----------------------------------------------------------------------------- counter RNG
def mix64(z):
    """SplitMix64 finalizer on Python ints (uint64 wraparound)."""
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _mix64_np(z):
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def counter_uniform(seed, stream, counter):
    key = mix64(mix64(mix64(seed & M64) ^ (stream & M64)) ^ (counter & M64))
    return ((key >> 40) + 0.5) / float(1 << 24)


def gumbel_vector(seed, stream, n):
    """gumbel(seed, stream, i) for i in 0..n-1, float64 (vectorised counter_uniform)."""
    base = np.uint64(mix64(mix64(seed & M64) ^ (stream & M64)))
    key = _mix64_np(base ^ np.arange(n, dtype=np.uint64))
    u = ((key >> np.uint64(40)).astype(np.float64) + 0.5) / float(1 << 24)
    return -np.log(-np.log(u))


def _top2(scores):
    """(index of the max, first on ties; gap to the runner-up)."""
    i = int(np.argmax(scores))
    rest = np.delete(scores, i)
    return i, float(scores[i] - rest.max())


def greedy(logits):
    return _top2(np.asarray(logits, dtype=np.float64))


def gumbel_argmax(logits, temperature, seed, stream):
    """argmax_i float64(logits[i]) / T + gumbel(seed, stream, i); -inf entries never win."""
    z = np.asarray(logits, dtype=np.float64) / temperature + gumbel_vector(seed, stream, len(logits))
    return _top2(z)


class Margins:
    """Smallest decision margins of a run (absolute, in the units of the compared quantity)."""

    def __init__(self):
        self.values = {}

    def add(self, kind, value):
        self.values[kind] = min(self.values.get(kind, math.inf), float(value))

    def as_dict(self):
        return {k: (v if math.isfinite(v) else None) for k, v in sorted(self.values.items())}


def _pick(logits, temperature, seed, stream, margins):
    if temperature > 0:
        tok, gap = gumbel_argmax(logits.numpy(), temperature, seed, stream)
        margins.add("gumbel_gap", gap)
    else:
        tok, gap = greedy(logits.numpy())
        margins.add("argmax_gap", gap)
    return tok


# ----------------------------------------------------------------------------- AR and mock-AR
def generate_ar(model, prompt, max_tokens, temperature=0.0, seed=0):
    margins = Margins()
    logits, cache = model.context_extend(prompt, model.empty_cache())
    out = []
    while len(out) < max_tokens:
        tok = _pick(logits[-1], temperature, seed, AR_STREAM_BASE + len(out), margins)
        out.append(tok)
        if tok == EOS_ID:
            break
        logits, cache = model.context_extend([tok], cache)
    return out, margins


def mock_ar_first_logits(model, committed, ctx_cache_without_last):
    return model.denoise([committed[-1]], None, ctx_cache_without_last)


def generate_mock_ar(model, prompt, max_tokens, temperature=0.0, seed=0):
    """The denoiser (no time conditioning) predicts the next token from the last committed
    token, seeing the context cache over all committed tokens but the last."""
    margins = Margins()
    _, cache = model.context_extend(prompt[:-1], model.empty_cache())
    last, out = prompt[-1], []
    while len(out) < max_tokens:
        logits = model.denoise([last], None, cache)
        tok = _pick(logits[0], temperature, seed, AR_STREAM_BASE + len(out), margins)
        out.append(tok)
        if tok == EOS_ID:
            break
        _, cache = model.context_extend([last], cache)
        last = tok
    return out, margins


# ----------------------------------------------------------------------------- diffusion
def diffusion_stream(block, step, position):
    return (block << 24) | (step << 12) | position


def generate_diffusion(model, prompt, max_tokens, gamma, block_size=16, steps=16,
                       temperature=0.0, seed=0):
    margins = Margins()
    _, cache = model.context_extend(prompt, model.empty_cache())
    S = block_size
    n_blocks = -(-max_tokens // S)
    out, blocks, forwards = [], [], 0
    for b in range(n_blocks):
        x = [MASK_ID] * S
        trace = []
        for step in range(steps):
            masked = [p for p in range(S) if x[p] == MASK_ID]
            if not masked:
                break
            n = len(masked)
            t = float(np.float32(n) / np.float32(S))
            logits = model.denoise(x, t, cache).clone()
            forwards += 1
            logits[:, MASK_ID] = float("-inf")
            logp = torch.log_softmax(logits, -1)
            pred, conf = {}, {}
            for p in masked:
                if temperature > 0:
                    tok, gap = gumbel_argmax(logits[p].numpy(), temperature, seed,
                                             diffusion_stream(b, step, p))
                    margins.add("gumbel_gap", gap)
                else:
                    tok, gap = greedy(logp[p].numpy())
                    margins.add("argmax_gap", gap)
                pred[p] = tok
                conf[p] = float(torch.exp(logp[p, tok]))
            if step == steps - 1:
                k = n
            else:
                above = sum(1 for p in masked if conf[p] > gamma)
                k = min(n, max(max(1, above), -(-n // (steps - step))))
                margins.add("gamma_gap", min(abs(conf[p] - gamma) for p in masked))
            ranked = sorted(masked, key=lambda p: (-conf[p], p))
            if k < n:
                margins.add("commit_gap", conf[ranked[k - 1]] - conf[ranked[k]])
            for p in ranked[:k]:
                x[p] = pred[p]
            trace.append(list(x))
        blocks.append({"steps": trace})
        out.extend(x)
        if EOS_ID in x:
            break
        _, cache = model.context_extend(x, cache)
    out = out[:max_tokens]
    if EOS_ID in out:
        out = out[:out.index(EOS_ID) + 1]
    return out, blocks, forwards, margins


# ----------------------------------------------------------------------------- scoring
def score(model, prompt, continuation):
    """log p(continuation | prompt) under the context tower, and per-token logprobs."""
    logits, _ = model.context_extend(list(prompt) + list(continuation), model.empty_cache())
    logp = torch.log_softmax(logits, -1)
    per = [float(logp[len(prompt) + i - 1, c]) for i, c in enumerate(continuation)]
    return float(sum(per)), per
