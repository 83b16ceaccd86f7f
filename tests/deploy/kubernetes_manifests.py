#!/usr/bin/env python3
"""deploy/kubernetes against the binary and against itself (no cluster runs here).

For the base manifests, and for the base and gpu variants as kustomize renders
them where kubectl is installed:
  - every option in a container's args is one `twotower <command> --help` lists;
  - the router finds the cells through their headless Service (--context-dns
    <service>:<port>) or lists each by its pod DNS name (<set>-<i>.<service>), on
    the port the cells listen on, which the headless Service exposes;
  - probes use declared container ports; the metrics ports follow --metrics-port
    and --denoisers; Services and disruption budgets select existing pods;
  - a GPU cell asks for as many GPUs as its --device list names.
Usage: kubernetes_manifests.py TWOTOWER_BINARY REPO_ROOT. Exit 77: no PyYAML.
"""
import os
import re
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml not installed (scripts/setup.sh installs it)")
    sys.exit(77)

BIN, REPO = sys.argv[1], sys.argv[2]
K8S = os.path.join(REPO, "deploy", "kubernetes")
errors = []


def check(ok, what):
    if not ok:
        errors.append(what)


def options_of(command):
    out = subprocess.run([BIN, command, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"--[a-z][a-z0-9-]*", out))


def arg(args, name, default=None):
    return args[args.index(name) + 1] if name in args else default


def validate(docs, where):
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    workloads = by_kind.get("StatefulSet", []) + by_kind.get("Deployment", [])
    check(len(workloads) == 2, f"{where}: expected the cell StatefulSet and the router Deployment")
    cells = [w for w in by_kind.get("StatefulSet", []) if w["metadata"]["name"] == "twotower-cell"]
    routers = [w for w in by_kind.get("Deployment", []) if w["metadata"]["name"] == "twotower-router"]
    if not cells or not routers:
        errors.append(f"{where}: twotower-cell or twotower-router missing")
        return
    cell, router = cells[0], routers[0]
    for w in workloads:
        pod = w["spec"]["template"]
        check(w["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
              f"{where}: {w['metadata']['name']} selector does not match its pods")
        for c in pod["spec"]["containers"]:
            args = [str(a) for a in c["args"]]
            known = options_of(args[0])
            for a in args:
                if a.startswith("--"):
                    check(a in known, f"{where}: {w['metadata']['name']}: `twotower {args[0]}` has no option {a}")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                p = c.get(probe)
                if p:
                    port = (p.get("httpGet") or p.get("tcpSocket"))["port"]
                    check(port in ports or port in ports.values(), f"{where}: {probe} uses undeclared port {port}")
    # Services select existing pods.
    for s in by_kind.get("Service", []):
        sel = s["spec"]["selector"].items()
        check(any(sel <= w["spec"]["template"]["metadata"]["labels"].items() for w in workloads),
              f"{where}: Service {s['metadata']['name']} selects no pods")
    # Disruption budgets select existing pods.
    for b in by_kind.get("PodDisruptionBudget", []):
        sel = b["spec"]["selector"]["matchLabels"].items()
        check(any(sel <= w["spec"]["template"]["metadata"]["labels"].items() for w in workloads),
              f"{where}: PodDisruptionBudget {b['metadata']['name']} selects no pods")
    # Router <-> cells.
    cargs = [str(a) for a in cell["spec"]["template"]["spec"]["containers"][0]["args"]]
    listen_port = int(arg(cargs, "--context-listen").rsplit(":", 1)[1])
    headless = [s for s in by_kind.get("Service", []) if s["metadata"]["name"] == cell["spec"]["serviceName"]]
    check(headless and headless[0]["spec"].get("clusterIP") == "None", f"{where}: the cells' Service is not headless")
    if headless:
        check(listen_port in [p["port"] for p in headless[0]["spec"]["ports"]],
              f"{where}: the headless Service does not expose the cells' port {listen_port}")
    rargs = [str(a) for a in router["spec"]["template"]["spec"]["containers"][0]["args"]]
    if "--context-dns" in rargs:  # the headless Service, on the cells' port
        want = f"{cell['spec']['serviceName']}:{listen_port}"
        check(arg(rargs, "--context-dns") == want, f"{where}: router --context-dns {arg(rargs, '--context-dns')} != {want}")
    else:  # a fixed list: every cell by its pod DNS name
        want = ",".join(f"{cell['metadata']['name']}-{i}.{cell['spec']['serviceName']}:{listen_port}"
                        for i in range(cell["spec"]["replicas"]))
        check(arg(rargs, "--context", "") == want, f"{where}: router --context {arg(rargs, '--context')} != {want}")
    # Metrics ports follow --metrics-port and --denoisers.
    cports = sorted(p["containerPort"] for p in cell["spec"]["template"]["spec"]["containers"][0]["ports"])
    base, n = int(arg(cargs, "--metrics-port")), int(arg(cargs, "--denoisers", "1"))
    check(cports == sorted([listen_port] + [base + i for i in range(n + 1)]),
          f"{where}: cell ports {cports} do not match --metrics-port {base} and {n} denoisers")
    # GPUs: as many as the --device list names.
    device = arg(cargs, "--device")
    limits = cell["spec"]["template"]["spec"]["containers"][0].get("resources", {}).get("limits", {})
    gpus = int(limits.get("nvidia.com/gpu", 0))
    if device is not None:
        check(gpus == len(set(device.split(","))), f"{where}: --device {device} but {gpus} GPUs requested")
    else:
        check(gpus == 0, f"{where}: GPUs requested for a CPU cell")


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


base = []
for name in yaml.safe_load(open(os.path.join(K8S, "base", "kustomization.yaml")))["resources"]:
    base += load(os.path.join(K8S, "base", name))
validate(base, "base")
rendered = 1
if shutil.which("kubectl"):
    for variant in ("base", "gpu"):
        r = subprocess.run(["kubectl", "kustomize", os.path.join(K8S, variant)], capture_output=True, text=True)
        check(r.returncode == 0, f"kubectl kustomize {variant}: {r.stderr.strip()}")
        if r.returncode == 0:
            docs = [d for d in yaml.safe_load_all(r.stdout) if d]
            validate(docs, f"kustomize {variant}")
            rendered += 1
            if variant == "gpu":
                check(any("--device" in c["args"] for d in docs if d["kind"] == "StatefulSet"
                          for c in d["spec"]["template"]["spec"]["containers"]), "gpu: no --device")
else:
    print("kubectl not installed: the kustomize variants (gpu) are not rendered")
for e in errors:
    print("FAIL:", e)
if errors:
    sys.exit(1)
print(f"PASS: {rendered} manifest set(s) consistent with each other and with the binary's options")
