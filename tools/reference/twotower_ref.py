"""Independent PyTorch reference of the Nemotron TwoTower model (both towers), written from
/work/shared/design/CHECKPOINT.md (sections 2, 3 and 8). It is the numerical specification the
C++ engine's tests compare against, so it favours plain, sequential code over speed.

Numerics: everything runs in `dtype` (float32 by default; float64 for error studies). Weights
stored as BF16/F32 are widened exactly. Exceptions fixed by the spec: the MoE router runs in
float64, and the time sinusoid is evaluated in float64 and then cast (see time_embedding).

Batch-generic: every layer function accepts optional leading batch dimensions ([..., T, H]);
called per sequence ([T, H]) it performs exactly the same operations as before, so the goldens
do not move. The trainer (tools/train/) reuses this file as the single definition of the
architecture: it passes a dict of nn.Parameters under the released names as `weights`, the
differentiable chunked scan `ssm_scan_chunked`, and `block_causal_mask` for the denoiser's
16 blocks trained in parallel.
"""
import json
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


@dataclass
class Config:
    vocab_size: int
    hidden_size: int
    pattern: str
    n_heads: int
    n_kv_heads: int
    head_dim: int
    mamba_heads: int
    mamba_head_dim: int
    n_groups: int
    state_size: int
    conv_kernel: int
    intermediate_size: int
    n_experts: int
    top_k: int
    moe_intermediate_size: int
    shared_intermediate_size: int
    routed_scaling_factor: float
    norm_topk_prob: bool
    eps: float

    @staticmethod
    def from_json(path):
        with open(path) as f:
            return Config.from_dict(json.load(f))

    @staticmethod
    def from_dict(c):
        """From a config.json dict (released NemotronH field names)."""
        return Config(
            vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
            pattern=c["hybrid_override_pattern"], n_heads=c["num_attention_heads"],
            n_kv_heads=c["num_key_value_heads"], head_dim=c["head_dim"],
            mamba_heads=c["mamba_num_heads"], mamba_head_dim=c["mamba_head_dim"],
            n_groups=c["n_groups"], state_size=c["ssm_state_size"], conv_kernel=c["conv_kernel"],
            intermediate_size=c["intermediate_size"], n_experts=c["n_routed_experts"],
            top_k=c["num_experts_per_tok"], moe_intermediate_size=c["moe_intermediate_size"],
            shared_intermediate_size=c["moe_shared_expert_intermediate_size"],
            routed_scaling_factor=float(c["routed_scaling_factor"]),
            norm_topk_prob=bool(c["norm_topk_prob"]), eps=float(c["layer_norm_epsilon"]))

    @property
    def n_layers(self):
        return len(self.pattern)

    @property
    def d_inner(self):
        return self.mamba_heads * self.mamba_head_dim

    @property
    def conv_dim(self):
        return self.d_inner + 2 * self.n_groups * self.state_size


def load_weights(path, dtype=torch.float32):
    """Released tensor names -> tensors widened to `dtype` (BF16 -> F32 is exact)."""
    return {k: v.to(dtype) for k, v in load_file(path).items()}


# ----------------------------------------------------------------------------- per-sequence cache
class TowerCache:
    """Context-tower state after `length` committed tokens.
    Attention layer i: k[i], v[i] of shape [length, n_kv_heads, head_dim].
    Mamba layer i: conv[i] = last K-1 raw (pre-conv) xBC rows, oldest first, [K-1, conv_dim];
    ssm[i] = [mamba_heads, mamba_head_dim, state_size] (kept in fp32 or wider)."""

    def __init__(self, cfg, dtype=torch.float32, batch=()):
        """batch: optional leading dimensions (a batch of empty caches; training only)."""
        b = tuple(batch)
        self.length = 0
        self.k, self.v, self.conv, self.ssm = {}, {}, {}, {}
        for i, kind in enumerate(cfg.pattern):
            if kind == "*":
                self.k[i] = torch.zeros(*b, 0, cfg.n_kv_heads, cfg.head_dim, dtype=dtype)
                self.v[i] = torch.zeros(*b, 0, cfg.n_kv_heads, cfg.head_dim, dtype=dtype)
            elif kind == "M":
                self.conv[i] = torch.zeros(*b, cfg.conv_kernel - 1, cfg.conv_dim, dtype=dtype)
                self.ssm[i] = torch.zeros(*b, cfg.mamba_heads, cfg.mamba_head_dim, cfg.state_size,
                                          dtype=dtype)

    def clone(self):
        c = TowerCache.__new__(TowerCache)
        c.length = self.length
        c.k = {i: t.clone() for i, t in self.k.items()}
        c.v = {i: t.clone() for i, t in self.v.items()}
        c.conv = {i: t.clone() for i, t in self.conv.items()}
        c.ssm = {i: t.clone() for i, t in self.ssm.items()}
        return c


