#pragma once
/// \file
/// `dims`: the run-time extent of a tensor (rank 0..6), constexpr-friendly and allocation-free.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include <stemshare/core/error.hpp>

namespace stemshare {

class dims {
public:
    static constexpr std::size_t max_rank = 6;

    constexpr dims() = default;
    constexpr dims(std::initializer_list<std::int64_t> extents) {
        if (extents.size() > max_rank) throw error("dims", "rank above " + std::to_string(max_rank));
        for (auto e : extents) extents_[rank_++] = e;
    }
    explicit constexpr dims(std::span<const std::int64_t> extents) {
        if (extents.size() > max_rank) throw error("dims", "rank above " + std::to_string(max_rank));
        for (auto e : extents) extents_[rank_++] = e;
    }

    [[nodiscard]] constexpr std::size_t rank() const noexcept { return rank_; }
    [[nodiscard]] constexpr std::int64_t operator[](std::size_t i) const { return extents_[i]; }
    [[nodiscard]] constexpr std::int64_t& operator[](std::size_t i) { return extents_[i]; }
    [[nodiscard]] constexpr std::span<const std::int64_t> extents() const noexcept {
        return {extents_.data(), rank_};
    }
    [[nodiscard]] constexpr const std::int64_t* begin() const noexcept { return extents_.data(); }
    [[nodiscard]] constexpr const std::int64_t* end() const noexcept { return extents_.data() + rank_; }

    /// Product of the extents (1 for rank 0).
    [[nodiscard]] constexpr std::int64_t numel() const noexcept {
        std::int64_t n = 1;
        for (std::size_t i = 0; i < rank_; ++i) n *= extents_[i];
        return n;
    }
    [[nodiscard]] constexpr bool has_zero_or_negative() const noexcept {
        return std::any_of(begin(), end(), [](std::int64_t e) { return e <= 0; });
    }

    friend constexpr bool operator==(const dims& a, const dims& b) noexcept {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    std::array<std::int64_t, max_rank> extents_{};
    std::size_t rank_ = 0;
};

/// "{1, 3, 224, 224}", the spelling used in every error message.
inline std::string to_string(const dims& d) {
    std::string s = "{";
    for (std::size_t i = 0; i < d.rank(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
    return s + "}";
}

}  // namespace stemshare
