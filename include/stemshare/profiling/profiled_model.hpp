#pragma once
/// \file
/// `detail::profiled_model`: what a `benchmark_harness`'s benchmarks run, a graph compiled and
/// warmed up for one latency table, with its input, output and step timers, and the table's rows
/// without timings (taken from the graph here, so the graph need not outlive the harness).

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/profiling/latency_table.hpp>
#include <stemshare/profiling/profile_options.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::profiling::detail {

struct profiled_model {
    /// Compiles `g` under `o`, fills the input from `o.seed`, runs `o.warmup` untimed runs.
    profiled_model(const graph& g, const std::string& model, const profile_options& o)
        : compiled(g, {.batch = o.batch, .threads = o.threads, .precision = o.precision}),
          src(dims{o.batch, g.input_shape().c, g.input_shape().h, g.input_shape().w}),
          dst(dims{o.batch, g.output_shape().c, g.output_shape().h, g.output_shape().w}),
          step_layers(compiled.step_layers()),
          step_seconds(step_layers.size(), 0.0) {
        fill_uniform(src.values(), o.seed);
        if (o.second_copy) {
            twin_graph.emplace(g);
            twin.emplace(*twin_graph, onednn::compile_options{
                                          .batch = o.batch, .threads = o.threads, .precision = o.precision});
            twin_step_seconds.assign(twin->step_layers().size(), 0.0);
        }
        for (std::size_t i = 0; i < o.warmup; ++i) {
            compiled.run(src.view(), dst.view());
            if (twin) twin->run(src.view(), dst.view());
        }
        skeleton.model = model;
        skeleton.threads = o.threads;
        skeleton.precision = o.precision;
        skeleton.batch = o.batch;
        skeleton.isa = onednn::cpu_isa_name();
        skeleton.flops = g.flops();
        const std::vector<std::string> steps = compiled.steps();
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
            if (owner[i] != i) row.fused_into = owner[i];
            row.branch_point = point_set.contains(i + 1);
            for (std::size_t s = 0; s < steps.size(); ++s)
                if (step_layers[s] == i) row.steps.push_back(steps[s]);
            skeleton.layers.push_back(std::move(row));
        }
        for (std::size_t p = 0; p + 1 < points.size(); ++p) {
            segment_latency seg{.begin = points[p], .end = points[p + 1], .flops = 0, .time = {}};
            for (std::size_t l = seg.begin; l < seg.end; ++l) seg.flops += g.nodes()[l].flops();
            skeleton.segments.push_back(seg);
        }
    }

    onednn::compiled_graph compiled;
    tensor<float> src;
    tensor<float> dst;
    std::vector<std::size_t> step_layers;
    std::vector<double> step_seconds;
    /// With `profile_options::second_copy`: the copy of the graph, its compiled twin (same steps)
    /// and the twin's step timers.
    std::optional<graph> twin_graph;
    std::optional<onednn::compiled_graph> twin;
    std::vector<double> twin_step_seconds;
    /// The table without timings.
    latency_table skeleton;
};

}  // namespace stemshare::profiling::detail
