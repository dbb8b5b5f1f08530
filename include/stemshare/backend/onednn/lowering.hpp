#pragma once
/// \file
/// `lowering`: the state of one graph being turned into a `program`, and the operations every
/// layer's lowering shares: where each value lives and in which layout, reorders between layouts,
/// weights packed once, primitives from the process-wide cache, and steps appended in run order.
/// The lowering of each layer kind is one function in lower_<kind>.hpp; lower_graph.hpp drives them.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <stemshare/backend/onednn/activation_arena.hpp>
#include <stemshare/backend/onednn/concat_in_place.hpp>
#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/primitive_cache.hpp>
#include <stemshare/backend/onednn/program.hpp>
#include <stemshare/core/dtype.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::onednn::detail {

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

/// What a graph is compiled for.
struct lowering_options {
    std::int64_t batch = 1;
    int threads = 1;
    dtype precision = dtype::f32;
};

class lowering {
public:
    /// Starts lowering `g` (batch-norms folded). `origin[i]` is the layer of the graph as given that
    /// layer i of `g` comes from (steps are charged to it); `stream`, the compiled graph's, packs
    /// the weights.
    lowering(const graph& g, lowering_options options, std::span<const std::size_t> origin,
             dnnl::stream stream)
        : graph_(g),
          options_(options),
          act_dt_(options.precision == dtype::bf16 ? dt::bf16 : dt::f32),
          origin_(origin),
          stream_(std::move(stream)),
          consumers_(g.size()),
          values_(g.size()),
          absorbed_(g.size(), false) {
        const auto& nodes = g.nodes();
        for (std::size_t i = 0; i < nodes.size(); ++i)
            for (value_id v : nodes[i].inputs)
                if (v != graph_input) consumers_[static_cast<std::size_t>(v)].push_back(i);
        program_.src = dnnl::memory(plain_desc(act_dims(g.input_shape())), cpu_engine(), DNNL_MEMORY_NONE);
        input_ = program_.src;
        // A conversion of the input, before any layer's step, is charged to the first layer.
        current_layer_ = nodes.empty() ? program::no_layer : origin_.front();
        program_.owner.resize(nodes.size());
        for (std::size_t i = 0; i < nodes.size(); ++i) program_.owner[i] = i;
    }

    // --- What is lowered -------------------------------------------------------------------------

    [[nodiscard]] const graph& source() const noexcept { return graph_; }
    [[nodiscard]] const node& node_at(std::size_t i) const { return graph_.nodes()[i]; }
    [[nodiscard]] std::int64_t batch() const noexcept { return options_.batch; }
    /// The type activations are kept in (f32, or bf16 in bf16 mode).
    [[nodiscard]] dt activation_type() const noexcept { return act_dt_; }
    [[nodiscard]] dnnl::memory::dims act_dims(shape s) const { return {options_.batch, s.c, s.h, s.w}; }

    /// The one node reading value v, if exactly one does.
    [[nodiscard]] std::optional<std::size_t> sole_consumer(value_id v) const {
        const auto& c = consumers_[static_cast<std::size_t>(v)];
        if (c.size() != 1) return std::nullopt;
        return c[0];
    }
    /// Whether `i` is a node and an element-wise activation (one a post-op can compute).
    [[nodiscard]] bool activation_at(std::optional<std::size_t> i) const {
        if (!i) return false;
        const layer_spec& s = graph_.nodes()[*i].spec;
        return std::holds_alternative<activation_spec>(s) || std::holds_alternative<gate_activation_spec>(s);
    }
    /// The data type a conv or dense layer writes: the compile precision, except for the graph's
    /// result, which stays f32 so that bf16 rounding never ties the top classes.
    [[nodiscard]] dt output_type(std::size_t last_fused_node) const {
        return last_fused_node + 1 == graph_.size() ? dt::f32 : act_dt_;
    }

    // --- Values ----------------------------------------------------------------------------------

