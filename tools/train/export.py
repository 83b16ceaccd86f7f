"""Export the trained TwoTower to the released checkpoint layout:

  <out>/config.json        NemotronH config (released field names) + "mask_token_id": 3
  <out>/model.safetensors  released tensor names; BF16, except mixer.gate.weight,
                           mixer.gate.e_score_correction_bias, A_log, D, dt_bias (F32)
  <out>/tokenizer.json     copied (unless it is already there)

Parameters: the context side (context_tower.*, context_lm_head.weight) from best_context.pt, the
denoiser side (denoiser_tower.*, lm_head.weight, t_embedder.*, t_block.*, scale_shift_tables.*)
from the last stage that ran: best_refineN.pt of the highest refinement round, else best_distill.pt,
else best_denoiser.pt. If the denoiser phase never produced a checkpoint (run cut short), the
denoiser is the warm start: a copy of the context tower with identity time modulation.
Falls back to ckpt.pt (the latest state) for a side that has no best_*.pt.

Usage: .venv/bin/python tools/train/export.py [--work build-train] [--out models/default]
"""
import argparse
import json
import os
import re
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONTEXT = ("context_tower.", "context_lm_head.")
DENOISER = ("denoiser_tower.", "lm_head.", "t_embedder.", "t_block.", "scale_shift_tables.")


def load(path):
    return torch.load(path, map_location="cpu", weights_only=False) if os.path.exists(path) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default=os.path.join(REPO, "build-train"))
    ap.add_argument("--out", default=os.path.join(REPO, "models", "default"))
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "models", "default", "tokenizer.json"))
    a = ap.parse_args()

    bc = load(os.path.join(a.work, "best_context.pt"))
    # Each stage supersedes the one before: refinement rounds, distillation, the corpus-trained denoiser.
    rounds = sorted((int(m.group(1)), m.group(0)) for m in
                    (re.fullmatch(r"best_refine(\d+)\.pt", n) for n in os.listdir(a.work)) if m)
    stages = [n for _, n in reversed(rounds)] + ["best_distill.pt", "best_denoiser.pt"]
    bd_name = next((n for n in stages if os.path.exists(os.path.join(a.work, n))), "best_denoiser.pt")
    bd = load(os.path.join(a.work, bd_name))
    last = load(os.path.join(a.work, "ckpt.pt"))
    src = bc or last
    if src is None:
        sys.exit("export: no checkpoint in " + a.work)
    cfg_dict = src["config"]
    cfg = M.ref_config(cfg_dict)
    params = M.ParamTree(M.all_shapes(cfg))
    M.init_weights(params, cfg, torch.Generator().manual_seed(0))
    sd = params.state_dict()
    info = {}
    ctx_src = bc if bc is not None else last
    sd.update({k: v for k, v in ctx_src["params"].items() if k.startswith(CONTEXT)})
    info["context"] = {"from": "best_context.pt" if bc is not None else "ckpt.pt",
                       "step": ctx_src.get("step"), "heldout_loss": ctx_src.get("heldout_loss")}
    params.load_state_dict(sd)
    if bd is not None:
        sd = params.state_dict()
        sd.update({k: v for k, v in bd["params"].items() if k.startswith(DENOISER)})
        params.load_state_dict(sd)
        info["denoiser"] = {"from": bd_name, "step": bd.get("step"),
                            "heldout_loss": bd.get("heldout_loss")}
    elif last is not None and last.get("phase") not in (None, "context"):  # a denoiser-side phase
        sd = params.state_dict()
        sd.update({k: v for k, v in last["params"].items() if k.startswith(DENOISER)})
        params.load_state_dict(sd)
        info["denoiser"] = {"from": "ckpt.pt", "step": last.get("step")}
    else:
        M.init_denoiser_from_context(params)
        info["denoiser"] = {"from": "warm start (copy of the context tower, identity modulation)"}

    tensors = {}
    for k, v in params.state_dict().items():
        v = v.detach().to(torch.float32).contiguous()
        tensors[k] = v if k.endswith(M.F32_SUFFIXES) else v.to(torch.bfloat16)
    expected = set(M.all_shapes(cfg))
    assert set(tensors) == expected, set(tensors) ^ expected
    os.makedirs(a.out, exist_ok=True)
    save_file(tensors, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    os.chmod(os.path.join(a.out, "model.safetensors"), 0o644)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2)
        f.write("\n")
    tok_dst = os.path.join(a.out, "tokenizer.json")
    if os.path.abspath(a.tokenizer) != os.path.abspath(tok_dst):
        shutil.copyfile(a.tokenizer, tok_dst)
    n = sum(v.numel() for v in tensors.values())
    size = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    info.update(tensors=len(tensors), params=n,
                bytes_model=os.path.getsize(os.path.join(a.out, "model.safetensors")),
                bytes_dir_total=size)
    with open(os.path.join(a.work, "export_info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