# ----------------------------------------------------------------------------- building blocks
def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def linear(x, w):
    return x @ w.T


def relu2_mlp(x, up, down):
    return linear(torch.relu(linear(x, up)).square(), down)


def ssm_scan(x, dt, A, B, C, D, state, group_of_head):
    """Exact sequential recurrence (CHECKPOINT.md 8.2 step 5).
    x [..., T, nh, hd], dt [..., T, nh], A [nh], B/C [..., T, G, N], D [nh], state [..., nh, hd, N].
    Returns y [..., T, nh, hd] and the final state."""
    S = state.clone()
    ys = []
    for t in range(x.shape[-3]):
        Bh = B[..., t, :, :][..., group_of_head, :]   # [..., nh, N]
        Ch = C[..., t, :, :][..., group_of_head, :]
        xt, dtt = x[..., t, :, :], dt[..., t, :]
        decay = torch.exp(dtt * A)                    # [..., nh]
        S = decay[..., :, None, None] * S + (dtt[..., :, None] * xt)[..., :, :, None] * Bh[..., :, None, :]
        ys.append((S * Ch[..., :, None, :]).sum(-1) + D[:, None] * xt)
    return torch.stack(ys, dim=-3), S


def ssm_scan_chunked(x, dt, A, B, C, D, state, group_of_head, chunk=16):
    """The same recurrence in chunked (SSD) form: differentiable and fast for training.
    Shapes as ssm_scan; T must be a multiple of `chunk`. Within chunk c (cumulative log-decay
    a_t = sum_{s<=t} dt_s A over the chunk):
        y_t = C_t . (exp(a_t) S_c + sum_{s<=t} exp(a_t - a_s) dt_s x_s B_s) + D x_t,
        S_{c+1} = exp(a_last) S_c + sum_s exp(a_last - a_s) dt_s x_s B_s.
    Returns y [..., T, nh, hd] and the states at every chunk boundary,
    [..., T/chunk + 1, nh, hd, N] (index 0 = `state`, index c = the state after c chunks)."""
    T, nh, hd = x.shape[-3:]
    lead = x.shape[:-3]
    nc, L = T // chunk, chunk
    assert nc * L == T, "T must be a multiple of the chunk size"
    Bh = B[..., group_of_head, :].reshape(*lead, nc, L, nh, -1)   # [..., nc, L, nh, N]
    Ch = C[..., group_of_head, :].reshape(*lead, nc, L, nh, -1)
    xc = x.reshape(*lead, nc, L, nh, hd)
    dtc = dt.reshape(*lead, nc, L, nh)
    a = torch.cumsum(dtc * A, dim=-2)                               # [..., nc, L, nh]
    diff = a[..., :, None, :] - a[..., None, :, :]                  # [..., nc, t, s, nh]
    causal = torch.ones(L, L, dtype=torch.bool, device=x.device).tril()
    decay = torch.exp(diff.masked_fill(~causal[:, :, None], float("-inf")))
    # (two-operand contractions only, so that each is one batched matmul)
    cb = torch.einsum("...thn,...shn->...tsh", Ch, Bh)
    y = torch.einsum("...tsh,...shp->...thp", cb * decay * dtc[..., None, :, :], xc)
    wgt = torch.exp(a[..., -1:, :] - a) * dtc                       # [..., nc, L, nh]
    local = torch.einsum("...shp,...shn->...hpn", wgt[..., None] * xc, Bh)  # [..., nc, nh, hd, N]
    chunk_decay = torch.exp(a[..., -1, :])                          # [..., nc, nh]
    states = [state]
    for c in range(nc):
        states.append(chunk_decay[..., c, :, None, None] * states[-1] + local[..., c, :, :, :])
    S = torch.stack(states, dim=-4)                                 # [..., nc+1, nh, hd, N]
    y = y + torch.einsum("...thn,...hpn->...thp", Ch * torch.exp(a)[..., None], S[..., :-1, :, :, :])
    y = y + D[:, None] * xc
    return y.reshape(*lead, T, nh, hd), S


