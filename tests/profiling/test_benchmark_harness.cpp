// The latency tables' one code path: Google Benchmark benchmarks registered by
// `profiling::benchmark_harness`, their runs gathered by `run_collector`, the table made from them.
// No speed is asserted: only the tables' structure and how their numbers relate to each other.
#include <doctest/doctest.h>

#include <chrono>

#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/profiling/profile.hpp>
#include <stemshare/zoo/zoo.hpp>

#include "support/error_of.hpp"

using namespace stemshare;
using run_type = benchmark::BenchmarkReporter::Run;

namespace {

graph fashion_graph() {
    graph g = zoo::make_graph("fashion_mobilenet");
    g.bind_random(5);
    return g;
}

/// The repetitions (or, with `aggregate`, the statistics rows) of `harness`'s `kind` benchmark.
std::vector<run_type> runs_of(const profiling::run_collector& collector,
                              const profiling::benchmark_harness& harness, const std::string& kind,
                              const std::string& aggregate = "") {
    std::vector<run_type> out;
    for (const run_type& r : collector.runs())
        if (r.run_name.function_name == harness.base_name() + "/" + kind &&
            (aggregate.empty() ? r.run_type == run_type::RT_Iteration
                               : r.run_type == run_type::RT_Aggregate && r.aggregate_name == aggregate))
            out.push_back(r);
    return out;
}

/// A file in the temp directory, removed when the test ends.
struct temp_file {
    explicit temp_file(const std::string& name)
        : path(std::filesystem::temp_directory_path() /
               ("stemshare-" + std::to_string(::getpid()) + "-" + name)) {}
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() { std::filesystem::remove(path); }
    void write(const nlohmann::json& doc) const { std::ofstream(path) << doc.dump(1); }
    std::filesystem::path path;
};

}  // namespace

TEST_CASE("harness: Google Benchmark's runs become a table with one row per layer and segments tiling them") {
    const graph g = fashion_graph();
    const profiling::benchmark_harness harness(g, "fashion_mobilenet",
                                               {.threads = 1, .runs = 5, .warmup = 2});
    profiling::run_collector collector;
    harness.run(collector);
    REQUIRE(harness.ran_in(collector));
    CHECK(runs_of(collector, harness, "whole").size() == 5);
    CHECK(runs_of(collector, harness, "layers").size() == 5);
    const auto table = harness.table(collector);

    CHECK(table.model == "fashion_mobilenet");
    CHECK(table.runs == 5);
    CHECK(table.flops == g.flops());
    CHECK(table.whole_model.median_us > 0);
    CHECK(table.whole_model.p90_us >= table.whole_model.median_us);
    CHECK(table.layer_sum.median_us > 0);
    REQUIRE(table.layers.size() == g.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
        CAPTURE(i);
        const auto& row = table.layers[i];
        CHECK(row.index == i);
        CHECK(row.name == g.at(i).name);
        if (row.fused_into) {
            CHECK(row.time.median_us == 0);
            CHECK(row.steps.empty());
        } else {
            REQUIRE(!row.steps.empty());
            CHECK(row.time.median_us > 0);
            CHECK(row.time.p90_us >= row.time.median_us);
        }
    }
    std::size_t begin = 0;
    std::int64_t flops = 0;
    for (const auto& seg : table.segments) {
        CHECK(seg.begin == begin);
        CHECK(seg.end > seg.begin);
        CHECK(seg.time.median_us > 0);
        begin = seg.end;
        flops += seg.flops;
    }
    CHECK(begin == g.size());
    CHECK(flops == g.flops());
}

