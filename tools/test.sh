#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test. The README's test command and .ci/run's.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh "$@"
# One test at a time: OpenMP on 2 cores collapses when two processes compete (docs/architecture.md).
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} ctest --test-dir build --output-on-failure -j1
