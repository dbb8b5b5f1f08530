#pragma once
/// \file
/// `param_list`: the named weight tensors a layer needs for a given input shape (names follow
/// PyTorch's state_dict, so files exported from PyTorch bind by name).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <stemshare/core/dims.hpp>

namespace stemshare {

struct param_desc {
    std::string_view name;
    dims extents;
};

/// At most four parameters (batch-norm has the most); constexpr so that parameter counts of
/// compile-time chains are constants.
class param_list {
public:
    static constexpr std::size_t capacity = 4;

    constexpr param_list() = default;
    constexpr param_list(std::initializer_list<param_desc> params) {
        for (const auto& p : params) push_back(p);
    }
    constexpr void push_back(param_desc p) { items_[size_++] = p; }

    [[nodiscard]] constexpr std::size_t size() const noexcept { return size_; }
    [[nodiscard]] constexpr const param_desc& operator[](std::size_t i) const { return items_[i]; }
    [[nodiscard]] constexpr const param_desc* begin() const noexcept { return items_.data(); }
    [[nodiscard]] constexpr const param_desc* end() const noexcept { return items_.data() + size_; }
    [[nodiscard]] constexpr std::int64_t numel() const noexcept {
        std::int64_t n = 0;
        for (std::size_t i = 0; i < size_; ++i) n += items_[i].extents.numel();
        return n;
    }

private:
    std::array<param_desc, capacity> items_{};
    std::size_t size_ = 0;
};

}  // namespace stemshare
