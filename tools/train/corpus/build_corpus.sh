#!/usr/bin/env bash
# Install the Debian packages the corpus is read from (only those missing),
# then build build-corpus/{train,heldout}.txt with build_corpus.py.
#
# Usage: tools/train/corpus/build_corpus.sh [--kjv] [other build_corpus.py options]
# Needs root (or sudo) only when a package is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"

pkgs=(sword-text-web r-cran-janeaustenr fortunes fortunes-min)
for arg in "$@"; do
    [[ "$arg" == "--kjv" ]] && pkgs+=(sword-text-kjv)
done

missing=()
for p in "${pkgs[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo=()
    if [[ $EUID -ne 0 ]]; then sudo=(sudo); fi
    export DEBIAN_FRONTEND=noninteractive
    # r-cran-janeaustenr pulls in r-base-core; recommends are not needed.
    if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        "${sudo[@]}" apt-get update -q
        "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
fi

py="$repo/.venv/bin/python"
[[ -x "$py" ]] || py=python3
exec "$py" "$here/build_corpus.py" --out "$repo/build-corpus" "$@"
