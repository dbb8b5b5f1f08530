#pragma once
/// \file
/// `onednn::training_graph`: one graph (any DAG the inference path runs: residual adds and concats
/// included) planned for training on oneDNN at one batch size. Whole-batch primitives in training
/// mode, their backward-data and backward-weights twins, and every buffer from one arena are
/// created once, here; `forward` and `backward` replay recorded steps without allocating.
///
/// Layouts: each value keeps the layout its producer picked (blocked where oneDNN prefers it), the
/// gradient of a value has the value's layout, and a reorder is inserted only where a primitive
/// wants another one. Parameters and their gradients stay plain (the graph's own tensors): weights
/// are reordered into the primitive's layout at each forward, weight gradients back at each
/// backward. A value read by several layers sums their gradient contributions (the first one writes,
/// later ones accumulate through a reorder with a sum post-op).

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/backend/onednn/training/arena.hpp>
#include <stemshare/backend/onednn/training/conv_and_dense_kinds.hpp>
#include <stemshare/backend/onednn/training/gate_and_channel_kinds.hpp>
#include <stemshare/backend/onednn/training/pooling_kinds.hpp>
#include <stemshare/backend/onednn/training/step_list.hpp>
#include <stemshare/backend/onednn/training/training_options.hpp>
#include <stemshare/backend/onednn/training/training_state.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>
#include <stemshare/tensor/tensor.hpp>

namespace stemshare::onednn {

class training_graph {
public:
    using md = dnnl::memory::desc;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;

    /// Plans `g` (bound) for batches of `batch`. Throws naming the layer if oneDNN has no
    /// implementation for one of its passes.
    training_graph(const graph& g, std::int64_t batch, training_options options)
        : batch_(batch), options_(options), layers_(g.size()) {
        if (batch <= 0) throw error("onednn::training_graph", "batch must be positive");
        threads_ = options.threads == 0 ? max_threads() : resolve_threads(options.threads);
        use_threads(threads_);
        values_.resize(g.size() + 1);
        const md in_md = plain(g.input_shape());
        in_user_ = dnnl::memory(in_md, cpu_engine(), DNNL_MEMORY_NONE);
        value(graph_input).mem = arena_.make(in_md);
        if (options_.input_gradient) value(graph_input).diff = arena_.make(in_md);
        forward_both(dnnl::reorder(in_user_, value(graph_input).mem),
                     {{DNNL_ARG_FROM, in_user_}, {DNNL_ARG_TO, value(graph_input).mem}}, "input");
        find_fused_relus(g);
        for (std::size_t i = 0; i < g.size(); ++i) {
            const node& n = g.at(i);
            try {
                std::visit([&](const auto& s) { plan_forward(i, n, s); }, n.spec);
            } catch (const dnnl::error& e) {
                throw error("onednn::training_graph", "layer '" + n.name + "' " + describe(n.spec) +
                                                          ": oneDNN cannot train it: " + e.what());
            }
        }
        const value_id last = g.last_value();
        out_user_ = dnnl::memory(plain(g.output_shape()), cpu_engine(), DNNL_MEMORY_NONE);
        forward_both(dnnl::reorder(value(last).mem, out_user_),
                     {{DNNL_ARG_FROM, value(last).mem}, {DNNL_ARG_TO, out_user_}}, "output");
        dy_user_ = dnnl::memory(plain(g.output_shape()), cpu_engine(), DNNL_MEMORY_NONE);
        contribute(last, dy_user_);
        for (std::size_t i = g.size(); i-- > 0;) {
            const node& n = g.at(i);
            start_gradient(static_cast<value_id>(i));
            try {
                std::visit([&](const auto& s) { plan_backward(i, n, s); }, n.spec);
            } catch (const dnnl::error& e) {
                throw error("onednn::training_graph",
                            "layer '" + n.name + "' " + describe(n.spec) +
                                ": oneDNN has no backward pass for it: " + e.what());
            }
        }
        if (options_.input_gradient) {
            start_gradient(graph_input);
            diff_src_user_ = dnnl::memory(in_md, cpu_engine(), DNNL_MEMORY_NONE);
            backward_.add(dnnl::reorder(value(graph_input).diff, diff_src_user_),
                          {{DNNL_ARG_FROM, value(graph_input).diff}, {DNNL_ARG_TO, diff_src_user_}},
                          "input gradient");
        }
        arena_.allocate();
        stream_ = dnnl::stream(cpu_engine());
    }

