#pragma once
/// \file
/// `onednn::compiled_graph`: a graph turned into a fixed sequence of oneDNN primitives for one
/// batch size, thread count and precision. Batch-norms are folded into convolutions; conv/dense +
/// activation, conv + residual add (+ activation) and a 1x1 conv + stride-2 depthwise conv run as
/// one primitive with post-ops (fusion.hpp); activations stay in the layouts oneDNN picks
/// (`format_tag::any`), with reorders only where a consumer wants another layout and at the
/// graph's two ends; weights are reordered once, here. How each layer kind becomes primitives is
/// in lower_<kind>.hpp, driven by lower_graph.hpp.
///
/// Memory: every intermediate value lives in one arena, at an offset planned from the values'
/// lifetimes (activation_arena.hpp), concats are written in place where layouts allow
/// (concat_in_place.hpp), and all primitives share one scratchpad. A run is a loop of
/// `dnnl_primitive_execute` calls that allocates nothing in stemshare (program.hpp).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/lower_graph.hpp>
#include <stemshare/backend/onednn/program.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/fold_batch_norms.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::onednn {

struct compile_options {
    /// Images per run.
    std::int64_t batch = 1;
    /// Threads of every primitive; 0 = all cores.
    int threads = 0;
    /// f32, or bf16 weights and activations with f32 accumulation (inputs and outputs stay f32).
    /// bf16 needs a CPU where oneDNN has bf16 kernels (`has_bf16()`; fast only with
    /// `has_native_bf16()`); elsewhere compiling throws `stemshare::error`.
    dtype precision = dtype::f32;
};

class compiled_graph {
public:
    /// A step not charged to any layer (only the copy of an empty graph).
    static constexpr std::size_t no_layer = detail::program::no_layer;

    explicit compiled_graph(const graph& g, compile_options options = {})
        : input_(g.input_shape()),
          output_(g.output_shape()),
          batch_(options.batch),
          threads_(resolve_threads(options.threads)),
          precision_(options.precision),
          stream_(cpu_engine()) {
        if (batch_ <= 0)
            throw error("onednn::compiled_graph", "batch must be positive, got " + std::to_string(batch_));
        for (const node& n : g.nodes())
            if (!n.is_bound())
                throw error("onednn::compiled_graph: layer '" + n.name + "'", "has no weights bound");
        if (precision_ == dtype::bf16 && !has_bf16())
            throw error("onednn::compiled_graph", "precision bf16 is not supported on this CPU (oneDNN ISA " +
                                                      cpu_isa_name() +
                                                      "; bf16 needs AVX-512, natively AVX512_BF16); use f32");
        use_threads(threads_);
        map_folded_layers(g);
        program_ = detail::lower_graph(fold_batch_norms(g),
                                       {.batch = batch_, .threads = threads_, .precision = precision_},
                                       origin_, stream_);
    }

    compiled_graph(compiled_graph&&) noexcept = default;
    compiled_graph& operator=(compiled_graph&&) noexcept = default;
    compiled_graph(const compiled_graph&) = delete;
    compiled_graph& operator=(const compiled_graph&) = delete;
    ~compiled_graph() = default;

