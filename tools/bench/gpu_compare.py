#!/usr/bin/env python3
"""Side by side: tt_cuda_bench JSON vs torch_eager_ref.py JSON, per (kernel, shape).

Prints one line per CUDA kernel (us, GB/s, fraction of peak bandwidth and FLOPs) with
the PyTorch-eager time and the speed-up where the reference has the same key, then
the reference's layer-stack figures. Usage: gpu_compare.py CUDA.json TORCH.json
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": f"{path}: {e}"}


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    cuda, torch = load(sys.argv[1]), load(sys.argv[2])
    if "error" in cuda:
        print("cuda bench:", cuda["error"])
    dev = cuda.get("device", {})
    print(f"device {dev.get('name')} peak {dev.get('peak_gb_per_s', 0):.0f} GB/s, "
          f"{dev.get('peak_bf16_tflops', 0):.0f} bf16 TFLOP/s")
    ref = {(r["kernel"], r["shape"]): r["us"] for r in torch.get("kernels", [])}
    print(f"{'kernel':22} {'shape':24} {'us':>9} {'GB/s':>8} {'bw%':>5} {'flop%':>6} {'torch us':>9} {'x':>6}")
    for r in cuda.get("kernels", []):
        t = ref.get((r["kernel"], r["shape"].split(" experts=")[0]))
        if t is None and r["kernel"] == "moe.experts":
            t = ref.get(("moe.eager_layer", r["shape"].split(" experts=")[0]))
        ts = f"{t:9.1f} {t / r['us']:6.2f}" if t else ""
        print(f"{r['kernel']:22} {r['shape']:24} {r['us']:9.1f} {r['gb_per_s']:8.0f} "
              f"{100 * r['bandwidth_fraction']:5.1f} {100 * r['flops_fraction']:6.1f} {ts}")
    ref_stack = {(s["kind"], s["batch"]): s for s in torch.get("layer_stack", [])}
    print("layer stack (52 layers extrapolated from one M, * and E layer; rows = batch x 16):")
    for s in cuda.get("layer_stack", []):
        t = ref_stack.get((s["kind"], s["batch"]))
        ts = (f"torch eager {t['tower_ms_52_layers']:8.2f} ms  speed-up {t['tower_ms_52_layers'] / s['tower_ms_52_layers']:5.2f}x"
              if t else "")
        print(f"  {s['kind']:18} batch {s['batch']:3}: cuda {s['tower_ms_52_layers']:8.2f} ms "
              f"(M {s['mamba_ms']:.3f}, * {s['attention_ms']:.3f}, E {s['moe_ms']:.3f})  {ts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
