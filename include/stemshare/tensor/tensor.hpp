#pragma once
/// \file
/// `tensor<T>`: an owning, 64-byte aligned, dense tensor with logical dims and a memory layout.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare {

/// Alignment of every tensor buffer: one cache line, and what AVX-512 loads want.
inline constexpr std::size_t tensor_alignment = 64;

template <class T>
class tensor {
public:
    tensor() = default;
    /// Zero-initialised tensor. Throws `stemshare::error` for a zero or negative extent, or for
    /// nhwc with a rank other than 4.
    explicit tensor(dims extents, layout memory_layout = layout::plain)
        : dims_(extents), layout_(memory_layout) {
        if (dims_.has_zero_or_negative())
            throw error("tensor", "every extent must be positive, got " + to_string(dims_));
        if (layout_ == layout::nhwc && dims_.rank() != 4)
            throw error("tensor", "nhwc needs rank 4, got " + to_string(dims_));
        data_.reset(allocate(static_cast<std::size_t>(dims_.numel())));
        std::fill_n(data_.get(), dims_.numel(), T{});
    }
    tensor(const tensor& other) : tensor(other.dims_, other.layout_) {
        std::copy_n(other.data(), other.numel(), data());
    }
    tensor& operator=(const tensor& other) {
        if (this != &other) *this = tensor(other);
        return *this;
    }
    tensor(tensor&&) noexcept = default;
    tensor& operator=(tensor&&) noexcept = default;
    ~tensor() = default;

    [[nodiscard]] T* data() noexcept { return data_.get(); }
    [[nodiscard]] const T* data() const noexcept { return data_.get(); }
    [[nodiscard]] const dims& extents() const noexcept { return dims_; }
    [[nodiscard]] layout memory_layout() const noexcept { return layout_; }
    [[nodiscard]] std::int64_t numel() const noexcept { return data_ ? dims_.numel() : 0; }
    [[nodiscard]] bool empty() const noexcept { return !data_; }
    [[nodiscard]] std::span<T> values() noexcept { return {data(), static_cast<std::size_t>(numel())}; }
    [[nodiscard]] std::span<const T> values() const noexcept {
        return {data(), static_cast<std::size_t>(numel())};
    }
    [[nodiscard]] T& operator[](std::int64_t i) noexcept { return data_[static_cast<std::size_t>(i)]; }
    [[nodiscard]] const T& operator[](std::int64_t i) const noexcept {
        return data_[static_cast<std::size_t>(i)];
    }

    [[nodiscard]] tensor_view<T> view() noexcept { return {data(), dims_, layout_}; }
    [[nodiscard]] tensor_view<const T> view() const noexcept { return {data(), dims_, layout_}; }
    operator tensor_view<T>() noexcept { return view(); }              // NOLINT(google-explicit-constructor)
    operator tensor_view<const T>() const noexcept { return view(); }  // NOLINT

    /// A copy of the values under other logical dims of equal element count (meaningful for the
    /// plain layout). This tensor is left as it is; for no copy, call it on an rvalue
    /// (`std::move(t).reshaped(d)`) or build a `tensor_view` over `data()` with the new dims.
    [[nodiscard]] tensor reshaped(dims extents) const& {
        check_reshape(extents);
        tensor result(extents, layout_);
        std::copy_n(data(), numel(), result.data());
        return result;
    }
    /// The same buffer under other logical dims of equal element count, without a copy; this
    /// tensor is left empty.
    [[nodiscard]] tensor reshaped(dims extents) && {
        check_reshape(extents);
        tensor result(std::move(*this));
        result.dims_ = extents;
        return result;
    }

private:
    void check_reshape(const dims& extents) const {
        if (extents.numel() != numel())
            throw error("tensor::reshaped", "cannot view " + to_string(dims_) + " as " + to_string(extents));
        // The constructor's rule, so the moving overload refuses what the copying one does.
        if (layout_ == layout::nhwc && extents.rank() != 4)
            throw error("tensor", "nhwc needs rank 4, got " + to_string(extents));
    }
    struct aligned_delete {
        void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{tensor_alignment}); }
    };
    static T* allocate(std::size_t count) {
        return static_cast<T*>(::operator new[](count * sizeof(T), std::align_val_t{tensor_alignment}));
    }

    std::unique_ptr<T[], aligned_delete> data_;
    dims dims_{};
    layout layout_ = layout::plain;
};

}  // namespace stemshare
