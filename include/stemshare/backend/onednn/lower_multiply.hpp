#pragma once
/// \file
/// Lowering of an element-wise multiply to one oneDNN binary mul: the first input in the layout
/// it has, the second in that layout too (same shape) or, as {N, c, 1, 1}, which oneDNN
/// broadcasts over height and width (a squeeze-and-excitation gate), in the layout the conv before
/// it wrote. Forcing that gate to plain nchw cost a reorder per gate wherever convs write blocked
/// layouts (AVX2: nChw8c), and oneDNN 2.6 then ran the mul on its reference kernel; in the
/// conv's own layout it takes the jit kernel and no reorder (the zoo's compiled-model tests).

#include <cstddef>
#include <string>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const multiply_spec&) {
    const std::string who = "layer '" + n.name + "'";
    const dnnl::memory first = cx.in_precision(n.inputs[0], who);
    const auto md = first.get_desc();
    const shape second_shape = cx.source().shape_of(n.inputs[1]);
    const bool per_channel = second_shape != cx.source().shape_of(n.inputs[0]);
    const dnnl::memory second =
        per_channel ? cx.in_precision(n.inputs[1], who) : cx.as_layout(n.inputs[1], md, who);
    // In place over the first input where nothing reads it later (the squeeze-and-excitation
    // scale: the pooling that made the gate read it before): the product lands in bytes that are
    // in cache already, and the arena needs no buffer for it.
    if (md == cx.value(n.inputs[0]).get_desc() && cx.overwritable(n.inputs[0], i, i))
        cx.set_value(i, first);
    else
        cx.set_value(i, cx.output_value(i, md));
    const std::string key = "multiply|in" + describe(md) + "|by" + describe(second.get_desc());
    auto cached = cx.create(key, n, [&] {
        dnnl::binary::desc d(dnnl::algorithm::binary_mul, md, second.get_desc(), md);
        dnnl::binary::primitive_desc pd(d, base_attr(), cpu_engine());
        return cached_primitive{pd, dnnl::binary(pd)};
    });
    cx.push_step(cached.primitive, cached.pd,
                 {{DNNL_ARG_SRC_0, first},
                  {DNNL_ARG_SRC_1, second},
                  {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}},
                 "multiply '" + n.name + "': " + cached.pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
