#pragma once
/// \file
/// `latency_table`: measured per-layer and per-branch-segment latencies of one model at one thread
/// count, precision and batch, the cost model the scheduler plans with. Written as JSON (with a
/// flat `layer_latencies` array in seconds, the form `stemshare plan --latencies` reads, see
/// `read_layer_latencies`) or CSV.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/io/json_file.hpp>

namespace stemshare::profiling {

/// Median and 90th percentile of a set of timings, in microseconds.
struct timing {
    double median_us = 0;
    double p90_us = 0;
};

/// Nearest-rank 90th percentile of `values` (0 when empty), in their own unit: the "p90" statistic
/// of the Google Benchmark runs and the p90 of every table row.
[[nodiscard]] inline double percentile_90(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const auto rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(values.size())));
    return values[std::max<std::size_t>(rank, 1) - 1];
}

/// Median of `values` (the mean of the middle two for an even count; 0 when empty), in their own
/// unit.
[[nodiscard]] inline double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

/// Median and p90 (nearest rank) of `seconds`, in microseconds.
[[nodiscard]] inline timing summarize(std::vector<double> seconds) {
    if (seconds.empty()) return {};
    const double mid = median(seconds);
    return {mid * 1e6, percentile_90(std::move(seconds)) * 1e6};
}

/// One layer of the graph as given (batch-norms not yet folded).
struct layer_latency {
    std::size_t index = 0;
    std::string name;
    /// Kind and hyper-parameters, e.g. "conv2d(out=32,k=3x3,s=2x2,p=(1,1,1,1),g=1,bias=0)".
    std::string kind;
    std::vector<std::string> input_shapes;  // "[c x h x w]" per input
    std::string output_shape;
    std::int64_t flops = 0;
    /// Time of the steps charged to this layer; zero when it runs fused into another layer.
    timing time;
    /// With `profile_options::second_copy`: the same for a second copy of the layer run right
    /// after the first (another app's copy in the same frame).
    std::optional<timing> second_copy;
    /// The layer whose step computes this one (a folded batch-norm, a fused activation or add).
    std::optional<std::size_t> fused_into;
    /// A stem may end right after this layer.
    bool branch_point = false;
    /// The oneDNN primitives charged to this layer ("what: implementation").
    std::vector<std::string> steps;
};

/// Layers [begin, end) between two consecutive branch points: what a planner moves a stem by.
struct segment_latency {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::int64_t flops = 0;
    /// Statistics of the per-run sum of the segment's layers.
    timing time;
};

struct latency_table {
    std::string model;
    int threads = 1;
    dtype precision = dtype::f32;
    std::int64_t batch = 1;
    std::size_t runs = 0;
    /// oneDNN's instruction set on the measuring machine.
    std::string isa;
    std::int64_t flops = 0;
    /// Uninstrumented whole-model runs (Google Benchmark's real time of each repetition), interleaved
    /// with the instrumented per-layer runs.
    timing whole_model;
    /// Statistics of the per-run sum over all layers of the instrumented runs.
    timing layer_sum;
    std::vector<layer_latency> layers;
    std::vector<segment_latency> segments;

    /// Sum of the layers' medians (what a cost model adds up), in microseconds.
    [[nodiscard]] double sum_of_layer_medians_us() const {
        double total = 0;
        for (const auto& l : layers) total += l.time.median_us;
        return total;
    }

    [[nodiscard]] nlohmann::json to_json() const {
        using nlohmann::json;
        auto timing_json = [](const timing& t) {
            return json{{"median_us", t.median_us}, {"p90_us", t.p90_us}};
        };
        json layer_rows = json::array();
        json latencies = json::array();
        json second_copy_latencies = json::array();
        for (const auto& l : layers) {
            layer_rows.push_back({{"index", l.index},
                                  {"name", l.name},
                                  {"kind", l.kind},
                                  {"input_shapes", l.input_shapes},
                                  {"output_shape", l.output_shape},
                                  {"flops", l.flops},
                                  {"median_us", l.time.median_us},
                                  {"p90_us", l.time.p90_us},
                                  {"fused_into", l.fused_into ? json(*l.fused_into) : json(nullptr)},
                                  {"branch_point", l.branch_point},
                                  {"steps", l.steps}});
            latencies.push_back(l.time.median_us * 1e-6);
            if (l.second_copy) {
                layer_rows.back()["second_copy_median_us"] = l.second_copy->median_us;
                layer_rows.back()["second_copy_p90_us"] = l.second_copy->p90_us;
                second_copy_latencies.push_back(l.second_copy->median_us * 1e-6);
            }
        }
        json segment_rows = json::array();
        for (const auto& s : segments)
            segment_rows.push_back({{"begin", s.begin},
                                    {"end", s.end},
                                    {"flops", s.flops},
                                    {"median_us", s.time.median_us},
                                    {"p90_us", s.time.p90_us}});
        json out = {{"model", model},
                    {"threads", threads},
                    {"dtype", std::string(to_string(precision))},
                    {"batch", batch},
                    {"runs", runs},
                    {"isa", isa},
                    {"flops", flops},
                    {"whole_model", timing_json(whole_model)},
                    {"layer_sum", timing_json(layer_sum)},
                    {"sum_of_layer_medians_us", sum_of_layer_medians_us()},
                    {"gflops_at_median", whole_model.median_us > 0
                                             ? static_cast<double>(flops) * static_cast<double>(batch) /
                                                   (whole_model.median_us * 1e3)
                                             : 0.0},
                    {"layer_latencies", latencies},
                    {"layers", layer_rows},
                    {"segments", segment_rows}};
        if (has_second_copy()) out["second_copy_latencies"] = second_copy_latencies;
        return out;
    }

