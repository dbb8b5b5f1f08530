#pragma once
/// \file
/// `conv2d_spec`: 2-D convolution (grouped and depthwise included), optionally with bias.

#include <cstdint>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/geometry.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

/// Weights are {out_channels, in_channels / groups, kernel.h, kernel.w} ("weight"), bias is
/// {out_channels} ("bias"). Depthwise convolution is groups == in_channels. `dilation` spaces the
/// kernel taps (PyTorch's and ONNX's convention: 1 = adjacent taps), so a kernel k spans
/// (k - 1) * dilation + 1 input pixels; it changes the output size, not the weights or the MACs.
struct conv2d_spec {
    static constexpr std::string_view kind_name = "conv2d";

    std::int64_t out_channels = 0;
    extent2 kernel = 1;
    extent2 stride = 1;
    padding4 padding = 0;
    extent2 dilation = 1;
    std::int64_t groups = 1;
    bool bias = true;

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (out_channels <= 0) return "conv2d: out_channels must be positive";
        if (kernel.h <= 0 || kernel.w <= 0) return "conv2d: kernel must be positive";
        if (stride.h <= 0 || stride.w <= 0) return "conv2d: stride must be positive";
        if (padding.top < 0 || padding.left < 0 || padding.bottom < 0 || padding.right < 0)
            return "conv2d: padding must not be negative";
        if (dilation.h <= 0 || dilation.w <= 0) return "conv2d: dilation must be positive";
        if (groups <= 0) return "conv2d: groups must be positive";
        if (in.empty()) return "conv2d: input has a zero extent";
        if (in.c % groups != 0) return "conv2d: input channels are not divisible by groups";
        if (out_channels % groups != 0) return "conv2d: out_channels are not divisible by groups";
        const extent2 span = effective_kernel();
        if (in.h + padding.top + padding.bottom < span.h || in.w + padding.left + padding.right < span.w)
            return dilation == extent2{1} ? "conv2d: kernel is larger than the padded input"
                                          : "conv2d: dilated kernel is larger than the padded input";
        return {};
    }
    /// The input extent one output pixel reads: (kernel - 1) * dilation + 1.
    [[nodiscard]] constexpr extent2 effective_kernel() const noexcept {
        return {(kernel.h - 1) * dilation.h + 1, (kernel.w - 1) * dilation.w + 1};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept {
        const extent2 span = effective_kernel();
        return {out_channels, window_output(in.h, padding.top, padding.bottom, span.h, stride.h),
                window_output(in.w, padding.left, padding.right, span.w, stride.w)};
    }
    [[nodiscard]] constexpr param_list params(shape in) const {
        param_list p{{"weight", dims{out_channels, in.c / groups, kernel.h, kernel.w}}};
        if (bias) p.push_back({"bias", dims{out_channels}});
        return p;
    }
    /// 2 x multiply-accumulates (the convention of published model FLOP counts); dilation reads
    /// other pixels, not more of them.
    [[nodiscard]] constexpr std::int64_t flops(shape in) const noexcept {
        return 2 * output_shape(in).numel() * (in.c / groups) * kernel.h * kernel.w;
    }
    friend constexpr bool operator==(const conv2d_spec&, const conv2d_spec&) = default;
};

}  // namespace stemshare
