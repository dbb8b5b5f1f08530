#pragma once
/// \file
/// Element types: f32 everywhere, bf16 as a storage type for weights and activations (f32 math).

#include <bit>
#include <cstdint>
#include <string_view>

namespace stemshare {

enum class dtype : std::uint8_t { f32, bf16 };

[[nodiscard]] constexpr std::string_view to_string(dtype t) noexcept {
    return t == dtype::f32 ? "f32" : "bf16";
}

/// bfloat16 storage: the upper 16 bits of an IEEE f32. Conversion rounds to nearest even, and keeps
/// NaN a NaN (a plain truncation of some NaN payloads would give infinity).
struct bf16 {
    std::uint16_t bits = 0;

    constexpr bf16() = default;
    explicit constexpr bf16(float value) noexcept : bits(round(value)) {}
    [[nodiscard]] constexpr explicit operator float() const noexcept {
        return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16U);
    }
    friend constexpr bool operator==(const bf16&, const bf16&) = default;

private:
    static constexpr std::uint16_t round(float value) noexcept {
        const auto u = std::bit_cast<std::uint32_t>(value);
        if ((u & 0x7f800000U) == 0x7f800000U && (u & 0x007fffffU) != 0U)
            return static_cast<std::uint16_t>((u >> 16U) | 0x0040U);  // quiet NaN
        const std::uint32_t rounding = 0x7fffU + ((u >> 16U) & 1U);
        return static_cast<std::uint16_t>((u + rounding) >> 16U);
    }
};

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
    static constexpr dtype value = dtype::f32;
};
template <>
struct dtype_of<bf16> {
    static constexpr dtype value = dtype::bf16;
};
template <class T>
inline constexpr dtype dtype_of_v = dtype_of<T>::value;

}  // namespace stemshare
