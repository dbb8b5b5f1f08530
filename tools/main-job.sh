#!/usr/bin/env bash
# The README's main-job command: installs dependencies, builds, runs the examples as smoke tests
# (quietly; a failing one stops the job) and then the main job, `stemshare demo`: the end-to-end
# Mainstream experiment on Fashion-MNIST (docs/experiment.md). Arguments go to the demo, e.g.
# tools/main-job.sh --quick, or --apps sneaker,coat --budget 0.002.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
for example in "01_build_and_run --smoke" "03_five_apps_one_stem --smoke" "04_xtensor_preprocessing --smoke" "05_constexpr_plan"; do
  if ! ./build/examples/$example >/dev/null 2>&1; then
    echo "main-job: smoke test examples/$example failed; run ./build/examples/$example to see why" >&2
    exit 1
  fi
done
echo "main-job: examples 01, 03, 04, 05 ran (smoke tests)"
./build/tools/stemshare demo "$@"
