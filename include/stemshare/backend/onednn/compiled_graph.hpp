#pragma once
/// \file
/// `onednn::compiled_graph`: a graph turned into a fixed sequence of oneDNN primitives for one
/// batch size and thread count. Batch-norms are folded into convolutions; conv/dense + activation
/// and conv + residual add (+ activation) run as one primitive with post-ops; activations stay in
/// the layouts oneDNN picks (`format_tag::any`), with reorders only where a consumer wants another
/// layout and at the graph's two ends; weights are reordered once, here, never per frame.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/primitive_cache.hpp>
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
};

class compiled_graph {
public:
    explicit compiled_graph(const graph& g, compile_options options = {})
        : input_(g.input_shape()),
          output_(g.output_shape()),
          batch_(options.batch),
          threads_(resolve_threads(options.threads)),
          stream_(cpu_engine()) {
        if (batch_ <= 0)
            throw error("onednn::compiled_graph", "batch must be positive, got " + std::to_string(batch_));
        for (const node& n : g.nodes())
            if (!n.is_bound())
                throw error("onednn::compiled_graph: layer '" + n.name + "'", "has no weights bound");
        use_threads(threads_);
        build(fold_batch_norms(g));
    }

    /// Runs one batch: `src` is {batch, c, h, w} plain, `dst` {batch, c', h', w'} plain.
    void run(tensor_view<const float> src, tensor_view<float> dst) {
        check_io(src.extents(), src.memory_layout(), input_, "input");
        check_io(dst.extents(), dst.memory_layout(), output_, "output");
        use_threads(threads_);
        src_user_.set_data_handle(const_cast<float*>(src.data()));  // oneDNN never writes a src
        dst_user_.set_data_handle(dst.data());
        for (const step& s : steps_) s.primitive.execute(stream_, s.args);
        stream_.wait();
    }
    /// Like `run`, but waits after every primitive and adds its wall time in seconds to
    /// `step_seconds[i]` (one entry per `steps()` line): the raw data of layer latency tables.
    void run_profiled(tensor_view<const float> src, tensor_view<float> dst, std::span<double> step_seconds) {
        if (step_seconds.size() != steps_.size())
            throw error("onednn::compiled_graph::run_profiled", "needs " + std::to_string(steps_.size()) +
                                                                    " step timers, got " +
                                                                    std::to_string(step_seconds.size()));
        check_io(src.extents(), src.memory_layout(), input_, "input");
        check_io(dst.extents(), dst.memory_layout(), output_, "output");
        use_threads(threads_);
        src_user_.set_data_handle(const_cast<float*>(src.data()));
        dst_user_.set_data_handle(dst.data());
        for (std::size_t i = 0; i < steps_.size(); ++i) {
            const auto start = std::chrono::steady_clock::now();
            steps_[i].primitive.execute(stream_, steps_[i].args);
            stream_.wait();
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
    [[nodiscard]] shape input_shape() const noexcept { return input_; }
    [[nodiscard]] shape output_shape() const noexcept { return output_; }
    /// One line per primitive executed per run, "what: implementation" (e.g. "conv 'c1':
    /// brgconv:avx512_core").
    [[nodiscard]] std::vector<std::string> steps() const {
        std::vector<std::string> out;
        for (const auto& s : steps_) out.push_back(s.what);
        return out;
    }

private:
    struct step {
        dnnl::primitive primitive;
        std::unordered_map<int, dnnl::memory> args;
        std::string what;
    };
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;

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

    /// Value v in layout `md`, reordering once per (value, layout) when it is stored otherwise.
    dnnl::memory as_layout(value_id v, const dnnl::memory::desc& md, const std::string& who) {
        dnnl::memory& m = value(v);
        if (m.get_desc() == md) return m;
        const std::string key = std::to_string(v) + "|" + describe(md);
        if (auto it = reordered_.find(key); it != reordered_.end()) return it->second;
        dnnl::memory converted(md, cpu_engine());
        add_reorder(m, converted, "reorder for " + who);
        return reordered_.emplace(key, converted).first->second;
    }

    void add_reorder(const dnnl::memory& from, const dnnl::memory& to, std::string what) {
        const std::string key = "reorder|" + describe(from.get_desc()) + "|" + describe(to.get_desc()) +
                                "|t" + std::to_string(threads_);
        auto cached = primitive_cache::global().get_or_create(key, [&] {
            dnnl::reorder::primitive_desc pd(from, to);
            return cached_primitive{pd, dnnl::reorder(pd)};
        });
        steps_.push_back({cached.primitive, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, std::move(what)});
    }

    /// Copies user weights (plain, dims `user_dims`) into the layout `md` the primitive wants; once.
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
            return primitive_cache::global().get_or_create(key + "|t" + std::to_string(threads_), make);
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
        std::vector<bool> absorbed(nodes.size(), false);

        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (absorbed[i]) continue;
            const node& n = nodes[i];
            std::visit([&](const auto& s) { lower(i, n, s, absorbed); }, n.spec);
        }
        // Absorbed nodes alias the memory of the primitive that computed them.
        const value_id last = g.last_value();
        dnnl::memory result = last == graph_input ? input_mem_ : values_[static_cast<std::size_t>(last)];
        const auto out_dims = result.get_desc().dims();
        dst_user_ = dnnl::memory(plain_desc(out_dims), cpu_engine(), DNNL_MEMORY_NONE);
        add_reorder(result, dst_user_, "reorder to the output");
        graph_ = nullptr;
    }

