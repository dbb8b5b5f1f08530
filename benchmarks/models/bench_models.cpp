// Zoo models on oneDNN, f32 and bf16, 1 and 2 threads (bf16 cases skip where oneDNN has no bf16
// kernels, e.g. on AVX2 machines).
// BM_Model, whole-model batch-1 latency. Counters:
//   GFLOPs     2 x MACs per wall-clock second (real time: OpenMP threads are not the main thread);
//   median_ms  the median iteration time.
// BM_Profile, per-layer latency: each iteration one instrumented run (`run_profiled`); the counters
// are the numbers `stemshare profile` writes: whole-model median (us), the sum of per-layer medians
// (us), and one "L<index>_us" counter per layer that runs a step (fused layers have none).
// Run: bench_models --benchmark_min_time=0.5 --benchmark_format=json --benchmark_filter=BM_Model
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/profiling/profile.hpp>
#include <stemshare/zoo/zoo.hpp>

namespace {

/// A zoo model with seeded random weights, compiled and warmed up, with its input and output;
/// nullopt (after marking the benchmark skipped) where the precision is not supported here.
struct prepared_model {
    stemshare::graph graph;
    stemshare::onednn::compiled_graph model;
    stemshare::tensor<float> src;
    stemshare::tensor<float> dst;
};

std::optional<prepared_model> prepare(benchmark::State& state, const stemshare::zoo::model_info* info,
                                      stemshare::dtype precision) {
    const int threads = static_cast<int>(state.range(0));
    if (precision == stemshare::dtype::bf16 && !stemshare::onednn::has_bf16()) {
        state.SkipWithError(
            ("bf16 not supported here (oneDNN ISA " + stemshare::onednn::cpu_isa_name() + ")").c_str());
        return std::nullopt;
    }
    stemshare::graph g = info->make();
    g.bind_random(1);
    stemshare::onednn::compiled_graph model(g, {.batch = 1, .threads = threads, .precision = precision});
    const auto in = g.input_shape();
    const auto out = g.output_shape();
    stemshare::tensor<float> src(stemshare::dims{1, in.c, in.h, in.w});
    stemshare::tensor<float> dst(stemshare::dims{1, out.c, out.h, out.w});
    stemshare::fill_uniform(src.values(), 2);
    for (int i = 0; i < 3; ++i) model.run(src.view(), dst.view());  // JIT and first-touch warm-up
    return prepared_model{std::move(g), std::move(model), std::move(src), std::move(dst)};
}

void BM_Model(benchmark::State& state, const stemshare::zoo::model_info* info, stemshare::dtype precision) {
    auto prepared = prepare(state, info, precision);
    if (!prepared) return;
    auto& [g, model, src, dst] = *prepared;
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

void BM_Profile(benchmark::State& state, const stemshare::zoo::model_info* info, stemshare::dtype precision) {
    auto prepared = prepare(state, info, precision);
    if (!prepared) return;
    auto& [g, model, src, dst] = *prepared;
    const auto charged = model.step_layers();
    std::vector<double> timers(charged.size());
    std::vector<std::vector<double>> per_layer(g.size());
    std::vector<double> totals;
    for (auto _ : state) {
        std::fill(timers.begin(), timers.end(), 0.0);
        model.run_profiled(src.view(), dst.view(), timers);
        std::vector<double> layer(g.size(), 0.0);
        double total = 0;
        for (std::size_t s = 0; s < timers.size(); ++s) {
            total += timers[s];
            if (charged[s] < g.size()) layer[charged[s]] += timers[s];
        }
        for (std::size_t l = 0; l < g.size(); ++l) per_layer[l].push_back(layer[l]);
        totals.push_back(total);
    }
    double sum_of_medians = 0;
    for (std::size_t l = 0; l < g.size(); ++l) {
        const auto t = stemshare::profiling::summarize(per_layer[l]);
        sum_of_medians += t.median_us;
        if (t.median_us > 0) state.counters["L" + std::to_string(l) + "_us"] = t.median_us;
    }
    state.counters["run_median_us"] = stemshare::profiling::summarize(totals).median_us;
    state.counters["sum_of_layer_medians_us"] = sum_of_medians;
}

template <class Benchmark>
void register_for_every_model(const char* prefix, Benchmark benchmark) {
    for (const auto& m : stemshare::zoo::models)
        for (auto precision : {stemshare::dtype::f32, stemshare::dtype::bf16})
            benchmark::RegisterBenchmark(
                (prefix + std::string(m.name) + "/" + std::string(stemshare::to_string(precision))).c_str(),
                benchmark, &m, precision)
                ->Arg(1)
                ->Arg(2)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
}

const bool registered = [] {
    register_for_every_model("BM_Model/", BM_Model);
    register_for_every_model("BM_Profile/", BM_Profile);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
