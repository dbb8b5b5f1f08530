#pragma once
/// \file
/// Lowering of conv2d (grouped and depthwise too) to one oneDNN convolution, with whatever follows
/// it fused as post-ops (fusion.hpp): an activation, a residual add [+ activation], or a 3x3
/// stride-2 depthwise conv [+ activation] after a 1x1 conv. `fused_depthwise_implementation` asks
/// oneDNN, without compiling a graph, which kernel it has for such a pair.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <stemshare/backend/onednn/engine.hpp>
#include <stemshare/backend/onednn/fusion.hpp>
#include <stemshare/backend/onednn/lowering.hpp>
#include <stemshare/backend/onednn/threading.hpp>
#include <stemshare/core/shape.hpp>

namespace stemshare::onednn::detail {

/// The weight dims of conv `s` on `in_channels` channels: {O, I, KH, KW}, or {G, O/G, I/G, KH, KW}
/// when grouped.
inline dnnl::memory::dims conv_weight_dims(const conv2d_spec& s, std::int64_t in_channels) {
    return s.groups > 1 ? dnnl::memory::dims{s.groups, s.out_channels / s.groups, in_channels / s.groups,
                                             s.kernel.h, s.kernel.w}
                        : dnnl::memory::dims{s.out_channels, in_channels, s.kernel.h, s.kernel.w};
}

/// oneDNN's description of conv `s` from `src_dims` to `dst_dims` (activations in `act_dt`, the
/// result in `dst_type`), every layout left to oneDNN.
inline dnnl::convolution_forward::desc conv_desc(const conv2d_spec& s, const dnnl::memory::dims& src_dims,
                                                 const dnnl::memory::dims& dst_dims, dt act_dt, dt dst_type) {
    const dnnl::memory::desc src_md(src_dims, act_dt, tag::any);
    const dnnl::memory::desc w_md(conv_weight_dims(s, src_dims[1]), act_dt, tag::any);
    const dnnl::memory::desc dst_md(dst_dims, dst_type, tag::any);
    const dnnl::memory::desc b_md({s.out_channels}, dt::f32, tag::x);
    const dnnl::memory::dims strides{s.stride.h, s.stride.w};
    const dnnl::memory::dims pad_l{s.padding.top, s.padding.left};
    const dnnl::memory::dims pad_r{s.padding.bottom, s.padding.right};
    return s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, src_md, w_md, b_md,
                                                    dst_md, strides, pad_l, pad_r)
                  : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                    dnnl::algorithm::convolution_direct, src_md, w_md, dst_md,
                                                    strides, pad_l, pad_r);
}

inline void lower(lowering& cx, std::size_t i, const node& n, const conv2d_spec& s) {
    const value_id src_v = n.inputs[0];
    const dnnl::memory::dims src_dims = cx.act_dims(n.input_shapes[0]);
    const dnnl::memory::dims dst_dims = cx.act_dims(n.output);
    const dnnl::memory::dims w_dims = conv_weight_dims(s, n.input_shapes[0].c);

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
    if (fused.act_node) append_activation(cx.node_at(*fused.act_node).spec, po, key);
    attr.set_post_ops(po);
    const auto make = [&](const dnnl::primitive_attr& with) {
        dnnl::convolution_forward::primitive_desc pd(conv_desc(s, src_dims, dst_dims, act_dt, dst_type), with,
                                                     cpu_engine());
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
                              : cx.zero_weights(md(DNNL_ARG_BIAS)));
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

namespace stemshare::onednn {

/// The implementation oneDNN has for a 1x1 conv with bias from `in` to `channels` channels that
/// computes the 3x3, stride-2, padding-1 depthwise conv after it too (its `dw_k3s2p1` post-op),
/// each conv followed by `activation` if given, f32, `batch` images on `threads` threads (0 = all
/// cores; this sets the thread count, as compiling does): e.g. "jit_1x1:avx2", a reference
/// "ref..." one, or "" where oneDNN refuses the pair. A compiled graph fuses such a pair unless
/// this is a reference kernel.
[[nodiscard]] inline std::string fused_depthwise_implementation(
    shape in, std::int64_t channels, std::optional<activation_kind> activation = {}, std::int64_t batch = 1,
    int threads = 0) {
    use_threads(resolve_threads(threads));
    dnnl::post_ops po;
    std::string key;  // unused: the probe is not cached
    const layer_spec act = activation_spec{activation.value_or(activation_kind::relu)};
    if (activation) detail::append_activation(act, po, key);
    po.append_dw_k3s2p1(detail::dt::f32, detail::dt::f32, detail::dt::f32, 0, {});
    if (activation) detail::append_activation(act, po, key);
    dnnl::primitive_attr attr = base_attr();
    attr.set_post_ops(po);
    const conv2d_spec expand{.out_channels = channels};
    try {
        const dnnl::convolution_forward::primitive_desc pd(
            detail::conv_desc(expand, {batch, in.c, in.h, in.w}, {batch, channels, in.h, in.w},
                              detail::dt::f32, detail::dt::f32),
            attr, cpu_engine());
        return pd.impl_info_str();
    } catch (const dnnl::error&) {
        return {};
    }
}

}  // namespace stemshare::onednn
