#pragma once
/// \file
/// Lowering of softmax (over channels) to a oneDNN softmax on the plain value.

#include <cstddef>
#include <string>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const softmax_spec&) {
    const dnnl::memory& in = cx.value(n.inputs[0]);
    const dt type = in.get_desc().data_type();
    const dnnl::memory src =
        cx.as_layout(n.inputs[0], plain_desc(in.get_desc().dims(), type), "layer '" + n.name + "'");
    const std::string key = "softmax|in" + describe(src.get_desc());
    auto cached = cx.create(key, n, [&] {
        dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(), 1);
        dnnl::softmax_forward::primitive_desc pd(d, base_attr(), cpu_engine());
        return cached_primitive{pd, dnnl::softmax_forward(pd)};
    });
    cx.set_value(i, cx.new_value(cached.pd.dst_desc(0)));
    cx.push_step(cached.primitive, cached.pd,
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}},
                 "softmax '" + n.name + "': " + cached.pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
