"""Config and deterministic random weights of the tiny TwoTower checkpoint (released tensor names
and layout, tiny dimensions). Used by make_tiny_random.py."""
import math

import numpy as np
import torch

TINY_CONFIG = {
    "architectures": ["NemotronHTwoTowerForCausalLM"],
    "model_type": "nemotron_h",
    "vocab_size": 1024,
    "hidden_size": 64,
    "num_hidden_layers": 9,
    "hybrid_override_pattern": "MEM*E-M*E",
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "attention_bias": False,
    "attention_dropout": 0.0,
    "max_position_embeddings": 4096,
    "mamba_num_heads": 8,
    "mamba_head_dim": 8,
    "n_groups": 2,
    "ssm_state_size": 16,
    "conv_kernel": 4,
    "chunk_size": 16,
    "expand": 2,
    "use_conv_bias": True,
    "use_bias": False,
    "mamba_proj_bias": False,
    "mamba_hidden_act": "silu",
    "time_step_min": 0.001,
    "time_step_max": 0.1,
    "time_step_floor": 0.0001,
    "mlp_hidden_act": "relu2",
    "mlp_bias": False,
    "intermediate_size": 96,
    "n_routed_experts": 8,
    "n_shared_experts": 1,
    "moe_intermediate_size": 32,
    "moe_shared_expert_intermediate_size": 48,
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
    "torch_dtype": "bfloat16",
    "mamba_ssm_cache_dtype": "float32",
    "use_mamba_kernels": True,
    "num_logits_to_keep": 1,
    "use_cache": True,
    "initializer_range": 0.02,
    "hidden_dropout": 0.0,
}

F32_SUFFIXES = ("mixer.gate.weight", "mixer.gate.e_score_correction_bias",
                "mixer.A_log", "mixer.D", "mixer.dt_bias")

# Logit scale of the two heads (std of a logit for a unit-RMS final hidden state), and the spread
# of per-token row norms (log-normal), chosen so the denoiser's max-probability spans (0.05, 0.99).
HEAD_SCALE = {"context_lm_head.weight": 3.0, "lm_head.weight": 3.0}
HEAD_ROW_LOGSTD = 0.25
# Gain of the mixer output projections (out_proj, o_proj, down_proj) per tower: the denoiser's
# gated updates must be large enough that masked positions (all the same MASK embedding) differ.
OUT_GAIN = {"context_tower": 1.0, "denoiser_tower": 2.5}
# EOS (id 2) row gain of both heads, so that some trajectories do stop at EOS.
EOS_ROW_GAIN = 1.3


def make_weights(cfg, seed=20240611):
    """Released names -> float32 tensors (rounded to BF16 where the file stores BF16)."""
    rng = np.random.default_rng(seed)
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    nh, hd, G, N = cfg["mamba_num_heads"], cfg["mamba_head_dim"], cfg["n_groups"], cfg["ssm_state_size"]
    K = cfg["conv_kernel"]
    di = nh * hd
    cd = di + 2 * G * N
    W = {}

    def normal(shape, std):
        return rng.standard_normal(shape) * std

    def lin(name, out_f, in_f, gain=1.0):
        W[name] = normal((out_f, in_f), gain / math.sqrt(in_f))

    def norm_w(name, n):
        W[name] = 1.0 + normal((n,), 0.1)

    for tower in ("context_tower", "denoiser_tower"):
        W[f"{tower}.embeddings.weight"] = normal((V, H), 1.0)
        og = OUT_GAIN[tower]
        for i, kind in enumerate(cfg["hybrid_override_pattern"]):
            p = f"{tower}.layers.{i}."
            norm_w(p + "norm.weight", H)
            m = p + "mixer."
            if kind == "M":
                lin(m + "in_proj.weight", di + cd + nh, H)
                W[m + "conv1d.weight"] = normal((cd, 1, K), 0.5)
                W[m + "conv1d.bias"] = normal((cd,), 0.1)
                dt = rng.uniform(1e-3, 1e-1, nh)
                W[m + "dt_bias"] = dt + np.log(-np.expm1(-dt))           # inverse softplus
                W[m + "A_log"] = np.log(rng.uniform(1.0, 16.0, nh))
                W[m + "D"] = 1.0 + normal((nh,), 0.1)
                norm_w(m + "norm.weight", di)
                lin(m + "out_proj.weight", H, di, gain=og)
            elif kind == "*":
                nq, nkv, ad = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
                lin(m + "q_proj.weight", nq * ad, H)
                lin(m + "k_proj.weight", nkv * ad, H)
                lin(m + "v_proj.weight", nkv * ad, H)
                lin(m + "o_proj.weight", H, nq * ad, gain=og)
            elif kind == "E":
                E, I, Is = cfg["n_routed_experts"], cfg["moe_intermediate_size"], \
                    cfg["moe_shared_expert_intermediate_size"]
                lin(m + "gate.weight", E, H)
                W[m + "gate.e_score_correction_bias"] = normal((E,), 0.05)
                for e in range(E):
                    lin(m + f"experts.{e}.up_proj.weight", I, H)
                    lin(m + f"experts.{e}.down_proj.weight", H, I, gain=0.8 * og)
                lin(m + "shared_experts.up_proj.weight", Is, H)
                lin(m + "shared_experts.down_proj.weight", H, Is, gain=0.8 * og)
            elif kind == "-":
                I = cfg["intermediate_size"]
                lin(m + "up_proj.weight", I, H)
                lin(m + "down_proj.weight", H, I, gain=0.8 * og)
        norm_w(f"{tower}.norm_f.weight", H)
    for head in ("context_lm_head.weight", "lm_head.weight"):
        rows = np.exp(normal((V, 1), HEAD_ROW_LOGSTD))
        W[head] = normal((V, H), HEAD_SCALE[head] / math.sqrt(H)) * rows
        W[head][cfg["eos_token_id"]] *= EOS_ROW_GAIN
    lin("t_embedder.mlp.0.weight", H, 256)
    W["t_embedder.mlp.0.bias"] = normal((H,), 1 / math.sqrt(256))
    lin("t_embedder.mlp.2.weight", H, H)
    W["t_embedder.mlp.2.bias"] = normal((H,), 1 / math.sqrt(H))
    lin("t_block.1.weight", 3 * H, H)
    W["t_block.1.bias"] = normal((3 * H,), 1 / math.sqrt(H))
    for i in range(len(cfg["hybrid_override_pattern"])):
        W[f"scale_shift_tables.{i}"] = normal((3, H), 1 / math.sqrt(H))

    out = {}
    for name, a in W.items():
        t = torch.from_numpy(np.asarray(a, dtype=np.float32))
        out[name] = t if name.endswith(F32_SUFFIXES) else t.to(torch.bfloat16)
    return out
