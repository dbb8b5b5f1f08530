#pragma once
/// \file
/// Lowering of a channel slice. Where the input's channels lie in one contiguous range of bytes
/// (batch 1, plain nchw, or channels blocked outermost with the slice a whole number of blocks:
/// concat_in_place::channel_block), the slice is a view of the input's bytes and costs nothing.
/// Otherwise (nhwc, which oneDNN picks on AVX-512; a slice that cuts a channel block; batch > 1)
/// it is one reorder from a sub-memory view of the input into a dense buffer of the same layout,
/// written straight into its range of a concat when the concat was planned in place.

#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include <stemshare/backend/onednn/concat_in_place.hpp>
#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

/// The layout of `md` (plain nchw, nhwc or channels blocked by 8 / 16) for other dims `to`; plain
/// nchw when `md` is none of those.
inline dnnl::memory::desc same_layout(const dnnl::memory::desc& md, const dnnl::memory::dims& to) {
    for (const tag t : std::array{tag::nchw, tag::nhwc, tag::aBcd8b, tag::aBcd16b})
        if (md == dnnl::memory::desc(md.dims(), md.data_type(), t)) return {to, md.data_type(), t};
    return plain_desc(to, md.data_type());
}

/// The graph input as a value of the arena (copied there once), so that views of it can be made.
inline dnnl::memory arena_value(lowering& cx, value_id v, const std::string& who) {
    dnnl::memory m = cx.in_precision(v, who);
    if (cx.in_arena(m)) return m;
    dnnl::memory copy = cx.new_value(m.get_desc());
    cx.add_reorder(m, copy, "copy of the input for " + who);
    if (v == graph_input) cx.set_input(copy);
    return copy;
}

inline void lower(lowering& cx, std::size_t i, const node& n, const channel_slice_spec& s) {
    const std::string who = "layer '" + n.name + "'";
    const dnnl::memory src = arena_value(cx, n.inputs[0], who);
    const auto md = src.get_desc();
    const shape in = cx.source().shape_of(n.inputs[0]);
    const auto out_dims = cx.act_dims(n.output);
    if (const auto block = concat_in_place::channel_block(md);
        block && s.begin % *block == 0 && s.count % *block == 0) {
        const std::size_t offset =
            static_cast<std::size_t>(s.begin * in.h * in.w) * dnnl::memory::data_type_size(md.data_type());
        cx.set_value(i, cx.alias_value(
                            src, concat_in_place::channel_blocked(*block, out_dims, md.data_type()), offset));
        return;
    }
    const dnnl::memory::dims offsets{0, s.begin, 0, 0};
    dnnl::memory whole = src;
    dnnl::memory::desc view;
    try {
        view = md.submemory_desc(out_dims, offsets);
    } catch (const dnnl::error&) {
        // A blocked layout whose blocks the slice cuts: slice a plain copy instead.
        whole = cx.as_layout(n.inputs[0], plain_desc(md.dims(), md.data_type()), who);
        view = whole.get_desc().submemory_desc(out_dims, offsets);
    }
    cx.set_value(i, cx.output_value(i, same_layout(whole.get_desc(), out_dims)));
    cx.add_reorder(cx.alias_value(whole, view), cx.value(static_cast<value_id>(i)),
                   "channel slice '" + n.name + "' [" + std::to_string(s.begin) + ", " +
                       std::to_string(s.begin + s.count) + ")");
}

}  // namespace stemshare::onednn::detail
