#pragma once
/// \file
/// `depthwise_conv2d_spec`: a convolution with one filter group per input channel. It exists for
/// compile-time chains, where the channel count is known only from the input; it lowers to a
/// `conv2d_spec` with groups == in_channels, so backends and the stem trie see one kind.

#include <cstdint>
#include <string_view>

#include <stemshare/layers/conv2d.hpp>

namespace stemshare {

struct depthwise_conv2d_spec {
    static constexpr std::string_view kind_name = "depthwise_conv2d";

    extent2 kernel = 3;
    extent2 stride = 1;
    padding4 padding = 0;
    extent2 dilation = 1;
    std::int64_t multiplier = 1;
    bool bias = true;

    [[nodiscard]] constexpr conv2d_spec to_conv2d(shape in) const noexcept {
        return {.out_channels = in.c * multiplier,
                .kernel = kernel,
                .stride = stride,
                .padding = padding,
                .dilation = dilation,
                .groups = in.c,
                .bias = bias};
    }
    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (multiplier <= 0) return "depthwise_conv2d: multiplier must be positive";
        if (in.empty()) return "depthwise_conv2d: input has a zero extent";
        return to_conv2d(in).check(in);
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept {
        return to_conv2d(in).output_shape(in);
    }
    [[nodiscard]] constexpr param_list params(shape in) const { return to_conv2d(in).params(in); }
    [[nodiscard]] constexpr std::int64_t flops(shape in) const noexcept { return to_conv2d(in).flops(in); }
    friend constexpr bool operator==(const depthwise_conv2d_spec&, const depthwise_conv2d_spec&) = default;
};

}  // namespace stemshare
