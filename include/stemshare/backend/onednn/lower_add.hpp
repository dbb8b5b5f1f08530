#pragma once
/// \file
/// Lowering of an element-wise add that could not be fused into a convolution to oneDNN binary
/// adds: dst = in0 + in1, then dst += in_k in place for any further input.

#include <cstddef>
#include <string>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const add_spec&) {
    const dnnl::memory first = cx.in_precision(n.inputs[0], "layer '" + n.name + "'");
    const auto md = first.get_desc();
    cx.set_value(i, cx.output_value(i, md));
    const dnnl::memory dst = cx.value(static_cast<value_id>(i));
    const std::string key = "add|in" + describe(md);
    auto cached = cx.create(key, n, [&] {
        dnnl::binary::desc d(dnnl::algorithm::binary_add, md, md, md);
        dnnl::binary::primitive_desc pd(d, base_attr(), cpu_engine());
        return cached_primitive{pd, dnnl::binary(pd)};
    });
    for (std::size_t k = 1; k < n.inputs.size(); ++k) {
        const dnnl::memory addend = cx.as_layout(n.inputs[k], md, "layer '" + n.name + "'");
        cx.push_step(cached.primitive, cached.pd,
                     {{DNNL_ARG_SRC_0, k == 1 ? first : dst}, {DNNL_ARG_SRC_1, addend}, {DNNL_ARG_DST, dst}},
                     "add '" + n.name + "': " + cached.pd.impl_info_str());
    }
}

}  // namespace stemshare::onednn::detail