    training_graph(const training_graph&) = delete;
    training_graph& operator=(const training_graph&) = delete;

    /// Runs the batch `src` (plain NCHW, `batch()` images) and writes the graph's output, plain,
    /// to `dst`. With `training`, batch-norm layers in batch-statistics mode use the batch's
    /// statistics and update the running ones in `g`, and the values `backward` needs are kept.
    /// `g` must be the graph this was planned from (its parameters may have changed since).
    void forward(graph& g, const float* src, float* dst, bool training) {
        graph_ = &g;
        for (auto& b : params_) b.mem.set_data_handle(g.at(b.layer).params[b.index].data());
        in_user_.set_data_handle(const_cast<float*>(src));
        out_user_.set_data_handle(dst);
        use_threads(threads_);
        (training ? forward_train_ : forward_eval_).run(stream_);
    }

    /// Back-propagates `diff_dst` (plain, the output's dims) through the last training forward:
    /// overwrites `gradients` (one tensor per parameter, as `g.at(i).params`; running statistics
    /// get none) and, when planned with `input_gradient`, writes d(loss)/d(input) to `diff_src`.
    void backward(const float* diff_dst, std::vector<std::vector<tensor<float>>>& gradients,
                  float* diff_src) {
        for (auto& b : grads_) b.mem.set_data_handle(gradients[b.layer][b.index].data());
        dy_user_.set_data_handle(const_cast<float*>(diff_dst));
        if (options_.input_gradient) diff_src_user_.set_data_handle(diff_src);
        use_threads(threads_);
        backward_.run(stream_);
    }

    [[nodiscard]] std::int64_t batch() const noexcept { return batch_; }
    [[nodiscard]] int threads() const noexcept { return threads_; }
    /// Bytes of the one arena every activation, gradient and reordered weight lives in.
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return arena_.bytes(); }

private:
    using value_buffers = training_detail::value_buffers;
    using layer_state = training_detail::layer_state;
    using binding = training_detail::parameter_binding;

    value_buffers& value(value_id v) { return values_[static_cast<std::size_t>(v + 1)]; }
    [[nodiscard]] bool wants_gradient(value_id v) const {
        return v != graph_input || options_.input_gradient;
    }

    [[nodiscard]] dnnl::memory::dims act_dims(shape s) const { return {batch_, s.c, s.h, s.w}; }
    [[nodiscard]] md plain(shape s) const { return md(act_dims(s), dt::f32, tag::nchw); }

    void forward_both(const dnnl::primitive& p, const step_list::arg_list& args, const std::string& what) {
        forward_train_.add(p, args, what);
        forward_eval_.add(p, args, what);
    }

    /// A new value (and its gradient buffer) with layout `m`.
    dnnl::memory new_value(std::size_t i, const md& m) {
        value_buffers& v = value(static_cast<value_id>(i));
        v.mem = arena_.make(m);
        v.diff = arena_.make(m);
        return v.mem;
    }

    /// `mem` in layout `m`: itself, or a reorder into a new buffer (recorded in `steps`). In the
    /// forwards a value is written once, so a second reader wanting the same layout (a residual
    /// block's input, read by its first conv and its projection) shares the first one's copy.
    dnnl::memory in_layout(const dnnl::memory& mem, const md& m, bool both_forwards, step_list* steps,
                           const std::string& what) {
        if (mem.get_desc() == m) return mem;
        if (both_forwards)
            for (const auto& [from, to] : forward_copies_)
                if (from.get() == mem.get() && to.get_desc() == m) return to;
        dnnl::memory out = arena_.make(m);
        const dnnl::reorder r(mem, out);
        const step_list::arg_list args{{DNNL_ARG_FROM, mem}, {DNNL_ARG_TO, out}};
        if (both_forwards) {
            forward_both(r, args, what);
            forward_copies_.emplace_back(mem, out);
        } else {
            steps->add(r, args, what);
        }
        return out;
    }

