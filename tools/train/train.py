"""Train the default TwoTower: (1) the context tower autoregressively, (2) the denoiser tower with
the context tower frozen. Checkpoints under --work (resumable with --resume); the best held-out
parameters of each phase are kept for export.py. Curves go to --log (JSON lines).

Usage: .venv/bin/python tools/train/train.py [--budget-minutes 90] [--resume] [--phase all]
See tools/train/README.md.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data as D  # noqa: E402
import model as M  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

STOP = {"flag": False}


def _on_signal(signum, frame):
    STOP["flag"] = True
    print(f"signal {signum}: stopping after this step", flush=True)


class Logger:
    def __init__(self, path, resume):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.f = open(path, "a" if resume else "w")

    def __call__(self, **rec):
        rec = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in rec.items()}
        self.f.write(json.dumps(rec) + "\n")
        self.f.flush()
        print(json.dumps(rec), flush=True)


def lr_at(step, progress, peak, warmup, min_frac):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = min(max(progress, 0.0), 1.0)
    return peak * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def param_groups(params, prefixes, wd):
    decay, no_decay = [], []
    for name, p in params.named_parameters():
        if not name.startswith(prefixes):
            continue
        if p.dim() == 2 and not name.endswith("embeddings.weight"):
            decay.append(p)
        else:
            no_decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


PHASES = {
    "context": {"train": ("context_tower.", "context_lm_head."), "tower": "context_tower."},
    "denoiser": {"train": ("denoiser_tower.", "lm_head.", "t_embedder.", "t_block.",
                           "scale_shift_tables."), "tower": "denoiser_tower."},
}
# Distillation continues the denoiser on the context tower's greedy continuations (distill.py)
# mixed with corpus windows; same parameters, same loss, its own best checkpoint.
PHASES["distill"] = PHASES["denoiser"]
# Refinement rounds continue the denoiser on rows where, per prompt, its own diffusion decoding
# replaces the greedy continuation when the context tower scores it higher (distill.py --mode
# best); round r starts from round r - 1 (round 1 from the distilled denoiser).
REFINE_ROUNDS = 4
for _r in range(1, REFINE_ROUNDS + 1):
    PHASES[f"refine{_r}"] = PHASES["denoiser"]


def on_rows(phase):
    """Phases that train on distill.py rows (prompt + continuation) instead of corpus windows."""
    return phase == "distill" or phase.startswith("refine")


def seed_offset(phase):
    """The generators' seed offset: refinement rounds draw like the distill phase (their rows differ)."""
    return {"context": 0, "denoiser": 1}.get(phase, 2)


def take_from(params, path, keep):
    """Overwrite the parameters whose names start with `keep` by those of checkpoint `path`."""
    best = torch.load(path, map_location="cpu", weights_only=False)["params"]
    cur = params.state_dict()
    cur.update({k: v for k, v in best.items() if k.startswith(keep)})
    params.load_state_dict(cur)


