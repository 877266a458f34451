#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those that are missing.
set -euo pipefail
# libopenblas-dev and liblapacke-dev: the Float64 linear algebra of the FID metric (DDPMMetrics).
packages=(libdnnl-dev libpng-dev zlib1g-dev libopenblas-dev liblapacke-dev)
if [ "${1:-}" = "--with-data" ]; then packages+=(dataset-fashion-mnist); fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "error: missing Debian packages ${missing[*]}; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