    /// A view of `mem` (an arena buffer or a parameter binding) with descriptor `m`.
    dnnl::memory view(const dnnl::memory& mem, const md& m) {
        for (auto* list : {&params_, &grads_})
            for (std::size_t k = 0; k < list->size(); ++k)
                if ((*list)[k].mem.get() == mem.get()) {
                    dnnl::memory v(m, cpu_engine(), DNNL_MEMORY_NONE);
                    list->push_back({v, (*list)[k].layer, (*list)[k].index});
                    return v;
                }
        return arena_.alias(mem, m);
    }

    /// Records in `steps` the reorder of weights `from` into `to` (same dims, other layouts). A 1x1
    /// conv's weights are reordered as {O, I} matrices: oneDNN 2.6's 4D reorder from its blocked
    /// layout back to oihw is up to 8x slower than the 2D one (2048x1024: 4.0 ms against 0.5 ms on
    /// one core).
    void reorder_weights(step_list& steps, const dnnl::memory& from, const dnnl::memory& to,
                         const std::string& what) {
        dnnl::memory src = from;
        dnnl::memory dst = to;
        const dnnl::memory::dims d = from.get_desc().dims();
        if (d.size() == 4 && d[2] == 1 && d[3] == 1) {
            try {
                const md from_2d = from.get_desc().reshape({d[0], d[1]});
                const md to_2d = to.get_desc().reshape({d[0], d[1]});
                src = view(from, from_2d);
                dst = view(to, to_2d);
            } catch (const dnnl::error&) {
                // A layout oneDNN cannot view as 2D: the 4D reorder.
            }
        }
        steps.add(dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, what);
    }

    dnnl::memory param(std::size_t layer, std::size_t index, const md& m) {
        dnnl::memory mem(m, cpu_engine(), DNNL_MEMORY_NONE);
        params_.push_back({mem, layer, index});
        return mem;
    }
    dnnl::memory gradient(std::size_t layer, std::size_t index, const md& m) {
        dnnl::memory mem(m, cpu_engine(), DNNL_MEMORY_NONE);
        grads_.push_back({mem, layer, index});
        return mem;
    }

    /// Where a primitive producing a gradient contribution of layout `m` for value `v` writes it:
    /// straight into the value's gradient when it is the first contribution in the same layout.
    dnnl::memory diff_target(value_id v, const md& m) {
        value_buffers& b = value(v);
        if (!b.diff_started && b.diff.get_desc() == m) {
            b.diff_started = true;
            return b.diff;
        }
        return arena_.make(m);
    }

