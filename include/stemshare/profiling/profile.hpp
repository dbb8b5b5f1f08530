#pragma once
/// \file
/// `profiling::profile`: measures a graph's per-layer and per-branch-segment latency on the oneDNN
/// backend and returns a `latency_table`. Whole-model runs (plain `run`) and instrumented runs
/// (`run_profiled`) alternate, so both see the same machine state and the table can be checked
/// against the whole-model time it claims to add up to.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::profiling {

struct profile_options {
    /// Threads of every primitive (must be positive: a table is for one known thread count).
    int threads = 1;
    dtype precision = dtype::f32;
    std::int64_t batch = 1;
    /// Timed runs of each kind (whole-model and per-layer).
    std::size_t runs = 30;
    /// Untimed runs first (JIT, page faults, caches).
    std::size_t warmup = 5;
    /// Seed of the random input.
    std::uint64_t seed = 1;
};

/// Median and p90 (nearest rank) of `seconds`, in microseconds.
[[nodiscard]] inline timing summarize(std::vector<double> seconds) {
    if (seconds.empty()) return {};
    std::sort(seconds.begin(), seconds.end());
    const std::size_t n = seconds.size();
    const double median = n % 2 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
    const auto p90_rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(n)));
    return {median * 1e6, seconds[std::max<std::size_t>(p90_rank, 1) - 1] * 1e6};
}

/// Profiles `g` (weights bound) under the name `model`. Throws `stemshare::error` for zero or
/// negative threads, zero runs, or an unbound graph.
[[nodiscard]] inline latency_table profile(const graph& g, std::string model,
                                           const profile_options& options) {
    if (options.threads <= 0)
        throw error("profiling: model '" + model + "'",
                    "threads must be a positive number, got " + std::to_string(options.threads));
    if (options.runs == 0) throw error("profiling: model '" + model + "'", "runs must be at least 1");
    onednn::compiled_graph compiled(
        g, {.batch = options.batch, .threads = options.threads, .precision = options.precision});
    const shape in = g.input_shape();
    const shape out = g.output_shape();
    tensor<float> src(dims{options.batch, in.c, in.h, in.w});
    fill_uniform(src.values(), options.seed);
    tensor<float> dst(dims{options.batch, out.c, out.h, out.w});

    const std::vector<std::string> steps = compiled.steps();
    const std::vector<std::size_t> charged = compiled.step_layers();
    std::vector<double> step_seconds(steps.size());
    for (std::size_t i = 0; i < options.warmup; ++i) compiled.run(src.view(), dst.view());

    // per_layer[l][r]: seconds of layer l in instrumented run r.
    std::vector<std::vector<double>> per_layer(g.size(), std::vector<double>(options.runs, 0.0));
    std::vector<double> whole(options.runs);
    std::vector<double> layer_sum(options.runs);
    for (std::size_t r = 0; r < options.runs; ++r) {
        const auto start = std::chrono::steady_clock::now();
        compiled.run(src.view(), dst.view());
        whole[r] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fill(step_seconds.begin(), step_seconds.end(), 0.0);
        compiled.run_profiled(src.view(), dst.view(), step_seconds);
        for (std::size_t s = 0; s < steps.size(); ++s) {
            layer_sum[r] += step_seconds[s];
            if (charged[s] < g.size()) per_layer[charged[s]][r] += step_seconds[s];
        }
    }

    latency_table table;
    table.model = std::move(model);
    table.threads = options.threads;
    table.precision = options.precision;
    table.batch = options.batch;
    table.runs = options.runs;
    table.isa = onednn::cpu_isa_name();
    table.flops = g.flops();
    table.whole_model = summarize(whole);
    table.layer_sum = summarize(layer_sum);

    const std::vector<std::size_t> owner = compiled.layer_owners();
    const std::vector<std::size_t> points = g.branch_points();
    const std::set<std::size_t> point_set(points.begin(), points.end());
    for (std::size_t i = 0; i < g.size(); ++i) {
        const node& n = g.nodes()[i];
        layer_latency row;
        row.index = i;
        row.name = n.name;
        row.kind = describe(n.spec);
        for (const shape& s : n.input_shapes) row.input_shapes.push_back(to_string(s));
        row.output_shape = to_string(n.output);
        row.flops = n.flops();
        row.time = summarize(per_layer[i]);
        if (owner[i] != i) row.fused_into = owner[i];
        row.branch_point = point_set.contains(i + 1);
        for (std::size_t s = 0; s < steps.size(); ++s)
            if (charged[s] == i) row.steps.push_back(steps[s]);
        table.layers.push_back(std::move(row));
    }
    for (std::size_t p = 0; p + 1 < points.size(); ++p) {
        segment_latency seg{.begin = points[p], .end = points[p + 1], .flops = 0, .time = {}};
        std::vector<double> sums(options.runs, 0.0);
        for (std::size_t l = seg.begin; l < seg.end; ++l) {
            seg.flops += g.nodes()[l].flops();
            for (std::size_t r = 0; r < options.runs; ++r) sums[r] += per_layer[l][r];
        }
        seg.time = summarize(sums);
        table.segments.push_back(seg);
    }
    return table;
}

}  // namespace stemshare::profiling
