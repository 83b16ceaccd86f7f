#!/usr/bin/env python3
"""Cross-check `twotower simulate` against a mock cluster on loopback.

Starts `twotower context --compute mock` and its mock denoisers (real processes,
real CAF transports), a router (`twotower router`, OpenAI API) in front, drives
it with `twotower loadgen` over a Poisson rate sweep, runs `twotower simulate`
on the same workload (same seed: the same arrivals and lengths), and prints one
JSON object with both sides and their ratios per rate.

  python3 tools/sim/crosscheck.py --binary build/bin/twotower \
      [--router-binary PATH] --profile profiles/nemotron-twotower-30b-h100.json \
      --contexts 1 --denoisers 2 --rates 2,4,8 --requests 100
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time


def start(cmd, log):
    out = open(log + ".out", "w")
    err = open(log + ".err", "w")
    return subprocess.Popen(cmd, stdout=out, stderr=err)


def wait_listening(log, proc, limit=60):
    until = time.time() + limit
    while time.time() < until:
        if proc.poll() is not None:
            sys.exit("process exited early: " + open(log + ".err").read())
        m = re.search(r"listening on (\S+)", open(log + ".out").read())
        if m:
            return m.group(1)
        time.sleep(0.1)
    sys.exit("no 'listening on' from " + log)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/bin/twotower")
    ap.add_argument("--router-binary", default=None, help="twotower with the router subcommand (default: --binary)")
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--profile", default="profiles/nemotron-twotower-30b-h100.json")
    ap.add_argument("--contexts", type=int, default=1)
    ap.add_argument("--denoisers", type=int, default=2)
    ap.add_argument("--gamma", default="0.8")
    ap.add_argument("--rates", default="2,4,8")
    ap.add_argument("--concurrency", default=None, help="closed loop instead of --rates, e.g. 1,8,32")
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--input-len", default="fixed:64")
    ap.add_argument("--output-len", default="fixed:64")
    ap.add_argument("--link-latency", default="200us", help="one-way actor-to-actor latency on loopback")
    ap.add_argument("--seed", default="1")
    a = ap.parse_args()
    router_bin = a.router_binary or a.binary
    tmp = tempfile.mkdtemp(prefix="tt-crosscheck-")
    procs = []
    try:
        mock = ["--compute", "mock", "--profile", a.profile, "--model", a.model, "--threads", "1"]
        contexts = []
        for c in range(a.contexts):
            log = f"{tmp}/context{c}"
            p = start([a.binary, "context", "--listen", "127.0.0.1:0"] + mock, log)
            procs.append(p)
            contexts.append(wait_listening(log, p))
            for d in range(a.denoisers):
                procs.append(start([a.binary, "denoiser", "--context", contexts[-1]] + mock, f"{tmp}/den{c}_{d}"))
        time.sleep(2.0)  # registrations
        log = f"{tmp}/router"
        p = start([router_bin, "router", "--listen", "127.0.0.1:0", "--context", ",".join(contexts), "--model", a.model,
                   "--model-name", "twotower", "--policy", "least-loaded", "--max-running", "100000", "--max-queue", "100000"], log)
        procs.append(p)
        url = "http://" + wait_listening(log, p)
        time.sleep(1.0)
        load = ["--concurrency", a.concurrency] if a.concurrency else ["--rate", a.rates]
        extra = load + ["--input-len", a.input_len, "--output-len", a.output_len,
                 "--requests", str(a.requests), "--seed", a.seed]
        # The gamma travels in the request body only through the router's default (0.8) here.
        measured = json.loads(subprocess.run([a.binary, "loadgen", "--url", url, "--vocab", "4096"] + extra,
                                             check=True, capture_output=True, text=True).stdout)
        simulated = json.loads(subprocess.run(
            [a.binary, "simulate", "--profile", a.profile, "--contexts", str(a.contexts), "--denoisers",
             str(a.denoisers), "--gamma", a.gamma, "--link-latency", a.link_latency, "--link-bandwidth", "1e15"] + extra,
            check=True, capture_output=True, text=True).stdout)
    finally:
        for p in procs:
            p.kill()
            p.wait()
    points = []
    for m, s in zip(measured["points"], simulated["points"]):
        row = {"rate": m.get("offered_rate"), "concurrency": m.get("concurrency")}
        for key, get in [("requests_per_s", lambda x: x["requests_per_s"]),
                         ("output_tokens_per_s", lambda x: x["output_tokens_per_s"]),
                         ("e2e_p50_s", lambda x: x["e2e_s"]["p50"]),
                         ("ttft_p50_s", lambda x: x["ttft_s"]["p50"]),
                         ("tokens_per_forward", lambda x: x["tokens_per_forward"])]:
            mv, sv = get(m), get(s)
            row[key] = {"mock_cluster": mv, "simulated": sv, "ratio": sv / mv if mv else None}
        row["mock_errors"] = m["errors"]
        row["mock_error_samples"] = m.get("error_samples", [])
        points.append(row)
    within = all(p[k]["ratio"] is not None and abs(p[k]["ratio"] - 1) <= 0.10 and p["mock_errors"] == 0
                 for p in points for k in ("output_tokens_per_s", "e2e_p50_s"))
    print(json.dumps({"benchmark": "simulate_vs_mock_cluster", "profile": a.profile, "contexts": a.contexts,
                      "denoisers_per_context": a.denoisers, "input_len": a.input_len, "output_len": a.output_len,
                      "requests_per_rate": a.requests, "within_10_percent": within, "points": points}, indent=1))


if __name__ == "__main__":
    main()
