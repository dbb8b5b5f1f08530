#pragma once
/// \file
/// Training plans of the layer kinds of today's mobile networks, for `onednn::training_graph`:
/// the gate activations (hard-sigmoid, hard-swish, SiLU), the element-wise multiply of
/// squeeze-and-excitation blocks, and ShuffleNet's channel shuffle and channel slice. Each one is
/// oneDNN primitives created once at planning and buffers from the graph's arena, like the
/// graph's own kinds; they live here so that `training_graph.hpp` stays one readable file.
///
/// `training_graph` befriends `gate_and_channel_kinds` and calls it from its own `plan_forward`
/// and `plan_backward`; the members are templates on the graph's type, so this header compiles
/// before the graph is defined and uses its helpers (`value`, `diff_target`, `contribute`...).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::onednn::training_detail {

struct gate_and_channel_kinds {
    using md = dnnl::memory::desc;
    using tag = dnnl::memory::format_tag;

    // ---- gate activations ----

    /// SiLU and hard-swish are one eltwise each (the inference lowering's `gate_eltwise_ops`).
    /// Hard-sigmoid, which oneDNN 2.6 lacks, is `linear(alpha, beta)` then `clip(0, 1)` in place on
    /// the output; the clip is `clip_v2_use_dst_for_bwd`: its gradient passes where 0 < y < 1,
    /// PyTorch's open interval, and it needs only the output kept, not the linear's result.
    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const gate_activation_spec& s) {
        auto& L = g.layers_[i];
        L.src = g.value(n.inputs[0]).mem;
        const std::string what = "gate activation '" + n.name + "'";
        const auto eltwise = [&](dnnl::algorithm alg, float alpha, float beta, const md& m) {
            return std::make_shared<dnnl::eltwise_forward::primitive_desc>(
                dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, m, alpha, beta),
                cpu_engine());
        };
        switch (s.kind) {
            case gate_kind::hard_swish:
                L.algorithm = dnnl::algorithm::eltwise_hardswish;
                break;
            case gate_kind::silu:
                L.algorithm = dnnl::algorithm::eltwise_swish;
                L.alpha = 1.0F;
                break;
            case gate_kind::hard_sigmoid: {
                L.algorithm = dnnl::algorithm::eltwise_linear;
                L.alpha = s.alpha;
                L.beta = s.beta;
                auto linear = eltwise(L.algorithm, L.alpha, L.beta, L.src.get_desc());
                L.fwd_pd = linear;
                const dnnl::memory dst = g.new_value(i, linear->dst_desc());
                g.forward_both(dnnl::eltwise_forward(*linear), {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DST, dst}},
                               what + " linear");
                auto clip =
                    eltwise(dnnl::algorithm::eltwise_clip_v2_use_dst_for_bwd, 0.0F, 1.0F, dst.get_desc());
                L.fwd_pd_clip = clip;
                g.forward_both(dnnl::eltwise_forward(*clip), {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}},
                               what + " clip");
                return;
            }
        }
        auto pd = eltwise(L.algorithm, L.alpha, L.beta, L.src.get_desc());
        L.fwd_pd = pd;
        const dnnl::memory dst = g.new_value(i, pd->dst_desc());
        g.forward_both(dnnl::eltwise_forward(*pd), {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DST, dst}}, what);
    }

    /// PyTorch's hard-swish gradient (torch 1.13's `hardswish_backward`): 0 below -3,
    /// dy * (x / 3 + 1/2) on the closed interval [-3, 3], dy above. oneDNN 2.6's backward gives 0
    /// at -3 and dy at 3 instead of -dy/2 and 3dy/2, so the trainer computes it here, on `team`
    /// threads. The three buffers share one layout; the zero padding of a blocked layout has x = 0
    /// and dy = 0, so it gets dx = 0.
    static void hard_swish_backward(const float* x, const float* dy, float* dx, std::ptrdiff_t count,
                                    int team) {
        parallel_for(team, team, [&](std::ptrdiff_t k) {
            const std::ptrdiff_t end = count * (k + 1) / team;
            for (std::ptrdiff_t e = count * k / team; e < end; ++e) {
                const float v = x[e];
                dx[e] = v < -3.0F ? 0.0F : v <= 3.0F ? dy[e] * (v / 3.0F + 0.5F) : dy[e];
            }
        });
    }

    /// Hard-sigmoid runs the clip's backward from the output, then the linear's (x alpha) in place;
    /// hard-swish runs `hard_swish_backward`; SiLU is oneDNN's swish backward.
    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const gate_activation_spec&) {
        const value_id sv = n.inputs[0];
        if (!g.wants_gradient(sv)) return;
        auto& L = g.layers_[i];
        const auto& out = g.value(static_cast<value_id>(i));
        const std::string what = "gate activation '" + n.name + "' backward";
        const md x = L.src.get_desc();
        if (L.algorithm == dnnl::algorithm::eltwise_hardswish) {
            // An eltwise's output, and so its gradient, has the input's layout; the loop needs that.
            if (out.diff.get_desc() != x)
                throw error("training", what + ": the output gradient's layout is not the input's");
            const dnnl::memory dx = g.diff_target(sv, x);
            const dnnl::memory src = L.src;
            const dnnl::memory dy = out.diff;
            const auto count = static_cast<std::ptrdiff_t>(x.get_size() / sizeof(float));
            const int team = g.threads_;
            g.backward_.add(
                [src, dy, dx, count, team] {
                    hard_swish_backward(static_cast<const float*>(src.get_data_handle()),
                                        static_cast<const float*>(dy.get_data_handle()),
                                        static_cast<float*>(dx.get_data_handle()), count, team);
                },
                what);
            g.contribute(sv, dx);
            return;
        }
        const dnnl::eltwise_backward::primitive_desc pd(
            dnnl::eltwise_backward::desc(L.algorithm, out.diff.get_desc(), x, L.alpha, L.beta), cpu_engine(),
            *static_cast<dnnl::eltwise_forward::primitive_desc*>(L.fwd_pd.get()));
        const dnnl::memory dx = g.diff_target(sv, pd.diff_src_desc());
        dnnl::memory diff_dst = out.diff;
        if (L.fwd_pd_clip) {
            const dnnl::eltwise_backward::primitive_desc clip(
                dnnl::eltwise_backward::desc(dnnl::algorithm::eltwise_clip_v2_use_dst_for_bwd,
                                             out.diff.get_desc(), out.mem.get_desc(), 0.0F, 1.0F),
                cpu_engine(), *static_cast<dnnl::eltwise_forward::primitive_desc*>(L.fwd_pd_clip.get()));
            g.backward_.add(dnnl::eltwise_backward(clip),
                            {{DNNL_ARG_DST, out.mem}, {DNNL_ARG_DIFF_DST, out.diff}, {DNNL_ARG_DIFF_SRC, dx}},
                            what + " clip");
            diff_dst = dx;
        }
        g.backward_.add(dnnl::eltwise_backward(pd),
                        {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, dx}},
                        what);
        g.contribute(sv, dx);
    }

    // ---- multiply ----

    /// One binary mul: the second input in the first's layout (same shape) or as {N, c, 1, 1} in
    /// its own layout, which oneDNN broadcasts over height and width (as the inference lowering).
    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const multiply_spec&) {
        auto& L = g.layers_[i];
        L.src = g.value(n.inputs[0]).mem;
        const md m = L.src.get_desc();
        const bool per_channel = n.input_shapes[1] != n.input_shapes[0];
        const dnnl::memory second = g.value(n.inputs[1]).mem;
        L.src_1 = per_channel ? second : g.in_layout(second, m, true, nullptr, n.name + " second input");
        const dnnl::binary::primitive_desc pd(
            dnnl::binary::desc(dnnl::algorithm::binary_mul, m, L.src_1.get_desc(), m), cpu_engine());
        const dnnl::memory dst = g.new_value(i, m);
        g.forward_both(dnnl::binary(pd),
                       {{DNNL_ARG_SRC_0, L.src}, {DNNL_ARG_SRC_1, L.src_1}, {DNNL_ARG_DST, dst}},
                       "multiply '" + n.name + "'");
    }

    /// d(first) = dy * second (broadcast as in the forward); d(second) = dy * first, summed over
    /// height and width where the second input is one value per channel.
    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const multiply_spec&) {
        auto& L = g.layers_[i];
        const dnnl::memory dy = g.value(static_cast<value_id>(i)).diff;
        const md m = dy.get_desc();
        const std::string what = "multiply '" + n.name + "' backward";
        const auto mul = [&](const dnnl::memory& by, const dnnl::memory& to, const std::string& which) {
            const dnnl::binary::primitive_desc pd(
                dnnl::binary::desc(dnnl::algorithm::binary_mul, m, by.get_desc(), to.get_desc()),
                cpu_engine());
            g.backward_.add(dnnl::binary(pd),
                            {{DNNL_ARG_SRC_0, dy}, {DNNL_ARG_SRC_1, by}, {DNNL_ARG_DST, to}},
                            what + " " + which);
        };
        const value_id a = n.inputs[0];
        const value_id b = n.inputs[1];
        if (g.wants_gradient(a)) {
            const dnnl::memory da = g.diff_target(a, m);
            mul(L.src_1, da, "first");
            g.contribute(a, da);
        }
        if (!g.wants_gradient(b)) return;
        if (n.input_shapes[1] == n.input_shapes[0]) {
            const dnnl::memory db = g.diff_target(b, m);
            mul(L.src, db, "second");
            g.contribute(b, db);
            return;
        }
        const dnnl::memory product = g.arena_.make(m);
        mul(L.src, product, "second");
        // The sum over height and width is the plane's mean times its size: oneDNN 2.6's reduction
        // has a JIT kernel for plain nchw sources only and runs the reference one on the
        // channel-blocked layouts the convs pick (24 ms for 32x960x7x7 on one core), while its
        // average pooling over the whole plane is JIT in every layout (under 1 ms).
        const shape& in = n.input_shapes[0];
        const md pooled_any(g.act_dims(n.input_shapes[1]), dnnl::memory::data_type::f32, tag::any);
        const dnnl::pooling_v2_forward::primitive_desc pool(
            dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                           dnnl::algorithm::pooling_avg_include_padding, m, pooled_any,
                                           {1, 1}, {in.h, in.w}, {0, 0}, {0, 0}, {0, 0}),
            cpu_engine());
        const dnnl::memory db = g.diff_target(b, pool.dst_desc());
        g.backward_.add(dnnl::pooling_v2_forward(pool), {{DNNL_ARG_SRC, product}, {DNNL_ARG_DST, db}},
                        what + " second mean");
        const dnnl::eltwise_forward::primitive_desc scale(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_linear,
                                        db.get_desc(), static_cast<float>(in.h * in.w), 0.0F),
            cpu_engine());
        g.backward_.add(dnnl::eltwise_forward(scale), {{DNNL_ARG_SRC, db}, {DNNL_ARG_DST, db}},
                        what + " second sum");
        g.contribute(b, db);
    }

    // ---- channel shuffle ----

    /// oneDNN's shuffle sees the channels as a (C / G) x G matrix, so PyTorch's `groups` g is its
    /// `group_size` C / g; the backward is the inverse shuffle.
    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const channel_shuffle_spec& s) {
        auto& L = g.layers_[i];
        L.src = g.value(n.inputs[0]).mem;
        const auto group_size = static_cast<int>(n.output.c / s.groups);
        auto pd = std::make_shared<dnnl::shuffle_forward::primitive_desc>(
            dnnl::shuffle_forward::desc(dnnl::prop_kind::forward_training, L.src.get_desc(), 1, group_size),
            cpu_engine());
        L.fwd_pd = pd;
        const dnnl::memory dst = g.new_value(i, pd->dst_desc());
        g.forward_both(dnnl::shuffle_forward(*pd), {{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DST, dst}},
                       "channel shuffle '" + n.name + "'");
    }

    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const channel_shuffle_spec& s) {
        const value_id sv = n.inputs[0];
        if (!g.wants_gradient(sv)) return;
        const dnnl::memory dy = g.value(static_cast<value_id>(i)).diff;
        const dnnl::shuffle_backward::primitive_desc pd(
            dnnl::shuffle_backward::desc(dy.get_desc(), 1, static_cast<int>(n.output.c / s.groups)),
            cpu_engine(), *static_cast<dnnl::shuffle_forward::primitive_desc*>(g.layers_[i].fwd_pd.get()));
        const dnnl::memory dx = g.diff_target(sv, pd.diff_src_desc());
        g.backward_.add(dnnl::shuffle_backward(pd), {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}},
                        "channel shuffle '" + n.name + "' backward");
        g.contribute(sv, dx);
    }

    // ---- channel slice ----

    /// A layout like `m` (plain nchw, nhwc or channels blocked by 8 or 16) for dims `to`; plain
    /// nchw for any other layout.
    static md same_layout(const md& m, const dnnl::memory::dims& to) {
        for (const tag t : std::array{tag::nchw, tag::nhwc, tag::aBcd8b, tag::aBcd16b})
            if (m == md(m.dims(), m.data_type(), t)) return {to, m.data_type(), t};
        return {to, m.data_type(), tag::nchw};
    }

    /// The slice's channels of `m` as a sub-memory view, or a zero descriptor where the layout's
    /// channel blocks do not allow one (a slice that cuts a block).
    static md channel_view(const md& m, const dnnl::memory::dims& dims, std::int64_t begin) {
        try {
            return m.submemory_desc(dims, {0, begin, 0, 0});
        } catch (const dnnl::error&) {
            return {};
        }
    }

    /// One reorder from a view of the input's channels (of a plain copy where the input's layout
    /// cannot be sliced) into a dense output.
    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const channel_slice_spec& s) {
        const auto out_dims = g.act_dims(n.output);
        dnnl::memory whole = g.value(n.inputs[0]).mem;
        md view = channel_view(whole.get_desc(), out_dims, s.begin);
        if (view.is_zero()) {
            whole = g.in_layout(whole, g.plain(n.input_shapes[0]), true, nullptr, n.name + " plain input");
            view = whole.get_desc().submemory_desc(out_dims, {0, s.begin, 0, 0});
        }
        const dnnl::memory part = g.arena_.alias(whole, view);
        const dnnl::memory dst = g.new_value(i, same_layout(whole.get_desc(), out_dims));
        g.forward_both(dnnl::reorder(part, dst), {{DNNL_ARG_FROM, part}, {DNNL_ARG_TO, dst}},
                       "channel slice '" + n.name + "'");
    }

    /// The output's gradient goes into the slice's channels of the input's gradient and the other
    /// channels get nothing: the input's gradient is zeroed if this is its first contribution,
    /// then the part is added through a reorder with a sum post-op into a view of it (a split's
    /// parts each add their own channels). A layout whose channel blocks the slice cuts gets a
    /// plain full-size contribution instead, zeroed at each step.
    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const channel_slice_spec& s) {
        const value_id sv = n.inputs[0];
        if (!g.wants_gradient(sv)) return;
        const dnnl::memory dy = g.value(static_cast<value_id>(i)).diff;
        const auto out_dims = g.act_dims(n.output);
        const std::string what = "channel slice '" + n.name + "' backward";
        const dnnl::memory diff = g.value(sv).diff;
        const md view = channel_view(diff.get_desc(), out_dims, s.begin);
        if (view.is_zero()) {
            const dnnl::memory whole = g.arena_.make(g.plain(n.input_shapes[0]));
            g.backward_.add([whole] { std::memset(whole.get_data_handle(), 0, whole.get_desc().get_size()); },
                            what + " zero");
            const dnnl::memory part =
                g.arena_.alias(whole, whole.get_desc().submemory_desc(out_dims, {0, s.begin, 0, 0}));
            g.backward_.add(dnnl::reorder(dy, part), {{DNNL_ARG_FROM, dy}, {DNNL_ARG_TO, part}}, what);
            g.contribute(sv, whole);
            return;
        }
        g.start_gradient(sv);
        const dnnl::memory part = g.arena_.alias(diff, view);
        dnnl::post_ops po;
        po.append_sum(1.0F);
        dnnl::primitive_attr attr;
        attr.set_post_ops(po);
        const dnnl::reorder::primitive_desc pd(cpu_engine(), dy.get_desc(), cpu_engine(), view, attr);
        g.backward_.add(dnnl::reorder(pd), {{DNNL_ARG_FROM, dy}, {DNNL_ARG_TO, part}}, what);
    }
};

}  // namespace stemshare::onednn::training_detail
