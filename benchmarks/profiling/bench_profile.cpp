// Per-layer latency of zoo models through Google Benchmark: one benchmark per model, threads and
// dtype, each iteration one instrumented run (`run_profiled`); the counters are the same numbers
// `stemshare profile` writes: whole-model median (us), the sum of per-layer medians (us), and one
// "L<index>_us" counter per layer that runs a step (fused layers have none).
// Run: bench_profile --benchmark_min_time=0.5 --benchmark_format=json --benchmark_filter=mobilenet_v1
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include <stemshare/profiling/profile.hpp>
#include <stemshare/zoo/zoo.hpp>

namespace {

void BM_Profile(benchmark::State& state, const stemshare::zoo::model_info* info, stemshare::dtype precision) {
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

const bool registered = [] {
    for (const auto& m : stemshare::zoo::models)
        for (auto precision : {stemshare::dtype::f32, stemshare::dtype::bf16})
            benchmark::RegisterBenchmark(
                ("BM_Profile/" + std::string(m.name) + "/" + std::string(stemshare::to_string(precision))).c_str(),
                BM_Profile, &m, precision)
                ->Arg(1)
                ->Arg(2)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace

BENCHMARK_MAIN();