    void absorb(std::size_t into, std::size_t node_index, std::vector<bool>& absorbed) {
        absorbed[node_index] = true;
        values_[node_index] = values_[into];
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
        dnnl::primitive_attr attr;
        dnnl::post_ops po;
        std::string key = "conv|" + describe(n.spec) + "|in" + describe(plain_desc(src_dims));
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
        auto cached = create(key, n, [&] {
            const dnnl::memory::desc src_md(src_dims, dt::f32, tag::any);
            const dnnl::memory::desc w_md(w_dims, dt::f32, tag::any);
            const dnnl::memory::desc dst_md(dst_dims, dt::f32, tag::any);
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
            dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
            return cached_primitive{pd, dnnl::convolution_forward(pd)};
        });
        const auto& pd = cached.pd;
        std::unordered_map<int, dnnl::memory> args;
        args[DNNL_ARG_SRC] = as_layout(src_v, pd.src_desc(0), "layer '" + n.name + "'");
        args[DNNL_ARG_WEIGHTS] = load_weights(n.params[0], w_dims, pd.weights_desc(0));
        if (s.bias) args[DNNL_ARG_BIAS] = load_weights(n.params[1], {s.out_channels}, pd.weights_desc(1));
        values_[i] = dnnl::memory(pd.dst_desc(0), cpu_engine());
        args[DNNL_ARG_DST] = values_[i];
        std::string what = "conv '" + n.name + "'";
        if (add_node) {
            args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = other_mem;
            absorb(i, *add_node, absorbed);
            what += " + add";
        }
        if (act_node) {
            absorb(i, *act_node, absorbed);
            what += " + " + describe(graph_->nodes()[*act_node].spec);
        }
        steps_.push_back({cached.primitive, std::move(args), what + ": " + cached.pd.impl_info_str()});
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
        dnnl::primitive_attr attr;
        std::string key = "dense|" + describe(n.spec) + "|in" + describe(src_md);
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
        auto cached = create(key, n, [&] {
            const dnnl::memory::desc w_md(w_dims, dt::f32, tag::any);
            const dnnl::memory::desc b_md({s.out_features}, dt::f32, tag::x);
            const dnnl::memory::desc dst_md({batch_, s.out_features}, dt::f32, tag::nc);
            auto d = s.bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md,
                                                                w_md, b_md, dst_md)
                            : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, src_md,
                                                                w_md, dst_md);
            dnnl::inner_product_forward::primitive_desc pd(d, attr, cpu_engine());
            return cached_primitive{pd, dnnl::inner_product_forward(pd)};
        });
        const auto& pd = cached.pd;
        std::unordered_map<int, dnnl::memory> args;
        args[DNNL_ARG_SRC] = as_layout(n.inputs[0], pd.src_desc(0), "layer '" + n.name + "'");
        args[DNNL_ARG_WEIGHTS] = load_weights(n.params[0], w_dims, pd.weights_desc(0));
        if (s.bias) args[DNNL_ARG_BIAS] = load_weights(n.params[1], {s.out_features}, pd.weights_desc(1));
        values_[i] = dnnl::memory(pd.dst_desc(0), cpu_engine());
        args[DNNL_ARG_DST] = values_[i];
        std::string what = "dense '" + n.name + "'";
        if (act_node) {
            absorb(i, *act_node, absorbed);
            what += " + " + describe(graph_->nodes()[*act_node].spec);
        }
        steps_.push_back({cached.primitive, std::move(args), what + ": " + cached.pd.impl_info_str()});
    }

    void add_pooling(std::size_t i, const node& n, dnnl::algorithm alg, const dnnl::memory::dims& kernel,
                     const dnnl::memory::dims& strides, const dnnl::memory::dims& pad_l,
                     const dnnl::memory::dims& pad_r) {
        const dnnl::memory src = value(n.inputs[0]);
        const std::string key = "pool|" + describe(n.spec) + "|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            const dnnl::memory::desc dst_md(act_dims(n.output), dt::f32, tag::any);
            dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), dst_md,
                                          strides, kernel, pad_l, pad_r);
            dnnl::pooling_forward::primitive_desc pd(d, cpu_engine());
            return cached_primitive{pd, dnnl::pooling_forward(pd)};
        });
        values_[i] = dnnl::memory(cached.pd.dst_desc(0), cpu_engine());
        std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, values_[i]}};
        const auto ws = cached.pd.query_md(dnnl::query::workspace_md);
        if (ws.get_size() != 0) args[DNNL_ARG_WORKSPACE] = dnnl::memory(ws, cpu_engine());
        steps_.push_back(
            {cached.primitive, std::move(args), "pool '" + n.name + "': " + cached.pd.impl_info_str()});
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
        const dnnl::memory src = value(n.inputs[0]);
        const auto flags = dnnl::normalization_flags::use_global_stats |
                           dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
        const std::string key = "bn|" + describe(n.spec) + "|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(),
                                                      s.epsilon, flags);
            dnnl::batch_normalization_forward::primitive_desc pd(d, cpu_engine());
            return cached_primitive{pd, dnnl::batch_normalization_forward(pd)};
        });
        const dnnl::memory::dims c{n.input_shapes[0].c};
        const auto vec = plain_desc(c);
        values_[i] = dnnl::memory(cached.pd.dst_desc(0), cpu_engine());
        std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, src},
                                                   {DNNL_ARG_DST, values_[i]},
                                                   {DNNL_ARG_SCALE, load_weights(n.params[0], c, vec)},
                                                   {DNNL_ARG_SHIFT, load_weights(n.params[1], c, vec)},
                                                   {DNNL_ARG_MEAN, load_weights(n.params[2], c, vec)},
                                                   {DNNL_ARG_VARIANCE, load_weights(n.params[3], c, vec)}};
        steps_.push_back(
            {cached.primitive, std::move(args), "batch_norm '" + n.name + "': " + cached.pd.impl_info_str()});
    }

    void lower(std::size_t i, const node& n, const activation_spec& s, std::vector<bool>&) {
        const dnnl::memory src = value(n.inputs[0]);
        const std::string key = "eltwise|" + describe(n.spec) + "|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            float alpha = 0;
            float beta = 0;
            const auto alg = eltwise_algorithm(s.kind, alpha, beta);
            dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), alpha,
                                          beta);
            dnnl::eltwise_forward::primitive_desc pd(d, cpu_engine());
            return cached_primitive{pd, dnnl::eltwise_forward(pd)};
        });
        values_[i] = dnnl::memory(cached.pd.dst_desc(0), cpu_engine());
        steps_.push_back({cached.primitive,
                          {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, values_[i]}},
                          "activation '" + n.name + "': " + cached.pd.impl_info_str()});
    }

    /// Flatten follows NCHW order (PyTorch's), so the value is first made plain, then viewed 2-D.
    void lower(std::size_t i, const node& n, const flatten_spec&, std::vector<bool>&) {
        const dnnl::memory src = value(n.inputs[0]);
        dnnl::memory plain(plain_desc(src.get_desc().dims()), cpu_engine());
        add_reorder(src, plain, "flatten '" + n.name + "'");
        values_[i] = dnnl::memory(plain_desc({batch_, n.output.c}), cpu_engine(), plain.get_data_handle());
        keep_alive_.push_back(plain);
    }

    void lower(std::size_t i, const node& n, const softmax_spec&, std::vector<bool>&) {
        const dnnl::memory src = as_layout(n.inputs[0], plain_desc(value(n.inputs[0]).get_desc().dims()),
                                           "layer '" + n.name + "'");
        const std::string key = "softmax|in" + describe(src.get_desc());
        auto cached = create(key, n, [&] {
            dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(), 1);
            dnnl::softmax_forward::primitive_desc pd(d, cpu_engine());
            return cached_primitive{pd, dnnl::softmax_forward(pd)};
        });
        values_[i] = dnnl::memory(cached.pd.dst_desc(0), cpu_engine());
        steps_.push_back({cached.primitive,
                          {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, values_[i]}},
                          "softmax '" + n.name + "': " + cached.pd.impl_info_str()});
    }

    void lower(std::size_t i, const node& n, const add_spec&, std::vector<bool>&) {
        const dnnl::memory first = value(n.inputs[0]);
        const auto md = first.get_desc();
        values_[i] = dnnl::memory(md, cpu_engine());
        const std::string key = "add|in" + describe(md);
        auto cached = create(key, n, [&] {
            dnnl::binary::desc d(dnnl::algorithm::binary_add, md, md, md);
            dnnl::binary::primitive_desc pd(d, cpu_engine());
            return cached_primitive{pd, dnnl::binary(pd)};
        });
        // dst = in0 + in1, then dst += in_k in place for any further input.
        for (std::size_t k = 1; k < n.inputs.size(); ++k) {
            const dnnl::memory addend = as_layout(n.inputs[k], md, "layer '" + n.name + "'");
            steps_.push_back({cached.primitive,
                              {{DNNL_ARG_SRC_0, k == 1 ? first : values_[i]},
                               {DNNL_ARG_SRC_1, addend},
                               {DNNL_ARG_DST, values_[i]}},
                              "add '" + n.name + "': " + cached.pd.impl_info_str()});
        }
    }

    void lower(std::size_t i, const node& n, const concat_spec&, std::vector<bool>&) {
        std::vector<dnnl::memory::desc> mds;
        std::string key = "concat";
        for (value_id v : n.inputs) {
            mds.push_back(value(v).get_desc());
            key += "|in" + describe(mds.back());
        }
        auto cached = create(key, n, [&] {
            dnnl::concat::primitive_desc pd(1, mds, cpu_engine());
            return cached_primitive{pd, dnnl::concat(pd)};
        });
        values_[i] = dnnl::memory(cached.pd.dst_desc(0), cpu_engine());
        std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DST, values_[i]}};
        for (std::size_t k = 0; k < n.inputs.size(); ++k)
            args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = value(n.inputs[k]);
        steps_.push_back(
            {cached.primitive, std::move(args), "concat '" + n.name + "': " + cached.pd.impl_info_str()});
    }

    shape input_;
    shape output_;
    std::int64_t batch_;
    int threads_;
    dnnl::stream stream_;
    dnnl::memory src_user_;
    dnnl::memory dst_user_;
    dnnl::memory input_mem_;
    std::vector<dnnl::memory> values_;
    std::vector<dnnl::memory> keep_alive_;
    std::map<std::string, dnnl::memory> reordered_;
    std::vector<step> steps_;
    // Only valid while building.
    const graph* graph_ = nullptr;
    std::vector<std::vector<std::size_t>> consumers_;
};

}  // namespace stemshare::onednn
