#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine: the Debian packages eraserlab uses (installed only
# when missing), npm dependencies, the TypeScript build and the Jupyter kernel registration.
# Usage: bash scripts/setup.sh [--with-bench]   (--with-bench adds the PyTorch peer for benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for figure export, Jupyter for headless notebooks, poppler for PDF
# checks, Chinese raw text for BABERT. python3-torch + OpenBLAS only for the benchmarks' peer.
PKGS=(chromium jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel poppler-utils manpages-zh fortunes-zh)
if [[ " $* " == *" --with-bench "* ]]; then PKGS+=(python3-torch libopenblas0-pthread); fi
MISSING=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$p")
done
if ((${#MISSING[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "setup: installing Debian packages: ${MISSING[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent
if [[ -f kernel/install.js ]]; then node kernel/install.js; fi
echo "setup: done"
