"""Training-side TwoTower: nn.Parameters under the released tensor names, wired into the single
architecture definition tools/reference/twotower_ref.py (batched, with the chunked scan).

Nothing here re-implements a layer: `twotower_ref.Tower` runs the towers, `time_embedding` /
`layer_modulation` the time conditioning; this file only owns parameters, initialisation, the
batched caches the denoiser needs, and the losses.
"""
import functools
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import twotower_ref as ref  # noqa: E402

BLOCK = 16          # denoiser block size (TWOTOWER.md)
MASK_ID = 3

# The default model: every layer kind of the 30B model at toy scale. Released NemotronH fields.
DEFAULT_CONFIG = {
    "architectures": ["NemotronHTwoTowerForCausalLM"],
    "model_type": "nemotron_h",
    "vocab_size": 4096,
    "hidden_size": 256,
    "num_hidden_layers": 10,
    "hybrid_override_pattern": "MEM*EMEM*E",
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "max_position_embeddings": 4096,
    "mamba_num_heads": 8,
    "mamba_head_dim": 32,
    "n_groups": 2,
    "ssm_state_size": 32,
    "conv_kernel": 4,
    "chunk_size": 16,
    "expand": 1,
    "use_conv_bias": True,
    "use_bias": False,
    "mamba_proj_bias": False,
    "mamba_hidden_act": "silu",
    "time_step_min": 0.001,
    "time_step_max": 0.1,
    "time_step_floor": 0.0001,
    "mlp_hidden_act": "relu2",
    "mlp_bias": False,
    "intermediate_size": 512,
    "n_routed_experts": 8,
    "n_shared_experts": 1,
    "moe_intermediate_size": 96,
    "moe_shared_expert_intermediate_size": 128,
    "num_experts_per_tok": 2,
    "routed_scaling_factor": 2.5,
    "n_group": 1,
    "topk_group": 1,
    "norm_topk_prob": True,
    "layer_norm_epsilon": 1e-05,
    "residual_in_fp32": False,
    "rescale_prenorm_residual": True,
    "tie_word_embeddings": False,
    "rope_theta": 10000,
    "partial_rotary_factor": 1.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
    "mask_token_id": 3,
    "torch_dtype": "bfloat16",
    "mamba_ssm_cache_dtype": "float32",
    "use_mamba_kernels": True,
    "num_logits_to_keep": 1,
    "use_cache": True,
    "initializer_range": 0.02,
    "hidden_dropout": 0.0,
}

# Stored F32 in the export (everything else BF16).
F32_SUFFIXES = ("mixer.gate.weight", "mixer.gate.e_score_correction_bias",
                "mixer.A_log", "mixer.D", "mixer.dt_bias")
BUFFER_SUFFIXES = ("mixer.gate.e_score_correction_bias",)


def ref_config(cfg_dict):
    """twotower_ref.Config from a config dict."""
    return ref.Config.from_dict(cfg_dict)


def tower_shapes(cfg, tower):
    """Released name -> shape for one tower (`context_tower` / `denoiser_tower`)."""
    H, V = cfg.hidden_size, cfg.vocab_size
    di, cd, nh = cfg.d_inner, cfg.conv_dim, cfg.mamba_heads
    S = {f"{tower}.embeddings.weight": (V, H)}
    for i, kind in enumerate(cfg.pattern):
        p = f"{tower}.layers.{i}."
        S[p + "norm.weight"] = (H,)
        m = p + "mixer."
        if kind == "M":
            S[m + "in_proj.weight"] = (di + cd + nh, H)
            S[m + "conv1d.weight"] = (cd, 1, cfg.conv_kernel)
            S[m + "conv1d.bias"] = (cd,)
            S[m + "dt_bias"] = (nh,)
            S[m + "A_log"] = (nh,)
            S[m + "D"] = (nh,)
            S[m + "norm.weight"] = (di,)
            S[m + "out_proj.weight"] = (H, di)
        elif kind == "*":
            S[m + "q_proj.weight"] = (cfg.n_heads * cfg.head_dim, H)
            S[m + "k_proj.weight"] = (cfg.n_kv_heads * cfg.head_dim, H)
            S[m + "v_proj.weight"] = (cfg.n_kv_heads * cfg.head_dim, H)
            S[m + "o_proj.weight"] = (H, cfg.n_heads * cfg.head_dim)
        elif kind == "E":
            E, I, Is = cfg.n_experts, cfg.moe_intermediate_size, cfg.shared_intermediate_size
            S[m + "gate.weight"] = (E, H)
            S[m + "gate.e_score_correction_bias"] = (E,)
            for e in range(E):
                S[m + f"experts.{e}.up_proj.weight"] = (I, H)
                S[m + f"experts.{e}.down_proj.weight"] = (H, I)
            S[m + "shared_experts.up_proj.weight"] = (Is, H)
            S[m + "shared_experts.down_proj.weight"] = (H, Is)
        elif kind == "-":
            S[m + "up_proj.weight"] = (cfg.intermediate_size, H)
            S[m + "down_proj.weight"] = (H, cfg.intermediate_size)
    S[f"{tower}.norm_f.weight"] = (H,)
    return S


