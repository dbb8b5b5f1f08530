#pragma once
/// \file
/// `pool2d_spec` (max / average over a window, max pooling optionally dilated) and
/// `global_avg_pool_spec` (average over H x W).

#include <cstdint>
#include <string_view>

#include <stemshare/core/diagnostic.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/layers/geometry.hpp>
#include <stemshare/layers/param.hpp>

namespace stemshare {

enum class pool_kind : std::uint8_t { max, avg };

struct pool2d_spec {
    static constexpr std::string_view kind_name = "pool2d";

    pool_kind kind = pool_kind::max;
    extent2 kernel = 2;
    extent2 stride = 2;
    padding4 padding = 0;
    /// Average pooling only: divide by the full window (PyTorch's default) instead of by the
    /// number of real input pixels in it (ONNX's default).
    bool count_include_pad = false;
    /// Max pooling only: the step between a window's taps (PyTorch's MaxPool2d dilation, ONNX
    /// MaxPool's dilations); 1 is a dense window. Last, so designated initializers written before
    /// it existed still compile.
    extent2 dilation = 1;

    /// The input extent a window spans: (kernel - 1) * dilation + 1.
    [[nodiscard]] constexpr extent2 span() const noexcept {
        return {(kernel.h - 1) * dilation.h + 1, (kernel.w - 1) * dilation.w + 1};
    }

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (kernel.h <= 0 || kernel.w <= 0) return "pool2d: kernel must be positive";
        if (stride.h <= 0 || stride.w <= 0) return "pool2d: stride must be positive";
        if (dilation.h <= 0 || dilation.w <= 0) return "pool2d: dilation must be positive";
        if (kind == pool_kind::avg && dilation != extent2{1})
            return "pool2d: dilation is supported for max pooling only";
        if (padding.top < 0 || padding.left < 0 || padding.bottom < 0 || padding.right < 0)
            return "pool2d: padding must not be negative";
        // A dense window with padding below the kernel always reads an input pixel. A dilated one
        // is checked window by window: its taps can straddle the input, and ceil mode's extra end
        // padding may reach the kernel while every window still reads a pixel.
        const bool dilated = dilation != extent2{1};
        if (!dilated && (padding.top >= kernel.h || padding.bottom >= kernel.h || padding.left >= kernel.w ||
                         padding.right >= kernel.w))
            return "pool2d: padding must be smaller than the kernel";
        if (in.empty()) return "pool2d: input has a zero extent";
        const extent2 k = span();
        if (in.h + padding.top + padding.bottom < k.h || in.w + padding.left + padding.right < k.w)
            return dilated ? "pool2d: dilated kernel is larger than the padded input"
                           : "pool2d: kernel is larger than the padded input";
        const shape out = output_shape(in);
        if (dilated && (!every_window_reads_input(in.h, padding.top, out.h, kernel.h, stride.h, dilation.h) ||
                        !every_window_reads_input(in.w, padding.left, out.w, kernel.w, stride.w, dilation.w)))
            return "pool2d: a dilated window reads only padding";
        return {};
    }
    /// Whether each of `out` windows along one axis has a tap inside [0, in).
    [[nodiscard]] static constexpr bool every_window_reads_input(std::int64_t in, std::int64_t pad_before,
                                                                 std::int64_t out, std::int64_t taps,
                                                                 std::int64_t step, std::int64_t dilation) {
        for (std::int64_t o = 0; o < out; ++o) {
            bool reads = false;
            for (std::int64_t t = 0; t < taps && !reads; ++t) {
                const std::int64_t at = o * step - pad_before + t * dilation;
                reads = at >= 0 && at < in;
            }
            if (!reads) return false;
        }
        return true;
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept {
        const extent2 k = span();
        return {in.c, window_output(in.h, padding.top, padding.bottom, k.h, stride.h),
                window_output(in.w, padding.left, padding.right, k.w, stride.w)};
    }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const pool2d_spec&, const pool2d_spec&) = default;
};

struct global_avg_pool_spec {
    static constexpr std::string_view kind_name = "global_avg_pool";

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (in.empty()) return "global_avg_pool: input has a zero extent";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept { return {in.c, 1, 1}; }
    [[nodiscard]] constexpr param_list params(shape) const { return {}; }
    [[nodiscard]] constexpr std::int64_t flops(shape) const noexcept { return 0; }
    friend constexpr bool operator==(const global_avg_pool_spec&, const global_avg_pool_spec&) = default;
};

}  // namespace stemshare
