#pragma once
/// \file
/// Small structural value types for layer hyper-parameters: 2-D extents and 4-sided padding.
/// Both convert from one integer so that `.kernel = 3, .padding = 1` reads naturally.

#include <cstdint>
#include <string>

namespace stemshare {

struct extent2 {
    std::int64_t h = 1;
    std::int64_t w = 1;

    constexpr extent2() = default;
    constexpr extent2(std::int64_t both) noexcept : h(both), w(both) {}  // NOLINT: terse specs
    constexpr extent2(std::int64_t height, std::int64_t width) noexcept : h(height), w(width) {}
    friend constexpr bool operator==(const extent2&, const extent2&) = default;
};

/// Zero-padding added before (top, left) and after (bottom, right) the input.
struct padding4 {
    std::int64_t top = 0;
    std::int64_t left = 0;
    std::int64_t bottom = 0;
    std::int64_t right = 0;

    constexpr padding4() = default;
    constexpr padding4(std::int64_t all) noexcept : top(all), left(all), bottom(all), right(all) {}  // NOLINT
    constexpr padding4(std::int64_t height, std::int64_t width) noexcept
        : top(height), left(width), bottom(height), right(width) {}
    constexpr padding4(std::int64_t t, std::int64_t l, std::int64_t b, std::int64_t r) noexcept
        : top(t), left(l), bottom(b), right(r) {}
    friend constexpr bool operator==(const padding4&, const padding4&) = default;
};

inline std::string to_string(const extent2& e) {
    return std::to_string(e.h) + "x" + std::to_string(e.w);
}
/// Built by appending, for the reason given at `to_string(const shape&)`.
inline std::string to_string(const padding4& p) {
    std::string out(1, '(');
    out += std::to_string(p.top) + "," + std::to_string(p.left) + "," + std::to_string(p.bottom) + "," +
           std::to_string(p.right) + ")";
    return out;
}

/// Output length of a sliding window: floor((in + pads - kernel) / stride) + 1.
[[nodiscard]] constexpr std::int64_t window_output(std::int64_t in, std::int64_t pad_before,
                                                   std::int64_t pad_after, std::int64_t kernel,
                                                   std::int64_t stride) noexcept {
    return (in + pad_before + pad_after - kernel) / stride + 1;
}

}  // namespace stemshare
