#!/usr/bin/env bash
# Creates (when missing) the Python venv the router's client tests use: the
# official OpenAI client and schemathesis (API fuzzing) from PyPI.
# Usage: scripts/test_venv.sh [DIR]   (default: build/test-venv). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build/test-venv}"
want=(openai==1.* schemathesis==3.*)
if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c "import openai, schemathesis" 2>/dev/null; then
  echo "test_venv: $dir ready"
  exit 0
fi
python3 -m venv "$dir"
"$dir/bin/pip" install -q --disable-pip-version-check "${want[@]}"
echo "test_venv: installed ${want[*]} into $dir"
