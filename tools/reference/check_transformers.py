"""Cross-check of the reference's context tower against Hugging Face transformers' own NemotronH
(`transformers.models.nemotron_h`), in float32 on the tiny checkpoint.

The context side is renamed as in CHECKPOINT.md source S4 (`context_tower.` -> `backbone.`,
`context_lm_head.weight` -> `lm_head.weight`) and loaded with NemotronHForCausalLM.from_pretrained,
so transformers' own released-layout conversion (backbone. -> model., per-expert tensors stacked)
is exercised. Compared: full-prefill logits and per-layer residual streams of the golden prompt,
a 5-token cached extension, and 5 single-token cached decode steps. The mock-AR golden is checked
too: the denoiser weights, loaded as a second plain NemotronH, decode the prompt's last token
against the cache that transformers' context model built over the rest of the prompt.

Known semantic differences of transformers 5.24 from CHECKPOINT.md (ours follows CHECKPOINT.md):
  * router: fp32 logits/sigmoid (NemotronHTopkRouter) instead of fp64 (TwoTower's shipped copy);
  * Mamba prefill/chunk path clamps dt = softplus(dt + dt_bias) from below at config.time_step_min
    (mixer.time_step_limit = (time_step_min, inf)); the single-token decode path does not clamp.
To separate these from real bugs, the comparison is also made against our reference with the same
dt clamp applied on multi-token calls ("ours_dtclamp"), and on a probe checkpoint whose dt_bias are
lowered so that the clamp bites (the tiny checkpoint itself never has dt < time_step_min).
Writes tools/reference/transformers_check.json.
Usage: .venv/bin/python tools/reference/check_transformers.py [MODEL_DIR]
"""
import json
import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import twotower_ref as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def errors(ours, theirs):
    ours, theirs = ours.double(), theirs.double()
    d = (ours - theirs).abs()
    return {"max_abs": float(d.max()), "max_rel": float(d.max() / ours.abs().max()),
            "argmax_agree": bool((ours.argmax(-1) == theirs.argmax(-1)).all())}