TEST_CASE("harness: the table's whole-model median and p90 are Google Benchmark's own statistics") {
    const profiling::benchmark_harness harness(fashion_graph(), "fashion_mobilenet",
                                               {.threads = 1, .runs = 7, .warmup = 1});
    profiling::run_collector collector;
    harness.run(collector);
    const auto table = harness.table(collector);
    const auto median = runs_of(collector, harness, "whole", "median");
    const auto p90 = runs_of(collector, harness, "whole", "p90");
    REQUIRE(median.size() == 1);
    REQUIRE(p90.size() == 1);
    CHECK(table.whole_model.median_us ==
          doctest::Approx(median[0].real_accumulated_time / static_cast<double>(median[0].iterations) * 1e6));
    CHECK(table.whole_model.p90_us ==
          doctest::Approx(p90[0].real_accumulated_time / static_cast<double>(p90[0].iterations) * 1e6));
    // The per-layer medians are the medians of the layers benchmark's counters.
    const auto layers_median = runs_of(collector, harness, "layers", "median");
    REQUIRE(layers_median.size() == 1);
    CHECK(table.layer_sum.median_us == doctest::Approx(layers_median[0].counters.at("layer_sum_us").value));
    for (const auto& row : table.layers)
        if (!row.steps.empty())
            CHECK(
                row.time.median_us ==
                doctest::Approx(layers_median[0].counters.at("L" + std::to_string(row.index) + "_us").value));
}

TEST_CASE("harness: with one run the layers and the segments add up to the run's layer sum") {
    const profiling::benchmark_harness harness(fashion_graph(), "fashion_mobilenet",
                                               {.threads = 1, .runs = 1, .warmup = 1});
    profiling::run_collector collector;
    harness.run(collector);
    const auto table = harness.table(collector);
    REQUIRE(table.runs == 1);
    // One run: every median is that run's number, so the parts add up (up to rounding).
    CHECK(table.sum_of_layer_medians_us() == doctest::Approx(table.layer_sum.median_us).epsilon(1e-9));
    double segments = 0;
    for (const auto& seg : table.segments) segments += seg.time.median_us;
    CHECK(segments == doctest::Approx(table.layer_sum.median_us).epsilon(1e-9));
}

TEST_CASE("harness: zero threads or zero runs are clear errors before anything is registered") {
    const graph g = fashion_graph();
    CHECK(test::error_of([&] { profiling::benchmark_harness h(g, "m", {.threads = 0}); }) ==
          "profiling: model 'm': threads must be a positive number, got 0");
    CHECK(test::error_of([&] { profiling::benchmark_harness h(g, "m", {.threads = 1, .runs = 0}); }) ==
          "profiling: model 'm': runs must be at least 1");
    CHECK(test::error_of([] { profiling::benchmark_harness h(fashion_graph, "m", {.threads = -1}); }) ==
          "profiling: model 'm': threads must be a positive number, got -1");
}

