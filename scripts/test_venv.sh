#!/usr/bin/env bash
# Creates (when missing or out of date) the Python venv the router's client
# tests use: the official OpenAI client and schemathesis (API fuzzing) from PyPI.
# Usage: scripts/test_venv.sh [DIR]   (default: build/test-venv). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build/test-venv}"
# schemathesis 3.x breaks with Hypothesis > 6.131.14 ('many' object has no attribute 'more').
want=("openai>=1.40,<2" "schemathesis>=3.39,<4" "hypothesis>=6.108,<=6.131.14")
stamp="$dir/.twotower-requirements"
if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${want[*]}" ] &&
   "$dir/bin/python" -c "import openai, schemathesis" 2>/dev/null; then
  echo "test_venv: $dir ready"
  exit 0
fi
python3 -m venv "$dir"
"$dir/bin/pip" install -q --disable-pip-version-check "${want[@]}"
echo "${want[*]}" > "$stamp"
echo "test_venv: installed ${want[*]} into $dir"
