#pragma once
/// \file
/// Deterministic fill helpers for tests, benchmarks and random-weight models.

#include <cstdint>
#include <random>
#include <span>

namespace stemshare {

/// Fills `values` with uniform numbers in [low, high) from a seeded generator. The sequence depends
/// only on the seed (std::mt19937_64 is fully specified; the mapping below avoids the
/// implementation-defined std::uniform_real_distribution).
template <class T>
void fill_uniform(std::span<T> values, std::uint64_t seed, float low = -1.0F, float high = 1.0F) {
    std::mt19937_64 engine(seed);
    const double scale = static_cast<double>(high - low) / 18446744073709551616.0;  // 2^64
    for (auto& v : values) v = T(static_cast<float>(low + static_cast<double>(engine()) * scale));
}

/// Fills with the constant `value`.
template <class T>
void fill_constant(std::span<T> values, T value) {
    for (auto& v : values) v = value;
}

}  // namespace stemshare
