#pragma once
/// \file
/// Lowering of an activation that could not be fused into the layer before it to a oneDNN eltwise.

#include <cstddef>
#include <string>
#include <vector>

#include <stemshare/backend/onednn/fusion.hpp>
#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const activation_spec& s) {
    const dnnl::memory src = cx.in_precision(n.inputs[0], "layer '" + n.name + "'");
    const std::string key = "eltwise|" + describe(n.spec) + "|in" + describe(src.get_desc());
    auto cached = cx.create(key, n, [&] {
        float alpha = 0;
        float beta = 0;
        const auto alg = eltwise_algorithm(s.kind, alpha, beta);
        dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), alpha, beta);
        dnnl::eltwise_forward::primitive_desc pd(d, base_attr(), cpu_engine());
        return cached_primitive{pd, dnnl::eltwise_forward(pd)};
    });
    cx.set_value(i, cx.output_value(i, cached.pd.dst_desc(0)));
    cx.push_step(cached.primitive, cached.pd,
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}},
                 "activation '" + n.name + "': " + cached.pd.impl_info_str());
}

/// A gate activation not fused into the layer before it: one eltwise per operation, the first
/// from the input, the others in place on the output.
inline void lower(lowering& cx, std::size_t i, const node& n, const gate_activation_spec& s) {
    const dnnl::memory src = cx.in_precision(n.inputs[0], "layer '" + n.name + "'");
    const std::vector<eltwise_op> ops = gate_eltwise_ops(s);
    for (std::size_t k = 0; k < ops.size(); ++k) {
        const dnnl::memory from = k == 0 ? src : cx.value(static_cast<value_id>(i));
        const std::string key = "eltwise|" + describe(n.spec) + "|op" + std::to_string(k) + "|in" +
                                describe(from.get_desc());
        auto cached = cx.create(key, n, [&] {
            dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, ops[k].algorithm, from.get_desc(),
                                          ops[k].alpha, ops[k].beta);
            dnnl::eltwise_forward::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::eltwise_forward(pd)};
        });
        if (k == 0) cx.set_value(i, cx.output_value(i, cached.pd.dst_desc(0)));
        cx.push_step(cached.primitive, cached.pd,
                     {{DNNL_ARG_SRC, from}, {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}},
                     "gate activation '" + n.name + "': " + cached.pd.impl_info_str());
    }
}

}  // namespace stemshare::onednn::detail
