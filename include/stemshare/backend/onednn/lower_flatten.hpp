#pragma once
/// \file
/// Lowering of flatten: a copy to plain NCHW (PyTorch's flatten order), viewed as {N, C*H*W}.

#include <cstddef>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const flatten_spec&) {
    const dnnl::memory src = cx.value(n.inputs[0]);
    const dt type = src.get_desc().data_type();
    dnnl::memory plain = cx.new_value(plain_desc(src.get_desc().dims(), type));
    cx.add_reorder(src, plain, "flatten '" + n.name + "'");
    cx.set_value(i, cx.alias_value(plain, plain_desc({cx.batch(), n.output.c}, type)));
}

}  // namespace stemshare::onednn::detail
