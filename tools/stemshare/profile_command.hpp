#pragma once
// `stemshare profile`: per-layer and per-branch-segment latency table of a zoo model (JSON, CSV),
// measured by the model's Google Benchmark benchmarks (profiling/benchmark_harness.hpp).

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include <stemshare/core/error.hpp>
#include <stemshare/profiling/profile.hpp>
#include <stemshare/zoo/zoo.hpp>

#include "write_file.hpp"

namespace stemshare::tools {

namespace profile_detail {

struct options {
    std::string model;
    int threads = 1;
    std::string dtype_name = "f32";
    int runs = 30;
    int warmup = 5;
    std::int64_t batch = 1;
    std::string out_json;
    std::string out_csv;
    std::uint64_t seed = 42;
    double sparse_fps = 0.0;
};

inline void run(const options& opt) {
    const auto& info = zoo::find_model(opt.model);  // unknown name: error listing the known ones
    if (opt.threads <= 0)
        throw error("profile: --threads",
                    "must be a positive number of threads, got " + std::to_string(opt.threads));
    if (opt.runs <= 0) throw error("profile: --runs", "must be at least 1, got " + std::to_string(opt.runs));
    if (opt.warmup < 0)
        throw error("profile: --warmup", "must not be negative, got " + std::to_string(opt.warmup));
    if (opt.batch <= 0) throw error("profile: --batch", "must be positive, got " + std::to_string(opt.batch));
    if (opt.sparse_fps < 0.0 || (opt.sparse_fps > 0.0 && opt.sparse_fps < 1.0 / 60.0))
        throw error("profile: --sparse", "must be a frame rate of at least 1/60 fps (0: back to back), got " +
                                             std::to_string(opt.sparse_fps));
    dtype precision = dtype::f32;
    if (opt.dtype_name == "bf16")
        precision = dtype::bf16;
    else if (opt.dtype_name != "f32")
        throw error("profile: --dtype", "must be f32 or bf16, got '" + opt.dtype_name + "'");

    graph g = info.make();
    g.bind_random(opt.seed);
    const profiling::profile_report report =
        profiling::profile_with_report(g, opt.model,
                                       {.threads = opt.threads,
                                        .precision = precision,
                                        .batch = opt.batch,
                                        .runs = static_cast<std::size_t>(opt.runs),
                                        .warmup = static_cast<std::size_t>(opt.warmup),
                                        .gap_us = opt.sparse_fps > 0.0
                                                      ? static_cast<std::int64_t>(1e6 / opt.sparse_fps)
                                                      : 0});
    const profiling::latency_table& table = report.table;
    if (!opt.out_json.empty()) write_file(opt.out_json, report.to_json().dump(1) + "\n");
    if (!opt.out_csv.empty()) write_file(opt.out_csv, table.to_csv());
    const double gflops =
        static_cast<double>(table.flops * table.batch) / (table.whole_model.median_us * 1e3);
    // Idle OpenMP threads sleep between primitives unless told to spin, and on a 2-core VM every
    // wake-up shows in the latencies (docs/architecture.md), so the table says which it was.
    const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
    std::printf("%s  %s  %d thread(s)  batch %lld  isa %s  OMP_WAIT_POLICY=%s\n", table.model.c_str(),
                std::string(to_string(table.precision)).c_str(), table.threads,
                static_cast<long long>(table.batch), table.isa.c_str(),
                wait_policy == nullptr ? "(unset)" : wait_policy);
    std::printf("whole model: median %.3f ms, p90 %.3f ms, %.1f GFLOP/s (%zu runs)\n",
                table.whole_model.median_us / 1e3, table.whole_model.p90_us / 1e3, gflops, table.runs);
    std::printf("sum of layer medians: %.3f ms over %zu layers, %zu branch segments\n",
                table.sum_of_layer_medians_us() / 1e3, table.layers.size(), table.segments.size());
}

}  // namespace profile_detail

/// Adds the `profile` subcommand to `app`.
inline void register_profile_command(CLI::App& app) {
    auto opt = std::make_shared<profile_detail::options>();
    CLI::App* sub =
        app.add_subcommand("profile", "Measure a zoo model's per-layer latency table (JSON / CSV)");
    sub->add_option("--model", opt->model, "Zoo model: " + zoo::model_names())->required();
    sub->add_option("--threads", opt->threads, "Threads per primitive (positive)")->capture_default_str();
    sub->add_option("--dtype", opt->dtype_name, "f32 | bf16 (bf16 needs AVX-512 with bf16)")
        ->capture_default_str();
    sub->add_option("--runs", opt->runs,
                    "Timed runs (Google Benchmark repetitions, whole-model and per-layer each)")
        ->capture_default_str();
    sub->add_option("--warmup", opt->warmup, "Untimed runs first")->capture_default_str();
    sub->add_option("--batch", opt->batch, "Images per run")->capture_default_str();
    sub->add_option("--seed", opt->seed, "Seed of the random weights")->capture_default_str();
    sub->add_option("--sparse", opt->sparse_fps,
                    "Sparse mode: idle 1/F s before every timed run, as a live stream of F fps does "
                    "(0: back to back)")
        ->capture_default_str();
    sub->add_option("--out", opt->out_json, "Write the table as JSON here");
    sub->add_option("--csv", opt->out_csv, "Write the per-layer rows as CSV here");
    sub->footer(
        R"(The times come from Google Benchmark: two benchmarks (whole model; per layer, instrumented),
--runs repetitions each, interleaved. The JSON holds the whole-model median/p90 (plain runs), the
per-layer rows (index, name, kind, shapes, FLOPs, median_us, p90_us, branch_point, fused_into), the
branch segments, layer_latencies: per-layer medians in seconds, the table `stemshare plan
--latencies` reads, and "benchmark": Google Benchmark's own JSON report of the runs.
Weights are seeded random (latency does not depend on their values). Errors exit 1 with one line.)");
    sub->callback([opt] { profile_detail::run(*opt); });
}

}  // namespace stemshare::tools