class DistillData:
    """Prompt + greedy continuation rows from distill.py, one array per prompt length P (a
    multiple of the block): the loss covers the continuation blocks only (first_block = P/16)."""

    def __init__(self, path):
        z = np.load(path)
        self.arrays = {int(k[len("prefix"):]): z[k] for k in z.files}

    def sample(self, rng, batch):
        keys = sorted(self.arrays)
        P = keys[rng.integers(len(keys))]
        rows = self.arrays[P][rng.integers(len(self.arrays[P]), size=batch)]
        return torch.from_numpy(rows.astype(np.int64)), P // M.BLOCK

    def fixed(self):
        """Every row, grouped by prompt length: [(seq, first_block)] for evaluation."""
        return [(torch.from_numpy(self.arrays[P].astype(np.int64)), P // M.BLOCK)
                for P in sorted(self.arrays)]


@torch.no_grad()
def evaluate_distill(tm, groups):
    """Masked CE on held-out distillation rows at fixed t in {0.2, ..., 1.0}, fixed masks."""
    tot, n = 0.0, 0
    gen = torch.Generator().manual_seed(99)
    for seq, fb in groups:
        for i in range(0, len(seq), 8):
            s = seq[i:i + 8]
            t = torch.tensor([0.2 * (1 + (i + r) % 5) for r in range(s.shape[0])])
            loss, w = tm.denoiser_loss(s, gen, first_block=fb, t=t)
            tot += float(loss) * w
            n += w
    return tot / max(n, 1)


@torch.no_grad()
def evaluate(tm, phase, eval_seqs, seq_len):
    """Mean held-out loss over the fixed evaluation windows (context: next-token CE;
    denoiser: masked CE at fixed t in {0.2, 0.4, 0.6, 0.8, 1.0} with fixed masks)."""
    tot, n = 0.0, 0
    gen = torch.Generator().manual_seed(99)
    for i in range(0, len(eval_seqs), 8):
        seq = torch.from_numpy(eval_seqs[i:i + 8])
        if phase == "context":
            loss = tm.context_loss(seq)
            w = seq.shape[0]
        else:
            B = seq.shape[0]
            t = torch.tensor([0.2 * (1 + (i + r) % 5) for r in range(B)])
            loss, w = tm.denoiser_loss(seq[:, :seq_len], gen, t=t)
        tot += float(loss) * w
        n += w
    return tot / max(n, 1)


def save(path, obj):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_phase(phase, a, cfg_dict, params, windows, eval_seqs, log, budget_s, resume_state,
                distill=None, distill_eval=None):
    tm = M.TrainModel(cfg_dict, params)
    W = tm.W
    spec = PHASES[phase]
    for name, p in params.named_parameters():
        p.requires_grad_(name.startswith(spec["train"]))
    peak = {"context": a.lr, "denoiser": a.denoiser_lr, "distill": a.distill_lr}.get(phase, a.refine_lr)
    warmup = a.warmup if phase == "context" else a.denoiser_warmup
    opt = torch.optim.AdamW(param_groups(params, spec["train"], a.weight_decay), lr=peak,
                            betas=(0.9, 0.95), eps=1e-8)
    k = seed_offset(phase)
    rng = np.random.default_rng(a.seed + k)
    gen = torch.Generator().manual_seed(a.seed + 10 + k)
    step, tokens, elapsed, best = 0, 0, 0.0, float("inf")
    if resume_state is not None:
        opt.load_state_dict(resume_state["opt"])
        rng.bit_generator.state = resume_state["np_rng"]
        gen.set_state(resume_state["torch_gen"])
        step, tokens, elapsed = resume_state["step"], resume_state["tokens"], resume_state["elapsed"]
        best = resume_state["best"]
        print(f"resumed {phase} at step {step}, {elapsed:.0f}s", flush=True)
    seq_len = a.seq_len
    best_path = os.path.join(a.work, f"best_{phase}.pt")
    ckpt_path = os.path.join(a.work, "ckpt.pt")

    def checkpoint():
        save(ckpt_path, {"phase": phase, "params": params.state_dict(), "opt": opt.state_dict(),
                         "np_rng": rng.bit_generator.state, "torch_gen": gen.get_state(),
                         "step": step, "tokens": tokens, "elapsed": elapsed, "best": best,
                         "config": cfg_dict, "args": vars(a)})

    # A refinement round keeps its last step: its held-out rows mix greedy continuations, which the
    # round deliberately moves away from, with the model's own, so their loss rises while tokens per
    # forward and quality improve (measured: 1.025 at step 0, 1.053 at step 600, best = step 0).
    keep_last = phase.startswith("refine")

    def do_eval():
        nonlocal best
        t0 = time.time()
        hl = (evaluate_distill(tm, distill_eval) if on_rows(phase)
              else evaluate(tm, phase, eval_seqs, seq_len))
        rec = dict(phase=phase, kind="eval", step=step, tokens=tokens, elapsed_s=elapsed,
                   heldout_loss=hl, heldout_ppl=math.exp(min(hl, 50)), eval_s=time.time() - t0)
        if hl < best and not keep_last:
            best = hl
            save(best_path, {"phase": phase, "params": params.state_dict(), "step": step,
                             "heldout_loss": hl, "config": cfg_dict})
            rec["best"] = True
        log(**rec)

    max_steps = a.steps.get(phase, a.max_steps)
    if step == 0:
        # The options this phase runs with (a resumed phase, e.g. distill after the towers, logs no meta).
        log(phase=phase, kind="phase", step=step, elapsed_s=elapsed, peak_lr=peak, steps=max_steps,
            **({"distill_batch": a.distill_batch or a.batch, "distill_frac": a.distill_frac,
                "distill_prefix_frac": a.distill_prefix_frac, "distill_kd": a.distill_kd,
                "distill_full_frac": a.distill_full_frac}
               if on_rows(phase) else {}))
        do_eval()
    t_last_ckpt = time.time()
    acc_loss, acc_n, acc_tok, t_mark = 0.0, 0, 0, time.time()
    while True:
        # With a step count the schedule and the stopping point depend on steps only (a seeded
        # run takes the same steps); the time budget is then only a safety stop.
        over_time = budget_s <= 0 or elapsed >= budget_s
        progress = step / max_steps if max_steps else (elapsed / budget_s if budget_s > 0 else 1.0)
        if progress >= 1.0 or over_time or STOP["flag"]:
            if over_time and max_steps and progress < 1.0:
                print(f"{phase}: time budget spent at step {step} of {max_steps}", flush=True)
            break
        t0 = time.time()
        lr = lr_at(step, progress, peak, warmup, a.min_lr_frac)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = torch.from_numpy(windows.sample(rng, a.batch))
        stats = {}
        if phase == "context":
            loss = tm.context_loss(batch, stats)
            ntok = batch.shape[0] * seq_len
        elif on_rows(phase) and (phase != "distill" or rng.random() < a.distill_frac):
            seq, fb = distill.sample(rng, a.distill_batch or a.batch)
            loss, _ = tm.denoiser_loss(seq, gen, first_block=fb, stats=stats,
                                       prefix_frac=a.distill_prefix_frac, kd=a.distill_kd,
                                       full_frac=a.distill_full_frac)
            ntok = seq.shape[0] * seq.shape[1]
        else:
            loss, _ = tm.denoiser_loss(batch[:, :seq_len], gen, stats=stats)
            ntok = batch.shape[0] * seq_len
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(
            [p for p in params.parameters() if p.requires_grad], a.clip)
        opt.step()
        M.update_router_bias(W, spec["tower"], stats, a.router_bias_rate)
        step += 1
        tokens += ntok
        dt = time.time() - t0
        elapsed += dt
        acc_loss += float(loss.detach())
        acc_n += 1
        acc_tok += ntok
        if step % a.log_every == 0:
            now = time.time()
            loads = {i: (c.float() / c.sum()).max().item() for i, c in stats.items()}
            log(phase=phase, kind="train", step=step, tokens=tokens, loss=acc_loss / acc_n, lr=lr,
                grad_norm=float(gnorm), tok_s=acc_tok / (now - t_mark), elapsed_s=elapsed,
                max_expert_load=max(loads.values()) if loads else None)
            acc_loss, acc_n, acc_tok, t_mark = 0.0, 0, 0, now
        if step % a.eval_every == 0:
            te = time.time()
            do_eval()
            elapsed += time.time() - te
        if time.time() - t_last_ckpt > a.ckpt_minutes * 60:
            checkpoint()
            t_last_ckpt = time.time()
    te = time.time()
    do_eval()
    elapsed += time.time() - te
    checkpoint()
    if keep_last and not STOP["flag"]:
        save(best_path, {"phase": phase, "params": params.state_dict(), "step": step, "last": True,
                         "config": cfg_dict})
    return not STOP["flag"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase", choices=["all"] + list(PHASES), default="all",
                    help="all = context then denoiser; distill and refineN run only when named")
    ap.add_argument("--budget-minutes", type=float, default=90.0,
                    help="training time of both phases together (export not included)")
    ap.add_argument("--context-share", type=float, default=0.5,
                    help="fraction of the budget for the context tower")
    ap.add_argument("--max-steps", type=int, default=0,
                    help="steps of every phase run (the cosine then runs over steps and the time "
                         "budget is only a safety stop; 0 = time only)")
    ap.add_argument("--steps", default="",
                    help="per-phase steps, e.g. context=2500,denoiser=1500,distill=4100 "
                         "(overrides --max-steps for the phases named)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--distill-batch", type=int, default=0,
                    help="sequences per distillation batch (0 = --batch); distillation rows are "
                         "short (prompt + 4 blocks), so larger batches cost little more per step")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--denoiser-lr", type=float, default=1.5e-3)
    ap.add_argument("--distill-lr", type=float, default=1e-3)
    ap.add_argument("--refine-lr", type=float, default=5e-4,
                    help="peak learning rate of a refinement round (--phase refineN)")
    ap.add_argument("--distill", default=None,
                    help="distill.py output (train split); needed by --phase distill and refineN")
    ap.add_argument("--distill-eval", default=None,
                    help="distill.py output (heldout split) for that phase's evaluation")
    ap.add_argument("--distill-frac", type=float, default=0.7,
                    help="share of distill-phase batches drawn from --distill (rest: corpus); "
                         "train.sh passes 1, the committed recipe")
    ap.add_argument("--distill-prefix-frac", type=float, default=0.0,
                    help="share of distillation sequences trained with a clean prefix per block "
                         "(the left-to-right states decoding visits; rest: independent masking). "
                         "0 = the committed model's recipe; 0.5, measured alone in a whole train.sh "
                         "run, gave fewer tokens per forward at every gamma (models/default/README.md)")
    ap.add_argument("--distill-full-frac", type=float, default=0.0,
                    help="share of distillation blocks masked whole (t = 1: the state every block "
                         "starts from when decoding; independent masking draws it with probability "
                         "t^16); 0 = independent masking only, the committed recipe; 0.2 measured: "
                         "more tokens per forward and quality than 0 on the same towers and rows, "
                         "inside the paired intervals at gamma 0.8 (models/default/README.md)")
    ap.add_argument("--distill-kd", type=float, default=0.0,
                    help="weight of the context tower's soft next-token targets in the distill loss "
                         "(0 = hard greedy tokens only, the committed recipe; 0.5 measured worse: the "
                         "denoiser inherits the teacher's low confidence, ~1 token per forward)")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--denoiser-warmup", type=int, default=20)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--router-bias-rate", type=float, default=5e-3)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=80)
    ap.add_argument("--eval-seqs", type=int, default=16)
    ap.add_argument("--ckpt-minutes", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.path.join(REPO, "build-train"))
    ap.add_argument("--corpus", default=os.path.join(REPO, "build-corpus"))
    ap.add_argument("--tokenizer", default=os.path.join(REPO, "models", "default", "tokenizer.json"))
    ap.add_argument("--log", default=os.path.join(REPO, "models", "default", "training_log.jsonl"))
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--config-override", default="{}",
                    help="JSON merged into the model config (for experiments)")
    a = ap.parse_args()
    try:
        a.steps = {k: int(v) for k, v in (kv.split("=") for kv in a.steps.split(",") if kv)}
    except ValueError:
        ap.error(f"--steps: expected phase=N[,phase=N], got {a.steps!r}")
    for name in ("distill_frac", "distill_prefix_frac", "distill_full_frac", "distill_kd"):
        if not 0.0 <= getattr(a, name) <= 1.0:
            ap.error(f"--{name.replace('_', '-')}: a share between 0 and 1, got {getattr(a, name)}")
    if set(a.steps) - set(PHASES):
        ap.error(f"--steps: unknown phase in {a.steps!r} (phases: {', '.join(PHASES)})")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    os.makedirs(a.work, exist_ok=True)

    cfg_dict = dict(M.DEFAULT_CONFIG)
    cfg_dict.update(json.loads(a.config_override))
    cfg = M.ref_config(cfg_dict)
    params = M.ParamTree(M.all_shapes(cfg))

    stream, starts = D.tokenize_corpus(os.path.join(a.corpus, "train.txt"), a.tokenizer, a.work)
    hstream, hstarts = D.tokenize_corpus(os.path.join(a.corpus, "heldout.txt"), a.tokenizer, a.work)
    windows = D.Windows(stream, starts, a.seq_len)
    eval_seqs = D.Windows(hstream, hstarts, a.seq_len).fixed(a.eval_seqs)
    log = Logger(a.log, a.resume)

    ckpt_path = os.path.join(a.work, "ckpt.pt")
    resume = None
    done = set()
    state_path = os.path.join(a.work, "state.json")
    if a.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        params.load_state_dict(ck["params"])
        resume = ck
        if os.path.exists(state_path):
            done = set(json.load(open(state_path))["done"])
    else:
        gen = torch.Generator().manual_seed(a.seed)
        M.init_weights(params, cfg, gen)
        W = params.W()
        tot = M.count_params(W)
        ctx = M.count_params(W, "context_tower.") + W["context_lm_head.weight"].numel()
        log(kind="meta", config=cfg_dict, params_total=tot, params_context_side=ctx,
            params_denoiser_side=tot - ctx, train_tokens=int(len(stream)),
            heldout_tokens=int(len(hstream)), train_windows=int(len(windows.starts)),
            args=vars(a))

    budgets = {"context": a.budget_minutes * 60 * a.context_share,
               "denoiser": a.budget_minutes * 60 * (1 - a.context_share)}
    distill = distill_eval = None
    if on_rows(a.phase):
        if not a.distill or not a.distill_eval:
            ap.error(f"--phase {a.phase} needs --distill and --distill-eval")
        distill = DistillData(a.distill)
        distill_eval = DistillData(a.distill_eval).fixed()
    phases = ["context", "denoiser"] if a.phase == "all" else [a.phase]
    for phase in phases:
        if phase in done:
            continue
        rs = resume if (resume is not None and resume["phase"] == phase) else None
        if phase == "denoiser" and rs is None:
            bp = os.path.join(a.work, "best_context.pt")
            if os.path.exists(bp):
                take_from(params, bp, PHASES["context"]["train"])
            M.init_denoiser_from_context(params)
        if phase == "distill" and rs is None:
            # Start from the best context tower and the best corpus-trained denoiser, or from
            # the warm start (copy of the context tower) when no denoiser phase ran.
            take_from(params, os.path.join(a.work, "best_context.pt"), PHASES["context"]["train"])
            path = os.path.join(a.work, "best_denoiser.pt")
            if os.path.exists(path):
                take_from(params, path, PHASES["denoiser"]["train"])
            else:
                M.init_denoiser_from_context(params)
                print("distill: no best_denoiser.pt, starting from the warm start", flush=True)
        if phase.startswith("refine") and rs is None:
            # Round r continues the denoiser of round r - 1 (round 1: the distilled one).
            r = int(phase[len("refine"):])
            prev = f"best_refine{r - 1}.pt" if r > 1 else "best_distill.pt"
            path = os.path.join(a.work, prev)
            if not os.path.exists(path):
                sys.exit(f"train.py: --phase {phase} starts from {path}, which does not exist")
            take_from(params, os.path.join(a.work, "best_context.pt"), PHASES["context"]["train"])
            take_from(params, path, PHASES["denoiser"]["train"])
        finished = train_phase(phase, a, cfg_dict, params, windows, eval_seqs, log,
                               budgets.get(phase, a.budget_minutes * 60), rs, distill, distill_eval)
        if not finished:
            print("stopped by signal; resume with --resume", flush=True)
            sys.exit(3)
        done.add(phase)
        json.dump({"done": sorted(done)}, open(state_path, "w"))
        resume = None


if __name__ == "__main__":
    main()
