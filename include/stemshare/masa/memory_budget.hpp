#pragma once
/// \file
/// `masa::memory_budget`: the hard byte budget of a Masa run. Callers ask `fits` before starting
/// anything that allocates and `acquire` only what fits; acquiring past the capacity is a logic
/// error and throws, so the accounted use can never cross the budget. Not synchronised: the
/// runtime calls it under its own lock.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include <stemshare/core/error.hpp>

namespace stemshare::masa {

/// "512.0 MB" (MB = 2^20 bytes), or "unlimited".
[[nodiscard]] inline std::string format_bytes(std::uint64_t bytes) {
    if (bytes == std::numeric_limits<std::uint64_t>::max()) return "unlimited";
    const double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
    std::string text = std::to_string(mb);
    return text.substr(0, text.find('.') + 2) + " MB";
}

class memory_budget {
public:
    static constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

    explicit memory_budget(std::uint64_t capacity_bytes = unlimited) : capacity_(capacity_bytes) {}

    [[nodiscard]] std::uint64_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] std::uint64_t used() const noexcept { return used_; }
    [[nodiscard]] std::uint64_t peak() const noexcept { return peak_; }
    [[nodiscard]] std::uint64_t free() const noexcept { return capacity_ - used_; }
    [[nodiscard]] bool fits(std::uint64_t bytes) const noexcept { return bytes <= capacity_ - used_; }

    /// Takes `bytes`; throws when they do not fit (callers check `fits` first).
    void acquire(std::uint64_t bytes) {
        if (!fits(bytes))
            throw error("masa::memory_budget",
                        "acquiring " + format_bytes(bytes) + " with " + format_bytes(used_) +
                            " in use would cross the budget of " + format_bytes(capacity_));
        used_ += bytes;
        peak_ = std::max(peak_, used_);
    }
    /// Gives back `bytes` acquired before.
    void release(std::uint64_t bytes) {
        if (bytes > used_)
            throw error("masa::memory_budget",
                        "releasing " + format_bytes(bytes) + " with only " + format_bytes(used_) + " in use");
        used_ -= bytes;
    }

private:
    std::uint64_t capacity_;
    std::uint64_t used_ = 0;
    std::uint64_t peak_ = 0;
};

}  // namespace stemshare::masa
