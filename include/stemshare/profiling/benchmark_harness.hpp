#pragma once
/// \file
/// `benchmark_harness`: registers a graph's Google Benchmark benchmarks and turns their runs into
/// a `latency_table`. The one code path of every latency table: `profiling::profile`,
/// `stemshare profile` and `bench_models`' BM_Profile all run these benchmarks.
///
/// Two benchmarks per graph, `<prefix><model>/<dtype>/threads:<t>/batch:<b>/runs:<r>[/gap_us:<g>]/whole`
/// (plain `run`) and `.../layers` (`run_profiled`, one counter "L<index>_us" per layer that runs a step and
/// "layer_sum_us"), each `runs` repetitions of one iteration on real time. Google Benchmark times each
/// whole-model repetition itself; the per-layer times are the step timers of the instrumented run, reported
/// as counters. Each benchmark also reports the "p90" statistic. `run` mixes the two benchmarks' repetitions
/// (Google Benchmark's random interleaving), so on a busy machine the whole-model and per-layer times see the
/// same load.
///
/// Registrations are process-wide and Google Benchmark cannot drop one, so a benchmark name is
/// registered once and reused by every later harness of that name (one alive at a time); a
/// benchmark whose harness is gone skips with a message if some other run selects it.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/profiling/profile_options.hpp>
#include <stemshare/profiling/profiled_model.hpp>
#include <stemshare/profiling/run_collector.hpp>

namespace benchmark {
// --benchmark_enable_random_interleaving: defined and exported by libbenchmark 1.7, declared only
// in its internal commandlineflags.h.
extern bool FLAGS_benchmark_enable_random_interleaving;
}  // namespace benchmark

namespace stemshare::profiling {

namespace detail {

/// Turns Google Benchmark's random interleaving on for one run and restores the program's setting.
class random_interleaving {
public:
    random_interleaving()
        : saved_(std::exchange(benchmark::FLAGS_benchmark_enable_random_interleaving, true)) {}
    random_interleaving(const random_interleaving&) = delete;
    random_interleaving& operator=(const random_interleaving&) = delete;
    ~random_interleaving() { benchmark::FLAGS_benchmark_enable_random_interleaving = saved_; }

private:
    bool saved_;
};

/// What a harness's benchmarks run on; prepared on first use when the graph is made lazily.
struct harness_state {
    std::string model;
    profile_options options;
    std::function<graph()> make_graph;
    std::optional<profiled_model> prepared;
    /// Why preparing failed: both benchmarks then skip with it instead of compiling twice.
    std::string failure;

    profiled_model* prepare_for(benchmark::State& state) {
        if (!prepared && failure.empty()) {
            try {
                prepared.emplace(make_graph(), model, options);
            } catch (const std::exception& e) {
                failure = e.what();
            }
        }
        if (!failure.empty()) state.SkipWithError(failure.c_str());
        return prepared ? &*prepared : nullptr;
    }
};

/// Where a registered benchmark finds the harness of its name that is alive now, if any.
struct benchmark_slot {
    std::atomic<harness_state*> active{nullptr};
};

inline std::mutex& registry_mutex() {
    static std::mutex m;
    return m;
}
inline std::map<std::string, std::shared_ptr<benchmark_slot>>& registry() {
    static std::map<std::string, std::shared_ptr<benchmark_slot>> slots;
    return slots;
}
/// Google Benchmark's runner is process-wide state: one run at a time.
inline std::mutex& run_mutex() {
    static std::mutex m;
    return m;
}

/// Google Benchmark's reporters expect `benchmark::Initialize` to have run (it names the
/// executable); a library caller may never have called it, and a program that did keeps its flags.
inline void initialize_google_benchmark() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (benchmark::BenchmarkReporter::Context::executable_name != nullptr) return;
        static char program[] = "stemshare";
        static char* argv[] = {program, nullptr};
        int argc = 1;
        benchmark::Initialize(&argc, argv);
    });
}

inline double p90_statistic(const std::vector<double>& values) {
    return percentile_90(values);
}

inline std::string layer_counter(std::size_t layer) {
    return "L" + std::to_string(layer) + "_us";
}

/// The counter of a layer's second copy (`profile_options::second_copy`).
inline std::string second_copy_counter(std::size_t layer) {
    return "C" + std::to_string(layer) + "_us";
}

/// Per-layer sums of `step_seconds` (steps charged to `step_layers`), times `scale`, as counters.
inline void layer_counters(benchmark::State& state, const std::vector<double>& step_seconds,
                           const std::vector<std::size_t>& step_layers,
                           const std::vector<layer_latency>& layers, double scale,
                           std::string (*name)(std::size_t)) {
    std::vector<double> per_layer(layers.size(), 0.0);
    for (std::size_t s = 0; s < step_seconds.size(); ++s)
        if (step_layers[s] < layers.size()) per_layer[step_layers[s]] += step_seconds[s];
    for (std::size_t l = 0; l < layers.size(); ++l)
        if (!layers[l].steps.empty()) state.counters[name(l)] = per_layer[l] * scale;
}