    /// The memory holding value v (after fusion, an absorbed node's value is its producer's).
    dnnl::memory& value(value_id v) {
        return v == graph_input ? input_ : values_[static_cast<std::size_t>(v)];
    }
    /// Sets the memory of node i's result.
    void set_value(std::size_t i, dnnl::memory m) { values_[i] = std::move(m); }
    /// Reads the graph input from `m` from now on (a converted copy of the caller's input).
    void set_input(dnnl::memory m) { input_ = std::move(m); }

    /// A new intermediate value of layout `md`, placed in the arena once lifetimes are known.
    dnnl::memory new_value(const dnnl::memory::desc& md) { return program_.arena.add(md); }
    /// Another layout `md` over the bytes of the intermediate value `of`, from `byte_offset` on.
    dnnl::memory alias_value(const dnnl::memory& of, const dnnl::memory::desc& md,
                             std::size_t byte_offset = 0) {
        return program_.arena.alias(of, md, byte_offset);
    }
    /// Whether `m` lives in the arena, so that `alias_value` can view its bytes (the graph input,
    /// the caller's buffer, does not).
    [[nodiscard]] bool in_arena(const dnnl::memory& m) const { return program_.arena.holds(m); }
    /// Memory for node j's result in layout `md`: its range of a concat result when it has one in
    /// that layout, else a buffer of its own.
    dnnl::memory output_value(std::size_t j, const dnnl::memory::desc& md) {
        if (auto part = concats_.claim(j, md)) return *part;
        return new_value(md);
    }
    /// True when the step of node `at` may write over value v's bytes (a residual add summed into
    /// its addend, a multiply in place): v has bytes of its own, made by a layer that writes a new
    /// buffer, and every layer reading it but `except` runs before `at` and makes no view of it.
    /// The graph input counts when it was converted into the arena (as a model cut at a residual
    /// block's input has it), so a cut changes no kernel.
    [[nodiscard]] bool overwritable(value_id v, std::size_t at, std::size_t except) const {
        const auto writes_new_buffer = [](const layer_spec& s) {
            return std::holds_alternative<conv2d_spec>(s) || std::holds_alternative<pool2d_spec>(s) ||
                   std::holds_alternative<global_avg_pool_spec>(s) || std::holds_alternative<add_spec>(s) ||
                   std::holds_alternative<multiply_spec>(s) || std::holds_alternative<activation_spec>(s) ||
                   std::holds_alternative<gate_activation_spec>(s);
        };
        const dnnl::memory& m = v == graph_input ? input_ : values_[static_cast<std::size_t>(v)];
        if (!program_.arena.owns(m)) return false;
        if (v != graph_input && !writes_new_buffer(node_at(static_cast<std::size_t>(v)).spec)) return false;
        for (std::size_t r = 0; r < graph_.size(); ++r) {
            const auto& in = node_at(r).inputs;
            if (r == except || std::find(in.begin(), in.end(), v) == in.end()) continue;
            if (r >= at || !writes_new_buffer(node_at(r).spec)) return false;
        }
        return true;
    }
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
    /// The value of `v` in the compile precision (the graph input arrives in f32).
    dnnl::memory in_precision(value_id v, const std::string& who) {
        const dnnl::memory& m = value(v);
        if (m.get_desc().data_type() == act_dt_) return m;
        const dnnl::memory::desc& md = m.get_desc();
        return as_layout(v, dnnl::memory::desc(md.dims(), act_dt_, tag::nchw), who);
    }
    /// Node `node_index` is computed by the step of node `into` (a fused post-op or layer).
    void absorb(std::size_t into, std::size_t node_index) {
        absorbed_[node_index] = true;
        values_[node_index] = values_[into];
        program_.owner[node_index] = into;
    }
    [[nodiscard]] bool absorbed(std::size_t i) const { return absorbed_[i]; }
    concat_in_place& concats() noexcept { return concats_; }
    activation_arena& arena() noexcept { return program_.arena; }

    // --- Primitives and steps --------------------------------------------------------------------

    /// The cached primitive under `key` (+ threads and precision), made by `make` on a miss; a
    /// oneDNN refusal becomes a `stemshare::error` naming layer `n`.
    cached_primitive create(const std::string& key, const node& n,
                            const std::function<cached_primitive()>& make) {
        try {
            return primitive_cache::global().get_or_create(key + "|t" + std::to_string(options_.threads) +
                                                               "|" +
                                                               std::string(to_string(options_.precision)),
                                                           make);
        } catch (const dnnl::error& e) {
            throw error("onednn: layer '" + n.name + "' " + describe(n.spec),
                        std::string("oneDNN refused it: ") + e.what());
        }
    }

