#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those that are missing.
set -euo pipefail
# --with-data adds Fashion-MNIST; --with-mpi adds openmpi-bin (mpirun) and libopenmpi3 (libmpi.so.40),
# which only the data-parallel tests and `mpirun ddpm train` use: the build never links MPI
# (DDPMDistributed loads it at run time), so `make build` and `make demo` do not install them.
# libopenblas-dev and liblapacke-dev: the Float64 linear algebra of the FID metric (DDPMMetrics).
# libturbojpeg0-dev: JPEG files in image folders (libjpeg-turbo's TurboJPEG API).
# libfreetype-dev and fonts-dejavu-core: the figures' text, FreeType rendering DejaVu Sans (DDPMImaging).
packages=(libdnnl-dev libpng-dev zlib1g-dev libopenblas-dev liblapacke-dev libturbojpeg0-dev libfreetype-dev fonts-dejavu-core)
for option in "$@"; do
  case "$option" in
    --with-data) packages+=(dataset-fashion-mnist) ;;
    --with-mpi) packages+=(openmpi-bin libopenmpi3) ;;
    *) echo "usage: $0 [--with-data] [--with-mpi]" >&2; exit 64 ;;
  esac
done
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
