#!/usr/bin/env bash
# One-time set-up on a fresh Debian machine: the Debian packages eraserlab uses (installed only
# when missing), npm dependencies, the TypeScript build and the Jupyter kernel registration.
# Usage: bash scripts/setup.sh [--with-bench]   (--with-bench adds the PyTorch peer for benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Chromium for figure export, Jupyter for headless notebooks (and the kernel
# conformance suite python3-jupyter-kernel-test), poppler for PDF
# checks, a font for the typographic image attack (sharp renders its SVG text), Chinese raw
# text for BABERT, OpenBLAS (+ a C compiler) for the native matrix-product
# addon (optional: without it tfjs's own kernels run). python3-torch only for the benchmarks' peer.
PKGS=(chromium jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel python3-jupyter-kernel-test poppler-utils fonts-dejavu-core manpages-zh fortunes-zh libopenblas-dev g++ make)
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
# npm ci builds the native addon (package.json "install"); build it here too when the packages
# above arrived after node_modules did. A failed build only prints why (tfjs kernels then).
# Rebuilt as well when its sources changed since the last build (a checkout of a newer version).
ADDON=native/blas/build/Release/eraserlab_blas.node
if [[ ! -f $ADDON || -n $(find native/blas/src native/blas/binding.gyp -newer "$ADDON" 2>/dev/null | head -1) ]]; then
  node scripts/build-native.js
fi
npm run build --silent
if [[ -f kernel/install.js ]]; then node kernel/install.js; fi
echo "setup: done"
