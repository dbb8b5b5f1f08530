#!/usr/bin/env bash
# Configures and builds stemshare in build/ (Release: Debug is ~50x slower at run time).
# Extra arguments go to the configure step, e.g. tools/build.sh -DSTEMSHARE_WERROR=ON
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
