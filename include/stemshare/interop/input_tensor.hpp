#pragma once
/// \file
/// `interop::input_tensor`: another library's array (xtensor, Eigen) handed to stemshare as a
/// `tensor_view<const float>` of NCHW dims: a view of the caller's memory when it already is
/// contiguous, row-major float, or a stemshare `tensor<float>` holding one copy otherwise. Also the
/// shape checks and model concepts that interop/xtensor.hpp and interop/eigen.hpp share. Includes
/// no third-party header, so it can sit under both.

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/core/shape.hpp>
#include <stemshare/tensor/tensor.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare::interop {

/// A float NCHW tensor coming from another library. Either borrowed (zero copy: `view()` points
/// into the caller's container, which must outlive this object unless it was handed over as an
/// rvalue, in which case this object keeps it alive) or copied (this object owns the one copy).
/// Move-only: the view points into the copy's buffer, which a move keeps and a copy would not.
class input_tensor {
public:
    /// Borrows `extents` floats at `data`; `keep_alive` (may be empty) owns the memory when the
    /// caller handed its container over.
    [[nodiscard]] static input_tensor borrowed(const float* data, dims extents,
                                               std::shared_ptr<const void> keep_alive = {}) {
        input_tensor in;
        in.keep_alive_ = std::move(keep_alive);
        in.view_ = tensor_view<const float>(data, extents);
        return in;
    }
    /// Owns `copy` and views it.
    [[nodiscard]] static input_tensor copied(tensor<float> copy) {
        input_tensor in;
        in.copy_ = std::move(copy);
        in.view_ = std::as_const(in.copy_).view();
        return in;
    }

    input_tensor(const input_tensor&) = delete;
    input_tensor& operator=(const input_tensor&) = delete;
    input_tensor(input_tensor&&) noexcept = default;
    input_tensor& operator=(input_tensor&&) noexcept = default;
    ~input_tensor() = default;

    /// The data as stemshare sees it: plain NCHW floats. Valid while this object lives (and, when
    /// borrowed from an lvalue, while the caller's container does).
    [[nodiscard]] tensor_view<const float> view() const noexcept { return view_; }
    operator tensor_view<const float>() const noexcept {
        return view_;
    }  // NOLINT(google-explicit-constructor)
    [[nodiscard]] const dims& extents() const noexcept { return view_.extents(); }
    /// True when the data was copied (non-contiguous, column-major, lazy, misaligned or not float).
    [[nodiscard]] bool is_copy() const noexcept { return !copy_.empty(); }
    /// The data as an owning tensor: the copy itself when there is one, else a copy of the
    /// borrowed memory.
    [[nodiscard]] tensor<float> to_tensor() && {
        if (is_copy()) return std::move(copy_);
        tensor<float> out(view_.extents());
        std::copy_n(view_.data(), view_.numel(), out.data());
        return out;
    }

private:
    input_tensor() = default;

    std::shared_ptr<const void> keep_alive_;
    tensor<float> copy_;
    tensor_view<const float> view_;
};

/// Whether `p` may be read as floats in place. oneDNN reads user memory with unaligned vector
/// loads, so float alignment is all a borrowed input needs; a pointer into a packed byte buffer
/// is copied instead.
[[nodiscard]] inline bool float_aligned(const void* p) noexcept {
    return reinterpret_cast<std::uintptr_t>(p) % alignof(float) == 0;
}

/// A copy of `extents` contiguous floats at a possibly misaligned address (byte-wise, so the read
/// is defined whatever the alignment).
[[nodiscard]] inline input_tensor copy_bytes(const void* data, dims extents) {
    tensor<float> copy(extents);
    std::memcpy(copy.data(), data, static_cast<std::size_t>(copy.numel()) * sizeof(float));
    return input_tensor::copied(std::move(copy));
}

/// Throws unless `actual` has rank 4 and positive extents; `what` names the container ("xtensor
/// expression", "Eigen tensor") and `who` the caller.
inline void require_nchw(const dims& actual, std::string_view who, std::string_view what) {
    if (actual.rank() != 4)
        throw error(std::string(who), "expected a rank-4 NCHW " + std::string(what) +
                                          " {N, C, H, W}, got rank " + std::to_string(actual.rank()) + " " +
                                          to_string(actual));
    if (actual.has_zero_or_negative())
        throw error(std::string(who),
                    "expected positive extents in the " + std::string(what) + ", got " + to_string(actual));
}

/// Throws unless `actual == expected`, naming both.
inline void require_dims(const dims& actual, const dims& expected, std::string_view who) {
    if (!(actual == expected))
        throw error(std::string(who), "expected input " + to_string(expected) + ", got " + to_string(actual));
}

/// {batch, c, h, w}: the dims a model with per-image shape `s` takes for `batch` images.
[[nodiscard]] inline dims batch_dims(std::int64_t batch, shape s) {
    return dims{batch, s.c, s.h, s.w};
}

/// A compiled model with a fixed batch (`onednn::compiled_graph`): runs {batch} x input_shape() into
/// a caller-provided {batch} x output_shape(). A concept, so interop headers need not include the
/// backend (and oneDNN).
template <class M>
concept batch_model = requires(M& m, const M& cm, tensor_view<const float> src, tensor_view<float> dst) {
    { cm.batch() } -> std::convertible_to<std::int64_t>;
    { cm.input_shape() } -> std::convertible_to<shape>;
    { cm.output_shape() } -> std::convertible_to<shape>;
    m.run(src, dst);
};

/// A stream processor (`runtime::executor`): takes one {1, c, h, w} frame per `process` call.
template <class E>
concept frame_processor = requires(E& e, tensor_view<const float> frame) {
    { e.plan()->input_shape() } -> std::convertible_to<shape>;
    e.process(frame);
};

}  // namespace stemshare::interop
