#!/usr/bin/env bash
# Set up a fresh Debian machine for lrq: system packages (as root, via apt-get), npm dependencies,
# and the oneDNN addon. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # dataset-fashion-mnist: Fashion-MNIST IDX files in /usr/share/datasets/fashion-mnist (tests of the IDX reader)
  apt-get install -y -qq g++ make python3 libdnnl-dev dataset-fashion-mnist >/dev/null
else
  echo "setup: not root; assuming g++, make, python3, libdnnl-dev (and, for the IDX tests, dataset-fashion-mnist) are installed" >&2
fi
# onnxruntime-node's postinstall would fetch CUDA binaries from nuget.org (unreachable here, unused on CPU);
# the variable skips it. An environment variable, not .npmrc: npm warns on unknown .npmrc keys at every npx.
export ONNXRUNTIME_NODE_INSTALL=skip
npm ci --no-audit --no-fund
npm run build:native