    /// Runs one batch: `src` is {batch, c, h, w} plain, `dst` {batch, c', h', w'} plain.
    void run(tensor_view<const float> src, tensor_view<float> dst) {
        bind_io(src, dst);
        for (const auto& s : program_.steps) execute(s);
    }
    /// Like `run`, but adds each step's wall time in seconds to `step_seconds[i]` (one entry per
    /// `steps()` line): the raw data of layer latency tables. oneDNN's CPU steps are synchronous,
    /// so a step's time is its own.
    void run_profiled(tensor_view<const float> src, tensor_view<float> dst, std::span<double> step_seconds) {
        if (step_seconds.size() != program_.steps.size())
            throw error("onednn::compiled_graph::run_profiled",
                        "needs " + std::to_string(program_.steps.size()) + " step timers, got " +
                            std::to_string(step_seconds.size()));
        bind_io(src, dst);
        for (std::size_t i = 0; i < program_.steps.size(); ++i) {
            const auto start = std::chrono::steady_clock::now();
            execute(program_.steps[i]);
            step_seconds[i] +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
    }
    /// Runs one batch and returns a new output tensor.
    [[nodiscard]] tensor<float> run(tensor_view<const float> src) {
        tensor<float> dst(dims{batch_, output_.c, output_.h, output_.w});
        run(src, dst.view());
        return dst;
    }

    [[nodiscard]] std::int64_t batch() const noexcept { return batch_; }
    [[nodiscard]] int threads() const noexcept { return threads_; }
    [[nodiscard]] dtype precision() const noexcept { return precision_; }
    [[nodiscard]] shape input_shape() const noexcept { return input_; }
    [[nodiscard]] shape output_shape() const noexcept { return output_; }
    /// One line per primitive executed per run, "what: implementation" (e.g. "conv 'c1' + relu:
    /// jit:avx2").
    [[nodiscard]] std::vector<std::string> steps() const {
        std::vector<std::string> out;
        for (const auto& s : program_.steps) out.push_back(s.what);
        return out;
    }
    /// For each step, the index (in the graph given to the constructor) of the layer its time is
    /// charged to: a fused conv + batch-norm + activation step is charged to the conv, a reorder
    /// to the layer that needed it, the final reorder to the last layer.
    [[nodiscard]] std::vector<std::size_t> step_layers() const {
        std::vector<std::size_t> out;
        for (const auto& s : program_.steps) out.push_back(s.layer);
        return out;
    }
    /// For each layer of the graph given to the constructor, the layer whose step computes it:
    /// itself, or the conv a batch-norm was folded into, or the conv/dense an activation, a residual
    /// add or a depthwise conv was fused into.
    [[nodiscard]] std::vector<std::size_t> layer_owners() const {
        std::vector<std::size_t> out;
        for (std::size_t f : folded_of_) out.push_back(origin_[program_.owner[f]]);
        return out;
    }
    /// Bytes of the activation arena (all intermediate values, overlapping where lifetimes allow).
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return program_.arena.bytes(); }
    /// Bytes the intermediate values would take with one buffer each: what the arena saves.
    [[nodiscard]] std::size_t unshared_bytes() const noexcept { return program_.arena.unshared_bytes(); }
    /// Bytes of the packed weights oneDNN allocated for this graph (exact: the sum of the sizes of
    /// the weight buffers in the layouts the chosen primitives want, biases included).
    [[nodiscard]] std::size_t weight_bytes() const noexcept { return program_.weight_bytes; }
    /// How many packed weight buffers `weight_bytes` is spread over (one allocation each).
    [[nodiscard]] std::size_t weight_buffers() const noexcept { return program_.weight_buffers; }
    /// Bytes of the scratchpad all primitives share.
    [[nodiscard]] std::size_t scratchpad_bytes() const noexcept { return program_.arena.scratchpad_bytes(); }
    /// Bytes of the workspace `use_workspace` takes: the arena, then the scratchpad at a page.
    [[nodiscard]] std::size_t workspace_bytes() const noexcept { return program_.arena.workspace_bytes(); }
    /// Runs in the caller's `bytes` (`workspace_bytes()` of them, aligned to a page, used by
    /// nothing that runs at the same time) instead of an arena and scratchpad of its own, which
    /// are freed; nullptr: back to memory of its own. Nothing in it outlives a run, so graphs that
    /// run one after another can share one workspace. Only between runs.
    void use_workspace(std::byte* bytes) { program_.arena.use_workspace(bytes); }

private:
    /// Maps layers of g to those of `fold_batch_norms(g)`: the folded graph's layer j is layer
    /// origin_[j] of g, and layer i of g lives in folded layer folded_of_[i] (a folded batch-norm
    /// in its conv).
    void map_folded_layers(const graph& g) {
        folded_of_.assign(g.size(), 0);
        for (std::size_t i = 0; i < g.size(); ++i) {
            if (stemshare::detail::folds_into_producer(g, i)) {
                folded_of_[i] = folded_of_[static_cast<std::size_t>(g.nodes()[i].inputs[0])];
            } else {
                folded_of_[i] = origin_.size();
                origin_.push_back(i);
            }
        }
    }

    void bind_io(tensor_view<const float> src, tensor_view<float> dst) {
        check_io(src.extents(), src.memory_layout(), input_, "input");
        check_io(dst.extents(), dst.memory_layout(), output_, "output");
        use_threads(threads_);
        program_.src.set_data_handle(const_cast<float*>(src.data()));  // oneDNN never writes a src
        program_.dst.set_data_handle(dst.data());
    }

    void execute(const detail::program::step& s) {
        const dnnl_status_t status = dnnl_primitive_execute(s.primitive.get(), stream_.get(),
                                                            static_cast<int>(s.args.size()), s.args.data());
        if (status != dnnl_success)
            throw error("onednn::compiled_graph::run: " + s.what,
                        "oneDNN failed with status " + std::to_string(static_cast<int>(status)));
    }

    void check_io(const dims& d, layout l, shape expected, const char* which) const {
        if (d.rank() != 4 || d[0] != batch_ || d[1] != expected.c || d[2] != expected.h ||
            d[3] != expected.w || l != layout::plain)
            throw error("onednn::compiled_graph::run",
                        std::string(which) + " must be plain {" + std::to_string(batch_) + ", " +
                            std::to_string(expected.c) + ", " + std::to_string(expected.h) + ", " +
                            std::to_string(expected.w) + "}, got " + to_string(d) + " " +
                            std::string(to_string(l)));
    }

    shape input_;
    shape output_;
    std::int64_t batch_;
    int threads_;
    dtype precision_;
    dnnl::stream stream_;
    std::vector<std::size_t> origin_;
    std::vector<std::size_t> folded_of_;
    detail::program program_;
};

}  // namespace stemshare::onednn
