#pragma once
/// \file
/// Lowering of a channel concat: nothing but copies of the inputs that were not written in place
/// when concat_in_place.hpp planned it, else one oneDNN concat.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <stemshare/backend/onednn/concat_in_place.hpp>
#include <stemshare/backend/onednn/lowering.hpp>

namespace stemshare::onednn::detail {

inline void lower(lowering& cx, std::size_t i, const node& n, const concat_spec&) {
    if (const concat_in_place::planned* plan = cx.concats().find(i)) {
        cx.set_value(i, plan->result);
        cx.concats().complete(i);
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
            const value_id v = n.inputs[k];
            if (!cx.concats().written_in_place(v, i, k))
                cx.add_reorder(cx.value(v), plan->parts[k],
                               "copy of input " + std::to_string(k) + " into concat '" + n.name + "'");
        }
        return;
    }
    std::vector<dnnl::memory> srcs;
    std::vector<dnnl::memory::desc> mds;
    std::string key = "concat";
    for (value_id v : n.inputs) {
        srcs.push_back(cx.in_precision(v, "layer '" + n.name + "'"));
        mds.push_back(srcs.back().get_desc());
        key += "|in" + describe(mds.back());
    }
    auto cached = cx.create(key, n, [&] {
        dnnl::concat::primitive_desc pd(1, mds, cpu_engine(), base_attr());
        return cached_primitive{pd, dnnl::concat(pd)};
    });
    cx.set_value(i, cx.output_value(i, cached.pd.dst_desc(0)));
    arg_list args{{DNNL_ARG_DST, cx.value(static_cast<value_id>(i))}};
    for (std::size_t k = 0; k < srcs.size(); ++k)
        args.emplace_back(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k), srcs[k]);
    cx.push_step(cached.primitive, cached.pd, std::move(args),
                 "concat '" + n.name + "': " + cached.pd.impl_info_str());
}

}  // namespace stemshare::onednn::detail
