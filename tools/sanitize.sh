#!/usr/bin/env bash
# Builds and runs tests under a sanitizer, each in a build folder of its own (GCC 12):
#   tools/sanitize.sh asan   ASan + UBSan (every UBSan finding fatal) over the test areas below,
#                            in build-asan/
#   tools/sanitize.sh tsan   TSan over the runtime's concurrency tests (hot-swap while frames flow,
#                            apps joining and leaving 1000 times over 10^5 frames, suffixes side by
#                            side, errors in parallel suffixes), in build-tsan/
# Prints the wall time of the build and of the run. docs/reliability.md says why these subsets.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: tools/sanitize.sh asan|tsan}
# ASan: the areas whose code reads files, plans, runs the stream, and the oneDNN backend's parity
# (the whole suite under ASan is too slow for CI's 90 minutes on 2 cores: docs/reliability.md).
asan_areas=${STEMSHARE_ASAN_AREAS:-"core;io;sched;stem;runtime;profiling"}
supp="$PWD/tools/sanitizers"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
case "$mode" in
  asan)
    build=build-asan
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    areas=$asan_areas
    filter=()
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:check_initialization_order=1"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    ;;
  tsan)
    build=build-tsan
    flags="-fsanitize=thread -fno-omit-frame-pointer"
    areas="runtime"
    # The cases where threads meet: hot-swap under a running stream, apps joining and leaving while
    # frames flow (tests/runtime/test_join_leave.cpp at full size: its two cases took 30 s under
    # TSan at load 6 on 2 cores, 92 s at load 13) and
    # side-by-side suffixes.
    filter=(-R "hot-swap|join and leave|side by side|throws")
    export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
    ;;
  *) echo "unknown mode $mode (asan|tsan)" >&2; exit 2 ;;
esac
start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DSTEMSHARE_WERROR=ON \
  -DSTEMSHARE_TEST_AREAS="$areas" -DSTEMSHARE_BUILD_BENCHMARKS=OFF -DSTEMSHARE_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j "$(nproc)"
built=$(date +%s)
# One test at a time, as in the normal job (OpenMP on 2 cores collapses when processes compete).
OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} ctest --test-dir "$build" --output-on-failure -j1 "${filter[@]}" \
  -E "compile_fail|consumer|components|case_names"
done_at=$(date +%s)
echo "sanitize $mode: build $((built - start)) s, tests $((done_at - built)) s"
