#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/, Clang 14, ASan + UBSan) in build-fuzz/ and runs each
# for SECONDS (default 60), one at a time, on a copy of its committed seed corpus
# (tests/fuzz/corpus/<harness>/). Any crash, leak, sanitizer report, exception other than
# stemshare::error, allocation above 512 MiB or input slower than 10 s fails the script; the
# input that did it is kept under build-fuzz/findings/<harness>/. Prints one line per harness with
# its executions. Usage: tools/fuzz.sh [SECONDS] [HARNESS...]
# STEMSHARE_FUZZ_RUNS=N also stops each harness after N executions (whichever comes first): the
# long run, e.g. STEMSHARE_FUZZ_RUNS=1000000 tools/fuzz.sh 3600.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${STEMSHARE_FUZZ_BUILD:-build-fuzz}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  "${launcher[@]}" -DSTEMSHARE_FUZZ=ON -DSTEMSHARE_WERROR=ON -DSTEMSHARE_BUILD_TESTS=OFF \
  -DSTEMSHARE_BUILD_BENCHMARKS=OFF -DSTEMSHARE_BUILD_EXAMPLES=OFF -DSTEMSHARE_BUILD_TOOLS=OFF >/dev/null
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  harnesses=(npy idx safetensors apps_json plan latency_table mpackage onnx)
fi
cmake --build "$build" -j"${FUZZ_BUILD_JOBS:-2}" --target "${harnesses[@]/#/fuzz_}"
# The harnesses hand each input to the loaders as a file: in memory (tmpfs) that is ~10x faster.
scratch=/tmp
runs=()
[ -n "${STEMSHARE_FUZZ_RUNS:-}" ] && runs=(-runs="$STEMSHARE_FUZZ_RUNS")
[ -w /dev/shm ] && scratch=/dev/shm
status=0
for h in "${harnesses[@]}"; do
  work="$build/corpus/$h"
  findings="$build/findings/$h"
  mkdir -p "$work" "$findings"
  cp -n tests/fuzz/corpus/"$h"/* "$work"/ 2>/dev/null || true
  log="$build/findings/$h.log"
  start=$(date +%s)
  # One worker: the machine is small and shared. Leak checks stay on (libFuzzer's default).
  if TMPDIR=$scratch ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
     "$build/tests/fuzz/fuzz_$h" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
       -malloc_limit_mb=512 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" "${runs[@]}" \
       "$work" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz_$h: $result, $execs executions in $(( $(date +%s) - start )) s (log: $log)"
  [ "$result" = ok ] || grep -m5 -E 'ERROR|SUMMARY|escaped|runtime error' "$log" || true
done
exit $status
