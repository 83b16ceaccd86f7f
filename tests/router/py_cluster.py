"""Test helper for the Python router tests: a context actor, a denoiser and a
router as real processes of the twotower binary on loopback (port 0), all
killed on exit. Usage: with Cluster(binary, model_dir, router_args) as c: c.url"""
import os
import subprocess
import tempfile
import time
import urllib.request


class Cluster:
    def __init__(self, binary, model, router_args=(), timeout_s=60):
        self.binary, self.model, self.router_args, self.timeout_s = binary, model, list(router_args), timeout_s
        self.procs, self.dir = [], tempfile.mkdtemp(prefix="tt-pyrouter-")

    def _start(self, name, args):
        out = open(os.path.join(self.dir, name + ".out"), "w")
        err = open(os.path.join(self.dir, name + ".err"), "w")
        p = subprocess.Popen([self.binary] + args, stdout=out, stderr=err)
        self.procs.append(p)
        return p

    def _first_line(self, name):
        path = os.path.join(self.dir, name + ".out")
        until = time.time() + self.timeout_s
        while time.time() < until:
            with open(path) as f:
                line = f.readline()
            if line.endswith("\n") and "listening on " in line:
                return line.split("listening on ", 1)[1].strip()
            time.sleep(0.02)
        raise RuntimeError(name + " did not start: " + open(os.path.join(self.dir, name + ".err")).read())

    def __enter__(self):
        self._start("context", ["context", "--listen", "127.0.0.1:0", "--model", self.model, "--threads", "1"])
        self.context = self._first_line("context")
        self._start("denoiser", ["denoiser", "--context", self.context, "--model", self.model, "--threads", "1"])
        self._start("router", ["router", "--listen", "127.0.0.1:0", "--context", self.context, "--model", self.model,
                               "--probe-interval-ms", "200"] + self.router_args)
        self.address = self._first_line("router")
        self.url = "http://" + self.address
        until = time.time() + self.timeout_s
        while time.time() < until:
            try:
                if urllib.request.urlopen(self.url + "/ready", timeout=5).status == 200:
                    return self
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError("router never ready: " + open(os.path.join(self.dir, "router.err")).read())

    def generate_connect(self, args):
        """`twotower generate --json ... --connect <context>`: the ground truth."""
        import json
        out = subprocess.run([self.binary, "generate", "--model", self.model, "--json", "--connect", self.context] + args,
                             check=True, capture_output=True, text=True, timeout=120).stdout
        return json.loads(out)

    def router_alive(self):
        return self.procs[-1].poll() is None

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        return False
