// Whole-model batch-1 latency of the zoo on oneDNN, f32 and bf16, 1 and 2 threads. Counters:
//   GFLOPs     2 x MACs per wall-clock second (real time: OpenMP threads are not the main thread);
//   median_ms  the median iteration time.
// bf16 cases report an error and skip where oneDNN has no bf16 kernels (AVX2 machines).
// Run: bench_models --benchmark_min_time=0.5 --benchmark_format=json
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/zoo/zoo.hpp>

namespace {

void BM_Model(benchmark::State& state, const stemshare::zoo::model_info* info, stemshare::dtype precision) {
    const int threads = static_cast<int>(state.range(0));
    if (precision == stemshare::dtype::bf16 && !stemshare::onednn::has_bf16()) {
        state.SkipWithError(("bf16 not supported here (oneDNN ISA " + stemshare::onednn::cpu_isa_name() + ")").c_str());
        return;
    }
    stemshare::graph g = info->make();
    g.bind_random(1);
    stemshare::onednn::compiled_graph model(g, {.batch = 1, .threads = threads, .precision = precision});
    const auto in = g.input_shape();
    const auto out = g.output_shape();
    stemshare::tensor<float> src(stemshare::dims{1, in.c, in.h, in.w});
    stemshare::tensor<float> dst(stemshare::dims{1, out.c, out.h, out.w});
    stemshare::fill_uniform(src.values(), 2);
    for (int i = 0; i < 3; ++i) model.run(src.view(), dst.view());
    std::vector<double> seconds;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        model.run(src.view(), dst.view());
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    state.counters["GFLOPs"] = benchmark::Counter(static_cast<double>(info->flops) * 1e-9,
                                                  benchmark::Counter::kIsIterationInvariantRate);
    state.counters["median_ms"] = seconds[seconds.size() / 2] * 1e3;
    state.counters["arena_MiB"] = static_cast<double>(model.arena_bytes()) / (1 << 20);
}

const bool registered = [] {
    for (const auto& m : stemshare::zoo::models)
        for (auto precision : {stemshare::dtype::f32, stemshare::dtype::bf16})
            benchmark::RegisterBenchmark(
                ("BM_Model/" + std::string(m.name) + "/" + std::string(stemshare::to_string(precision))).c_str(),
                BM_Model, &m, precision)
                ->Arg(1)
                ->Arg(2)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
