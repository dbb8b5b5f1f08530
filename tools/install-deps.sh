#!/usr/bin/env bash
# Installs every Debian 12 package stemshare's build, tests, benchmarks, examples and tools need.
# Idempotent; run as root (or with sudo). Keep this list the single source of truth.
set -euo pipefail
packages=(
  build-essential cmake ninja-build git pkg-config ca-certificates
  libdnnl-dev ocl-icd-opencl-dev           # oneDNN 2.6; its CMake config needs OpenCL
  libeigen3-dev xtensor-dev xtl-dev libxsimd-dev
  doctest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libonnx-dev libprotobuf-dev protobuf-compiler   # ONNX import (STEMSHARE_WITH_ONNX)
  zlib1g-dev dataset-fashion-mnist         # gzipped IDX Fashion-MNIST, the default data
  gnuplot-nox                              # plots of the main job
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg   # stemshare::video, `stemshare run`; its tests make videos with ffmpeg
  clang-14 libfuzzer-14-dev                # fuzzers (tools/fuzz.sh, docs/reliability.md)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
