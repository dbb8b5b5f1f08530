// Planning time of each planner: 1..9 shipped apps at budgets 50 and 350, and 10..1000 synthetic
// apps (the shipped apps repeated) for the greedy planners. The problem (F1 and cost tables) is
// built outside the timed loop; BM_problem_build times that step alone.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <stemshare/io/apps_file.hpp>
#include <stemshare/sched.hpp>

namespace sched = stemshare::sched;
namespace io = stemshare::io;

namespace {

const io::apps_file& shipped() {
    static const io::apps_file f =
        io::load_apps_file(std::string(STEMSHARE_SCHED_TEST_DATA) + "/mainstream-apps.json");
    return f;
}

sched::problem first_apps(std::size_t n) {
    std::vector<sched::app_spec> apps;
    for (std::size_t i = 0; i < n; ++i) apps.push_back(shipped().apps[i % shipped().apps.size()]);
    return sched::problem(apps, sched::cost_model(shipped().layer_latencies), shipped().stream_fps);
}

template <sched::planner_kind Kind>
void bm_planner(benchmark::State& state) {
    const sched::problem p = first_apps(static_cast<std::size_t>(state.range(0)));
    const auto budget = static_cast<double>(state.range(1));
    double mean = 0.0;
    for (auto _ : state) {
        const sched::plan pl = sched::run_planner(Kind, p, budget);
        mean = pl.mean_f1();
        benchmark::DoNotOptimize(mean);
    }
    state.counters["mean_f1"] = mean;
}

void bm_problem_build(benchmark::State& state) {
    for (auto _ : state) {
        const sched::problem p = first_apps(static_cast<std::size_t>(state.range(0)));
        benchmark::DoNotOptimize(p.options(0).data());
    }
}

void shipped_sizes(benchmark::internal::Benchmark* b) {
    for (int budget : {50, 350})
        for (int n = 1; n <= 9; ++n) b->Args({n, budget});
}

void synthetic_sizes(benchmark::internal::Benchmark* b) {
    for (int budget : {50, 350})
        for (int n : {10, 50, 100, 1000}) b->Args({n, budget});
}

}  // namespace

BENCHMARK(bm_planner<sched::planner_kind::exact>)
    ->Name("exact")
    ->Apply(shipped_sizes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_planner<sched::planner_kind::mainstream_greedy>)
    ->Name("mainstream_greedy")
    ->Apply(shipped_sizes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_planner<sched::planner_kind::greedy>)
    ->Name("greedy")
    ->Apply(shipped_sizes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_planner<sched::planner_kind::mainstream_greedy>)
    ->Name("mainstream_greedy_synthetic")
    ->Apply(synthetic_sizes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_planner<sched::planner_kind::greedy>)
    ->Name("greedy_synthetic")
    ->Apply(synthetic_sizes)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(bm_problem_build)->Arg(9)->Arg(100)->Arg(1000)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