    /// Adds the gradient contribution `from` (already computed when the step runs) to value `v`.
    void contribute(value_id v, const dnnl::memory& from) {
        value_buffers& b = value(v);
        if (from.get() == b.diff.get()) return;
        if (!b.diff_started) {
            backward_.add(dnnl::reorder(from, b.diff), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, b.diff}},
                          "gradient copy");
            b.diff_started = true;
            return;
        }
        dnnl::post_ops po;
        po.append_sum(1.0F);
        dnnl::primitive_attr attr;
        attr.set_post_ops(po);
        const dnnl::reorder::primitive_desc pd(cpu_engine(), from.get_desc(), cpu_engine(), b.diff.get_desc(),
                                               attr);
        backward_.add(dnnl::reorder(pd), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, b.diff}}, "gradient sum");
    }

    /// A value no layer reads back gradient into gets a zero gradient.
    void start_gradient(value_id v) {
        value_buffers& b = value(v);
        if (b.diff_started) return;
        const dnnl::memory diff = b.diff;
        backward_.add([diff] { std::memset(diff.get_data_handle(), 0, diff.get_desc().get_size()); },
                      "zero gradient");
        b.diff_started = true;
    }

    /// A batch-norm whose only reader is a relu runs it too (oneDNN's fuse_norm_relu, the relu's
    /// mask in the batch-norm's workspace): one pass over the data each way instead of two. The
    /// relu's value is then the batch-norm's buffer, and the batch-norm's backward reads the relu's
    /// output gradient.
    void find_fused_relus(const graph& g) {
        fused_relu_.assign(g.size(), 0);
        readers_.assign(g.size(), 0);
        for (std::size_t j = 0; j < g.size(); ++j)
            for (value_id v : g.at(j).inputs)
                if (v != graph_input) ++readers_[static_cast<std::size_t>(v)];
        for (std::size_t j = 0; j < g.size(); ++j) {
            const auto* act = std::get_if<activation_spec>(&g.at(j).spec);
            const value_id v = g.at(j).inputs[0];
            if (act == nullptr || act->kind != activation_kind::relu || v == graph_input) continue;
            const auto bn = static_cast<std::size_t>(v);
            if (readers_[bn] == 1 && std::holds_alternative<batch_norm_spec>(g.at(bn).spec))
                fused_relu_[bn] = j;
        }
    }
    /// The relu batch-norm layer `i` runs (0: none), and whether activation layer `j` is one.
    [[nodiscard]] std::size_t fused_relu(std::size_t i) const { return fused_relu_[i]; }
    [[nodiscard]] bool is_fused_relu(const node& n) const {
        const value_id v = n.inputs[0];
        return v != graph_input && fused_relu_[static_cast<std::size_t>(v)] != 0;
    }

    template <class PD>
    PD& fwd_pd(std::size_t i) {
        return *static_cast<PD*>(layers_[i].fwd_pd.get());
    }

    // ---- forward planning, one overload per layer kind ----

    // Conv and dense: conv_and_dense_kinds.hpp.
    void plan_forward(std::size_t i, const node& n, const conv2d_spec& s) {
        training_detail::conv_and_dense_kinds::plan_forward(*this, i, n, s);
    }
    void plan_forward(std::size_t i, const node& n, const dense_spec& s) {
        training_detail::conv_and_dense_kinds::plan_forward(*this, i, n, s);
    }

    void plan_forward(std::size_t i, const node& n, const batch_norm_spec& s) {
        layer_state& L = layers_[i];
        const dnnl::memory src = value(n.inputs[0]).mem;
        const md x = src.get_desc();
        auto scale_shift = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
        if (fused_relu(i) != 0) scale_shift = scale_shift | dnnl::normalization_flags::fuse_norm_relu;
        const auto global = scale_shift | dnnl::normalization_flags::use_global_stats;
        const auto train_flags = options_.batch_statistics ? scale_shift : global;
        auto pd = std::make_shared<dnnl::batch_normalization_forward::primitive_desc>(
            dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_training, x, s.epsilon,
                                                    train_flags),
            cpu_engine());
        const dnnl::batch_normalization_forward::primitive_desc eval_pd(
            dnnl::batch_normalization_forward::desc(dnnl::prop_kind::forward_inference, x, s.epsilon, global),
            cpu_engine());
        L.fwd_pd = pd;
        L.src = src;
        const md c_md({n.input_shapes[0].c}, dt::f32, tag::x);
        L.scale = param(i, 0, c_md);
        L.shift = param(i, 1, c_md);
        const dnnl::memory shift = L.shift;
        const dnnl::memory running_mean = param(i, 2, c_md);
        const dnnl::memory running_var = param(i, 3, c_md);
        const dnnl::memory dst = new_value(i, pd->dst_desc());
        forward_eval_.add(dnnl::batch_normalization_forward(eval_pd),
                          {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_MEAN, running_mean},
                           {DNNL_ARG_VARIANCE, running_var},
                           {DNNL_ARG_SCALE, L.scale},
                           {DNNL_ARG_SHIFT, shift},
                           {DNNL_ARG_DST, dst}},
                          "batch norm '" + n.name + "'");
        L.mean = options_.batch_statistics ? arena_.make(pd->mean_desc()) : running_mean;
        L.variance = options_.batch_statistics ? arena_.make(pd->variance_desc()) : running_var;
        step_list::arg_list args{
            {DNNL_ARG_SRC, src},       {DNNL_ARG_MEAN, L.mean}, {DNNL_ARG_VARIANCE, L.variance},
            {DNNL_ARG_SCALE, L.scale}, {DNNL_ARG_SHIFT, shift}, {DNNL_ARG_DST, dst}};
        const md ws = pd->workspace_desc();
        if (ws.get_size() != 0) {
            L.workspace = arena_.make(ws);
            args.emplace_back(DNNL_ARG_WORKSPACE, L.workspace);
        }
        forward_train_.add(dnnl::batch_normalization_forward(*pd), args, "batch norm '" + n.name + "'");
        if (!options_.batch_statistics) return;
        const std::int64_t channels = n.input_shapes[0].c;
        const auto count = static_cast<double>(batch_ * n.input_shapes[0].h * n.input_shapes[0].w);
        const double momentum = options_.batch_norm_momentum;
        const dnnl::memory mean = L.mean;
        const dnnl::memory variance = L.variance;
        forward_train_.add(
            [this, i, channels, count, momentum, mean, variance] {
                const auto* m = static_cast<const float*>(mean.get_data_handle());
                const auto* v = static_cast<const float*>(variance.get_data_handle());
                tensor<float>& rm = graph_->at(i).params[2];
                tensor<float>& rv = graph_->at(i).params[3];
                const double unbias = count > 1.0 ? count / (count - 1.0) : 1.0;
                for (std::int64_t c = 0; c < channels; ++c) {
                    rm[c] = static_cast<float>((1.0 - momentum) * rm[c] + momentum * m[c]);
                    rv[c] = static_cast<float>((1.0 - momentum) * rv[c] + momentum * v[c] * unbias);
                }
            },
            "running statistics '" + n.name + "'");
    }

    void plan_forward(std::size_t i, const node& n, const activation_spec& s) {
        layer_state& L = layers_[i];
        switch (s.kind) {
            case activation_kind::relu:
                L.algorithm = dnnl::algorithm::eltwise_relu;
                break;
            case activation_kind::relu6:
                L.algorithm = dnnl::algorithm::eltwise_clip_v2;
                L.beta = 6.0F;
                break;
            case activation_kind::sigmoid:
                L.algorithm = dnnl::algorithm::eltwise_logistic;
                break;
        }
        L.src = value(n.inputs[0]).mem;
        if (is_fused_relu(n)) {
            // The batch-norm before it computes it: its value shares the batch-norm's buffer, and the
            // batch-norm's own output gradient is never formed.
            value_buffers& v = value(static_cast<value_id>(i));
            v.mem = L.src;
            v.diff = arena_.make(L.src.get_desc());
            value(n.inputs[0]).diff_started = true;
            return;
        }
        auto pd = std::make_shared<dnnl::eltwise_forward::primitive_desc>(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, L.algorithm, L.src.get_desc(),
                                        L.alpha, L.beta),
            cpu_engine());
        L.fwd_pd = pd;
        const dnnl::memory dst = new_value(i, pd->dst_desc());
        forward_both(dnnl::eltwise_forward(*pd), {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DST, dst}},
                     "activation '" + n.name + "'");
    }

    // Pooling kinds: pooling_kinds.hpp.
    void plan_forward(std::size_t i, const node& n, const pool2d_spec& s) {
        training_detail::pooling_kinds::plan_forward(*this, i, n, s);
    }
    void plan_forward(std::size_t i, const node& n, const global_avg_pool_spec& s) {
        training_detail::pooling_kinds::plan_forward(*this, i, n, s);
    }

    void plan_forward(std::size_t i, const node& n, const flatten_spec&) {
        layer_state& L = layers_[i];
        const md in_plain = plain(n.input_shapes[0]);
        const dnnl::memory flat = new_value(i, plain(n.output));
        const dnnl::memory flat_4d = arena_.alias(flat, in_plain);
        const dnnl::memory src = value(n.inputs[0]).mem;
        forward_both(dnnl::reorder(src, flat_4d), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, flat_4d}},
                     "flatten '" + n.name + "'");
        L.diff_4d = arena_.alias(value(static_cast<value_id>(i)).diff, in_plain);
    }

    void plan_forward(std::size_t i, const node& n, const softmax_spec&) {
        layer_state& L = layers_[i];
        L.src = value(n.inputs[0]).mem;
        auto pd = std::make_shared<dnnl::softmax_forward::primitive_desc>(
            dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, L.src.get_desc(), 1),
            cpu_engine());
        L.fwd_pd = pd;
        const dnnl::memory dst = new_value(i, pd->dst_desc());
        forward_both(dnnl::softmax_forward(*pd), {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DST, dst}},
                     "softmax '" + n.name + "'");
    }

    void plan_forward(std::size_t i, const node& n, const add_spec&) {
        std::vector<md> srcs;
        step_list::arg_list args;
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
            const dnnl::memory m = value(n.inputs[k]).mem;
            srcs.push_back(m.get_desc());
            args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), m);
        }
        const std::vector<float> scales(n.inputs.size(), 1.0F);
        const dnnl::sum::primitive_desc pd(srcs[0], scales, srcs, cpu_engine());
        args.emplace_back(DNNL_ARG_DST, new_value(i, srcs[0]));
        forward_both(dnnl::sum(pd), args, "add '" + n.name + "'");
    }

    void plan_forward(std::size_t i, const node& n, const concat_spec&) {
        std::vector<md> srcs;
        step_list::arg_list args;
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
            const dnnl::memory m = value(n.inputs[k]).mem;
            srcs.push_back(m.get_desc());
            args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), m);
        }
        // Plain, so that each input's gradient is a channel range of the result's gradient.
        const dnnl::concat::primitive_desc pd(plain(n.output), 1, srcs, cpu_engine());
        args.emplace_back(DNNL_ARG_DST, new_value(i, plain(n.output)));
        forward_both(dnnl::concat(pd), args, "concat '" + n.name + "'");
    }

    // ---- backward planning ----

    void plan_backward(std::size_t i, const node& n, const conv2d_spec& s) {
        training_detail::conv_and_dense_kinds::plan_backward(*this, i, n, s);
    }
    void plan_backward(std::size_t i, const node& n, const dense_spec& s) {
        training_detail::conv_and_dense_kinds::plan_backward(*this, i, n, s);
    }

    void plan_backward(std::size_t i, const node& n, const batch_norm_spec& s) {
        layer_state& L = layers_[i];
        auto& fpd = fwd_pd<dnnl::batch_normalization_forward::primitive_desc>(i);
        const std::size_t relu = fused_relu(i);
        const dnnl::memory diff_dst = value(static_cast<value_id>(relu != 0 ? relu : i)).diff;
        auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
        if (!options_.batch_statistics) flags = flags | dnnl::normalization_flags::use_global_stats;
        if (relu != 0) flags = flags | dnnl::normalization_flags::fuse_norm_relu;
        const md x = L.src.get_desc();
        const dnnl::batch_normalization_backward::primitive_desc pd(
            dnnl::batch_normalization_backward::desc(dnnl::prop_kind::backward, diff_dst.get_desc(), x,
                                                     s.epsilon, flags),
            cpu_engine(), fpd);
        const value_id sv = n.inputs[0];
        const bool want = wants_gradient(sv);
        const dnnl::memory dx = want ? diff_target(sv, pd.diff_src_desc()) : arena_.make(pd.diff_src_desc());
        const md c_md({n.input_shapes[0].c}, dt::f32, tag::x);
        step_list::arg_list args{{DNNL_ARG_SRC, L.src},
                                 {DNNL_ARG_MEAN, L.mean},
                                 {DNNL_ARG_VARIANCE, L.variance},
                                 {DNNL_ARG_SCALE, L.scale},
                                 {DNNL_ARG_SHIFT, L.shift},
                                 {DNNL_ARG_DIFF_DST, diff_dst},
                                 {DNNL_ARG_DIFF_SRC, dx},
                                 {DNNL_ARG_DIFF_SCALE, gradient(i, 0, c_md)},
                                 {DNNL_ARG_DIFF_SHIFT, gradient(i, 1, c_md)}};
        if (L.workspace) args.emplace_back(DNNL_ARG_WORKSPACE, L.workspace);
        backward_.add(dnnl::batch_normalization_backward(pd), args, "batch norm '" + n.name + "' backward");
        if (want) contribute(sv, dx);
    }

    void plan_backward(std::size_t i, const node& n, const activation_spec&) {
        const value_id sv = n.inputs[0];
        if (!wants_gradient(sv) || is_fused_relu(n)) return;
        layer_state& L = layers_[i];
        auto& fpd = fwd_pd<dnnl::eltwise_forward::primitive_desc>(i);
        const dnnl::memory diff_dst = value(static_cast<value_id>(i)).diff;
        const dnnl::eltwise_backward::primitive_desc pd(
            dnnl::eltwise_backward::desc(L.algorithm, diff_dst.get_desc(), L.src.get_desc(), L.alpha, L.beta),
            cpu_engine(), fpd);
        const dnnl::memory dx = diff_target(sv, pd.diff_src_desc());
        backward_.add(dnnl::eltwise_backward(pd),
                      {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, dx}},
                      "activation '" + n.name + "' backward");
        contribute(sv, dx);
    }

    void plan_backward(std::size_t i, const node& n, const pool2d_spec& s) {
        training_detail::pooling_kinds::plan_backward(*this, i, n, s);
    }
    void plan_backward(std::size_t i, const node& n, const global_avg_pool_spec& s) {
        training_detail::pooling_kinds::plan_backward(*this, i, n, s);
    }

    void plan_backward(std::size_t i, const node& n, const flatten_spec&) {
        if (wants_gradient(n.inputs[0])) contribute(n.inputs[0], layers_[i].diff_4d);
    }

    void plan_backward(std::size_t i, const node& n, const softmax_spec&) {
        const value_id sv = n.inputs[0];
        if (!wants_gradient(sv)) return;
        auto& fpd = fwd_pd<dnnl::softmax_forward::primitive_desc>(i);
        const value_buffers& out = value(static_cast<value_id>(i));
        const dnnl::softmax_backward::primitive_desc pd(
            dnnl::softmax_backward::desc(out.diff.get_desc(), out.mem.get_desc(), 1), cpu_engine(), fpd);
        const dnnl::memory dx = diff_target(sv, pd.diff_src_desc());
        backward_.add(dnnl::softmax_backward(pd),
                      {{DNNL_ARG_DST, out.mem}, {DNNL_ARG_DIFF_DST, out.diff}, {DNNL_ARG_DIFF_SRC, dx}},
                      "softmax '" + n.name + "' backward");
        contribute(sv, dx);
    }

    void plan_backward(std::size_t i, const node& n, const add_spec&) {
        const dnnl::memory diff = value(static_cast<value_id>(i)).diff;
        for (value_id v : n.inputs) {
            if (!wants_gradient(v)) continue;
            value_buffers& b = value(v);
            // An input only this add reads takes the add's gradient as its own, uncopied: nothing
            // writes either buffer after this point.
            if (v != graph_input && readers_[static_cast<std::size_t>(v)] == 1 && !b.diff_started &&
                b.diff.get_desc() == diff.get_desc()) {
                b.diff = diff;
                b.diff_started = true;
                continue;
            }
            contribute(v, diff);
        }
    }

    void plan_backward(std::size_t i, const node& n, const concat_spec&) {
        const dnnl::memory diff = value(static_cast<value_id>(i)).diff;
        std::int64_t offset = 0;
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
            const shape in = n.input_shapes[k];
            if (wants_gradient(n.inputs[k])) {
                const md part = diff.get_desc().submemory_desc(act_dims(in), {0, offset, 0, 0});
                contribute(n.inputs[k], arena_.alias(diff, part));
            }
            offset += in.c;
        }
    }

    // Gate activations, multiply, channel shuffle and channel slice: gate_and_channel_kinds.hpp.
    friend struct training_detail::conv_and_dense_kinds;
    friend struct training_detail::gate_and_channel_kinds;
    friend struct training_detail::pooling_kinds;
    template <typename Spec>
    void plan_forward(std::size_t i, const node& n, const Spec& s) {
        training_detail::gate_and_channel_kinds::plan_forward(*this, i, n, s);
    }
    template <typename Spec>
    void plan_backward(std::size_t i, const node& n, const Spec& s) {
        training_detail::gate_and_channel_kinds::plan_backward(*this, i, n, s);
    }

    std::int64_t batch_;
    training_options options_;
    int threads_ = 1;
    std::vector<layer_state> layers_;
    std::vector<value_buffers> values_;
    std::vector<binding> params_;
    std::vector<binding> grads_;
    std::vector<std::pair<dnnl::memory, dnnl::memory>> forward_copies_;  // (value, its copy)
    std::vector<std::size_t> fused_relu_;                                // see find_fused_relus
    std::vector<int> readers_;                                           // layers reading each value
    training_arena arena_;
    step_list forward_train_;
    step_list forward_eval_;
    step_list backward_;
    dnnl::memory in_user_, out_user_, dy_user_, diff_src_user_;
    dnnl::stream stream_;
    graph* graph_ = nullptr;
};

}  // namespace stemshare::onednn
