#pragma once
/// \file
/// Lowering of a channel shuffle to oneDNN's shuffle primitive on the input's own layout.
/// oneDNN's `group_size` is the other side of the transpose: it sees the channels as a
/// (C / G) x G matrix, so PyTorch's `groups` g is oneDNN's G = C / g. A shuffle that moves nothing
/// (one group, or one channel per group) is its input.

#include <cstddef>
#include <string>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const channel_shuffle_spec& s) {
    const dnnl::memory src = cx.in_precision(n.inputs[0], "layer '" + n.name + "'");
    const std::int64_t channels = n.output.c;
    if (s.groups == 1 || s.groups == channels) {
        cx.set_value(i, src);
        return;
    }
    const auto md = src.get_desc();
    const auto group_size = static_cast<int>(channels / s.groups);
    const std::string key = "shuffle|" + describe(md) + "|G" + std::to_string(group_size);
    auto cached = cx.create(key, n, [&] {
        dnnl::shuffle_forward::desc d(dnnl::prop_kind::forward_inference, md, 1, group_size);
        dnnl::shuffle_forward::primitive_desc pd(d, cpu_engine(), base_attr());
        return cached_primitive{pd, dnnl::shuffle_forward(pd)};
    });
    cx.set_value(i, cx.output_value(i, cached.pd.dst_desc(0)));
    cx.push_step(cached.primitive, cached.pd,
                 {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}},
                 "channel shuffle '" + n.name + "': " + cached.pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
