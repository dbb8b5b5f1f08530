#pragma once
/// \file
/// The ONNX node being lowered (`node_ctx`: its proto, display name and error context) and readers
/// for its attributes, shared by every operator's lowering function.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/io/onnx/onnx_proto.hpp>
#include <stemshare/layers/geometry.hpp>

namespace stemshare::io::onnx_detail {

/// One node while it is imported.
struct node_ctx {
    const onnx::NodeProto& proto;
    std::string name;   ///< the node's name, or `<op>_<index>` when it has none
    std::string where;  ///< error context naming the file, node, operator and opset
    int index = 0;      ///< position in the graph's node list
};

/// Whether input `i` is given (ONNX marks a skipped optional input with an empty name).
[[nodiscard]] inline bool has_input(const onnx::NodeProto& n, int i) {
    return n.input_size() > i && !n.input(i).empty();
}

[[nodiscard]] inline const onnx::AttributeProto* attr(const onnx::NodeProto& n, std::string_view name) {
    for (const auto& a : n.attribute())
        if (a.name() == name) return &a;
    return nullptr;
}
[[nodiscard]] inline std::int64_t attr_int(const onnx::NodeProto& n, std::string_view name,
                                           std::int64_t fallback) {
    const auto* a = attr(n, name);
    return a ? a->i() : fallback;
}
[[nodiscard]] inline float attr_float(const onnx::NodeProto& n, std::string_view name, float fallback) {
    const auto* a = attr(n, name);
    return a ? a->f() : fallback;
}
[[nodiscard]] inline std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, std::string_view name,
                                                         std::vector<std::int64_t> fallback) {
    const auto* a = attr(n, name);
    if (!a) return fallback;
    return {a->ints().begin(), a->ints().end()};
}
[[nodiscard]] inline std::string attr_string(const onnx::NodeProto& n, std::string_view name,
                                             std::string fallback) {
    const auto* a = attr(n, name);
    return a ? a->s() : fallback;
}

/// pads / auto_pad -> padding4 (ONNX order is [top, left, bottom, right], as padding4's).
[[nodiscard]] inline padding4 pads(const node_ctx& n, shape in, const std::vector<std::int64_t>& kernel,
                                   const std::vector<std::int64_t>& strides) {
    const std::string auto_pad = attr_string(n.proto, "auto_pad", "NOTSET");
    if (auto_pad == "NOTSET" || auto_pad.empty()) {
        const auto p = attr_ints(n.proto, "pads", {0, 0, 0, 0});
        if (p.size() != 4) throw error(n.where, "pads must have 4 values");
        return {p[0], p[1], p[2], p[3]};
    }
    if (auto_pad == "VALID") return {0};
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
        throw error(n.where, "auto_pad '" + auto_pad + "' is not supported");
    auto split = [&](std::int64_t size, std::int64_t k, std::int64_t s) {
        const std::int64_t out = (size + s - 1) / s;
        const std::int64_t total = std::max<std::int64_t>((out - 1) * s + k - size, 0);
        const std::int64_t small = total / 2;
        return auto_pad == "SAME_UPPER" ? std::pair{small, total - small} : std::pair{total - small, small};
    };
    const auto [t, b] = split(in.h, kernel[0], strides[0]);
    const auto [l, r] = split(in.w, kernel[1], strides[1]);
    return {t, l, b, r};
}

}  // namespace stemshare::io::onnx_detail
