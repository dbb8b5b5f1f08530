#pragma once
/// \file
/// `onednn::compiled_graph`: a graph turned into a fixed sequence of oneDNN primitives for one
/// batch size, thread count and precision. Batch-norms are folded into convolutions; conv/dense +
/// activation and conv + residual add (+ activation) run as one primitive with post-ops;
/// activations stay in the layouts oneDNN picks (`format_tag::any`), with reorders only where a
/// consumer wants another layout and at the graph's two ends; weights are reordered once, here.
///
/// Memory: every intermediate value lives in one arena, at an offset planned from the values'
/// lifetimes (two values share bytes when no step needs both), and all primitives share one
/// scratchpad. The argument arrays of every step are built here, so a run is a loop of
/// `dnnl_primitive_execute` calls that allocates nothing in stemshare (oneDNN 2.6 itself still
/// builds a small argument map inside each execute call).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/primitive_cache.hpp>
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
    static constexpr std::size_t no_layer = std::numeric_limits<std::size_t>::max();

    explicit compiled_graph(const graph& g, compile_options options = {})
        : input_(g.input_shape()),
          output_(g.output_shape()),
          batch_(options.batch),
          threads_(resolve_threads(options.threads)),
          precision_(options.precision),
          act_dt_(options.precision == dtype::bf16 ? dt::bf16 : dt::f32),
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
        build(fold_batch_norms(g));
        plan_memory();
    }

    compiled_graph(compiled_graph&&) noexcept = default;
    compiled_graph& operator=(compiled_graph&&) noexcept = default;
    compiled_graph(const compiled_graph&) = delete;
    compiled_graph& operator=(const compiled_graph&) = delete;
    ~compiled_graph() = default;

    /// Runs one batch: `src` is {batch, c, h, w} plain, `dst` {batch, c', h', w'} plain.
    void run(tensor_view<const float> src, tensor_view<float> dst) {
        bind_io(src, dst);
        for (const step& s : steps_) execute(s);
    }
    /// Like `run`, but adds each step's wall time in seconds to `step_seconds[i]` (one entry per
    /// `steps()` line): the raw data of layer latency tables. oneDNN's CPU steps are synchronous,
    /// so a step's time is its own.
    void run_profiled(tensor_view<const float> src, tensor_view<float> dst, std::span<double> step_seconds) {
        if (step_seconds.size() != steps_.size())
            throw error("onednn::compiled_graph::run_profiled", "needs " + std::to_string(steps_.size()) +
                                                                    " step timers, got " +
                                                                    std::to_string(step_seconds.size()));
        bind_io(src, dst);
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            const auto start = std::chrono::steady_clock::now();
            execute(steps_[i]);
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
        for (const auto& s : steps_) out.push_back(s.what);
        return out;
    }
    /// For each step, the index (in the graph given to the constructor) of the layer its time is
    /// charged to: a fused conv + batch-norm + activation step is charged to the conv, a reorder
    /// to the layer that needed it, the final reorder to the last layer.
    [[nodiscard]] std::vector<std::size_t> step_layers() const {
        std::vector<std::size_t> out;
        for (const auto& s : steps_) out.push_back(s.layer);
        return out;
    }
    /// For each layer of the graph given to the constructor, the layer whose step computes it:
    /// itself, or the conv a batch-norm was folded into, or the conv/dense an activation or a
    /// residual add was fused into.
    [[nodiscard]] std::vector<std::size_t> layer_owners() const {
        std::vector<std::size_t> out;
        for (std::size_t f : folded_of_) out.push_back(origin_[folded_owner_[f]]);
        return out;
    }
    /// Bytes of the activation arena (all intermediate values, overlapping where lifetimes allow).
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return arena_bytes_; }
    /// Bytes the intermediate values would take with one buffer each: what the arena saves.
    [[nodiscard]] std::size_t unshared_bytes() const noexcept {
        std::size_t total = 0;
        for (const auto& b : buffers_) total += b.bytes;
        return total;
    }
    /// Bytes of the scratchpad all primitives share.
    [[nodiscard]] std::size_t scratchpad_bytes() const noexcept { return scratchpad_bytes_; }