TEST_CASE("harness: sparse mode idles before every run and says so in the benchmark name") {
    const graph g = fashion_graph();
    CHECK(test::error_of([&] { profiling::benchmark_harness h(g, "m", {.threads = 1, .gap_us = -1}); }) ==
          "profiling: model 'm': gap_us must be in [0, 60 s], got -1");
    const profiling::benchmark_harness harness(g, "fashion_mobilenet",
                                               {.threads = 1, .runs = 3, .warmup = 1, .gap_us = 20'000});
    CHECK(harness.base_name().find("/runs:3/gap_us:20000") != std::string::npos);
    profiling::run_collector collector;
    const auto started = std::chrono::steady_clock::now();
    harness.run(collector);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    CHECK(runs_of(collector, harness, "whole").size() == 3);
    CHECK(runs_of(collector, harness, "layers").size() == 3);
    // Six timed runs, each after a 20 ms idle gap (a lower bound, not a timing assertion).
    CHECK(seconds >= 6 * 0.020);
    const auto table = harness.table(collector);
    CHECK(table.layers.size() == g.size());
}

TEST_CASE("harness: second_copy times a second compiled copy right after the first, layer by layer") {
    const graph g = fashion_graph();
    const profiling::benchmark_harness plain(g, "fashion_mobilenet", {.threads = 1, .runs = 3, .warmup = 1});
    const profiling::benchmark_harness twice(g, "fashion_mobilenet",
                                             {.threads = 1, .runs = 3, .warmup = 1, .second_copy = true});
    CHECK(twice.base_name() == plain.base_name() + "/second_copy");
    profiling::run_collector collector;
    plain.run(collector);
    twice.run(collector);
    const auto without = plain.table(collector);
    const auto with = twice.table(collector);
    CHECK_FALSE(without.has_second_copy());
    CHECK_FALSE(without.to_json().contains("second_copy_latencies"));
    REQUIRE(with.has_second_copy());
    const nlohmann::json doc = with.to_json();
    REQUIRE(doc["second_copy_latencies"].size() == g.size());
    for (std::size_t l = 0; l < with.layers.size(); ++l) {
        CAPTURE(l);
        const auto& layer = with.layers[l];
        // A layer that runs a step runs it in both copies; a fused one in neither.
        CHECK((layer.second_copy->median_us > 0.0) == (layer.time.median_us > 0.0));
        CHECK(layer.second_copy->p90_us >= layer.second_copy->median_us);
        CHECK(doc["second_copy_latencies"][l].get<double>() ==
              doctest::Approx(layer.second_copy->median_us * 1e-6));
        CHECK(doc["layers"][l]["second_copy_median_us"].get<double>() == layer.second_copy->median_us);
    }
    // Each repetition of the per-layer benchmark holds both copies' counters.
    for (const run_type& r : runs_of(collector, twice, "layers")) CHECK(r.counters.count("C0_us") == 1);
    for (const run_type& r : runs_of(collector, plain, "layers")) CHECK(r.counters.count("C0_us") == 0);
}

TEST_CASE("harness: a graph made lazily that fails skips both benchmarks, and the table names why") {
    const profiling::benchmark_harness harness(
        []() -> graph { throw error("models/missing.onnx", "cannot open the file"); }, "broken",
        {.threads = 1, .runs = 3});
    profiling::run_collector collector;
    harness.run(collector);
    const auto whole = runs_of(collector, harness, "whole");
    REQUIRE(!whole.empty());
    CHECK(whole[0].error_occurred);
    CHECK(whole[0].error_message == "models/missing.onnx: cannot open the file");
    const std::string message = test::error_of([&] { (void)harness.table(collector); });
    CHECK(message.find("profiling: model 'broken': benchmark ") == 0);
    CHECK(message.find("models/missing.onnx: cannot open the file") != std::string::npos);
}

namespace {

/// An inner reporter that keeps what it is shown.
struct shown_runs final : benchmark::BenchmarkReporter {
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>& reports) override {
        runs.insert(runs.end(), reports.begin(), reports.end());
    }
    std::vector<Run> runs;
};

}  // namespace

TEST_CASE("run_collector: collects every repetition, shows an inner reporter only the aggregates if asked") {
    const profiling::benchmark_harness good(fashion_graph(), "fashion_mobilenet",
                                            {.threads = 1, .runs = 3, .warmup = 0});
    const profiling::benchmark_harness broken([]() -> graph { throw error("broken", "no graph"); }, "broken",
                                              {.threads = 1, .runs = 3});
    shown_runs everything;
    shown_runs aggregates;
    profiling::run_collector all(&everything);
    profiling::run_collector summary(&aggregates, profiling::run_collector::forward::aggregates_only);
    for (auto* collector : {&all, &summary}) {
        good.run(*collector);
        broken.run(*collector);
        CHECK(collector->runs().size() == everything.runs.size());
    }
    const auto count = [](const std::vector<run_type>& runs, run_type::RunType type, bool failed) {
        std::size_t n = 0;
        for (const auto& r : runs) n += r.run_type == type && r.error_occurred == failed ? 1 : 0;
        return n;
    };
    // Three repetitions of each of the four benchmarks; mean, median, stddev, cv and p90 of the two
    // that succeeded.
    CHECK(count(everything.runs, run_type::RT_Iteration, false) == 6);
    CHECK(count(everything.runs, run_type::RT_Iteration, true) == 6);
    CHECK(count(everything.runs, run_type::RT_Aggregate, false) == 10);
    CHECK(count(aggregates.runs, run_type::RT_Iteration, false) == 0);
    CHECK(count(aggregates.runs, run_type::RT_Iteration, true) == 2);
    CHECK(count(aggregates.runs, run_type::RT_Aggregate, false) == 10);
}

TEST_CASE("profiling: profile runs again and again in one process, and a name has one live harness") {
    const graph g = fashion_graph();
    const profiling::profile_options options{.threads = 1, .runs = 3, .warmup = 1};
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        const auto table = profiling::profile(g, "fashion_mobilenet", options);
        CHECK(table.runs == 3);
        CHECK(table.layers.size() == g.size());
        CHECK(table.whole_model.median_us > 0);
    }
    // Another run count is another pair of benchmarks.
    CHECK(profiling::profile(g, "fashion_mobilenet", {.threads = 1, .runs = 2, .warmup = 0}).runs == 2);
    // Calls from two threads take turns instead of colliding on the benchmark names.
    const auto profile_async = [&] {
        return std::async(std::launch::async,
                          [&] { return profiling::profile(g, "fashion_mobilenet", options); });
    };
    auto one = profile_async();
    auto other = profile_async();
    CHECK(one.get().runs == 3);
    CHECK(other.get().runs == 3);

    const profiling::benchmark_harness first(g, "fashion_mobilenet", options);
    CHECK(test::error_of([&] { profiling::benchmark_harness second(g, "fashion_mobilenet", options); })
              .find("another benchmark_harness of 'stemshare_profile/fashion_mobilenet/f32/threads:1/batch:1/"
                    "runs:3' is alive") != std::string::npos);
    profiling::run_collector collector;
    first.run(collector);
    CHECK(first.table(collector).runs == 3);
}