/// `text` as a POSIX extended regular expression matching exactly it (Google Benchmark's filter).
inline std::string regex_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    return out;
}

/// Sparse mode: the untimed idle gap before a repetition (`profile_options::gap_us`).
inline void idle_gap(const profile_options& o) {
    if (o.gap_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(o.gap_us));
}

inline harness_state* active_harness(benchmark::State& state, benchmark_slot& slot) {
    harness_state* h = slot.active.load();
    if (h == nullptr) state.SkipWithError("stemshare: the benchmark_harness of this benchmark is gone");
    return h;
}

inline void run_whole(benchmark::State& state, benchmark_slot& slot) {
    harness_state* h = active_harness(state, slot);
    profiled_model* m = h == nullptr ? nullptr : h->prepare_for(state);
    if (m == nullptr) return;
    idle_gap(h->options);
    try {
        for (auto _ : state) m->compiled.run(m->src.view(), m->dst.view());
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
    }
}

inline void run_layers(benchmark::State& state, benchmark_slot& slot) {
    harness_state* h = active_harness(state, slot);
    profiled_model* m = h == nullptr ? nullptr : h->prepare_for(state);
    if (m == nullptr) return;
    std::fill(m->step_seconds.begin(), m->step_seconds.end(), 0.0);
    std::fill(m->twin_step_seconds.begin(), m->twin_step_seconds.end(), 0.0);
    idle_gap(h->options);
    try {
        for (auto _ : state) {
            m->compiled.run_profiled(m->src.view(), m->dst.view(), m->step_seconds);
            if (m->twin) m->twin->run_profiled(m->src.view(), m->dst.view(), m->twin_step_seconds);
        }
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return;
    }
    const auto& layers = m->skeleton.layers;
    const double us_per_iteration = 1e6 / static_cast<double>(state.iterations());
    layer_counters(state, m->step_seconds, m->step_layers, layers, us_per_iteration, &layer_counter);
    if (m->twin)
        layer_counters(state, m->twin_step_seconds, m->twin->step_layers(), layers, us_per_iteration,
                       &second_copy_counter);
    double sum = 0;
    for (double x : m->step_seconds) sum += x;
    state.counters["layer_sum_us"] = sum * us_per_iteration;
}

}  // namespace detail

class benchmark_harness {
public:
    static constexpr const char* default_prefix = "stemshare_profile/";

    /// Registers the benchmarks of `g` (weights bound) under the name `model`, compiling it now.
    /// Throws `stemshare::error` for bad options, a graph the backend refuses, or a harness of the
    /// same benchmark name that is still alive.
    benchmark_harness(const graph& g, std::string model, const profile_options& options,
                      std::string prefix = default_prefix)
        : state_(make_state(std::move(model), options)) {
        state_->prepared.emplace(g, state_->model, options);
        register_benchmarks(std::move(prefix));
    }

    /// Like the other constructor, but the first benchmark that runs makes and compiles the graph:
    /// for a binary that registers many models and runs a few. A failure there (e.g. bf16 on a CPU
    /// without it) makes both benchmarks skip with its message, and `table` throw it.
    benchmark_harness(std::function<graph()> make_graph, std::string model, const profile_options& options,
                      std::string prefix = default_prefix)
        : state_(make_state(std::move(model), options)) {
        state_->make_graph = std::move(make_graph);
        register_benchmarks(std::move(prefix));
    }

    benchmark_harness(const benchmark_harness&) = delete;
    benchmark_harness& operator=(const benchmark_harness&) = delete;
    ~benchmark_harness() {
        if (slot_) slot_->active.store(nullptr);
    }

    [[nodiscard]] const std::string& model() const noexcept { return state_->model; }
    /// The benchmark names without "/whole" or "/layers".
    [[nodiscard]] const std::string& base_name() const noexcept { return base_name_; }
    /// The `--benchmark_filter` regex that selects exactly this harness's two benchmarks.
    [[nodiscard]] const std::string& filter() const noexcept { return filter_; }

    /// Runs this harness's benchmarks (and only them) through Google Benchmark, their repetitions
    /// interleaved, reporting to `collector`. Calls `benchmark::Initialize` first if the program
    /// has not.
    void run(run_collector& collector) const {
        detail::initialize_google_benchmark();
        const std::lock_guard lock(detail::run_mutex());
        const detail::random_interleaving interleaved;
        if (benchmark::RunSpecifiedBenchmarks(&collector, filter_) == 0)
            throw error(who(), "Google Benchmark has no benchmark matching '" + filter_ +
                                   "' (were they dropped by benchmark::ClearRegisteredBenchmarks?)");
    }

    /// Whether `collector` holds any repetition of this harness's benchmarks.
    [[nodiscard]] bool ran_in(const run_collector& collector) const {
        for (const auto& run : collector.runs())
            if (run.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration && is_ours(run)) return true;
        return false;
    }

