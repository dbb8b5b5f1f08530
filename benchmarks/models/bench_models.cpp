// Zoo models on oneDNN, f32 and bf16, 1 and 2 threads (bf16 cases skip where oneDNN has no bf16
// kernels, e.g. on AVX2 machines).
// BM_Model, whole-model batch-1 latency. Counters:
//   GFLOPs     2 x MACs per wall-clock second (real time: OpenMP threads are not the main thread);
//   median_ms  the median iteration time.
// BM_Profile/<model>/<dtype>/threads:<t>/batch:1/runs:30/{whole,layers}: the latency-table
// benchmarks of `profiling::benchmark_harness`, the ones `stemshare profile` runs: 30 repetitions of
// one plain run (whole) or one instrumented run (layers: one "L<index>_us" counter per layer that
// runs a step, and "layer_sum_us"). The console shows their aggregates (mean, median, stddev, cv,
// p90); --benchmark_out gets every repetition. --benchmark_enable_random_interleaving=true mixes
// the whole and layers repetitions as `stemshare profile` does.
// --stemshare_table=FILE also writes the latency table of every BM_Profile model that ran, as
// {"tables": [...]} (`stemshare plan --latencies` reads such a file when it holds one table), and
// prints each table's sum of layer medians over its whole-model median (about 1 when nothing is
// dropped or charged twice; noisy, so a benchmark reading, not a test).
// Run: bench_models --benchmark_min_time=0.5 --benchmark_format=json --benchmark_filter=BM_Model
//      bench_models --benchmark_filter=BM_Profile/mobilenet_v2/f32/threads:1/ --benchmark_out=gb.json
//                   --stemshare_table=table.json
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/profiling/benchmark_harness.hpp>
#include <stemshare/profiling/run_collector.hpp>
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

const bool registered = [] {
    for (const auto& m : stemshare::zoo::models)
        for (auto precision : {stemshare::dtype::f32, stemshare::dtype::bf16})
            benchmark::RegisterBenchmark(
                ("BM_Model/" + std::string(m.name) + "/" + std::string(stemshare::to_string(precision)))
                    .c_str(),
                BM_Model, &m, precision)
                ->Arg(1)
                ->Arg(2)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
    return true;
}();

/// The latency-table benchmarks of every zoo model, precision and thread count; each graph is made
/// and compiled only if its benchmarks run.
std::vector<std::unique_ptr<stemshare::profiling::benchmark_harness>> register_profiles() {
    std::vector<std::unique_ptr<stemshare::profiling::benchmark_harness>> harnesses;
    for (const auto& m : stemshare::zoo::models)
        for (auto precision : {stemshare::dtype::f32, stemshare::dtype::bf16})
            for (int threads : {1, 2}) {
                auto make = [&m] {
                    stemshare::graph g = m.make();
                    g.bind_random(1);
                    return g;
                };
                harnesses.push_back(std::make_unique<stemshare::profiling::benchmark_harness>(
                    make, std::string(m.name),
                    stemshare::profiling::profile_options{
                        .threads = threads, .precision = precision, .batch = 1, .runs = 30, .warmup = 3},
                    "BM_Profile/"));
            }
    return harnesses;
}

/// {"tables": [...]}: the table of every harness whose benchmarks ran (skipped ones are named on
/// stderr).
bool write_tables(const std::string& path,
                  const std::vector<std::unique_ptr<stemshare::profiling::benchmark_harness>>& harnesses,
                  const stemshare::profiling::run_collector& collector) {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& h : harnesses) {
        if (!h->ran_in(collector)) continue;
        try {
            const auto table = h->table(collector);
            // The check that used to be a timed unit test: the instrumented run's layers should
            // add up to about the plain run's time (a layer dropped or charged twice lands far off).
            std::fprintf(stderr, "%s: sum of layer medians / whole-model median = %.3f\n", h->base_name().c_str(),
                         table.sum_of_layer_medians_us() / table.whole_model.median_us);
            tables.push_back(table.to_json());
        } catch (const stemshare::error& e) {
            std::fprintf(stderr, "no latency table for %s: %s\n", h->base_name().c_str(), e.what());
        }
    }
    std::ofstream out(path);
    out << nlohmann::json{{"tables", tables}}.dump(1) << "\n";
    out.close();
    if (!out) {
        std::fprintf(stderr, "%s: cannot write the latency tables\n", path.c_str());
        return false;
    }
    std::fprintf(stderr, "wrote %zu latency table(s) to %s\n", tables.size(), path.c_str());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    // --stemshare_table=FILE is ours: take it out before Google Benchmark reads the flags.
    const std::string_view table_flag = "--stemshare_table=";
    std::string table_path;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.starts_with(table_flag))
            table_path = arg.substr(table_flag.size());
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const auto harnesses = register_profiles();
    // The collector sees every repetition; the console only the aggregates of repeated benchmarks.
    stemshare::profiling::run_collector collector(
        benchmark::CreateDefaultDisplayReporter(),
        stemshare::profiling::run_collector::forward::aggregates_only);
    benchmark::RunSpecifiedBenchmarks(&collector);
    const bool written = table_path.empty() || write_tables(table_path, harnesses, collector);
    benchmark::Shutdown();
    return written ? 0 : 1;
}
