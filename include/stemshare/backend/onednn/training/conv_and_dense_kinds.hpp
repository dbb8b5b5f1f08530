#pragma once
/// \file
/// Training plans of the weighted kinds (`conv2d`, `dense`) for `onednn::training_graph`: oneDNN's
/// convolution and inner product in training mode and their backward-data and backward-weights
/// twins, created once at planning, buffers from the graph's arena. Split off `training_graph.hpp`
/// the way `pooling_kinds.hpp` is: `training_graph` befriends `conv_and_dense_kinds`, and the members
/// are templates on the graph's type, so they use its helpers (`value`, `in_layout`, `contribute`...).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/training/step_list.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::onednn::training_detail {

struct conv_and_dense_kinds {
    using md = dnnl::memory::desc;
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;

    // Wide convs let oneDNN pick their algorithm: direct, or Winograd F(4x4, 3x3) for 3x3 stride-1
    // convs on larger batches, where it halves the time of all three passes (ResNet-50's last stage
    // at batch 32: 512 channels at 7x7). Its results differ from direct convolution's by ~2e-6 of
    // their range; tests/train/test_gradients.cpp checks that path against finite differences.
    // Narrow ones stay direct: oneDNN 2.6 also takes Winograd for fashion_mobilenet's 1 -> 16 stem
    // conv at batch 64, where it is slower.
    static dnnl::algorithm conv_algorithm(const conv2d_spec& s, std::int64_t in_channels) {
        const bool wide = s.groups == 1 && in_channels >= 64 && s.out_channels >= 64;
        return wide ? dnnl::algorithm::convolution_auto : dnnl::algorithm::convolution_direct;
    }

    /// A conv's algorithm, strides, dilations and paddings in oneDNN's terms.
    struct conv_geometry {
        dnnl::algorithm alg;
        dnnl::memory::dims strides, dilates, pad_l, pad_r;
    };
    static conv_geometry geometry(const conv2d_spec& s, std::int64_t in_channels) {
        return {conv_algorithm(s, in_channels),
                {s.stride.h, s.stride.w},
                onednn_dilates(s.dilation),
                {s.padding.top, s.padding.left},
                {s.padding.bottom, s.padding.right}};
    }

