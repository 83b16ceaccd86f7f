"""Fuzzes the router with schemathesis from its OpenAPI description
(router/openapi.yaml): no 5xx, responses conform to the schema, and the router
is still alive afterwards. A small random model keeps each generation fast,
and the fuzzed copy of the schema narrows max_tokens / block sizes so the run
stays well under a minute. Usage: schemathesis_test.py TWOTOWER_BINARY SOURCE_DIR"""
import os
import subprocess
import sys
import tempfile
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from py_cluster import Cluster  # noqa: E402


def narrowed_schema(source, model_name):
    with open(os.path.join(source, "router", "openapi.yaml")) as f:
        spec = yaml.safe_load(f)
    common = spec["components"]["schemas"]["Common"]["properties"]
    common["model"]["enum"] = [model_name]
    common["max_tokens"]["maximum"] = 48
    common["block_size"]["maximum"] = 16
    common["steps_per_block"]["maximum"] = 16
    chat = spec["components"]["schemas"]["ChatCompletionRequest"]["allOf"][1]["properties"]
    chat["max_completion_tokens"]["maximum"] = 48
    path = os.path.join(tempfile.mkdtemp(prefix="tt-schema-"), "openapi.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(spec, f)
    return path


def main():
    binary, source = sys.argv[1], sys.argv[2]
    model = os.path.join(source, "tests", "data", "tiny-random")
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    with Cluster(binary, model, ["--api-key", "fuzz-key"]) as c:
        schema = narrowed_schema(source, "tiny-random")
        cmd = [st, "run", schema, "--base-url", c.url, "--checks", "all", "--data-generation-method", "all", "--hypothesis-max-examples", "40",
               "--hypothesis-seed", "1", "--hypothesis-suppress-health-check", "all", "--request-timeout", "30000",
               "--max-response-time", "30000", "--no-color", "-H", "Authorization: Bearer fuzz-key"]
        print(" ".join(cmd), flush=True)
        rc = subprocess.run(cmd, timeout=240).returncode
        alive = c.router_alive() and urllib.request.urlopen(c.url + "/health", timeout=5).status == 200
        print("router alive after fuzzing:", alive)
        return 0 if rc == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
