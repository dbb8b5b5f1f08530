#pragma once
/// \file
/// Lowering of pool2d (max, dilated max, average with or without the padding counted) and global
/// average pooling to one oneDNN pooling each.

#include <cstddef>
#include <string>
#include <utility>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

/// A pooling of node `n` with oneDNN's `alg` and window. `dilation` counts the pixels skipped
/// between taps (oneDNN's convention: 0 is dense); a dilated window needs oneDNN's pooling_v2, a
/// dense one keeps the plain pooling primitive it always had.
inline void add_pooling(lowering& cx, std::size_t i, const node& n, dnnl::algorithm alg,
                        const dnnl::memory::dims& kernel, const dnnl::memory::dims& strides,
                        const dnnl::memory::dims& pad_l, const dnnl::memory::dims& pad_r,
                        const dnnl::memory::dims& dilation = {0, 0}) {
    const dnnl::memory src = cx.in_precision(n.inputs[0], "layer '" + n.name + "'");
    const std::string key = "pool|" + describe(n.spec) + "|in" + describe(src.get_desc()) + "|k" +
                            std::to_string(kernel[0]) + "x" + std::to_string(kernel[1]);
    auto cached = cx.create(key, n, [&] {
        const dnnl::memory::desc dst_md(cx.act_dims(n.output), cx.activation_type(), tag::any);
        if (dilation[0] != 0 || dilation[1] != 0) {
            dnnl::pooling_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), dst_md,
                                             strides, kernel, dilation, pad_l, pad_r);
            dnnl::pooling_v2_forward::primitive_desc pd(d, base_attr(), cpu_engine());
            return cached_primitive{pd, dnnl::pooling_v2_forward(pd)};
        }
        dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, alg, src.get_desc(), dst_md,
                                      strides, kernel, pad_l, pad_r);
        dnnl::pooling_forward::primitive_desc pd(d, base_attr(), cpu_engine());
        return cached_primitive{pd, dnnl::pooling_forward(pd)};
    });
    cx.set_value(i, cx.output_value(i, cached.pd.dst_desc(0)));
    arg_list args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}};
    const auto ws = cached.pd.query_md(dnnl::query::workspace_md);
    if (ws.get_size() != 0) args.emplace_back(DNNL_ARG_WORKSPACE, cx.new_value(ws));
    cx.push_step(cached.primitive, cached.pd, std::move(args),
                 "pool '" + n.name + "': " + cached.pd.impl_info_str());
}

inline void lower(lowering& cx, std::size_t i, const node& n, const pool2d_spec& s) {
    const auto alg = s.kind == pool_kind::max ? dnnl::algorithm::pooling_max
                     : s.count_include_pad    ? dnnl::algorithm::pooling_avg_include_padding
                                              : dnnl::algorithm::pooling_avg_exclude_padding;
    add_pooling(cx, i, n, alg, {s.kernel.h, s.kernel.w}, {s.stride.h, s.stride.w},
                {s.padding.top, s.padding.left}, {s.padding.bottom, s.padding.right},
                {s.dilation.h - 1, s.dilation.w - 1});
}

inline void lower(lowering& cx, std::size_t i, const node& n, const global_avg_pool_spec&) {
    const shape in = n.input_shapes[0];
    add_pooling(cx, i, n, dnnl::algorithm::pooling_avg_exclude_padding, {in.h, in.w}, {1, 1}, {0, 0}, {0, 0});
}

}  // namespace stemshare::onednn::detail