    static dnnl::memory::dims conv_weight_dims(const conv2d_spec& s, std::int64_t in_channels) {
        return s.groups > 1 ? dnnl::memory::dims{s.groups, s.out_channels / s.groups, in_channels / s.groups,
                                                 s.kernel.h, s.kernel.w}
                            : dnnl::memory::dims{s.out_channels, in_channels, s.kernel.h, s.kernel.w};
    }

    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const conv2d_spec& s) {
        auto& L = g.layers_[i];
        const auto w_dims = conv_weight_dims(s, n.input_shapes[0].c);
        const md src_any(g.act_dims(n.input_shapes[0]), dt::f32, tag::any);
        const md w_any(w_dims, dt::f32, tag::any);
        const md dst_any(g.act_dims(n.output), dt::f32, tag::any);
        const md b_md({s.out_channels}, dt::f32, tag::x);
        const conv_geometry c = geometry(s, n.input_shapes[0].c);
        const auto d =
            s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, c.alg, src_any, w_any,
                                                     b_md, dst_any, c.strides, c.dilates, c.pad_l, c.pad_r)
                   : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, c.alg, src_any, w_any,
                                                     dst_any, c.strides, c.dilates, c.pad_l, c.pad_r);
        auto pd = std::make_shared<dnnl::convolution_forward::primitive_desc>(d, cpu_engine());
        L.fwd_pd = pd;
        L.src = g.in_layout(g.value(n.inputs[0]).mem, pd->src_desc(), true, nullptr, n.name + " src");
        L.weights_user = g.param(i, 0, md(w_dims, dt::f32, s.groups > 1 ? tag::goihw : tag::oihw));
        L.weights = g.in_layout(L.weights_user, pd->weights_desc(), true, nullptr, n.name + " weights");
        const dnnl::memory dst = g.new_value(i, pd->dst_desc());
        step_list::arg_list args{{DNNL_ARG_SRC, L.src}, {DNNL_ARG_WEIGHTS, L.weights}, {DNNL_ARG_DST, dst}};
        if (s.bias) args.emplace_back(DNNL_ARG_BIAS, g.param(i, 1, b_md));
        g.forward_both(dnnl::convolution_forward(*pd), args, "conv '" + n.name + "'");
    }

    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const dense_spec& s) {
        auto& L = g.layers_[i];
        const shape in = n.input_shapes[0];
        const dnnl::memory::dims w_dims{s.out_features, in.c, in.h, in.w};
        const md b_md({s.out_features}, dt::f32, tag::x);
        const md dst_md({g.batch_, s.out_features}, dt::f32, tag::nc);
        const md src_any(g.act_dims(in), dt::f32, tag::any);
        // Plain weights, the parameter's own layout: at training batch sizes reordering them into
        // oneDNN's blocked layout and their gradient back costs more than its faster kernel saves
        // (ResNet-50's 2048x1000 head, batch 32, one core: 2.8 ms a step against 6.8 ms).
        const md w_plain(w_dims, dt::f32, tag::oihw);
        const auto d = s.bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src_any,
                                                                  w_plain, b_md, dst_md)
                              : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src_any,
                                                                  w_plain, dst_md);
        auto pd = std::make_shared<dnnl::inner_product_forward::primitive_desc>(d, cpu_engine());
        L.fwd_pd = pd;
        L.src = g.in_layout(g.value(n.inputs[0]).mem, pd->src_desc(), true, nullptr, n.name + " src");
        L.weights_user = g.param(i, 0, w_plain);
        L.weights = L.weights_user;
        const dnnl::memory dst = g.new_value(i, g.plain(n.output));
        L.dst_2d = g.arena_.alias(dst, dst_md);
        L.diff_dst_2d = g.arena_.alias(g.value(static_cast<value_id>(i)).diff, dst_md);
        step_list::arg_list args{
            {DNNL_ARG_SRC, L.src}, {DNNL_ARG_WEIGHTS, L.weights}, {DNNL_ARG_DST, L.dst_2d}};
        if (s.bias) args.emplace_back(DNNL_ARG_BIAS, g.param(i, 1, b_md));
        g.forward_both(dnnl::inner_product_forward(*pd), args, "dense '" + n.name + "'");
    }

    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const conv2d_spec& s) {
        auto& L = g.layers_[i];
        auto& fpd = g.template fwd_pd<dnnl::convolution_forward::primitive_desc>(i);
        const dnnl::memory diff_dst = g.value(static_cast<value_id>(i)).diff;
        const auto w_dims = conv_weight_dims(s, n.input_shapes[0].c);
        const md w_any(w_dims, dt::f32, tag::any);
        const md b_md({s.out_channels}, dt::f32, tag::x);
        const conv_geometry c = geometry(s, n.input_shapes[0].c);
        const std::string what = "conv '" + n.name + "' backward";

        const auto weights_pd = [&](const md& src, const md& dst) {
            const auto wd = s.bias ? dnnl::convolution_backward_weights::desc(
                                         c.alg, src, w_any, b_md, dst, c.strides, c.dilates, c.pad_l, c.pad_r)
                                   : dnnl::convolution_backward_weights::desc(
                                         c.alg, src, w_any, dst, c.strides, c.dilates, c.pad_l, c.pad_r);
            return dnnl::convolution_backward_weights::primitive_desc(wd, cpu_engine(), fpd);
        };
        dnnl::convolution_backward_weights::primitive_desc wpd =
            weights_pd(L.src.get_desc(), diff_dst.get_desc());
        dnnl::memory w_src = L.src;
        dnnl::memory w_diff_dst = diff_dst;
        // oneDNN 2.6 has no JIT backward-weights kernel for depthwise kernels above 3x3 in the
        // channel-blocked layouts its forward picks: it falls back to the reference one, ~50x
        // slower than its nhwc kernel (32x960x7x7, 5x5: 526 ms against 10 ms on one core). Such a
        // conv's weight gradient reads nhwc copies of its input and output gradient instead.
        if (std::string_view(wpd.impl_info_str()).starts_with("ref")) {
            const md src_nhwc(g.act_dims(n.input_shapes[0]), dt::f32, tag::nhwc);
            const md dst_nhwc(g.act_dims(n.output), dt::f32, tag::nhwc);
            const auto nhwc_pd = weights_pd(src_nhwc, dst_nhwc);
            if (!std::string_view(nhwc_pd.impl_info_str()).starts_with("ref")) {
                wpd = nhwc_pd;
                w_src = g.in_layout(L.src, src_nhwc, false, &g.backward_, what + " src nhwc");
                w_diff_dst =
                    g.in_layout(diff_dst, dst_nhwc, false, &g.backward_, what + " output gradient nhwc");
            }
        }
        const dnnl::memory dw_user = g.gradient(i, 0, L.weights_user.get_desc());
        const dnnl::memory dw =
            wpd.diff_weights_desc() == dw_user.get_desc() ? dw_user : g.arena_.make(wpd.diff_weights_desc());
        step_list::arg_list wargs{
            {DNNL_ARG_SRC, w_src}, {DNNL_ARG_DIFF_DST, w_diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
        if (s.bias) wargs.emplace_back(DNNL_ARG_DIFF_BIAS, g.gradient(i, 1, b_md));
        g.backward_.add(dnnl::convolution_backward_weights(wpd), wargs, what + " weights");
        if (dw.get() != dw_user.get()) g.reorder_weights(g.backward_, dw, dw_user, what + " weights reorder");

        const value_id sv = n.inputs[0];
        if (!g.wants_gradient(sv)) return;
        const md src_any(g.act_dims(n.input_shapes[0]), dt::f32, tag::any);
        const dnnl::convolution_backward_data::primitive_desc dpd(
            dnnl::convolution_backward_data::desc(c.alg, src_any, w_any, diff_dst.get_desc(), c.strides,
                                                  c.dilates, c.pad_l, c.pad_r),
            cpu_engine(), fpd);
        const dnnl::memory w =
            dpd.weights_desc() == L.weights.get_desc()
                ? L.weights
                : g.in_layout(L.weights_user, dpd.weights_desc(), false, &g.backward_, what + " weights");
        const dnnl::memory dx = g.diff_target(sv, dpd.diff_src_desc());
        g.backward_.add(dnnl::convolution_backward_data(dpd),
                        {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}},
                        what + " data");
        g.contribute(sv, dx);
    }

    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const dense_spec& s) {
        auto& L = g.layers_[i];
        auto& fpd = g.template fwd_pd<dnnl::inner_product_forward::primitive_desc>(i);
        const shape in = n.input_shapes[0];
        const md w_plain({s.out_features, in.c, in.h, in.w}, dt::f32, tag::oihw);
        const md b_md({s.out_features}, dt::f32, tag::x);
        const md dy_md = L.diff_dst_2d.get_desc();
        const std::string what = "dense '" + n.name + "' backward";
        const auto wd =
            s.bias ? dnnl::inner_product_backward_weights::desc(L.src.get_desc(), w_plain, b_md, dy_md)
                   : dnnl::inner_product_backward_weights::desc(L.src.get_desc(), w_plain, dy_md);
        const dnnl::inner_product_backward_weights::primitive_desc wpd(wd, cpu_engine(), fpd);
        // The weights are plain in all three passes: the gradient is written in place, and the
        // backward-data pass reads the parameter itself.
        step_list::arg_list wargs{{DNNL_ARG_SRC, L.src},
                                  {DNNL_ARG_DIFF_DST, L.diff_dst_2d},
                                  {DNNL_ARG_DIFF_WEIGHTS, g.gradient(i, 0, w_plain)}};
        if (s.bias) wargs.emplace_back(DNNL_ARG_DIFF_BIAS, g.gradient(i, 1, b_md));
        g.backward_.add(dnnl::inner_product_backward_weights(wpd), wargs, what + " weights");

        const value_id sv = n.inputs[0];
        if (!g.wants_gradient(sv)) return;
        const dnnl::inner_product_backward_data::primitive_desc dpd(
            dnnl::inner_product_backward_data::desc(md(g.act_dims(in), dt::f32, tag::any), w_plain, dy_md),
            cpu_engine(), fpd);
        const dnnl::memory dx = g.diff_target(sv, dpd.diff_src_desc());
        g.backward_.add(
            dnnl::inner_product_backward_data(dpd),
            {{DNNL_ARG_DIFF_DST, L.diff_dst_2d}, {DNNL_ARG_WEIGHTS, L.weights_user}, {DNNL_ARG_DIFF_SRC, dx}},
            what + " data");
        g.contribute(sv, dx);
    }
};

}  // namespace stemshare::onednn::training_detail