    /// The latency table of this harness's repetitions in `collector`: the whole-model row from
    /// Google Benchmark's real time, the layer and segment rows from the per-layer counters.
    /// Throws `stemshare::error` when a repetition failed or none was collected.
    [[nodiscard]] latency_table table(const run_collector& collector) const {
        using run_type = benchmark::BenchmarkReporter::Run;
        std::vector<double> whole;
        std::vector<double> layer_sum;
        std::vector<std::vector<double>> per_layer;
        std::vector<std::vector<double>> per_layer_second;
        for (const run_type& run : collector.runs()) {
            if (run.run_type != run_type::RT_Iteration || !is_ours(run)) continue;
            if (run.error_occurred)
                throw error(who(), "benchmark " + run.benchmark_name() + " failed: " + run.error_message);
            if (run.run_name.function_name == base_name_ + "/whole") {
                whole.push_back(run.real_accumulated_time / static_cast<double>(run.iterations));
                continue;
            }
            per_layer.resize(state_->prepared->skeleton.layers.size());
            per_layer_second.resize(per_layer.size());
            for (std::size_t l = 0; l < per_layer.size(); ++l) {
                per_layer[l].push_back(counter_seconds(run, detail::layer_counter(l)));
                per_layer_second[l].push_back(counter_seconds(run, detail::second_copy_counter(l)));
            }
            layer_sum.push_back(counter_seconds(run, "layer_sum_us"));
        }
        if (whole.empty() || layer_sum.empty())
            throw error(who(), "no runs of both benchmarks '" + base_name_ +
                                   "/{whole,layers}' were collected (run() them with this collector)");
        latency_table t = state_->prepared->skeleton;
        t.runs = whole.size();
        t.whole_model = summarize(whole);
        t.layer_sum = summarize(layer_sum);
        for (std::size_t l = 0; l < t.layers.size(); ++l) {
            t.layers[l].time = summarize(per_layer[l]);
            if (state_->options.second_copy) t.layers[l].second_copy = summarize(per_layer_second[l]);
        }
        for (auto& seg : t.segments) {
            std::vector<double> sums(layer_sum.size(), 0.0);
            for (std::size_t l = seg.begin; l < seg.end; ++l)
                for (std::size_t r = 0; r < sums.size(); ++r) sums[r] += per_layer[l][r];
            seg.time = summarize(std::move(sums));
        }
        return t;
    }

private:
    static std::unique_ptr<detail::harness_state> make_state(std::string model,
                                                             const profile_options& options) {
        options.validate(model);
        auto state = std::make_unique<detail::harness_state>();
        state->model = std::move(model);
        state->options = options;
        return state;
    }

    static double counter_seconds(const benchmark::BenchmarkReporter::Run& run, const std::string& name) {
        const auto it = run.counters.find(name);
        return it == run.counters.end() ? 0.0 : it->second.value * 1e-6;
    }

    [[nodiscard]] std::string who() const { return "profiling: model '" + state_->model + "'"; }

    [[nodiscard]] bool is_ours(const benchmark::BenchmarkReporter::Run& run) const {
        const std::string& name = run.run_name.function_name;
        return name == base_name_ + "/whole" || name == base_name_ + "/layers";
    }

    void register_benchmarks(std::string prefix) {
        const profile_options& o = state_->options;
        base_name_ = std::move(prefix) + state_->model + "/" + std::string(to_string(o.precision)) +
                     "/threads:" + std::to_string(o.threads) + "/batch:" + std::to_string(o.batch) +
                     "/runs:" + std::to_string(o.runs) +
                     (o.gap_us > 0 ? "/gap_us:" + std::to_string(o.gap_us) : std::string()) +
                     (o.second_copy ? "/second_copy" : "");
        filter_ = "^" + detail::regex_escape(base_name_) + "/(whole|layers)/";
        const std::lock_guard lock(detail::registry_mutex());
        std::shared_ptr<detail::benchmark_slot>& slot = detail::registry()[base_name_];
        if (!slot) {
            slot = std::make_shared<detail::benchmark_slot>();
            auto whole = [s = slot](benchmark::State& state) { detail::run_whole(state, *s); };
            auto layers = [s = slot](benchmark::State& state) { detail::run_layers(state, *s); };
            for (auto* b : {benchmark::RegisterBenchmark((base_name_ + "/whole").c_str(), whole),
                            benchmark::RegisterBenchmark((base_name_ + "/layers").c_str(), layers)})
                b->Iterations(1)
                    ->Repetitions(static_cast<int>(o.runs))
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond)
                    // Every repetition must reach the collector, whatever the aggregates-only flags say.
                    ->ReportAggregatesOnly(false)
                    ->ComputeStatistics("p90", &detail::p90_statistic);
        }
        detail::harness_state* none = nullptr;
        if (!slot->active.compare_exchange_strong(none, state_.get()))
            throw error(who(), "another benchmark_harness of '" + base_name_ + "' is alive (one at a time)");
        slot_ = slot;
    }

    std::unique_ptr<detail::harness_state> state_;
    std::shared_ptr<detail::benchmark_slot> slot_;
    std::string base_name_;
    std::string filter_;
};

}  // namespace stemshare::profiling
