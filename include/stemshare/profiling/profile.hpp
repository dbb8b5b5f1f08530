#pragma once
/// \file
/// `profiling::profile`: measures a graph's per-layer and per-branch-segment latency on the oneDNN
/// backend and returns a `latency_table`, by running the graph's Google Benchmark benchmarks
/// (`benchmark_harness`: whole-model and instrumented per-layer repetitions, interleaved).
/// `profile_with_report` also keeps Google Benchmark's own JSON report of those runs.

#include <benchmark/benchmark.h>

#include <mutex>
#include <sstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/benchmark_harness.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/profiling/profile_options.hpp>
#include <stemshare/profiling/run_collector.hpp>

namespace stemshare::profiling {

namespace detail {

/// `profile` calls from several threads take turns: two profiles of one model would share
/// benchmark names, and two models timed at once would each measure the other's load.
inline std::mutex& profile_mutex() {
    static std::mutex m;
    return m;
}

}  // namespace detail

/// Profiles `g` (weights bound) under the name `model`. Throws `stemshare::error` for zero or
/// negative threads, zero runs, or an unbound graph. Safe to call repeatedly in one process, and
/// from several threads (the calls take turns).
[[nodiscard]] inline latency_table profile(const graph& g, std::string model,
                                           const profile_options& options) {
    const std::lock_guard lock(detail::profile_mutex());
    const benchmark_harness harness(g, std::move(model), options);
    run_collector collector;
    harness.run(collector);
    return harness.table(collector);
}

/// A latency table with Google Benchmark's JSON report of the runs it was made from.
struct profile_report {
    latency_table table;
    /// Google Benchmark's JSON output (its `context` and `benchmarks`, every repetition and the
    /// mean/median/stddev/cv/p90 aggregates).
    nlohmann::json benchmark;

    /// The table's fields (`latency_table::to_json`, which `stemshare plan --latencies` reads) plus
    /// "benchmark": what `stemshare profile --out` writes.
    [[nodiscard]] nlohmann::json to_json() const {
        nlohmann::json doc = table.to_json();
        doc["benchmark"] = benchmark;
        return doc;
    }
};

/// `profile`, also keeping Google Benchmark's JSON report of the runs.
[[nodiscard]] inline profile_report profile_with_report(const graph& g, std::string model,
                                                        const profile_options& options) {
    const std::lock_guard lock(detail::profile_mutex());
    const benchmark_harness harness(g, std::move(model), options);
    std::ostringstream json_text;
    benchmark::JSONReporter json;
    json.SetOutputStream(&json_text);
    run_collector collector(&json);
    harness.run(collector);
    profile_report report{harness.table(collector), {}};
    try {
        report.benchmark = nlohmann::json::parse(json_text.str());
    } catch (const nlohmann::json::exception& e) {
        throw error("profiling: model '" + harness.model() + "'",
                    std::string("Google Benchmark's JSON report does not parse: ") + e.what());
    }
    return report;
}

}  // namespace stemshare::profiling
