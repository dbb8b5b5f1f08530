#pragma once
/// \file
/// Lowering of conv2d (grouped and depthwise too) to one oneDNN convolution, with whatever follows
/// it fused as post-ops (fusion.hpp): an activation, a residual add [+ activation], or a 3x3
/// stride-2 depthwise conv [+ activation] after a 1x1 conv.

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <stemshare/backend/onednn/fusion.hpp>
#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const conv2d_spec& s) {
    const value_id src_v = n.inputs[0];
    const dnnl::memory::dims src_dims = cx.act_dims(n.input_shapes[0]);
    const dnnl::memory::dims dst_dims = cx.act_dims(n.output);
    const bool grouped = s.groups > 1;
    const dnnl::memory::dims w_dims =
        grouped ? dnnl::memory::dims{s.groups, s.out_channels / s.groups, n.input_shapes[0].c / s.groups,
                                     s.kernel.h, s.kernel.w}
                : dnnl::memory::dims{s.out_channels, n.input_shapes[0].c, s.kernel.h, s.kernel.w};

    const conv_post_ops fused = match_conv_post_ops(cx, i);
    const std::size_t last_fused = fused.last(i);
    const dt dst_type = cx.output_type(last_fused);
    const dt act_dt = cx.activation_type();
    dnnl::primitive_attr attr = base_attr();
    dnnl::post_ops po;
    std::string key = "conv|" + describe(n.spec) + "|in" + describe(plain_desc(src_dims)) + "|out" +
                      std::to_string(static_cast<int>(dst_type));
    dnnl::memory other_mem;
    if (fused.add_node) {
        other_mem = cx.value(fused.other);
        po.append_binary(dnnl::algorithm::binary_add, other_mem.get_desc());
        key += "|add" + describe(other_mem.get_desc());
    }
    if (fused.act_node) append_activation(cx.node_at(*fused.act_node), po, key);
    attr.set_post_ops(po);
    const auto make = [&](const dnnl::primitive_attr& with) {
        const dnnl::memory::desc src_md(src_dims, act_dt, tag::any);
        const dnnl::memory::desc w_md(w_dims, act_dt, tag::any);
        const dnnl::memory::desc dst_md(dst_dims, dst_type, tag::any);
        const dnnl::memory::desc b_md({s.out_channels}, dt::f32, tag::x);
        const dnnl::memory::dims strides{s.stride.h, s.stride.w};
        const dnnl::memory::dims pad_l{s.padding.top, s.padding.left};
        const dnnl::memory::dims pad_r{s.padding.bottom, s.padding.right};
        auto d = s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                          dnnl::algorithm::convolution_direct, src_md, w_md,
                                                          b_md, dst_md, strides, pad_l, pad_r)
                        : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                          dnnl::algorithm::convolution_direct, src_md, w_md,
                                                          dst_md, strides, pad_l, pad_r);
        dnnl::convolution_forward::primitive_desc pd(d, with, cpu_engine());
        return cached_primitive{pd, dnnl::convolution_forward(pd)};
    };
    const std::optional<depthwise_fusion> dw =
        fused.add_node ? std::nullopt : fused_depthwise(cx, n, s, last_fused, po, key, make);
    const cached_primitive cached = dw ? dw->primitive : cx.create(key, n, [&] { return make(attr); });
    const auto& pd = cached.pd;
    arg_list args;
    args.emplace_back(DNNL_ARG_SRC, cx.as_layout(src_v, pd.src_desc(0), "layer '" + n.name + "'"));
    args.emplace_back(DNNL_ARG_WEIGHTS, cx.load_weights(n.params[0], w_dims, pd.weights_desc(0)));
    if (s.bias)
        args.emplace_back(DNNL_ARG_BIAS, cx.load_weights(n.params[1], {s.out_channels}, pd.weights_desc(1)));
    if (dw) {
        const node& d = cx.node_at(dw->conv);
        const auto md = [&](int arg) {
            return pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | arg);
        };
        args.emplace_back(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS,
                          cx.load_weights(d.params[0], {s.out_channels, 1, 1, 3, 3}, md(DNNL_ARG_WEIGHTS)));
        args.emplace_back(DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS,
                          std::get<conv2d_spec>(d.spec).bias
                              ? cx.load_weights(d.params[1], {s.out_channels}, md(DNNL_ARG_BIAS))
                              : lowering::zero_weights(md(DNNL_ARG_BIAS)));
    }
    cx.set_value(i, cx.output_value(dw ? dw->last : last_fused, pd.dst_desc(0)));
    args.emplace_back(DNNL_ARG_DST, cx.value(static_cast<value_id>(i)));
    std::string what = "conv '" + n.name + "'";
    if (fused.add_node) {
        args.emplace_back(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, other_mem);
        cx.absorb(i, *fused.add_node);
        what += " + add";
    }
    if (fused.act_node) {
        cx.absorb(i, *fused.act_node);
        what += " + " + describe(cx.node_at(*fused.act_node).spec);
    }
    if (dw) {
        cx.absorb(i, dw->conv);
        what += " + depthwise '" + cx.node_at(dw->conv).name + "'";
        if (dw->last != dw->conv) {
            cx.absorb(i, dw->last);
            what += " + " + describe(cx.node_at(dw->last).spec);
        }
    }
    cx.push_step(cached.primitive, pd, std::move(args), what + ": " + pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