def all_shapes(cfg):
    H = cfg.hidden_size
    S = tower_shapes(cfg, "context_tower")
    S["context_lm_head.weight"] = (cfg.vocab_size, H)
    S.update(tower_shapes(cfg, "denoiser_tower"))
    S["lm_head.weight"] = (cfg.vocab_size, H)
    S["t_embedder.mlp.0.weight"] = (H, 256)
    S["t_embedder.mlp.0.bias"] = (H,)
    S["t_embedder.mlp.2.weight"] = (H, H)
    S["t_embedder.mlp.2.bias"] = (H,)
    S["t_block.1.weight"] = (3 * H, H)
    S["t_block.1.bias"] = (3 * H,)
    for i in range(cfg.n_layers):
        S[f"scale_shift_tables.{i}"] = (3, H)
    return S


class ParamTree(nn.Module):
    """Nested modules so that named_parameters()/state_dict() keys are the released names."""

    def __init__(self, shapes):
        super().__init__()
        for name, shape in shapes.items():
            *path, leaf = name.split(".")
            mod = self
            for part in path:
                if not hasattr(mod, part) or getattr(mod, part) is None:
                    mod.add_module(part, nn.Module())
                mod = getattr(mod, part)
            t = torch.zeros(shape)
            if name.endswith(BUFFER_SUFFIXES):
                mod.register_buffer(leaf, t)
            else:
                mod.register_parameter(leaf, nn.Parameter(t))

    def W(self):
        d = dict(self.named_parameters())
        d.update(self.named_buffers())
        return d


OUT_PROJ = ("out_proj.weight", "o_proj.weight", "down_proj.weight")


@torch.no_grad()
def init_weights(params, cfg, gen):
    """Initialisation (fp32):
    * embeddings N(0, 1) (RMSNorm follows, so the scale only sets the residual's starting size);
    * every Linear N(0, 1/fan_in); residual output projections (out_proj, o_proj, expert and
      shared down_proj) additionally x 1/sqrt(2 * n_layers) (GPT-2 style scaled residuals);
    * LM heads N(0, 0.02^2) (near-uniform initial predictions, loss ~ ln V);
    * router N(0, 0.1^2 / H) (near-uniform sigmoid scores), e_score_correction_bias 0;
    * Mamba: conv weight U(+-1/sqrt(K)) and bias U(+-1/sqrt(K)) (PyTorch Conv1d default),
      dt_bias = softplus^-1(dt) with dt log-uniform in [time_step_min, time_step_max],
      A_log = log U(1, 16), D = 1, gated-norm weight 1;
    * all RMSNorm weights 1;
    * time conditioning (used only by the denoiser, see init_denoiser_from_context):
      t_embedder Linear N(0, 1/fan_in), biases 0; t_block.1 weight and bias 0;
      scale_shift_tables rows (shift, scale, gate) = (0, 0, 1): the modulation starts as the exact
      identity (h + 1 * mixer(RMSNorm(h))) and t_block receives gradient from the first step."""
    L = cfg.n_layers
    for name, p in list(params.named_parameters()) + list(params.named_buffers()):
        shp = p.shape

        def normal(std):
            p.copy_(torch.randn(shp, generator=gen) * std)

        def uniform(a, b):
            p.copy_(torch.rand(shp, generator=gen) * (b - a) + a)

        if name.endswith("embeddings.weight"):
            normal(1.0)
        elif name in ("context_lm_head.weight", "lm_head.weight"):
            normal(0.02)
        elif name.endswith("gate.weight"):
            normal(0.1 / math.sqrt(shp[1]))
        elif name.endswith("e_score_correction_bias"):
            p.zero_()
        elif name.endswith("conv1d.weight"):
            k = 1.0 / math.sqrt(shp[-1])
            uniform(-k, k)
        elif name.endswith("conv1d.bias"):
            k = 1.0 / math.sqrt(cfg.conv_kernel)
            uniform(-k, k)
        elif name.endswith("dt_bias"):
            lo, hi = math.log(1e-3), math.log(1e-1)
            dt = torch.exp(torch.rand(shp, generator=gen) * (hi - lo) + lo)
            p.copy_(dt + torch.log(-torch.expm1(-dt)))
        elif name.endswith("A_log"):
            p.copy_(torch.log(torch.rand(shp, generator=gen) * 15.0 + 1.0))
        elif name.endswith(".D"):
            p.fill_(1.0)
        elif name.endswith("norm.weight") or name.endswith("norm_f.weight"):
            p.fill_(1.0)
        elif name.startswith("t_block.1."):
            p.zero_()
        elif name.startswith("scale_shift_tables."):
            p.zero_()
            p[2].fill_(1.0)
        elif name.endswith(".bias"):
            p.zero_()
        elif len(shp) == 2:
            std = 1.0 / math.sqrt(shp[1])
            if name.endswith(OUT_PROJ):
                std /= math.sqrt(2 * L)
            normal(std)
        else:
            raise ValueError(f"no init rule for {name}")


