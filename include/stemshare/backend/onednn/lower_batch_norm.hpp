#pragma once
/// \file
/// Lowering of a batch-norm that could not be folded into a convolution (one that follows a
/// pooling, say) to a oneDNN batch normalization with the running statistics.

#include <cstddef>
#include <string>
#include <utility>

#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const batch_norm_spec& s) {
    const dnnl::memory src = cx.in_precision(n.inputs[0], "layer '" + n.name + "'");
    const auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale |
                       dnnl::normalization_flags::use_shift;
    const std::string key = "bn|" + describe(n.spec) + "|in" + describe(src.get_desc());
    auto cached = cx.create(key, n, [&] {
        dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(),
                                                  s.epsilon, flags);
        dnnl::batch_normalization_forward::primitive_desc pd(d, base_attr(), cpu_engine());
        return cached_primitive{pd, dnnl::batch_normalization_forward(pd)};
    });
    const dnnl::memory::dims c{n.input_shapes[0].c};
    const auto vec = plain_desc(c);
    cx.set_value(i, cx.output_value(i, cached.pd.dst_desc(0)));
    arg_list args{{DNNL_ARG_SRC, src},
                  {DNNL_ARG_DST, cx.value(static_cast<value_id>(i))},
                  {DNNL_ARG_SCALE, cx.load_weights(n.params[0], c, vec)},
                  {DNNL_ARG_SHIFT, cx.load_weights(n.params[1], c, vec)},
                  {DNNL_ARG_MEAN, cx.load_weights(n.params[2], c, vec)},
                  {DNNL_ARG_VARIANCE, cx.load_weights(n.params[3], c, vec)}};
    cx.push_step(cached.primitive, cached.pd, std::move(args),
                 "batch_norm '" + n.name + "': " + cached.pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
