#pragma once
/// \file
/// `masa::network`: one model as Masa runs it: its graph without weights (what INIT builds), its
/// weights in a `layer_store`, and a profile of every segment (the layers between two branch
/// points, the unit of LOAD and EXEC): the bytes each holds while loading and while resident, and
/// its measured load and execution times (what the SJF and Masa schedulers order by).
///
/// Bytes of a segment, all counted against the budget:
/// - raw: its f32 weights as read from disk. Compiling copies them once more (the backend folds
///   batch-norms into a copy of the graph), so a load holds them twice until compiled.
/// - packed: oneDNN's copy in the layouts its kernels want, as the compiled segment reports it
///   (`compiled_graph::weight_bytes`: the exact size of every packed buffer) plus one page per
///   buffer (each is its own allocation; large ones are mmapped, so they round up to pages).
/// - work: the compiled segment's activation arena and scratchpad (measured when profiling;
///   the same shapes and thread count compile to the same primitives).
/// - out: the segment's output activation, plain f32, allocated at load so that an EXEC never
///   has to wait for memory.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <stemshare/backend/onednn/compiled_graph.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/masa/layer_store.hpp>
#include <stemshare/stem/cut_model.hpp>
#include <stemshare/stem/fingerprint.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::masa {

/// Small allocations of a compiled segment besides weights and work (descriptors, argument lists).
inline constexpr std::uint64_t segment_overhead_bytes = 64 * 1024;
/// Rounding allowed per packed weight buffer (one allocation each).
inline constexpr std::uint64_t page_bytes = 4096;

struct segment_profile {
    std::size_t begin = 0;
    std::size_t end = 0;
    /// Holds a dense layer: DeepEye's second worker loads these.
    bool fully_connected = false;
    std::uint64_t raw_bytes = 0;
    std::uint64_t packed_bytes = 0;
    std::uint64_t work_bytes = 0;
    std::uint64_t out_bytes = 0;
    double load_s = 0;
    double exec_s = 0;
    /// The stem trie's identity of this segment with everything before it (layers, wiring and
    /// weight bytes, names aside): equal ids in two networks mean the same function of the same
    /// input, so one compiled copy can serve both (the stem-aware mode keeps such copies).
    stem::fingerprint id{};

    /// Held while LOAD runs: two copies of the raw weights, the compiled segment and its output.
    [[nodiscard]] std::uint64_t load_peak() const { return 2 * raw_bytes + resident(); }
    /// Held from the end of LOAD until its EXEC finishes.
    [[nodiscard]] std::uint64_t resident() const {
        return packed_bytes + work_bytes + out_bytes + segment_overhead_bytes;
    }
};

namespace detail {
inline std::uint64_t shape_bytes(shape s) {
    return static_cast<std::uint64_t>(s.numel()) * sizeof(float);
}
}  // namespace detail

