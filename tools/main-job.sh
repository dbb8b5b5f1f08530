#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds, and runs the main job on its
# built-in default data. (Until the end-to-end Mainstream experiment lands, the main job is
# examples/01: build a model as a compile-time chain, run it on oneDNN, check it against the
# reference backend and print its latency.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
./build/examples/01_build_and_run "$@"
