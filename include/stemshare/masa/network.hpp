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
/// - packed: oneDNN's copy in the layouts its kernels want. The backend does not report it, so
///   this is a bound: both channel dimensions of every weight padded to 16 (the widest block of a
///   direct f32 convolution), a bias for every conv and dense (folded batch-norms add one) and
///   4 KiB of alignment per tensor.
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
#include <stemshare/graph/graph.hpp>
#include <stemshare/masa/layer_store.hpp>
#include <stemshare/tensor/fill.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::masa {

/// Small allocations of a compiled segment besides weights and work (descriptors, argument lists).
inline constexpr std::uint64_t segment_overhead_bytes = 64 * 1024;

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

    /// Held while LOAD runs: two copies of the raw weights, the compiled segment and its output.
    [[nodiscard]] std::uint64_t load_peak() const { return 2 * raw_bytes + resident(); }
    /// Held from the end of LOAD until its EXEC finishes.
    [[nodiscard]] std::uint64_t resident() const {
        return packed_bytes + work_bytes + out_bytes + segment_overhead_bytes;
    }
};

namespace detail {
constexpr std::uint64_t round16(std::int64_t n) {
    return static_cast<std::uint64_t>((n + 15) / 16 * 16);
}

/// Bound on the bytes oneDNN's packed copy of node `n`'s weights takes (see the file comment).
inline std::uint64_t packed_bound(const node& n) {
    constexpr std::uint64_t align = 4096;
    const shape in = n.input_shapes.empty() ? shape{} : n.input_shapes.front();
    std::uint64_t elements = 0;
    std::uint64_t tensors = 0;
    if (const auto* c = std::get_if<conv2d_spec>(&n.spec)) {
        const std::int64_t g = c->groups;
        const std::int64_t icg = in.c / g;
        const std::uint64_t k = static_cast<std::uint64_t>(c->kernel.h * c->kernel.w);
        if (g == 1)
            elements = round16(c->out_channels) * round16(icg) * k;
        else if (icg == 1 && c->out_channels == g)
            elements = round16(g) * k;
        else
            elements = static_cast<std::uint64_t>(g) * round16(c->out_channels / g) * round16(icg) * k;
        elements += round16(c->out_channels);
        tensors = 2;
    } else if (const auto* d = std::get_if<dense_spec>(&n.spec)) {
        elements = round16(d->out_features) * round16(in.c) * static_cast<std::uint64_t>(in.h * in.w) +
                   round16(d->out_features);
        tensors = 2;
    } else if (std::holds_alternative<batch_norm_spec>(n.spec)) {
        elements = 4 * round16(in.c);
        tensors = 4;
    }
    return elements * sizeof(float) + tensors * align;
}

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
        for (const auto& seg : net.store_->segments()) {
            segment_profile p{.begin = seg.begin, .end = seg.end};
            p.raw_bytes = seg.bytes();
            for (std::size_t i = seg.begin; i < seg.end; ++i) {
                p.packed_bytes += detail::packed_bound(bound.at(i));
                p.fully_connected = p.fully_connected || std::holds_alternative<dense_spec>(bound.at(i).spec);
            }
            const graph part = bound.slice(seg.begin, seg.end);
            p.out_bytes = detail::shape_bytes(part.output_shape());
            onednn::compiled_graph compiled(part, {.threads = threads});
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
};

}  // namespace stemshare::masa
