#pragma once
/// \file
/// Training plans of the pooling kinds (`pool2d`, `global_avg_pool`) for `onednn::training_graph`:
/// oneDNN's pooling in training mode (max keeps its workspace) and its backward twin, created once
/// at planning, buffers from the graph's arena. Split off `training_graph.hpp` the way
/// `gate_and_channel_kinds.hpp` is: `training_graph` befriends `pooling_kinds`, and the members are
/// templates on the graph's type, so they use its helpers (`value`, `new_value`, `contribute`...).

#include <cstddef>
#include <memory>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/training/step_list.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/graph/graph.hpp>

namespace stemshare::onednn::training_detail {

struct pooling_kinds {
    using md = dnnl::memory::desc;
    using dims = dnnl::memory::dims;

    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const pool2d_spec& s) {
        // The forward and backward passes here are oneDNN's plain pooling, which has no dilation;
        // dilated max pooling runs at inference only.
        if (s.dilation != extent2{1})
            throw error("onednn::training_graph", "layer '" + n.name + "' " + describe(n.spec) +
                                                      ": dilated pooling is not supported in training");
        const auto alg = s.kind == pool_kind::max ? dnnl::algorithm::pooling_max
                         : s.count_include_pad    ? dnnl::algorithm::pooling_avg_include_padding
                                                  : dnnl::algorithm::pooling_avg_exclude_padding;
        plan(g, i, n, alg, {s.kernel.h, s.kernel.w}, {s.stride.h, s.stride.w},
             {s.padding.top, s.padding.left}, {s.padding.bottom, s.padding.right});
    }

    template <class Graph>
    static void plan_forward(Graph& g, std::size_t i, const node& n, const global_avg_pool_spec&) {
        const shape in = n.input_shapes[0];
        plan(g, i, n, dnnl::algorithm::pooling_avg_exclude_padding, {in.h, in.w}, {1, 1}, {0, 0}, {0, 0});
    }

    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const pool2d_spec& s) {
        plan_backward(g, i, n, {s.kernel.h, s.kernel.w}, {s.stride.h, s.stride.w},
                      {s.padding.top, s.padding.left}, {s.padding.bottom, s.padding.right});
    }

    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const global_avg_pool_spec&) {
        const shape in = n.input_shapes[0];
        plan_backward(g, i, n, {in.h, in.w}, {1, 1}, {0, 0}, {0, 0});
    }

private:
    template <class Graph>
    static void plan(Graph& g, std::size_t i, const node& n, dnnl::algorithm alg, const dims& kernel,
                     const dims& strides, const dims& pad_l, const dims& pad_r) {
        auto& L = g.layers_[i];
        L.algorithm = alg;
        L.src = g.value(n.inputs[0]).mem;
        const md dst_any(g.act_dims(n.output), dnnl::memory::data_type::f32, dnnl::memory::format_tag::any);
        auto pd = std::make_shared<dnnl::pooling_forward::primitive_desc>(
            dnnl::pooling_forward::desc(dnnl::prop_kind::forward_training, alg, L.src.get_desc(), dst_any,
                                        strides, kernel, pad_l, pad_r),
            cpu_engine());
        L.fwd_pd = pd;
        const dnnl::memory dst = g.new_value(i, pd->dst_desc());
        step_list::arg_list args{{DNNL_ARG_SRC, L.src}, {DNNL_ARG_DST, dst}};
        const md ws = pd->workspace_desc();
        if (ws.get_size() != 0) {
            L.workspace = g.arena_.make(ws);
            args.emplace_back(DNNL_ARG_WORKSPACE, L.workspace);
        }
        g.forward_both(dnnl::pooling_forward(*pd), args, "pooling '" + n.name + "'");
    }

    template <class Graph>
    static void plan_backward(Graph& g, std::size_t i, const node& n, const dims& kernel, const dims& strides,
                              const dims& pad_l, const dims& pad_r) {
        const value_id sv = n.inputs[0];
        if (!g.wants_gradient(sv)) return;
        auto& L = g.layers_[i];
        auto& fpd = g.template fwd_pd<dnnl::pooling_forward::primitive_desc>(i);
        const dnnl::memory diff_dst = g.value(static_cast<value_id>(i)).diff;
        const dnnl::pooling_backward::primitive_desc pd(
            dnnl::pooling_backward::desc(L.algorithm, L.src.get_desc(), diff_dst.get_desc(), strides, kernel,
                                         pad_l, pad_r),
            cpu_engine(), fpd);
        const dnnl::memory dx = g.diff_target(sv, pd.diff_src_desc());
        step_list::arg_list args{{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, dx}};
        if (L.workspace) args.emplace_back(DNNL_ARG_WORKSPACE, L.workspace);
        g.backward_.add(dnnl::pooling_backward(pd), args, "pooling '" + n.name + "' backward");
        g.contribute(sv, dx);
    }
};

}  // namespace stemshare::onednn::training_detail
