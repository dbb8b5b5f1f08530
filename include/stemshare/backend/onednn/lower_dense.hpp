#pragma once
/// \file
/// Lowering of dense to one oneDNN inner product (reading any input in NCHW order, so `flatten`
/// before it is optional), with a following activation fused as a post-op.

#include <cstddef>
#include <string>
#include <utility>

#include <stemshare/backend/onednn/fusion.hpp>
#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const dense_spec& s) {
    const dnnl::memory src = cx.value(n.inputs[0]);
    const dnnl::memory::desc src_md = src.get_desc();
    const auto src_dims = src_md.dims();
    dnnl::memory::dims w_dims = src_dims;
    w_dims[0] = s.out_features;  // {O, C, H, W} or {O, K}: plain OIHW is O x (C*H*W)
    const auto act_node = match_dense_activation(cx, i);
    const dt dst_type = cx.output_type(act_node ? *act_node : i);
    const dt act_dt = cx.activation_type();
    dnnl::primitive_attr attr = base_attr();
    std::string key = "dense|" + describe(n.spec) + "|in" + describe(src_md) + "|out" +
                      std::to_string(static_cast<int>(dst_type));
    if (act_node) {
        dnnl::post_ops po;
        append_activation(cx.node_at(*act_node).spec, po, key);
        attr.set_post_ops(po);
    }
    // A dense layer's source may be f32 (the graph input) in bf16 mode: read it as bf16.
    const bool convert_src = src_md.data_type() != act_dt;
    const dnnl::memory::desc want_src = convert_src ? dnnl::memory::desc(src_dims, act_dt, tag::any) : src_md;
    auto cached = cx.create(key, n, [&] {
        const dnnl::memory::desc w_md(w_dims, act_dt, tag::any);
        const dnnl::memory::desc b_md({s.out_features}, dt::f32, tag::x);
        const dnnl::memory::desc dst_md({cx.batch(), s.out_features}, dst_type, tag::nc);
        auto d = s.bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, want_src,
                                                            w_md, b_md, dst_md)
                        : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_inference, want_src,
                                                            w_md, dst_md);
        dnnl::inner_product_forward::primitive_desc pd(d, attr, cpu_engine());
        return cached_primitive{pd, dnnl::inner_product_forward(pd)};
    });
    const auto& pd = cached.pd;
    arg_list args;
    args.emplace_back(DNNL_ARG_SRC, cx.as_layout(n.inputs[0], pd.src_desc(0), "layer '" + n.name + "'"));
    args.emplace_back(DNNL_ARG_WEIGHTS, cx.load_weights(n.params[0], w_dims, pd.weights_desc(0)));
    if (s.bias)
        args.emplace_back(DNNL_ARG_BIAS, cx.load_weights(n.params[1], {s.out_features}, pd.weights_desc(1)));
    cx.set_value(i, cx.new_value(pd.dst_desc(0)));
    args.emplace_back(DNNL_ARG_DST, cx.value(static_cast<value_id>(i)));
    std::string what = "dense '" + n.name + "'";
    if (act_node) {
        cx.absorb(i, *act_node);
        what += " + " + describe(cx.node_at(*act_node).spec);
    }
    cx.push_step(cached.primitive, pd, std::move(args), what + ": " + pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
