#pragma once
/// \file
/// `pool2d_spec` (max / average over a window) and `global_avg_pool_spec` (average over H x W).

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

    [[nodiscard]] constexpr diagnostic check(shape in) const {
        if (kernel.h <= 0 || kernel.w <= 0) return "pool2d: kernel must be positive";
        if (stride.h <= 0 || stride.w <= 0) return "pool2d: stride must be positive";
        if (padding.top < 0 || padding.left < 0 || padding.bottom < 0 || padding.right < 0)
            return "pool2d: padding must not be negative";
        if (padding.top >= kernel.h || padding.bottom >= kernel.h || padding.left >= kernel.w ||
            padding.right >= kernel.w)
            return "pool2d: padding must be smaller than the kernel";
        if (in.empty()) return "pool2d: input has a zero extent";
        if (in.h + padding.top + padding.bottom < kernel.h || in.w + padding.left + padding.right < kernel.w)
            return "pool2d: kernel is larger than the padded input";
        return {};
    }
    [[nodiscard]] constexpr shape output_shape(shape in) const noexcept {
        return {in.c, window_output(in.h, padding.top, padding.bottom, kernel.h, stride.h),
                window_output(in.w, padding.left, padding.right, kernel.w, stride.w)};
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