def load_hf(model_dir, tmp, W=None, tower="context_tower.", head="context_lm_head.weight"):
    from transformers import NemotronHForCausalLM
    if W is None:
        W = load_file(os.path.join(model_dir, "model.safetensors"))
    ctx = {}
    for k, v in W.items():
        if k.startswith(tower):
            ctx["backbone." + k[len(tower):]] = v
        elif k == head:
            ctx["lm_head.weight"] = v
    save_file(ctx, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    cfg["architectures"] = ["NemotronHForCausalLM"]
    json.dump(cfg, open(os.path.join(tmp, "config.json"), "w"))
    model, info = NemotronHForCausalLM.from_pretrained(
        tmp, dtype=torch.float32, output_loading_info=True, attn_implementation="eager")
    model.eval()
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if bad:
        raise SystemExit(f"transformers did not load the tiny context tower cleanly: {bad}")
    return model


def hf_prefill_and_steps(model, P, E):
    from transformers import DynamicCache
    with torch.no_grad():
        out = model(torch.tensor([P]), use_cache=True, output_hidden_states=True, logits_to_keep=0)
        prefill, hidden, cache = out.logits[0], out.hidden_states, out.cache
        steps = []
        for tkn in E:                       # single-token cached decode steps
            o = model(torch.tensor([[tkn]]), cache=cache, use_cache=True, logits_to_keep=0)
            cache = o.cache
            steps.append(o.logits[0])
        cache2 = DynamicCache(config=model.config)
        o = model(torch.tensor([P]), cache=cache2, use_cache=True, logits_to_keep=0)
        o = model(torch.tensor([E]), cache=o.cache, use_cache=True, logits_to_keep=0)
    return prefill, hidden, torch.cat(steps), o.logits[0]


def hf_mock_ar_first_logits(model_dir, P):
    """mock-AR through transformers: the context model prefills P[:-1] into a cache; the denoiser
    weights, loaded as a second plain NemotronH, then decode P[-1] against that same cache."""
    tmp1, tmp2 = tempfile.mkdtemp(prefix="tt_hf_"), tempfile.mkdtemp(prefix="tt_hf_")
    try:
        ctx = load_hf(model_dir, tmp1)
        den = load_hf(model_dir, tmp2, tower="denoiser_tower.", head="lm_head.weight")
        with torch.no_grad():
            cache = ctx(torch.tensor([P[:-1]]), use_cache=True).cache
            return den(torch.tensor([P[-1:]]), cache=cache, use_cache=True, logits_to_keep=0).logits[0]
    finally:
        shutil.rmtree(tmp1, ignore_errors=True)
        shutil.rmtree(tmp2, ignore_errors=True)


def ours(model_dir, P, E, dt_min=None, W=None):
    m = ref.TwoTower(model_dir, dt_min=dt_min,
                     weights=None if W is None else {k: v.float() for k, v in W.items()})
    rec = {}
    logits, cache = m.context_extend(P, m.empty_cache(), record=rec)
    ext, _ = m.context_extend(E, cache)
    if dt_min is not None:      # transformers' single-token path does not clamp
        m.context.dt_min = None
    c, steps = cache, []
    for tkn in E:
        lg, c = m.context_extend([tkn], c)
        steps.append(lg)
    return logits, rec, torch.cat(steps), ext


def dt_below(model_dir, ids, dt_min, W=None):
    """How many (token, head) dt values of the prefill fall below dt_min."""
    m = ref.TwoTower(model_dir, weights=None if W is None else {k: v.float() for k, v in W.items()})
    hits, total = [0], [0]
    plain = ref.ssm_scan

    def spy(x, dt, *a):
        hits[0] += int((dt < dt_min).sum())
        total[0] += dt.numel()
        return plain(x, dt, *a)

    ref.ssm_scan = spy
    try:
        m.context_extend(ids, m.empty_cache())
    finally:
        ref.ssm_scan = plain
    return hits[0], total[0]


def main():
    torch.set_num_threads(2)
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "tiny-random")
    traj = json.load(open(os.path.join(model_dir, "goldens", "trajectories.json")))
    P, E = traj["prompt_ids"]["long"], traj["extend_ids"]
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    tmp = tempfile.mkdtemp(prefix="tt_hf_")
    try:
        hf = load_hf(model_dir, tmp)
        hf_pre, hf_hidden, hf_steps, hf_ext = hf_prefill_and_steps(hf, P, E)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    import transformers
    report = {"transformers_version": transformers.__version__, "torch_version": torch.__version__,
              "prompt_ids": P, "extend_ids": E,
              "dt_below_time_step_min_in_prefill": dict(zip(("count", "of"), dt_below(
                  model_dir, P, cfg["time_step_min"]))),
              "known_differences": [
                  "router: transformers fp32, ours fp64 (CHECKPOINT.md 8.4)",
                  "Mamba chunk path (multi-token calls): transformers clamps dt >= time_step_min "
                  f"({cfg['time_step_min']}); ours does not (CHECKPOINT.md 8.2 step 4)"]}
    # transformers' hidden_states = [embeddings, output of layers 0..L-2, norm_f(output of L-1)]
    n_layers = len(cfg["hybrid_override_pattern"])
    assert len(hf_hidden) == n_layers + 1, len(hf_hidden)
    for variant, dt_min in (("ours", None), ("ours_dtclamp", cfg["time_step_min"])):
        lg, rec, steps, ext = ours(model_dir, P, E, dt_min)
        mine = [rec["embed"]] + rec["layers"][:-1] + [rec["final_norm"]]
        r = {"prefill_logits": errors(lg, hf_pre),
             "decode_steps_logits": errors(steps, hf_steps),
             "cached_extension_logits": errors(ext, hf_ext)}
        r["hidden_states_max_rel"] = {
            name: errors(a, b[0])["max_rel"] for name, a, b in zip(
                ["embed"] + [f"layer.{i}" for i in range(n_layers - 1)] + ["final_norm"], mine, hf_hidden)}
        report[variant] = r
    gold = load_file(os.path.join(model_dir, "goldens", "layers.safetensors"))
    report["mock_ar_first_logits_vs_golden"] = errors(gold["mock_ar.logits"],
                                                      hf_mock_ar_first_logits(model_dir, P))
    # Probe of the dt clamp: the same checkpoint with every Mamba dt_bias lowered by 6, so that
    # many dt fall below time_step_min. transformers should then match ours only with the clamp.
    W = load_file(os.path.join(model_dir, "model.safetensors"))
    for k in W:
        if k.startswith("context_tower.") and k.endswith("mixer.dt_bias"):
            W[k] = W[k] - 6.0
    tmp = tempfile.mkdtemp(prefix="tt_hf_")
    try:
        hf_pre, _, _, _ = hf_prefill_and_steps(load_hf(model_dir, tmp, W), P, E)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["probe_dt_bias_minus_6"] = {
        "dt_below_time_step_min_in_prefill": dict(zip(("count", "of"), dt_below(
            model_dir, P, cfg["time_step_min"], W))),
        "ours_prefill_logits": errors(ours(model_dir, P, E, None, W)[0], hf_pre),
        "ours_dtclamp_prefill_logits": errors(ours(model_dir, P, E, cfg["time_step_min"], W)[0], hf_pre)}
    path = os.path.join(HERE, "transformers_check.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
