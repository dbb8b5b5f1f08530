#pragma once
/// \file
/// IEEE 754 binary16 (f16) and bfloat16 bit conversions for weight files. f16 -> f32 is exact;
/// f32 -> f16 rounds to nearest even, overflows to infinity and keeps NaN a NaN.

#include <bit>
#include <cstdint>

namespace stemshare::io {

[[nodiscard]] constexpr float f16_to_f32(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000U) << 16U;
    const std::uint32_t exponent = (h >> 10U) & 0x1fU;
    std::uint32_t mantissa = h & 0x3ffU;
    if (exponent == 0x1fU) return std::bit_cast<float>(sign | 0x7f800000U | (mantissa << 13U));  // inf, NaN
    if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112U) << 23U) | (mantissa << 13U));
    if (mantissa == 0) return std::bit_cast<float>(sign);  // signed zero
    // Subnormal: shift the leading one into the implicit bit position, lowering the exponent.
    std::uint32_t e = 113;
    while ((mantissa & 0x400U) == 0) {
        mantissa <<= 1U;
        --e;
    }
    return std::bit_cast<float>(sign | (e << 23U) | ((mantissa & 0x3ffU) << 13U));
}

[[nodiscard]] constexpr std::uint16_t f32_to_f16(float value) noexcept {
    const auto u = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((u >> 16U) & 0x8000U);
    const std::uint32_t exponent = (u >> 23U) & 0xffU;
    const std::uint32_t mantissa = u & 0x7fffffU;
    if (exponent == 0xffU)
        return static_cast<std::uint16_t>(sign | 0x7c00U | (mantissa != 0 ? 0x200U | (mantissa >> 13U) : 0U));
    const std::int32_t e = static_cast<std::int32_t>(exponent) - 127 + 15;
    if (e >= 0x1f) return static_cast<std::uint16_t>(sign | 0x7c00U);  // overflow
    if (e <= 0) {
        if (e < -10) return sign;  // below half the smallest subnormal
        const std::uint32_t m = mantissa | 0x800000U;
        const auto shift = static_cast<std::uint32_t>(14 - e);
        std::uint32_t half = m >> shift;
        const std::uint32_t rest = m & ((1U << shift) - 1U);
        const std::uint32_t midpoint = 1U << (shift - 1U);
        if (rest > midpoint || (rest == midpoint && (half & 1U) != 0)) ++half;
        return static_cast<std::uint16_t>(sign | half);
    }
    std::uint32_t half = (static_cast<std::uint32_t>(e) << 10U) | (mantissa >> 13U);
    const std::uint32_t rest = mantissa & 0x1fffU;
    if (rest > 0x1000U || (rest == 0x1000U && (half & 1U) != 0))
        ++half;  // may carry into the exponent: correct
    return static_cast<std::uint16_t>(sign | half);
}

[[nodiscard]] constexpr float bf16_to_f32(std::uint16_t b) noexcept {
    return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16U);
}

}  // namespace stemshare::io