def causal_mask(T, P=0):
    """[T, P+T] bool, True = may attend: P context positions, then T causal positions."""
    j = torch.arange(P + T)[None, :]
    return j <= (P + torch.arange(T))[:, None]


def block_causal_mask(n_blocks, block, ctx_len):
    """Denoiser training mask, [n_blocks, block, ctx_len + block] bool (True = may attend), for
    queries of block b attending to [context K/V (ctx_len positions) ; the block's own K/V]:
    the clean context strictly before the block (positions < b*block) and, bidirectionally,
    the whole block itself. Equals TwoTower.denoise for block b against a context of b*block."""
    j = torch.arange(ctx_len)[None, None, :]
    ctx_ok = j < (torch.arange(n_blocks) * block)[:, None, None]
    ctx_ok = ctx_ok.expand(n_blocks, block, ctx_len)
    own = torch.ones(n_blocks, block, block, dtype=torch.bool)
    return torch.cat([ctx_ok, own], dim=-1)


class Tower:
    """One NemotronH tower (`context_tower.` or `denoiser_tower.`) plus its LM head."""

    def __init__(self, cfg, weights, prefix, head_name, dt_min=None, scan=None,
                 keep_history=False):
        """scan: None = the module's `ssm_scan` (looked up at call time), or e.g.
        functools.partial(ssm_scan_chunked, chunk=16) for training.
        keep_history (training): the advanced cache keeps, per Mamba layer, the whole pre-conv
        xBC history [..., K-1+T, conv_dim] (seed rows first) and whatever the scan returns as
        its state (all chunk boundaries for ssm_scan_chunked) instead of only the last ones."""
        self.cfg, self.W, self.p, self.head = cfg, weights, prefix, weights[head_name]
        self.dt_min = dt_min  # only to mimic transformers' prefill clamp in check_transformers.py
        self.scan, self.keep_history = scan, keep_history
        nh, G = cfg.mamba_heads, cfg.n_groups
        self.group_of_head = torch.arange(nh) // (nh // G)

    def w(self, i, name):
        return self.W[f"{self.p}layers.{i}.{name}"]

    def embed(self, ids):
        return self.W[self.p + "embeddings.weight"][torch.as_tensor(ids, dtype=torch.long)]

    def final(self, h):
        hn = rms_norm(h, self.W[self.p + "norm_f.weight"], self.cfg.eps)
        return hn, linear(hn, self.head)

    # --- mixers. `cache` is read; `new` (a TowerCache or None) receives the advanced state.
    def mamba(self, i, u, cache, new):
        cfg = self.cfg
        T, di, cd, G, N = u.shape[-2], cfg.d_inner, cfg.conv_dim, cfg.n_groups, cfg.state_size
        lead = u.shape[:-2]
        p = linear(u, self.w(i, "mixer.in_proj.weight"))
        z, xbc, dt = p[..., :di], p[..., di:di + cd], p[..., di + cd:]
        ext = torch.cat([cache.conv[i], xbc], dim=-2)                 # [..., K-1+T, conv_dim]
        cw = self.w(i, "mixer.conv1d.weight")[:, 0, :]                # [conv_dim, K]
        K = cw.shape[1]
        conv = self.w(i, "mixer.conv1d.bias").expand(*lead, T, cd).clone()
        for k in range(K):                                            # k = K-1 hits the newest row
            conv = conv + cw[:, k] * ext[..., k:k + T, :]
        xbc = F.silu(conv)
        x = xbc[..., :di].reshape(*lead, T, cfg.mamba_heads, cfg.mamba_head_dim)
        B = xbc[..., di:di + G * N].reshape(*lead, T, G, N)
        C = xbc[..., di + G * N:].reshape(*lead, T, G, N)
        dt = F.softplus(dt + self.w(i, "mixer.dt_bias"))              # x itself above 20
        if self.dt_min is not None:
            dt = dt.clamp(min=self.dt_min)
        A = -torch.exp(self.w(i, "mixer.A_log"))
        scan = self.scan if self.scan is not None else ssm_scan
        y, S = scan(x, dt, A, B, C, self.w(i, "mixer.D"), cache.ssm[i], self.group_of_head)
        v = y.reshape(*lead, T, di) * F.silu(z)
        vg = v.reshape(*lead, T, G, di // G)
        vg = vg * torch.rsqrt(vg.pow(2).mean(-1, keepdim=True) + cfg.eps)
        v = vg.reshape(*lead, T, di) * self.w(i, "mixer.norm.weight")
        if new is not None:
            new.conv[i] = ext if self.keep_history else ext[..., -(K - 1):, :].clone()
            new.ssm[i] = S
        return linear(v, self.w(i, "mixer.out_proj.weight"))

    def attention(self, i, u, cache, new, causal, attn_mask=None):
        """attn_mask (training): bool [..., T, P+T], True = may attend; overrides `causal`."""
        cfg = self.cfg
        T, hd = u.shape[-2], cfg.head_dim
        lead = u.shape[:-2]
        q = linear(u, self.w(i, "mixer.q_proj.weight")).reshape(*lead, T, cfg.n_heads, hd)
        k = linear(u, self.w(i, "mixer.k_proj.weight")).reshape(*lead, T, cfg.n_kv_heads, hd)
        v = linear(u, self.w(i, "mixer.v_proj.weight")).reshape(*lead, T, cfg.n_kv_heads, hd)
        Kall = torch.cat([cache.k[i], k], dim=-3)
        Vall = torch.cat([cache.v[i], v], dim=-3)
        P = cache.k[i].shape[-3]
        rep = cfg.n_heads // cfg.n_kv_heads
        out = []
        for h in range(cfg.n_heads):
            s = (q[..., :, h, :] @ Kall[..., :, h // rep, :].transpose(-1, -2)) / math.sqrt(hd)
            if attn_mask is not None:                                 # [..., T, P+T]
                s = s.masked_fill(~attn_mask, float("-inf"))
            elif causal:
                j = torch.arange(P + T)[None, :]
                s = s.masked_fill(j > (P + torch.arange(T))[:, None], float("-inf"))
            out.append(torch.softmax(s, -1) @ Vall[..., :, h // rep, :])
        if new is not None:
            new.k[i], new.v[i] = Kall, Vall
        return linear(torch.cat(out, -1), self.w(i, "mixer.o_proj.weight"))

    def moe(self, i, u, stats=None):
        """stats (training, optional dict): receives stats[i] = tokens routed to each expert."""
        cfg = self.cfg
        shape = u.shape
        u = u.reshape(-1, shape[-1])                                  # tokens of all sequences
        logits = u.double() @ self.w(i, "mixer.gate.weight").double().T
        s = torch.sigmoid(logits)                                     # [T, E] fp64
        choice = s + self.w(i, "mixer.gate.e_score_correction_bias").double()
        out = torch.zeros_like(u)
        order = torch.sort(choice.detach(), dim=-1, descending=True, stable=True).indices
        chosen = order[:, :cfg.top_k].sort(dim=-1).values            # ties: low index; ascending
        w = s.gather(-1, chosen)
        if cfg.norm_topk_prob:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        weights = torch.zeros(u.shape[0], cfg.n_experts, dtype=u.dtype).scatter(
            -1, chosen, (w * cfg.routed_scaling_factor).to(u.dtype))
        if stats is not None:
            stats[i] = torch.bincount(chosen.flatten(), minlength=cfg.n_experts)
        for e in range(cfg.n_experts):                                # ascending expert order
            rows = torch.nonzero(weights[:, e]).flatten()
            if len(rows):
                y = relu2_mlp(u[rows], self.w(i, f"mixer.experts.{e}.up_proj.weight"),
                              self.w(i, f"mixer.experts.{e}.down_proj.weight"))
                out = out.index_add(0, rows, y * weights[rows, e:e + 1])
        out = out + relu2_mlp(u, self.w(i, "mixer.shared_experts.up_proj.weight"),
                              self.w(i, "mixer.shared_experts.down_proj.weight"))
        return out.reshape(shape)

    def mixer(self, i, u, cache, new, causal, attn_mask=None, stats=None):
        kind = self.cfg.pattern[i]
        if kind == "M":
            return self.mamba(i, u, cache, new)
        if kind == "*":
            return self.attention(i, u, cache, new, causal, attn_mask)
        if kind == "E":
            return self.moe(i, u, stats)
        if kind == "-":
            return relu2_mlp(u, self.w(i, "mixer.up_proj.weight"), self.w(i, "mixer.down_proj.weight"))
        raise ValueError(f"unknown layer kind {kind!r}")

    def forward(self, h, cache, causal, modulation=None, record=None, attn_mask=None,
                stats=None):
        """Run all layers on h [..., T, H] against `cache` (leading dims: a batch; training).
        causal=True: context-tower extension; returns (h, new_cache) with the cache advanced.
        causal=False: denoiser block; reads `cache` (the clean context) without changing it;
        attention is unmasked over [context ; block], Mamba scans the block seeded with the cache.
        modulation: None (plain NemotronH blocks) or a list of (shift, scale, gate) per layer.
        record: optional list that receives the residual stream after each layer.
        attn_mask, stats: training only (see attention, moe)."""
        new = cache.clone() if causal else None
        eps = self.cfg.eps
        for i, kind in enumerate(self.cfg.pattern):
            nw = self.w(i, "norm.weight")
            if modulation is None:
                h = h + self.mixer(i, rms_norm(h, nw, eps), cache, new, causal, attn_mask, stats)
            else:
                shift, scale, gate = modulation[i]
                if kind in "M*":
                    u = rms_norm(h * (1 + scale) + shift, nw, eps)
                else:
                    u = rms_norm(h, nw, eps) * (1 + scale) + shift
                h = h + gate * self.mixer(i, u, cache, new, causal, attn_mask, stats)
            if record is not None:
                record.append(h.clone())
        if new is not None:
            new.length = cache.length + h.shape[-2]
        return h, new


# ----------------------------------------------------------------------------- time conditioning
def time_embedding(W, t, dtype=torch.float32):
    """t (masked fraction; a number, or a tensor [...] of them) -> t_emb [..., 3H].
    t and t_s = 1000 t are fp32 (no bf16 rounding).
    The 256-wide sinusoid is evaluated in float64 and cast to `dtype`: its arguments reach 1000,
    where one fp32 ulp (6e-5) of the argument already moves cos/sin by that much, so a float64
    evaluation is the well-defined target for every implementation."""
    t_s = (torch.as_tensor(t, dtype=torch.float32) * torch.tensor(1000.0, dtype=torch.float32))
    freqs = torch.exp(-math.log(10000.0) * torch.arange(128, dtype=torch.float64) / 128)
    args = t_s.double()[..., None] * freqs
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1).to(dtype)
    e = linear(emb, W["t_embedder.mlp.0.weight"]) + W["t_embedder.mlp.0.bias"]
    e = linear(F.silu(e), W["t_embedder.mlp.2.weight"]) + W["t_embedder.mlp.2.bias"]
    return linear(F.silu(e), W["t_block.1.weight"]) + W["t_block.1.bias"]


def layer_modulation(W, t_emb, n_layers):
    """t_emb [..., 3H] -> per layer (shift, scale, gate), each [..., H]."""
    H = t_emb.shape[-1] // 3
    c = t_emb.reshape(*t_emb.shape[:-1], 3, H)
    out = []
    for i in range(n_layers):
        m = c + W[f"scale_shift_tables.{i}"]
        out.append((m[..., 0, :], m[..., 1, :], m[..., 2, :]))
    return out


# ----------------------------------------------------------------------------- the model
class TwoTower:
    def __init__(self, model_dir, dtype=torch.float32, weights=None, dt_min=None):
        self.cfg = Config.from_json(f"{model_dir}/config.json")
        self.dtype = dtype
        self.W = weights if weights is not None else load_weights(
            f"{model_dir}/model.safetensors", dtype)
        self.context = Tower(self.cfg, self.W, "context_tower.", "context_lm_head.weight", dt_min)
        self.denoiser = Tower(self.cfg, self.W, "denoiser_tower.", "lm_head.weight", dt_min)

    def empty_cache(self):
        return TowerCache(self.cfg, self.dtype)

    def context_extend(self, ids, cache, record=None):
        """Causally extend the context by `ids`; returns (logits [T, V], new cache).
        record (dict, optional) receives embed / layers / final_norm."""
        layers = [] if record is not None else None
        h0 = self.context.embed(ids)
        h, new = self.context.forward(h0, cache, causal=True, record=layers)
        hn, logits = self.context.final(h)
        if record is not None:
            record.update(embed=h0, layers=layers, final_norm=hn)
        return logits, new

    def denoise(self, block_ids, t, cache, record=None):
        """One denoiser forward over a block against the clean context `cache` (read only).
        t = masked fraction of the block, or None for no time conditioning (mock-AR)."""
        layers = [] if record is not None else None
        mod = None
        if t is not None:
            t_emb = time_embedding(self.W, t, self.dtype)
            mod = layer_modulation(self.W, t_emb, self.cfg.n_layers)
            if record is not None:
                record["t_emb"] = t_emb
        h, _ = self.denoiser.forward(self.denoiser.embed(block_ids), cache, causal=False,
                                     modulation=mod, record=layers)
        _, logits = self.denoiser.final(h)
        if record is not None:
            record["layers"] = layers
        return logits
