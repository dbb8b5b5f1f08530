#pragma once
/// \file
/// Floating-point helpers usable in constant evaluation. <cmath> is not constexpr in C++20, and the
/// app-quality model must give the same bits at compile time and at run time, so the model uses
/// these everywhere instead of switching on `std::is_constant_evaluated()`.

#include <cstdint>

namespace stemshare::sched::cmath {

/// |x|.
[[nodiscard]] constexpr double abs(double x) noexcept {
    return x < 0.0 ? -x : x;
}

/// floor(x) for |x| < 2^62 (the model only floors small positive ratios).
[[nodiscard]] constexpr double floor(double x) noexcept {
    const auto t = static_cast<double>(static_cast<std::int64_t>(x));
    return t > x ? t - 1.0 : t;
}

/// ceil(x) for |x| < 2^62.
[[nodiscard]] constexpr double ceil(double x) noexcept {
    const auto t = static_cast<double>(static_cast<std::int64_t>(x));
    return t < x ? t + 1.0 : t;
}

/// fmod(x, y) for finite x >= 0 and y > 0, exactly as IEEE fmod (the result is always representable).
/// Each step subtracts the largest y * 2^n not above x; by Sterbenz's lemma (t <= x < 2t) that
/// subtraction is exact, so no rounding ever happens.
[[nodiscard]] constexpr double fmod(double x, double y) noexcept {
    while (x >= y) {
        double t = y;
        while (t * 2.0 <= x) t *= 2.0;
        x -= t;
    }
    return x;
}

/// base^exponent for an integer exponent >= 0, by repeated squaring.
[[nodiscard]] constexpr double ipow(double base, std::int64_t exponent) noexcept {
    double result = 1.0;
    while (exponent > 0) {
        if ((exponent & 1) != 0) result *= base;
        base *= base;
        exponent >>= 1;
    }
    return result;
}

}  // namespace stemshare::sched::cmath
