"""What the deploy checks ask of a running router (imported by their inline Python)."""
import json
import time
import urllib.request


def get(port, path, timeout=10):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read().decode()


def get_when_up(port, path, limit_s=60):
    """GET that waits for the endpoint to listen: a process started with the others may still be
    loading its model (seen in CI with a loaded machine: a cell's denoiser came up seconds after
    the router was ready)."""
    deadline = time.time() + limit_s
    while True:
        try:
            return get(port, path)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def wait_ready(port, alive, limit_s):
    """Polls GET /ready until 200; exits with a reason when alive() says why not or time runs out."""
    deadline = time.time() + limit_s
    while True:
        try:
            if get(port, "/ready", timeout=5)[0] == 200:
                return
        except Exception:
            pass
        if time.time() > deadline:
            raise SystemExit("router never ready")
        why = alive()
        if why:
            raise SystemExit(why)
        time.sleep(0.3)


def completion_request(port, body):
    return urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", method="POST",
                                  data=json.dumps({"model": "default", **body}).encode(),
                                  headers={"Content-Type": "application/json"})


def complete(port, prompt, max_tokens):
    """A non-streamed completion; checks it has max_tokens tokens and returns the response."""
    body = {"prompt": prompt, "max_tokens": max_tokens, "ignore_eos": True}
    with urllib.request.urlopen(completion_request(port, body),
                                timeout=60) as r:
        out = json.load(r)
    assert out["usage"]["completion_tokens"] == max_tokens, out
    return out