    /// Copies user weights (plain f32, dims `user_dims`) into the layout and type `md` the primitive
    /// wants; once, at compile time.
    dnnl::memory load_weights(const tensor<float>& t, const dnnl::memory::dims& user_dims,
                              const dnnl::memory::desc& md) {
        dnnl::memory user(plain_desc(user_dims), cpu_engine(), const_cast<float*>(t.data()));
        dnnl::memory packed(md, cpu_engine());
        dnnl::reorder(user, packed).execute(stream_, user, packed);
        stream_.wait();
        count_weights(md);
        return packed;
    }
    /// Zeros in layout `md` (a fused depthwise conv without bias still takes a bias argument).
    dnnl::memory zero_weights(const dnnl::memory::desc& md) {
        dnnl::memory m(md, cpu_engine());
        std::memset(m.get_data_handle(), 0, md.get_size());
        count_weights(md);
        return m;
    }
    /// Records a weight buffer oneDNN allocated: the program reports their exact bytes.
    void count_weights(const dnnl::memory::desc& md) {
        program_.weight_bytes += md.get_size();
        ++program_.weight_buffers;
    }

    /// Charges the steps added from now on to layer `folded_layer` of the lowered graph.
    void charge_to(std::size_t folded_layer) { current_layer_ = origin_[folded_layer]; }
    /// Charges the steps added from now on to the last layer (or to none for an empty graph).
    void charge_to_last() { current_layer_ = origin_.empty() ? program::no_layer : origin_.back(); }

    /// Appends a step; its scratchpad (if any) is the shared one, and every intermediate value it
    /// touches stays live up to it.
    void push_step(const dnnl::primitive& p, const dnnl::primitive_desc_base& pd, arg_list memories,
                   std::string what) {
        const auto scratch = pd.scratchpad_desc();
        if (scratch.get_size() > 0)
            memories.emplace_back(DNNL_ARG_SCRATCHPAD, program_.arena.scratchpad(scratch));
        const std::size_t index = program_.steps.size();
        program::step s{p, std::move(memories), {}, std::move(what), current_layer_};
        for (const auto& [arg, m] : s.memories) {
            s.args.push_back({arg, m.get()});
            program_.arena.use(m, index);
        }
        program_.steps.push_back(std::move(s));
    }

    void add_reorder(const dnnl::memory& from, const dnnl::memory& to, std::string what) {
        const std::string key = "reorder|" + describe(from.get_desc()) + "|" + describe(to.get_desc()) +
                                "|t" + std::to_string(options_.threads);
        auto cached = primitive_cache::global().get_or_create(key, [&] {
            dnnl::reorder::primitive_desc pd(cpu_engine(), from.get_desc(), cpu_engine(), to.get_desc(),
                                             base_attr());
            return cached_primitive{pd, dnnl::reorder(pd)};
        });
        push_step(cached.primitive, cached.pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, std::move(what));
    }

    /// Ends lowering: copies `result` to the caller's plain output, lays out the arena, and hands
    /// over the program.
    program finish(const dnnl::memory& result) {
        program_.dst = dnnl::memory(plain_desc(result.get_desc().dims()), cpu_engine(), DNNL_MEMORY_NONE);
        add_reorder(result, program_.dst, "reorder to the output");
        program_.arena.allocate();
        return std::move(program_);
    }

private:
    const graph& graph_;
    lowering_options options_;
    dt act_dt_;
    std::span<const std::size_t> origin_;
    dnnl::stream stream_;
    std::vector<std::vector<std::size_t>> consumers_;
    std::vector<dnnl::memory> values_;
    std::vector<bool> absorbed_;
    dnnl::memory input_;
    std::map<std::string, dnnl::memory> reordered_;
    concat_in_place concats_;
    std::size_t current_layer_ = program::no_layer;
    program program_;
};

}  // namespace stemshare::onednn::detail