TEST_CASE("profiling: the --out JSON is Google Benchmark's report plus the table, read back by plan") {
    const profiling::profile_report report =
        profiling::profile_with_report(fashion_graph(), "fashion_mobilenet", {.threads = 1, .runs = 3});
    const nlohmann::json doc = report.to_json();
    REQUIRE(doc.contains("benchmark"));
    CHECK(doc["benchmark"].contains("context"));
    // Three repetitions of each benchmark, then its aggregates.
    std::size_t repetitions = 0;
    for (const auto& b : doc["benchmark"]["benchmarks"]) repetitions += b["run_type"] == "iteration" ? 1 : 0;
    CHECK(repetitions == 6);
    CHECK(doc["model"] == "fashion_mobilenet");
    CHECK(doc["layers"].size() == report.table.layers.size());

    const temp_file file("profile.json");
    file.write(doc);
    const std::vector<double> read = profiling::read_layer_latencies(file.path.string());
    REQUIRE(read.size() == report.table.layers.size());
    for (std::size_t i = 0; i < read.size(); ++i)
        CHECK(read[i] == report.table.layers[i].time.median_us * 1e-6);

    // The older layouts still read: a table without "benchmark", an app file's "model" object, a
    // bare array, and bench_models' {"tables": [one table]}.
    const nlohmann::json table = report.table.to_json();
    nlohmann::json app_file;
    app_file["model"]["layer_latencies"] = table["layer_latencies"];
    nlohmann::json bench_tables;
    bench_tables["tables"] = nlohmann::json::array({table});
    for (const nlohmann::json& old :
         std::vector<nlohmann::json>{table, app_file, table["layer_latencies"], bench_tables}) {
        file.write(old);
        CHECK(profiling::read_layer_latencies(file.path.string()) == read);
    }
}

TEST_CASE("profiling: the latency reader names the file and the field it cannot read") {
    const temp_file file("bad.json");
    const std::string path = file.path.string();
    CHECK(test::error_of([&] { (void)profiling::read_layer_latencies(path); }) ==
          path + ": cannot open the latency table");
    file.write(nlohmann::json::parse(R"({"layer_latencies": [1.0, "x"]})"));
    CHECK(test::error_of([&] { (void)profiling::read_layer_latencies(path); }) ==
          path + ": layer_latencies[1]: must be a number");
    file.write(nlohmann::json::parse(R"({"model": "fashion_mobilenet"})"));
    CHECK(test::error_of([&] { (void)profiling::read_layer_latencies(path); }) ==
          path + ": expected an array of per-layer latencies");
    file.write(
        nlohmann::json::parse(R"({"tables": [{"layer_latencies": [1.0]}, {"layer_latencies": [2.0]}]})"));
    CHECK(test::error_of([&] { (void)profiling::read_layer_latencies(path); }) ==
          path + ": tables: must hold exactly one latency table, got 2 (profile one model per file)");
}