@torch.no_grad()
def init_denoiser_from_context(params):
    """Warm start: denoiser_tower.* <- context_tower.*, lm_head <- context_lm_head (the brief's
    'strong, standard warm start'); time conditioning keeps its identity-modulation init."""
    W = params.W()
    for k, v in W.items():
        if k.startswith("context_tower."):
            W["denoiser_tower." + k[len("context_tower."):]].copy_(v)
    W["lm_head.weight"].copy_(W["context_lm_head.weight"])


class TrainModel:
    """Batched training forwards through twotower_ref.Tower."""

    def __init__(self, cfg_dict, params, chunk=BLOCK):
        self.cfg_dict = cfg_dict
        self.cfg = ref_config(cfg_dict)
        self.params = params
        self.W = params.W()
        scan = functools.partial(ref.ssm_scan_chunked, chunk=chunk)
        self.context = ref.Tower(self.cfg, self.W, "context_tower.", "context_lm_head.weight",
                                 scan=scan, keep_history=True)
        self.denoiser = ref.Tower(self.cfg, self.W, "denoiser_tower.", "lm_head.weight",
                                  scan=scan)

    # ------------------------------------------------------------------ context tower (AR)
    def context_forward(self, ids, stats=None):
        """ids [B, T] -> (hidden [B, T, H], cache with full histories)."""
        B, T = ids.shape
        cache = ref.TowerCache(self.cfg, batch=(B,))
        h0 = self.context.embed(ids)
        h, new = self.context.forward(h0, cache, causal=True, stats=stats)
        return h, new

    def context_loss(self, seq, stats=None):
        """seq [B, T+1]: next-token cross-entropy on inputs seq[:, :-1]."""
        h, _ = self.context_forward(seq[:, :-1], stats)
        _, logits = self.context.final(h)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), seq[:, 1:].reshape(-1))

    # ------------------------------------------------------------------ denoiser
    def block_caches(self, full, first_block, n_blocks):
        """From the context pass over T = (first_block + n_blocks) * BLOCK tokens (`full`, with
        keep_history), the read-only denoiser cache of every block b >= first_block, batched as
        [B, n_blocks, ...]: attention K/V of all T context positions (the block-causal mask hides
        positions >= b*BLOCK), the last K-1 pre-conv xBC rows before the block, and the SSM
        state at the block boundary."""
        cfg = self.cfg
        K1 = cfg.conv_kernel - 1
        c = ref.TowerCache.__new__(ref.TowerCache)
        c.length = None
        c.k, c.v, c.conv, c.ssm = {}, {}, {}, {}
        bs = torch.arange(first_block, first_block + n_blocks)
        for i in full.k:
            k, v = full.k[i], full.v[i]                              # [B, T, kvh, hd]
            shape = (k.shape[0], n_blocks) + tuple(k.shape[1:])
            c.k[i] = k[:, None].expand(shape)
            c.v[i] = v[:, None].expand(shape)
        for i in full.conv:
            ext = full.conv[i]                                       # [B, K-1+T, cd]; row r = pos r-K+1
            rows = (bs * BLOCK)[:, None] + torch.arange(K1)[None, :]  # positions b*S-K+1 .. b*S-1
            c.conv[i] = ext[:, rows]                                 # [B, nb, K-1, cd]
            c.ssm[i] = full.ssm[i][:, bs]                            # [B, nb, nh, hd, N]
        return c

    def denoiser_logits(self, noisy, t_blocks, cache, first_block, stats=None, select=None):
        """noisy [B, nb, BLOCK] ids, t_blocks [B, nb] -> logits [B, nb, BLOCK, V]; with `select`
        (bool [B, nb, BLOCK]) only those positions' logits, [N, V] (the LM head is a third of
        the denoiser's FLOPs per token, and the loss reads the masked positions only)."""
        nb = noisy.shape[1]
        T = (first_block + nb) * BLOCK
        t_emb = ref.time_embedding(self.W, t_blocks)                 # [B, nb, 3H]
        mod = [(a[..., None, :], b[..., None, :], g[..., None, :])
               for a, b, g in ref.layer_modulation(self.W, t_emb, self.cfg.n_layers)]
        mask = ref.block_causal_mask(first_block + nb, BLOCK, T)[first_block:]
        h, _ = self.denoiser.forward(self.denoiser.embed(noisy), cache, causal=False,
                                     modulation=mod, attn_mask=mask, stats=stats)
        _, logits = self.denoiser.final(h if select is None else h[select])
        return logits

    def denoiser_loss(self, seq, gen, first_block=1, stats=None, t=None, prefix_frac=0.0, kd=0.0,
                      full_frac=0.0):
        """seq [B, T] clean ids (T a multiple of BLOCK). The frozen context tower runs once; the
        denoiser predicts every block b >= first_block in parallel. Per sequence t ~ U[1e-3, 1]
        (or the given t [B]); each position masked independently with probability t; a block's
        time input is its realised masked fraction. Cross-entropy over masked positions.
        prefix_frac: share of sequences whose blocks keep a clean prefix (cut ~ U{0..15} per
        block, only the positions from the cut on are masked with probability t) — the states
        confidence decoding visits, since it commits nearly left to right.
        full_frac: share of blocks masked whole (t = 1), the state every block starts from when
        decoding and which independent masking rarely draws (a block is all masked with
        probability t^16).
        kd: weight of a distillation term, KL(context tower's next-token distribution given the
        clean prefix || denoiser) on the masked positions (mask id excluded from both); the
        cross-entropy on the clean tokens keeps weight 1 - kd."""
        B, T = seq.shape
        nbt = T // BLOCK
        with torch.no_grad():
            hctx, full = self.context_forward(seq)
        nb = nbt - first_block
        cache = self.block_caches(full, first_block, nb)
        clean = seq[:, first_block * BLOCK:].reshape(B, nb, BLOCK)
        if t is None:
            t = torch.rand(B, generator=gen) * (1 - 1e-3) + 1e-3
        m = torch.rand(B, nb, BLOCK, generator=gen) < t[:, None, None]
        if prefix_frac > 0:
            cut = torch.randint(0, BLOCK, (B, nb, 1), generator=gen)
            keep = torch.rand(B, generator=gen) < prefix_frac
            m &= ~(keep[:, None, None] & (torch.arange(BLOCK) < cut))
        if full_frac > 0:
            m |= torch.rand(B, nb, 1, generator=gen) < full_frac
        noisy = torch.where(m, torch.full_like(clean, MASK_ID), clean)
        t_blocks = m.float().mean(-1)
        logits = self.denoiser_logits(noisy, t_blocks, cache, first_block, stats, select=m)  # [N, V]
        ce = F.cross_entropy(logits, clean[m], reduction="none")
        if kd > 0:
            with torch.no_grad():  # the context tower's prediction of position s comes from row s - 1
                before = hctx[:, first_block * BLOCK - 1:T - 1].reshape(B, nb, BLOCK, -1)
                _, teacher = self.context.final(before[m])
                teacher[:, MASK_ID] = -float("inf")
                pt = F.softmax(teacher, -1)
                logpt = F.log_softmax(teacher, -1).nan_to_num(neginf=0.0)
            student = logits.clone()
            student[:, MASK_ID] = -float("inf")
            logps = F.log_softmax(student, -1).nan_to_num(neginf=0.0)
            kl = (pt * (logpt - logps)).sum(-1)
            ce = (1 - kd) * ce + kd * kl
        n = int(m.sum())
        return ce.sum() / max(n, 1), n


@torch.no_grad()
def update_router_bias(W, prefix, stats, rate):
    """Aux-loss-free load balancing (DeepSeek-V3 style): per MoE layer, raise the selection bias
    of under-loaded experts and lower it for over-loaded ones by `rate` (sign of the deviation
    from the mean load). The bias only affects which experts are chosen, not their weights."""
    for i, counts in stats.items():
        bias = W[f"{prefix}layers.{i}.mixer.gate.e_score_correction_bias"]
        load = counts.to(torch.float32)
        bias.add_(rate * torch.sign(load.mean() - load))


def count_params(W, prefix=None):
    return sum(v.numel() for k, v in W.items() if prefix is None or k.startswith(prefix))
