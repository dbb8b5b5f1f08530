#pragma once
/// \file
/// `flatten_spec` ({c, h, w} -> {c*h*w, 1, 1} in NCHW order) and `softmax_spec` (over channels).

#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

struct flatten_spec {
    static constexpr std::string_view kind_name = "flatten";

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "flatten: input has a zero extent";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return {in.numel(), 1, 1}; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const flatten_spec&, const flatten_spec&) = default;
};

/// Softmax over the channel axis at every spatial position (a classifier's {classes, 1, 1}).
struct softmax_spec {
    static constexpr std::string_view kind_name = "softmax";

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "softmax: input has a zero extent";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return in; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const softmax_spec&, const softmax_spec&) = default;
};

}  // namespace stemshare