    /// Whether the layers carry `second_copy` timings (`profile_options::second_copy`).
    [[nodiscard]] bool has_second_copy() const {
        return !layers.empty() && std::all_of(layers.begin(), layers.end(), [](const layer_latency& l) {
            return l.second_copy.has_value();
        });
    }

    /// One row per layer: index,name,kind,input_shapes,output_shape,flops,median_us,p90_us,
    /// branch_point,fused_into. Text fields are quoted (kinds contain commas).
    [[nodiscard]] std::string to_csv() const {
        std::ostringstream out;
        out.precision(9);
        out << "index,name,kind,input_shapes,output_shape,flops,median_us,p90_us,branch_point,fused_into\n";
        for (const auto& l : layers) {
            std::string inputs;
            for (const auto& s : l.input_shapes) inputs += (inputs.empty() ? "" : " ") + s;
            out << l.index << ',' << quoted(l.name) << ',' << quoted(l.kind) << ',' << quoted(inputs) << ','
                << quoted(l.output_shape) << ',' << l.flops << ',' << l.time.median_us << ',' << l.time.p90_us
                << ',' << (l.branch_point ? 1 : 0) << ','
                << (l.fused_into ? std::to_string(*l.fused_into) : "") << '\n';
        }
        return out.str();
    }

private:
    static std::string quoted(const std::string& s) {
        std::string out = "\"";
        for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
        return out + "\"";
    }
};

/// The per-layer latencies (seconds, one per layer) of a latency-table document: a bare array, an
/// object with `layer_latencies` (a table as `stemshare profile --out` or `latency_table::to_json`
/// writes it, with or without its "benchmark" report), an object whose "model" object holds
/// `layer_latencies` (the app-file layout), or `{"tables": [table]}` with exactly one table (what
/// `bench_models --stemshare_table` writes for one model). `where` names the document in errors.
[[nodiscard]] inline std::vector<double> layer_latencies_from_json(const nlohmann::json& doc,
                                                                   const std::string& where) {
    const nlohmann::json* table = &doc;
    if (table->is_object() && table->contains("tables")) {
        const nlohmann::json& tables = (*table)["tables"];
        if (!tables.is_array() || tables.size() != 1)
            throw error(where + ": tables", "must hold exactly one latency table, got " +
                                                std::to_string(tables.is_array() ? tables.size() : 0) +
                                                " (profile one model per file)");
        table = &tables[0];
    }
    // A table's "model" is its name; the app-file layout nests the latencies in a "model" object.
    if (table->is_object() && !table->contains("layer_latencies") && table->contains("model") &&
        (*table)["model"].is_object())
        table = &(*table)["model"];
    if (table->is_object() && table->contains("layer_latencies")) table = &(*table)["layer_latencies"];
    if (!table->is_array()) throw error(where, "expected an array of per-layer latencies");
    std::vector<double> out;
    for (std::size_t l = 0; l < table->size(); ++l) {
        if (!(*table)[l].is_number())
            throw error(where + ": layer_latencies[" + std::to_string(l) + "]", "must be a number");
        out.push_back((*table)[l].get<double>());
    }
    return out;
}

/// `layer_latencies_from_json` of the JSON file at `path` (what `stemshare plan --latencies` reads).
[[nodiscard]] inline std::vector<double> read_layer_latencies(const std::string& path) {
    return layer_latencies_from_json(io::read_json_file(path, "the latency table"), path);
}

}  // namespace stemshare::profiling
