// Why a sparse live stream costs more per frame than the back-to-back latency table (issue 15).
// BM_SparseFrame/gap_ms:<g>/wait:<w>/apps:<n>: the fashion_mobilenet (random weights, 1 thread)
// deployed as n apps (app i branches at the i-th of k = 33, 27, 21, 15, 9 with its own suffix
// weights, so the plan has one shared stem chain and n suffixes), every app at the stream rate.
// Each iteration waits g ms, untimed, then times one `executor::process`. Ways of waiting
// (`runtime::frame_wait`):
//   0 sleep        sleep the whole gap (what the real-time runner did)
//   1 spin         busy-wait the whole gap (the core never idles)
//   2 sleep_spin   sleep, then busy-wait the last 2 ms before the frame
//   3 sleep_warm   sleep, then `executor::warm` (one untimed rehearsal of the plan) 2 ms before
// Compare every wait against gap_ms:0 in the same run (the back-to-back regime the latency table
// is measured in); report medians (--benchmark_repetitions, --benchmark_report_aggregates_only).
//
// BM_SparseFrameWorkspace/gap_ms:<g>/apps:<n>: the same plan in two executors, one whose steps
// each run in an arena and scratchpad of their own (`share_workspace = false`) and one whose steps
// share the plan's workspace (the default), a frame of each per iteration after a g ms sleep, in
// alternating order. This box's speed drifts by tens of percent over tens of seconds, so the
// pairs are what compares: counters own_us and shared_us (medians) and shared_over_own (the median
// of the pairs' ratios). The iteration's real time is both frames.
// Run: bench_sparse_frames --benchmark_repetitions=3 --benchmark_format=json
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <stemshare/graph/redrawn_suffix.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/runtime/executor.hpp>
#include <stemshare/runtime/frame_wait.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/zoo/fashion_mobilenet.hpp>

namespace {

using namespace stemshare;

graph base_model() {
    graph g = zoo::fashion_mobilenet.to_graph();
    g.bind_random(1);
    return g;
}

/// `apps` apps of the base model at branch points 33, 27, 21, 15, 9, 33, ..., each with its own suffix.
std::unique_ptr<runtime::executor> deploy(std::size_t apps, bool share_workspace) {
    static const graph base = base_model();
    constexpr std::array<std::size_t, 5> points{33, 27, 21, 15, 9};
    auto box = std::make_unique<runtime::executor>(runtime::executor_options{
        .input = {1, 28, 28}, .stream_fps = 15.0, .threads = 1, .share_workspace = share_workspace});
    for (std::size_t a = 0; a < apps; ++a)
        box->add_app("app" + std::to_string(a), redrawn_suffix(base, points[a % points.size()], 100 + a),
                     {.num_frozen = points[a % points.size()]});
    return box;
}

void BM_SparseFrame(benchmark::State& state) {
    const auto gap = std::chrono::milliseconds(state.range(0));
    const auto wait = static_cast<runtime::frame_wait::kind>(state.range(1));
    const auto apps = static_cast<std::size_t>(state.range(2));
    const std::unique_ptr<runtime::executor> owned = deploy(apps, true);
    runtime::executor& box = *owned;
    tensor<float> frame(dims{1, 1, 28, 28});
    fill_uniform(frame.values(), 7, 0.0F, 1.0F);
    for (int i = 0; i < 5; ++i) (void)box.process(std::as_const(frame).view());
    const runtime::frame_wait waiter{.rule = wait};
    for (auto _ : state) {
        state.PauseTiming();
        const auto deadline = std::chrono::steady_clock::now() + gap;
        waiter.wait_until(deadline, box, std::as_const(frame).view());
        state.ResumeTiming();
        benchmark::DoNotOptimize(box.process(std::as_const(frame).view()).suffix_runs);
    }
    state.SetLabel(std::string(runtime::to_string(wait)));
}

void BM_SparseFrameWorkspace(benchmark::State& state) {
    const auto gap = std::chrono::milliseconds(state.range(0));
    const auto apps = static_cast<std::size_t>(state.range(1));
    const std::array<std::unique_ptr<runtime::executor>, 2> boxes{deploy(apps, false), deploy(apps, true)};
    tensor<float> frame(dims{1, 1, 28, 28});
    fill_uniform(frame.values(), 7, 0.0F, 1.0F);
    for (const auto& box : boxes)
        for (int i = 0; i < 5; ++i) (void)box->process(std::as_const(frame).view());
    std::array<std::vector<double>, 2> seconds;
    std::vector<double> ratios;
    std::size_t round = 0;
    for (auto _ : state) {
        std::array<double, 2> pair{};
        for (std::size_t i = 0; i < 2; ++i) {
            const std::size_t b = (round + i) % 2;  // alternate which goes first
            state.PauseTiming();
            std::this_thread::sleep_for(gap);
            state.ResumeTiming();
            const auto start = std::chrono::steady_clock::now();
            benchmark::DoNotOptimize(boxes[b]->process(std::as_const(frame).view()).suffix_runs);
            pair[b] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            seconds[b].push_back(pair[b]);
        }
        ratios.push_back(pair[1] / pair[0]);
        ++round;
    }
    state.counters["own_us"] = profiling::median(seconds[0]) * 1e6;
    state.counters["shared_us"] = profiling::median(seconds[1]) * 1e6;
    state.counters["shared_over_own"] = profiling::median(ratios);
    state.counters["own_bytes"] = static_cast<double>(boxes[0]->plan()->runner_workspace_bytes());
    state.counters["shared_bytes"] = static_cast<double>(boxes[1]->plan()->workspace_bytes());
}

}  // namespace

BENCHMARK(BM_SparseFrame)
    ->ArgNames({"gap_ms", "wait", "apps"})
    ->ArgsProduct({{0}, {0}, {1, 10}})
    ->ArgsProduct({{200}, {0, 1, 2, 3}, {1, 10}})
    ->Iterations(25)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_SparseFrameWorkspace)
    ->ArgNames({"gap_ms", "apps"})
    ->ArgsProduct({{0, 200}, {1, 10}})
    ->Iterations(40)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
