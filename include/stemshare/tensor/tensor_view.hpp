#pragma once
/// \file
/// `tensor_view<T>`: a non-owning window on tensor memory (pointer + dims + layout).

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include <stemshare/core/dims.hpp>
#include <stemshare/tensor/layout.hpp>

namespace stemshare {

template <class T>
class tensor_view {
public:
    using value_type = std::remove_const_t<T>;

    constexpr tensor_view() = default;
    constexpr tensor_view(T* data, dims extents, layout memory_layout = layout::plain) noexcept
        : data_(data), dims_(extents), layout_(memory_layout) {}
    /// A view of mutable data is also a view of const data.
    template <class U>
    requires(std::is_const_v<T>&& std::is_same_v<std::remove_const_t<T>, U>) constexpr tensor_view(
        tensor_view<U> other) noexcept  // NOLINT(google-explicit-constructor)
        : data_(other.data()), dims_(other.extents()), layout_(other.memory_layout()) {}

    [[nodiscard]] constexpr T* data() const noexcept { return data_; }
    [[nodiscard]] constexpr const dims& extents() const noexcept { return dims_; }
    [[nodiscard]] constexpr layout memory_layout() const noexcept { return layout_; }
    [[nodiscard]] constexpr std::int64_t numel() const noexcept { return dims_.numel(); }
    [[nodiscard]] constexpr std::span<T> values() const noexcept {
        return {data_, static_cast<std::size_t>(numel())};
    }
    [[nodiscard]] constexpr T& operator[](std::int64_t i) const noexcept { return data_[i]; }

private:
    T* data_ = nullptr;
    dims dims_{};
    layout layout_ = layout::plain;
};

}  // namespace stemshare