private:
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    using arg_list = std::vector<std::pair<int, dnnl::memory>>;

    struct step {
        dnnl::primitive primitive;
        arg_list memories;  // keeps the memory objects behind `args` alive
        std::vector<dnnl_exec_arg_t> args;
        std::string what;
        std::size_t layer = no_layer;
    };
    /// An intermediate value's bytes in the arena, live from step `first` to step `last`.
    struct buffer {
        std::size_t bytes = 0;
        std::size_t first = std::numeric_limits<std::size_t>::max();
        std::size_t last = 0;
        std::size_t offset = 0;
    };
    /// A memory object over arena bytes: buffer `buffer`, `byte_offset` bytes in.
    struct arena_view {
        dnnl::memory memory;
        std::size_t buffer = 0;
        std::size_t byte_offset = 0;
    };
    /// A concat whose result is allocated before its inputs are computed (see plan_concats):
    /// `parts[k]` is input k's channels of `result`, in the input's own layout.
    struct concat_plan {
        dnnl::memory result;
        std::vector<dnnl::memory> parts;
    };
    struct aligned_bytes_delete {
        void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{page}); }
    };
    static constexpr std::size_t page = 4096;
    static constexpr std::size_t alignment = 64;

    /// Maps layers of g to those of `fold_batch_norms(g)`: the folded graph's layer j is layer
    /// origin_[j] of g, and layer i of g lives in folded layer folded_of_[i] (a folded batch-norm
    /// in its conv).
    void map_folded_layers(const graph& g) {
        folded_of_.assign(g.size(), 0);
        for (std::size_t i = 0; i < g.size(); ++i) {
            if (detail::folds_into_producer(g, i)) {
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
        src_user_.set_data_handle(const_cast<float*>(src.data()));  // oneDNN never writes a src
        dst_user_.set_data_handle(dst.data());
    }

    void execute(const step& s) {
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

    dnnl::memory::dims act_dims(shape s) const { return {batch_, s.c, s.h, s.w}; }

    /// The memory holding value v (after fusion, an absorbed node's value is its producer's).
    dnnl::memory& value(value_id v) {
        return v == graph_input ? input_mem_ : values_[static_cast<std::size_t>(v)];
    }

    /// A new intermediate value of layout `md`, placed in the arena once lifetimes are known.
    dnnl::memory new_value(const dnnl::memory::desc& md) {
        dnnl::memory m(md, cpu_engine(), DNNL_MEMORY_NONE);
        buffers_.push_back({.bytes = md.get_size()});
        register_view(m, buffers_.size() - 1, 0);
        return m;
    }
    /// Another layout `md` over the bytes of the intermediate value `of`, from `byte_offset` on.
    dnnl::memory alias_value(const dnnl::memory& of, const dnnl::memory::desc& md,
                             std::size_t byte_offset = 0) {
        const arena_view& parent = arena_views_[view_of_.at(of.get())];
        dnnl::memory m(md, cpu_engine(), DNNL_MEMORY_NONE);
        register_view(m, parent.buffer, parent.byte_offset + byte_offset);
        return m;
    }
    void register_view(const dnnl::memory& m, std::size_t buffer_index, std::size_t byte_offset) {
        buffer_of_.emplace(m.get(), buffer_index);
        view_of_.emplace(m.get(), arena_views_.size());
        arena_views_.push_back({m, buffer_index, byte_offset});
    }

    /// Appends a step; its scratchpad (if any) is the shared one, and every intermediate value it
    /// touches stays live up to it.
    void push_step(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd, arg_list memories,
                   std::string what) {
        const auto scratch = pd.scratchpad_desc();
        if (scratch.get_size() > 0) {
            dnnl::memory m(scratch, cpu_engine(), DNNL_MEMORY_NONE);
            scratchpad_bytes_ = std::max(scratchpad_bytes_, scratch.get_size());
            scratch_views_.push_back(m);
            memories.emplace_back(DNNL_ARG_SCRATCHPAD, m);
        }
        const std::size_t index = steps_.size();
        step s{p, std::move(memories), {}, std::move(what), current_layer_};
        for (const auto& [arg, m] : s.memories) {
            s.args.push_back({arg, m.get()});
            if (auto it = buffer_of_.find(m.get()); it != buffer_of_.end()) {
                buffer& b = buffers_[it->second];
                b.first = std::min(b.first, index);
                b.last = std::max(b.last, index);
            }
        }
        steps_.push_back(std::move(s));
    }

    /// Places every buffer in one arena, largest first, at the lowest offset that overlaps no
    /// buffer live at the same time; then points every memory object at its bytes.
    void plan_memory() {
        std::vector<std::size_t> order(buffers_.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return buffers_[a].bytes > buffers_[b].bytes; });
        std::vector<std::size_t> placed;
        for (std::size_t i : order) {
            buffer& b = buffers_[i];
            if (b.first > b.last) b.first = b.last = 0;  // never used by a step: any slot will do
            const std::size_t size = round_up(b.bytes, alignment);
            std::vector<std::pair<std::size_t, std::size_t>> taken;  // [begin, end) of live neighbours
            for (std::size_t j : placed) {
                const buffer& o = buffers_[j];
                if (o.first <= b.last && b.first <= o.last)
                    taken.emplace_back(o.offset, o.offset + round_up(o.bytes, alignment));
            }
            std::sort(taken.begin(), taken.end());
            std::size_t offset = 0;
            for (const auto& [begin, end] : taken) {
                if (offset + size <= begin) break;
                offset = std::max(offset, end);
            }
            b.offset = offset;
            arena_bytes_ = std::max(arena_bytes_, offset + size);
            placed.push_back(i);
        }
        if (arena_bytes_ > 0) arena_.reset(new (std::align_val_t{page}) std::byte[arena_bytes_]);
        for (auto& v : arena_views_)
            v.memory.set_data_handle(arena_.get() + buffers_[v.buffer].offset + v.byte_offset);
        if (scratchpad_bytes_ > 0)
            scratchpad_.reset(new (std::align_val_t{page}) std::byte[scratchpad_bytes_]);
        for (auto& m : scratch_views_) m.set_data_handle(scratchpad_.get());
        buffer_of_.clear();
        view_of_.clear();
    }

    static std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

    /// Value v in layout `md`, reordering once per (value, layout) when it is stored otherwise.
    dnnl::memory as_layout(value_id v, const dnnl::memory::desc& md, const std::string& who) {
        dnnl::memory& m = value(v);
        if (m.get_desc() == md) return m;
        const std::string key = std::to_string(v) + "|" + describe(md);
        if (auto it = reordered_.find(key); it != reordered_.end()) return it->second;
        dnnl::memory converted = new_value(md);
        add_reorder(m, converted, "reorder for " + who);
        return reordered_.emplace(key, converted).first->second;
    }

    dnnl::primitive_attr base_attr() const {
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        return attr;
    }

    void add_reorder(const dnnl::memory& from, const dnnl::memory& to, std::string what) {
        const std::string key = "reorder|" + describe(from.get_desc()) + "|" + describe(to.get_desc()) +
                                "|t" + std::to_string(threads_);
        auto cached = primitive_cache::global().get_or_create(key, [&] {
            dnnl::reorder::primitive_desc pd(cpu_engine(), from.get_desc(), cpu_engine(), to.get_desc(),
                                             base_attr());
            return cached_primitive{pd, dnnl::reorder(pd)};
        });
        push_step(cached.primitive, cached.pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, std::move(what));
    }

    /// Copies user weights (plain f32, dims `user_dims`) into the layout and type `md` the primitive
    /// wants; once, at compile time.
    dnnl::memory load_weights(const tensor<float>& t, const dnnl::memory::dims& user_dims,
                              const dnnl::memory::desc& md) {
        dnnl::memory user(plain_desc(user_dims), cpu_engine(), const_cast<float*>(t.data()));
        dnnl::memory packed(md, cpu_engine());
        dnnl::reorder(user, packed).execute(stream_, user, packed);
        stream_.wait();
        return packed;
    }

    cached_primitive create(const std::string& key, const node& n,
                            const std::function<cached_primitive()>& make) {
        try {
            return primitive_cache::global().get_or_create(
                key + "|t" + std::to_string(threads_) + "|" + std::string(to_string(precision_)), make);
        } catch (const dnnl::error& e) {
            throw error("onednn: layer '" + n.name + "' " + describe(n.spec),
                        std::string("oneDNN refused it: ") + e.what());
        }
    }

    static dnnl::algorithm eltwise_algorithm(activation_kind k, float& alpha, float& beta) {
        alpha = 0.0F;
        beta = 0.0F;
        switch (k) {
            case activation_kind::relu:
                return dnnl::algorithm::eltwise_relu;
            case activation_kind::relu6:
                beta = 6.0F;
                return dnnl::algorithm::eltwise_clip;
            case activation_kind::sigmoid:
                return dnnl::algorithm::eltwise_logistic;
        }
        return dnnl::algorithm::eltwise_relu;
    }

    /// The one node reading value v, if exactly one does.
    std::optional<std::size_t> sole_consumer(value_id v) const {
        const auto& c = consumers_[static_cast<std::size_t>(v)];
        if (c.size() != 1) return std::nullopt;
        return c[0];
    }
    const activation_spec* activation_at(std::optional<std::size_t> i) const {
        return i ? std::get_if<activation_spec>(&graph_->nodes()[*i].spec) : nullptr;
    }
    /// The data type a conv or dense layer writes: the compile precision, except for the graph's
    /// result, which stays f32 so that bf16 rounding never ties the top classes.
    dt output_type(std::size_t last_fused_node) const {
        return last_fused_node + 1 == graph_->size() ? dt::f32 : act_dt_;
    }

    void build(const graph& g) {
        graph_ = &g;
        const auto& nodes = g.nodes();
        consumers_.assign(nodes.size(), {});
        for (std::size_t i = 0; i < nodes.size(); ++i)
            for (value_id v : nodes[i].inputs)
                if (v != graph_input) consumers_[static_cast<std::size_t>(v)].push_back(i);

        src_user_ = dnnl::memory(plain_desc(act_dims(input_)), cpu_engine(), DNNL_MEMORY_NONE);
        input_mem_ = src_user_;
        values_.assign(nodes.size(), dnnl::memory{});
        current_layer_ = nodes.empty() ? no_layer : origin_.front();  // its cost is the first layer's
        convert_shared_input(g);
        plan_concats(g);
        folded_owner_.resize(nodes.size());
        for (std::size_t i = 0; i < nodes.size(); ++i) folded_owner_[i] = i;
        std::vector<bool> absorbed(nodes.size(), false);

        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (absorbed[i]) continue;
            const node& n = nodes[i];
            current_layer_ = origin_[i];
            std::visit([&](const auto& s) { lower(i, n, s, absorbed); }, n.spec);
        }
        // Absorbed nodes alias the memory of the primitive that computed them.
        const value_id last = g.last_value();
        current_layer_ = nodes.empty() ? no_layer : origin_.back();
        dnnl::memory result = last == graph_input ? input_mem_ : values_[static_cast<std::size_t>(last)];
        const auto out_dims = result.get_desc().dims();
        dst_user_ = dnnl::memory(plain_desc(out_dims), cpu_engine(), DNNL_MEMORY_NONE);
        add_reorder(result, dst_user_, "reorder to the output");
        graph_ = nullptr;
        concat_plans_.clear();
        slot_of_.clear();
        written_in_place_.clear();
    }

    /// A graph input read by several layers, or by a layer that is not a convolution (a residual
    /// shortcut, a pooling), would make them run on plain NCHW, where oneDNN falls back to slow
    /// kernels (gemm convolutions with a plain post-op operand, simple_nchw pooling): the suffix
    /// of a model cut inside a network, which the stem runtime runs, starts that way. So the input
    /// is converted once to the layout a convolution picks for it, as inside the whole model.
    void convert_shared_input(const graph& g) {
        std::size_t readers = 0;
        bool only_convolutions = true;
        for (const node& n : g.nodes()) {
            if (std::find(n.inputs.begin(), n.inputs.end(), graph_input) == n.inputs.end()) continue;
            ++readers;
            only_convolutions = only_convolutions && std::holds_alternative<conv2d_spec>(n.spec);
        }
        if (readers == 0 || (readers == 1 && only_convolutions)) return;
        const auto native = convolution_layout(act_dims(input_));
        if (!native || *native == input_mem_.get_desc()) return;  // no convolution here: plain it stays
        dnnl::memory converted = new_value(*native);
        add_reorder(src_user_, converted, "reorder of the input to the layout convolutions use");
        input_mem_ = converted;
    }

    /// The layout a convolution picks for an activation of `dims`, if oneDNN has one for it.
    std::optional<dnnl::memory::desc> convolution_layout(const dnnl::memory::dims& dims) const {
        try {
            const dnnl::memory::desc any(dims, act_dt_, tag::any);
            const dnnl::memory::desc weights({dims[1], dims[1], 1, 1}, act_dt_, tag::any);
            const dnnl::convolution_forward::desc probe(dnnl::prop_kind::forward_inference,
                                                        dnnl::algorithm::convolution_direct, any, weights,
                                                        any, {1, 1}, {0, 0}, {0, 0});
            return dnnl::convolution_forward::primitive_desc(probe, base_attr(), cpu_engine()).src_desc();
        } catch (const dnnl::error&) {
            return std::nullopt;
        }
    }

    /// For a batch-1 layout in which any run of whole channel blocks is one contiguous range of
    /// bytes (plain nchw: block 1; channels blocked outermost, aBcd8b / aBcd16b: block 8 / 16), the
    /// block; nothing for any other layout.
    static std::optional<std::int64_t> channel_block(const dnnl::memory::desc& md) {
        const auto dims = md.dims();
        if (dims.size() != 4 || dims[0] != 1) return std::nullopt;
        if (md == plain_desc(dims, md.data_type())) return 1;
        for (const auto& [block, t] :
             {std::pair{std::int64_t{8}, tag::aBcd8b}, std::pair{std::int64_t{16}, tag::aBcd16b}})
            if (dims[1] % block == 0 && md == dnnl::memory::desc(dims, md.data_type(), t)) return block;
        return std::nullopt;
    }

    dnnl::memory::desc channel_blocked(std::int64_t block, const dnnl::memory::dims& dims) const {
        return block == 1 ? plain_desc(dims, act_dt_)
                          : dnnl::memory::desc(dims, act_dt_, block == 8 ? tag::aBcd8b : tag::aBcd16b);
    }

    /// Concats without copies (batch 1). When a concat's result, in the layout convolutions use,
    /// keeps every input's channels as one contiguous range, the result is placed in the arena
    /// first and each input's producer writes straight into its range (an inner concat's result
    /// too: later concats are planned first, so an inner one finds its range in the outer one).
    /// An input whose producer picks another layout, the graph input, or a value already placed
    /// elsewhere is copied into its range instead.
    void plan_concats(const graph& g) {
        if (batch_ != 1) return;
        const auto& nodes = g.nodes();
        for (std::size_t c = nodes.size(); c-- > 0;) {
            const node& n = nodes[c];
            if (!std::holds_alternative<concat_spec>(n.spec)) continue;
            const auto self = slot_of_.find(static_cast<value_id>(c));
            const std::optional<dnnl::memory::desc> layout =
                self != slot_of_.end()
                    ? concat_plans_.at(self->second.first).parts[self->second.second].get_desc()
                    : convolution_layout(act_dims(n.output));
            const auto block = layout ? channel_block(*layout) : std::nullopt;
            if (!block || std::any_of(n.input_shapes.begin(), n.input_shapes.end(),
                                      [&](const shape& s) { return s.c % *block != 0; }))
                continue;
            concat_plan plan;
            plan.result = self != slot_of_.end()
                              ? concat_plans_.at(self->second.first).parts[self->second.second]
                              : new_value(*layout);
            std::size_t offset = 0;
            for (std::size_t k = 0; k < n.inputs.size(); ++k) {
                const dnnl::memory::desc md = channel_blocked(*block, act_dims(n.input_shapes[k]));
                plan.parts.push_back(alias_value(plan.result, md, offset));
                offset += md.get_size();
                const value_id v = n.inputs[k];
                if (v != graph_input) slot_of_.try_emplace(v, c, k);
            }
            concat_plans_.emplace(c, std::move(plan));
        }
    }

    /// Memory for node j's result in layout `md`: its range of a concat result when it has one
    /// in that layout, else a buffer of its own.
    dnnl::memory output_value(std::size_t j, const dnnl::memory::desc& md) {
        if (const auto it = slot_of_.find(static_cast<value_id>(j)); it != slot_of_.end()) {
            const dnnl::memory& part = concat_plans_.at(it->second.first).parts[it->second.second];
            if (part.get_desc() == md) {
                written_in_place_.insert(static_cast<value_id>(j));
                return part;
            }
        }
        return new_value(md);
    }

    void absorb(std::size_t into, std::size_t node_index, std::vector<bool>& absorbed) {
        absorbed[node_index] = true;
        values_[node_index] = values_[into];
        folded_owner_[node_index] = into;
    }

    void lower(std::size_t i, const node& n, const conv2d_spec& s, std::vector<bool>& absorbed) {
        const value_id src_v = n.inputs[0];
        const dnnl::memory::dims src_dims = act_dims(n.input_shapes[0]);
        const dnnl::memory::dims dst_dims = act_dims(n.output);
        const bool grouped = s.groups > 1;
        const dnnl::memory::dims w_dims =
            grouped ? dnnl::memory::dims{s.groups, s.out_channels / s.groups, n.input_shapes[0].c / s.groups,
                                         s.kernel.h, s.kernel.w}
                    : dnnl::memory::dims{s.out_channels, n.input_shapes[0].c, s.kernel.h, s.kernel.w};

        // Fusion: conv -> add(other) [-> activation], or conv -> activation.
        std::optional<std::size_t> add_node;
        value_id other = graph_input;
        std::optional<std::size_t> act_node;
        const auto next = sole_consumer(static_cast<value_id>(i));
        if (next) {
            const node& c = graph_->nodes()[*next];
            if (std::holds_alternative<add_spec>(c.spec) && c.inputs.size() == 2) {
                other = c.inputs[0] == static_cast<value_id>(i) ? c.inputs[1] : c.inputs[0];
                if (other != static_cast<value_id>(i) && other < static_cast<value_id>(i)) add_node = *next;
            }
            if (add_node) {
                if (activation_at(sole_consumer(static_cast<value_id>(*add_node))))
                    act_node = sole_consumer(static_cast<value_id>(*add_node));
            } else if (activation_at(next)) {
                act_node = next;
            }
        }
        const std::size_t last_fused = act_node ? *act_node : add_node ? *add_node : i;
        const dt dst_type = output_type(last_fused);
        dnnl::primitive_attr attr = base_attr();
        dnnl::post_ops po;
        std::string key = "conv|" + describe(n.spec) + "|in" + describe(plain_desc(src_dims)) + "|out" +
                          std::to_string(static_cast<int>(dst_type));
        dnnl::memory other_mem;
        if (add_node) {
            other_mem = value(other);
            po.append_binary(dnnl::algorithm::binary_add, other_mem.get_desc());
            key += "|add" + describe(other_mem.get_desc());
        }
        if (act_node) {
            float alpha = 0;
            float beta = 0;
            const auto alg = eltwise_algorithm(
                std::get<activation_spec>(graph_->nodes()[*act_node].spec).kind, alpha, beta);
            po.append_eltwise(1.0F, alg, alpha, beta);
            key += "|" + describe(graph_->nodes()[*act_node].spec);
        }
        attr.set_post_ops(po);
        const auto make = [&](const dnnl::primitive_attr& with) {
            const dnnl::memory::desc src_md(src_dims, act_dt_, tag::any);
            const dnnl::memory::desc w_md(w_dims, act_dt_, tag::any);
            const dnnl::memory::desc dst_md(dst_dims, dst_type, tag::any);
            const dnnl::memory::desc b_md({s.out_channels}, dt::f32, tag::x);
            const dnnl::memory::dims strides{s.stride.h, s.stride.w};
            const dnnl::memory::dims pad_l{s.padding.top, s.padding.left};
            const dnnl::memory::dims pad_r{s.padding.bottom, s.padding.right};
            auto d = s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                              dnnl::algorithm::convolution_direct, src_md,
                                                              w_md, b_md, dst_md, strides, pad_l, pad_r)
                            : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                              dnnl::algorithm::convolution_direct, src_md,
                                                              w_md, dst_md, strides, pad_l, pad_r);
            dnnl::convolution_forward::primitive_desc pd(d, with, cpu_engine());
            return cached_primitive{pd, dnnl::convolution_forward(pd)};
        };
        const std::optional<depthwise_fusion> dw =
            add_node ? std::nullopt : fused_depthwise(n, s, last_fused, po, key, make);
        const cached_primitive cached = dw ? dw->primitive : create(key, n, [&] { return make(attr); });
        const auto& pd = cached.pd;
        arg_list args;
        args.emplace_back(DNNL_ARG_SRC, as_layout(src_v, pd.src_desc(0), "layer '" + n.name + "'"));
        args.emplace_back(DNNL_ARG_WEIGHTS, load_weights(n.params[0], w_dims, pd.weights_desc(0)));
        if (s.bias)
            args.emplace_back(DNNL_ARG_BIAS, load_weights(n.params[1], {s.out_channels}, pd.weights_desc(1)));
        if (dw) {
            const node& d = graph_->nodes()[dw->conv];
            const auto md = [&](int arg) {
                return pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | arg);
            };
            args.emplace_back(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                              load_weights(d.params[0], {s.out_channels, 1, 1, 3, 3}, md(DNNL_ARG_WEIGHTS)));
            args.emplace_back(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS,
                              std::get<conv2d_spec>(d.spec).bias
                                  ? load_weights(d.params[1], {s.out_channels}, md(DNNL_ARG_BIAS))
                                  : zero_weights(md(DNNL_ARG_BIAS)));
        }
        values_[i] = output_value(dw ? dw->last : last_fused, pd.dst_desc(0));
        args.emplace_back(DNNL_ARG_DST, values_[i]);
        std::string what = "conv '" + n.name + "'";
        if (add_node) {
            args.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, other_mem);
            absorb(i, *add_node, absorbed);
            what += " + add";
        }
        if (act_node) {
            absorb(i, *act_node, absorbed);
            what += " + " + describe(graph_->nodes()[*act_node].spec);
        }
        if (dw) {
            absorb(i, dw->conv, absorbed);
            what += " + depthwise '" + graph_->nodes()[dw->conv].name + "'";
            if (dw->last != dw->conv) {
                absorb(i, dw->last, absorbed);
                what += " + " + describe(graph_->nodes()[dw->last].spec);
            }
        }
        push_step(cached.primitive, pd, std::move(args), what + ": " + pd.impl_info_str());
    }

    /// A depthwise conv run inside the 1x1 conv before it (see fused_depthwise).
    struct depthwise_fusion {
        cached_primitive primitive;
        std::size_t conv = 0;  ///< the depthwise conv's node
        std::size_t last = 0;  ///< its activation's node when fused too, else `conv`
    };

    /// 1x1 conv [-> activation] -> depthwise 3x3, stride 2, padding 1 [-> activation], f32: oneDNN's
    /// 1x1 kernel can compute the depthwise conv from the rows it has just produced, so the 1x1
    /// conv's wide output never goes to memory (a MobileNet expansion before a downsampling
    /// depthwise: up to 2x faster for the pair at 112x112 here). Used only where oneDNN has such
    /// a kernel: it also offers a reference "fused" one that runs the two convs one after another.
    template <class Make>
    std::optional<depthwise_fusion> fused_depthwise(const node& n, const conv2d_spec& s,
                                                    std::size_t last_fused, const dnnl::post_ops& po,
                                                    const std::string& key, const Make& make) {
        // oneDNN 2.6's fused kernel reads the 1x1 conv's bias unconditionally (it crashes without
        // one); folded batch-norms give every conv of the zoo one.
        if (act_dt_ != dt::f32 || !s.bias || s.groups != 1 || s.kernel != extent2{1} ||
            s.stride != extent2{1} || s.padding != padding4{0})
            return std::nullopt;
        const auto d = sole_consumer(static_cast<value_id>(last_fused));
        const auto* ds = d ? std::get_if<conv2d_spec>(&graph_->nodes()[*d].spec) : nullptr;
        if (ds == nullptr || ds->groups != s.out_channels || ds->out_channels != s.out_channels ||
            ds->kernel != extent2{3} || ds->stride != extent2{2} || ds->padding.top != 1 ||
            ds->padding.left != 1)
            return std::nullopt;
        depthwise_fusion f{{}, *d, *d};
        if (const auto a = sole_consumer(static_cast<value_id>(*d)); activation_at(a)) f.last = *a;
        if (output_type(f.last) != dt::f32) return std::nullopt;
        dnnl::post_ops fused = po;
        fused.append_dw_k3s2p1(dt::f32, dt::f32, dt::f32, 0, {});
        std::string fused_key = key + "|dw" + describe(graph_->nodes()[*d].spec);
        if (f.last != f.conv) {
            float alpha = 0;
            float beta = 0;
            const auto alg =
                eltwise_algorithm(std::get<activation_spec>(graph_->nodes()[f.last].spec).kind, alpha, beta);
            fused.append_eltwise(1.0F, alg, alpha, beta);
            fused_key += "|" + describe(graph_->nodes()[f.last].spec);
        }
        dnnl::primitive_attr attr = base_attr();
        attr.set_post_ops(fused);
        try {
            f.primitive = create(fused_key, n, [&] { return make(attr); });
        } catch (const error&) {
            return std::nullopt;  // no fused kernel for this shape: two steps
        }
        if (std::string(f.primitive.pd.impl_info_str()).starts_with("ref") ||
            f.primitive.pd.dst_desc().dims() != act_dims(graph_->nodes()[*d].output))
            return std::nullopt;
        return f;
    }

    /// Zeros in layout `md` (a fused depthwise conv without bias still takes a bias argument).
    static dnnl::memory zero_weights(const dnnl::memory::desc& md) {
        dnnl::memory m(md, cpu_engine());
        std::memset(m.get_data_handle(), 0, md.get_size());
        return m;
    }

    void lower(std::size_t i, const node& n, const dense_spec& s, std::vector<bool>& absorbed) {
        const dnnl::memory src = value(n.inputs[0]);
        const dnnl::memory::desc src_md = src.get_desc();
        const auto src_dims = src_md.dims();
        dnnl::memory::dims w_dims = src_dims;
        w_dims[0] = s.out_features;  // {O, C, H, W} or {O, K}: plain OIHW is O x (C*H*W)
        const auto act_node = activation_at(sole_consumer(static_cast<value_id>(i)))
                                  ? sole_consumer(static_cast<value_id>(i))
                                  : std::nullopt;
        const dt dst_type = output_type(act_node ? *act_node : i);
        dnnl::primitive_attr attr = base_attr();
        std::string key = "dense|" + describe(n.spec) + "|in" + describe(src_md) + "|out" +
                          std::to_string(static_cast<int>(dst_type));
        if (act_node) {
            dnnl::post_ops po;
            float alpha = 0;
            float beta = 0;
            const auto alg = eltwise_algorithm(
                std::get<activation_spec>(graph_->nodes()[*act_node].spec).kind, alpha, beta);
            po.append_eltwise(1.0F, alg, alpha, beta);
            attr.set_post_ops(po);
            key += "|" + describe(graph_->nodes()[*act_node].spec);
        }
        // A dense layer's source may be f32 (the graph input) in bf16 mode: read it as bf16.
        const bool convert_src = src_md.data_type() != act_dt_;
        const dnnl::memory::desc want_src =
            convert_src ? dnnl::memory::desc(src_dims, act_dt_, tag::any) : src_md;
        auto cached = create(key, n, [&] {
            const dnnl::memory::desc w_md(w_dims, act_dt_, tag::any);
            const dnnl::memory::desc b_md({s.out_features}, dt::f32, tag::x);
            const dnnl::memory::desc dst_md({batch_, s.out_features}, dst_type, tag::nc);
            auto d = s.bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, want_src,
                                                                w_md, b_md, dst_md)
                            : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, want_src,
                                                                w_md, dst_md);
            dnnl::inner_product_forward::primitive_desc pd(d, attr, cpu_engine());
            return cached_primitive{pd, dnnl::inner_product_forward(pd)};
        });
        const auto& pd = cached.pd;
        arg_list args;
        args.emplace_back(DNNL_ARG_SRC, as_layout(n.inputs[0], pd.src_desc(0), "layer '" + n.name + "'"));
        args.emplace_back(DNNL_ARG_WEIGHTS, load_weights(n.params[0], w_dims, pd.weights_desc(0)));
        if (s.bias)
            args.emplace_back(DNNL_ARG_BIAS, load_weights(n.params[1], {s.out_features}, pd.weights_desc(1)));
        values_[i] = new_value(pd.dst_desc(0));
        args.emplace_back(DNNL_ARG_DST, values_[i]);
        std::string what = "dense '" + n.name + "'";
        if (act_node) {
            absorb(i, *act_node, absorbed);
            what += " + " + describe(graph_->nodes()[*act_node].spec);
        }
        push_step(cached.primitive, pd, std::move(args), what + ": " + pd.impl_info_str());
    }

    /// The value of `v` in the compile precision (the graph input arrives in f32).
    dnnl::memory in_precision(value_id v, const std::string& who) {
        const dnnl::memory& m = value(v);
        if (m.get_desc().data_type() == act_dt_) return m;
        const dnnl::memory::desc& md = m.get_desc();
        return as_layout(v, dnnl::memory::desc(md.dims(), act_dt_, tag::nchw), who);
    }

    void add_pooling(std::size_t i, const node& n, dnnl::algorithm alg, const dnnl::memory::dims& kernel,
                     const dnnl::memory::dims& strides, const dnnl::memory::dims& pad_l,
                     const dnnl::memory::dims& pad_r) {
        const dnnl::memory src = in_precision(n.inputs[0], "layer '" + n.name + "'");
        const std::string key = "pool|" + describe(n.spec) + "|in" + describe(src.get_desc()) + "|k" +
                                std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]);
        auto cached = create(key, n, [&] {
            const dnnl::memory::desc dst_md(act_dims(n.output), act_dt_, tag::any);
            dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), dst_md,
                                          strides, kernel, pad_l, pad_r);
            dnnl::pooling_forward::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::pooling_forward(pd)};
        });
        values_[i] = output_value(i, cached.pd.dst_desc(0));
        arg_list args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, values_[i]}};
        const auto ws = cached.pd.query_md(dnnl::query::workspace_md);
        if (ws.get_size() != 0) args.emplace_back(DNNL_ARG_WORKSPACE, new_value(ws));
        push_step(cached.primitive, cached.pd, std::move(args),
                  "pool '" + n.name + "': " + cached.pd.impl_info_str());
    }

    void lower(std::size_t i, const node& n, const pool2d_spec& s, std::vector<bool>&) {
        const auto alg = s.kind == pool_kind::max ? dnnl::algorithm::pooling_max
                         : s.count_include_pad    ? dnnl::algorithm::pooling_avg_include_padding
                                                  : dnnl::algorithm::pooling_avg_exclude_padding;
        add_pooling(i, n, alg, {s.kernel.h, s.kernel.w}, {s.stride.h, s.stride.w},
                    {s.padding.top, s.padding.left}, {s.padding.bottom, s.padding.right});
    }

    void lower(std::size_t i, const node& n, const global_avg_pool_spec&, std::vector<bool>&) {
        const shape in = n.input_shapes[0];
        add_pooling(i, n, dnnl::algorithm::pooling_avg_exclude_padding, {in.h, in.w}, {1, 1}, {0, 0}, {0, 0});
    }

    void lower(std::size_t i, const node& n, const batch_norm_spec& s, std::vector<bool>&) {
        const dnnl::memory src = in_precision(n.inputs[0], "layer '" + n.name + "'");
        const auto flags = dnnl::normalization_flags::use_global_stats |
                           dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
        const std::string key = "bn|" + describe(n.spec) + "|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(),
                                                      s.epsilon, flags);
            dnnl::batch_normalization_forward::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::batch_normalization_forward(pd)};
        });
        const dnnl::memory::dims c{n.input_shapes[0].c};
        const auto vec = plain_desc(c);
        values_[i] = output_value(i, cached.pd.dst_desc(0));
        arg_list args{{DNNL_ARG_SRC, src},
                      {DNNL_ARG_DST, values_[i]},
                      {DNNL_ARG_SCALE, load_weights(n.params[0], c, vec)},
                      {DNNL_ARG_SHIFT, load_weights(n.params[1], c, vec)},
                      {DNNL_ARG_MEAN, load_weights(n.params[2], c, vec)},
                      {DNNL_ARG_VARIANCE, load_weights(n.params[3], c, vec)}};
        push_step(cached.primitive, cached.pd, std::move(args),
                  "batch_norm '" + n.name + "': " + cached.pd.impl_info_str());
    }

    void lower(std::size_t i, const node& n, const activation_spec& s, std::vector<bool>&) {
        const dnnl::memory src = in_precision(n.inputs[0], "layer '" + n.name + "'");
        const std::string key = "eltwise|" + describe(n.spec) + "|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            float alpha = 0;
            float beta = 0;
            const auto alg = eltwise_algorithm(s.kind, alpha, beta);
            dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), alpha,
                                          beta);
            dnnl::eltwise_forward::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::eltwise_forward(pd)};
        });
        values_[i] = output_value(i, cached.pd.dst_desc(0));
        push_step(cached.primitive, cached.pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, values_[i]}},
                  "activation '" + n.name + "': " + cached.pd.impl_info_str());
    }

    /// Flatten follows NCHW order (PyTorch's), so the value is first made plain, then viewed 2-D.
    void lower(std::size_t i, const node& n, const flatten_spec&, std::vector<bool>&) {
        const dnnl::memory src = value(n.inputs[0]);
        const dt type = src.get_desc().data_type();
        dnnl::memory plain = new_value(plain_desc(src.get_desc().dims(), type));
        add_reorder(src, plain, "flatten '" + n.name + "'");
        values_[i] = alias_value(plain, plain_desc({batch_, n.output.c}, type));
    }

    void lower(std::size_t i, const node& n, const softmax_spec&, std::vector<bool>&) {
        const dnnl::memory& in = value(n.inputs[0]);
        const dt type = in.get_desc().data_type();
        const dnnl::memory src =
            as_layout(n.inputs[0], plain_desc(in.get_desc().dims(), type), "layer '" + n.name + "'");
        const std::string key = "softmax|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(), 1);
            dnnl::softmax_forward::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::softmax_forward(pd)};
        });
        values_[i] = new_value(cached.pd.dst_desc(0));
        push_step(cached.primitive, cached.pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, values_[i]}},
                  "softmax '" + n.name + "': " + cached.pd.impl_info_str());
    }

    void lower(std::size_t i, const node& n, const add_spec&, std::vector<bool>&) {
        const dnnl::memory first = in_precision(n.inputs[0], "layer '" + n.name + "'");
        const auto md = first.get_desc();
        values_[i] = output_value(i, md);
        const std::string key = "add|in" + describe(md);
        auto cached = create(key, n, [&] {
            dnnl::binary::desc d(dnnl::algorithm::binary_add, md, md, md);
            dnnl::binary::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::binary(pd)};
        });
        // dst = in0 + in1, then dst += in_k in place for any further input.
        for (std::size_t k = 1; k < n.inputs.size(); ++k) {
            const dnnl::memory addend = as_layout(n.inputs[k], md, "layer '" + n.name + "'");
            push_step(cached.primitive, cached.pd,
                      {{DNNL_ARG_SRC_0, k == 1 ? first : values_[i]},
                       {DNNL_ARG_SRC_1, addend},
                       {DNNL_ARG_DST, values_[i]}},
                      "add '" + n.name + "': " + cached.pd.impl_info_str());
        }
    }

    void lower(std::size_t i, const node& n, const concat_spec&, std::vector<bool>&) {
        if (const auto plan = concat_plans_.find(i); plan != concat_plans_.end()) {
            values_[i] = plan->second.result;
            if (slot_of_.contains(static_cast<value_id>(i)))
                written_in_place_.insert(static_cast<value_id>(i));
            for (std::size_t k = 0; k < n.inputs.size(); ++k) {
                const value_id v = n.inputs[k];
                const auto slot = slot_of_.find(v);
                const bool in_place = slot != slot_of_.end() && slot->second == std::pair{i, k} &&
                                      written_in_place_.contains(v);
                if (!in_place)
                    add_reorder(value(v), plan->second.parts[k],
                                "copy of input " + std::to_string(k) + " into concat '" + n.name + "'");
            }
            return;
        }
        std::vector<dnnl::memory> srcs;
        std::vector<dnnl::memory::desc> mds;
        std::string key = "concat";
        for (value_id v : n.inputs) {
            srcs.push_back(in_precision(v, "layer '" + n.name + "'"));
            mds.push_back(srcs.back().get_desc());
            key += "|in" + describe(mds.back());
        }
        auto cached = create(key, n, [&] {
            dnnl::concat::primitive_desc pd(1, mds, cpu_engine(), base_attr());
            return cached_primitive{pd, dnnl::concat(pd)};
        });
        values_[i] = output_value(i, cached.pd.dst_desc(0));
        arg_list args{{DNNL_ARG_DST, values_[i]}};
        for (std::size_t k = 0; k < srcs.size(); ++k)
            args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), srcs[k]);
        push_step(cached.primitive, cached.pd, std::move(args),
                  "concat '" + n.name + "': " + cached.pd.impl_info_str());
    }

    shape input_;
    shape output_;
    std::int64_t batch_;
    int threads_;
    dtype precision_;
    dt act_dt_;
    dnnl::stream stream_;
    dnnl::memory src_user_;
    dnnl::memory dst_user_;
    dnnl::memory input_mem_;
    std::vector<dnnl::memory> values_;
    std::map<std::string, dnnl::memory> reordered_;
    std::vector<step> steps_;
    std::vector<std::size_t> origin_;
    std::vector<std::size_t> folded_of_;
    std::vector<std::size_t> folded_owner_;
    std::vector<buffer> buffers_;
    std::vector<arena_view> arena_views_;
    std::vector<dnnl::memory> scratch_views_;
    std::unique_ptr<std::byte[], aligned_bytes_delete> arena_;
    std::unique_ptr<std::byte[], aligned_bytes_delete> scratchpad_;
    std::size_t arena_bytes_ = 0;
    std::size_t scratchpad_bytes_ = 0;
    // Only valid while building.
    const graph* graph_ = nullptr;
    std::vector<std::vector<std::size_t>> consumers_;
    std::unordered_map<dnnl_memory_t, std::size_t> buffer_of_;
    std::unordered_map<dnnl_memory_t, std::size_t> view_of_;
    std::map<std::size_t, concat_plan> concat_plans_;
    std::unordered_map<value_id, std::pair<std::size_t, std::size_t>> slot_of_;
    std::unordered_set<value_id> written_in_place_;
    std::size_t current_layer_ = no_layer;
};

}  // namespace stemshare::onednn
