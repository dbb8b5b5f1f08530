#pragma once
/// \file
/// `shape`: the per-image shape of a feature map (channels, height, width). The batch is a run-time
/// dimension and never part of a layer's shape, so compile-time chains and run-time graphs agree.

#include <cstdint>
#include <string>

namespace stemshare {

/// Per-image feature-map shape. A flat vector of K features is {K, 1, 1}. Structural, so it can be
/// a template argument of a compile-time chain.
struct shape {
    std::int64_t c = 0;
    std::int64_t h = 0;
    std::int64_t w = 0;

    [[nodiscard]] constexpr std::int64_t numel() const noexcept { return c * h * w; }
    [[nodiscard]] constexpr bool empty() const noexcept { return c <= 0 || h <= 0 || w <= 0; }
    [[nodiscard]] constexpr bool is_flat() const noexcept { return h == 1 && w == 1; }
    friend constexpr bool operator==(const shape&, const shape&) = default;
};

/// "[c x h x w]", the spelling used in every error message.
/// Built by appending: GCC 12 at -O3 misreports `"[" + std::string&&` as an overlapping memcpy
/// (-Wrestrict, GCC bug 105329), which breaks -Werror builds of every TU that inlines it.
inline std::string to_string(const shape& s) {
    std::string out(1, '[');
    out += std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + "]";
    return out;
}

}  // namespace stemshare