class network {
public:
    /// Writes `bound`'s weights to `weights_path` and profiles every segment (`runs` timed runs,
    /// the median kept; compiled with `threads` threads, as the runtime compiles them).
    /// Load times are measured with one cold read of each segment under `reads`.
    static network prepare(std::string name, const graph& bound, const std::filesystem::path& weights_path,
                           const read_options& reads = {}, int threads = 1, int runs = 3) {
        network net;
        net.name_ = std::move(name);
        net.threads_ = threads;
        net.skeleton_ = skeleton_of(bound);
        net.store_ = std::make_shared<layer_store>(layer_store::write(bound, weights_path));
        stem::fingerprint parent = stem::root_fingerprint(bound.input_shape());
        for (const auto& seg : net.store_->segments()) {
            segment_profile p{.begin = seg.begin, .end = seg.end};
            p.raw_bytes = seg.bytes();
            for (std::size_t i = seg.begin; i < seg.end; ++i)
                p.fully_connected = p.fully_connected || std::holds_alternative<dense_spec>(bound.at(i).spec);
            const graph part = bound.slice(seg.begin, seg.end);
            p.id = stem::fingerprint_of(part, parent);
            parent = p.id;
            p.out_bytes = detail::shape_bytes(part.output_shape());
            onednn::compiled_graph compiled(part, {.threads = threads});
            p.packed_bytes = compiled.weight_bytes() + compiled.weight_buffers() * page_bytes;
            p.work_bytes = compiled.arena_bytes() + compiled.scratchpad_bytes();
            const shape in = part.input_shape();
            tensor<float> x(dims{1, in.c, in.h, in.w});
            fill_uniform(x.values(), 7);
            std::vector<double> times;
            for (int r = 0; r < std::max(runs, 1); ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                (void)compiled.run(x.view());
                times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            std::sort(times.begin(), times.end());
            p.exec_s = times[times.size() / 2];
            net.store_->drop_cache();
            const auto r0 = std::chrono::steady_clock::now();
            (void)net.store_->read(net.segments_.size(), reads);
            p.load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
            net.segments_.push_back(p);
        }
        return net;
    }

    [[nodiscard]] const std::string& name() const noexcept { return name_; }
    /// The graph without weights: what INIT builds and each LOAD slices and binds.
    [[nodiscard]] const graph& skeleton() const noexcept { return skeleton_; }
    [[nodiscard]] const layer_store& store() const noexcept { return *store_; }
    [[nodiscard]] const std::vector<segment_profile>& segments() const noexcept { return segments_; }
    [[nodiscard]] int threads() const noexcept { return threads_; }
    [[nodiscard]] std::uint64_t input_bytes() const { return detail::shape_bytes(skeleton_.input_shape()); }
    /// Replaces every segment's execution time by the sum of `layer_seconds` over its layers: a
    /// latency table of this network's layers (`stemshare profile`'s `layer_latencies`, read with
    /// `profiling::read_layer_latencies`), what SJF and Masa then order by. `source` names it in
    /// `exec_source`. Throws naming the network and source when the layer counts differ.
    void use_layer_latencies(const std::vector<double>& layer_seconds, const std::string& source) {
        if (layer_seconds.size() != skeleton_.size())
            throw error("masa network '" + name_ + "': latency table " + source,
                        "has " + std::to_string(layer_seconds.size()) + " layer latencies, the network has " +
                            std::to_string(skeleton_.size()) + " layers");
        for (auto& seg : segments_) {
            double total = 0;
            for (std::size_t i = seg.begin; i < seg.end; ++i) {
                if (!(layer_seconds[i] >= 0))
                    throw error("masa network '" + name_ + "': latency table " + source,
                                "layer " + std::to_string(i) + " has a negative or missing latency");
                total += layer_seconds[i];
            }
            seg.exec_s = total;
        }
        exec_source_ = "latency table " + source;
    }
    /// Where the execution times come from: "segment profile" (measured at `prepare`) or
    /// "latency table <source>".
    [[nodiscard]] const std::string& exec_source() const noexcept { return exec_source_; }
    /// Profiled execution time of the whole network (the sum of its segments').
    [[nodiscard]] double exec_seconds() const {
        double total = 0;
        for (const auto& s : segments_) total += s.exec_s;
        return total;
    }
    /// Profiled load plus execution time: a job's length for shortest-job-first.
    [[nodiscard]] double job_seconds() const {
        double total = 0;
        for (const auto& s : segments_) total += s.exec_s + s.load_s;
        return total;
    }
    /// Bytes of the activation entering segment `s` (the input for the first).
    [[nodiscard]] std::uint64_t in_bytes(std::size_t s) const {
        return s == 0 ? input_bytes() : segments_[s - 1].out_bytes;
    }
    /// Copies `g`'s layers and branch points without weights.
    static graph skeleton_of(const graph& g) {
        graph out(g.input_shape());
        for (const node& n : g.nodes()) out.add(n.name, n.spec, n.inputs);
        if (g.has_declared_branch_points()) out.set_branch_points(g.branch_points());
        return out;
    }

private:
    network() : skeleton_(shape{1, 1, 1}) {}

    std::string name_;
    int threads_ = 1;
    graph skeleton_;
    std::shared_ptr<layer_store> store_;
    std::vector<segment_profile> segments_;
    std::string exec_source_ = "segment profile";
};

}  // namespace stemshare::masa
