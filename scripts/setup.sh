#!/usr/bin/env bash
# Installs every system dependency of twotower from Debian 12 packages.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  nlohmann-json3-dev libpcre2-dev            # config/checkpoint JSON, tokenizer regex
  libcaf-dev                                 # actors and remoting (CAF 0.17)
  libssl-dev openssl                         # mutual TLS between nodes; test certificates
  libboost-dev libboost-program-options-dev  # Asio / Beast
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  prometheus                                 # promtool + server for monitoring checks
  python3 python3-venv                       # tools/ (reference, trainer) only
  slurmctld slurmd slurm-client systemd python3-yaml  # deploy/ checks: a private Slurm, unit verify, manifests
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root (missing: ${missing[*]})" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
