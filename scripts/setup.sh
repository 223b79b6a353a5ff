#!/usr/bin/env bash
# Set up a fresh Debian machine for lrq: system packages (as root, via apt-get), npm dependencies,
# and the oneDNN addon. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq g++ make python3 libdnnl-dev >/dev/null
else
  echo "setup: not root; assuming g++, make, python3 and libdnnl-dev are installed" >&2
fi
npm ci --no-audit --no-fund
npm run build:native
