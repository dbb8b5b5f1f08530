#pragma once
/// \file
/// xtensor where users meet stemshare (link `stemshare::xtensor`). Any xtensor expression of NCHW
/// dims (`xt::xtensor<float, 4>`, `xt::xarray<float>`, views, lazy expressions, any arithmetic
/// type) goes in: zero copy when it is contiguous, row-major float memory, one evaluation into a
/// stemshare tensor otherwise. Results come out as xtensor: `as_xtensor` adapts a stemshare tensor
/// without a copy; `xt_run` has the model write straight into an `xt::xtensor<float, 4>`.
///
/// Include this header before any other xtensor header in a translation unit: it repairs
/// `xt::xarray` under C++20 with g++ (below), which must happen before xtensor instantiates it.

#include <xtensor/xtensor_config.hpp>
// The repair must follow this header and precede every other xtensor header.
#include <xtensor/xexpression_traits.hpp>

// xtensor 0.24 gives an xarray temporary its svector shape's xarray type only when
// `__cplusplus == 201703L`; under C++20 g++ falls through to the fixed-rank `S<X, N>`
// specialisation and types it as `xtensor<T, 4>`, so eval/sum/transpose of an xarray throw
// bad_alloc, crash or return zeros (upstream xtensor #1970, #2470, #2701). This restores the
// C++17 specialisation. Guarded by version: a later xtensor that fixes it would collide with it.
#if defined(__GNUC__) && !defined(__clang__) && __cplusplus > 201703L && XTENSOR_VERSION_MAJOR == 0 && \
    XTENSOR_VERSION_MINOR <= 24
/// Defined when stemshare applied its xarray-under-C++20 repair (tests check it is in force).
#define STEMSHARE_XTENSOR_XARRAY_SHIM 1
namespace xt::detail {
template <template <class, std::size_t, class, bool> class S, class X, std::size_t N, class A, bool Init>
struct xtype_for_shape<S<X, N, A, Init>> {
    template <class T, layout_type L>
    using type = xarray<T, L>;
};
}  // namespace xt::detail
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xtensor.hpp>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/interop/input_tensor.hpp>
#include <stemshare/tensor/tensor.hpp>
#include <stemshare/tensor/tensor_view.hpp>
#include <stemshare/train/dataset.hpp>

namespace stemshare {

/// Any xtensor expression: containers, adaptors, views, lazy functions.
template <class E>
concept xtensor_expression = xt::is_xexpression<std::remove_cvref_t<E>>::value;

namespace detail::xtensor_interop {

/// An expression whose elements are floats in memory: a pointer, strides in elements and an offset.
template <class E>
concept strided_floats = requires(const E& e) {
    { e.data() } -> std::convertible_to<const float*>;
    e.strides();
    { e.data_offset() } -> std::convertible_to<std::size_t>;
};

/// "{2, 3}" for any rank (an xarray may exceed `dims::max_rank`).
template <class E>
std::string shape_text(const E& e) {
    std::string s = "{";
    for (std::size_t i = 0; i < e.dimension(); ++i) s += (i ? ", " : "") + std::to_string(e.shape()[i]);
    return s + "}";
}

/// Sets `out` to the expression's dims and returns true when it has rank 4.
template <class E>
bool rank4_dims(const E& e, dims& out) {
    if (e.dimension() != 4) return false;
    out = dims{static_cast<std::int64_t>(e.shape()[0]), static_cast<std::int64_t>(e.shape()[1]),
               static_cast<std::int64_t>(e.shape()[2]), static_cast<std::int64_t>(e.shape()[3])};
    return true;
}

/// The expression's NCHW dims; throws naming its shape when it has another rank or an empty extent.
template <class E>
dims nchw_dims(const E& e, std::string_view who) {
    dims d;
    if (!rank4_dims(e, d))
        throw error(std::string(who), "expected a rank-4 NCHW xtensor expression {N, C, H, W}, got rank " +
                                          std::to_string(e.dimension()) + " " + shape_text(e));
    interop::require_nchw(d, who, "xtensor expression");
    return d;
}

/// Throws unless the expression has exactly the dims `expected` (what a model takes).
template <class E>
void require_model_dims(const E& e, const dims& expected, std::string_view who) {
    dims d;
    if (!rank4_dims(e, d) || !(d == expected))
        throw error(std::string(who), "expected input " + to_string(expected) + ", got " + shape_text(e));
}

/// Whether elements sit one after another in row-major order. xtensor gives extents of 1 a
/// stride of 0, so those are skipped.
template <class E>
bool row_major_contiguous(const E& e) {
    std::ptrdiff_t expected = 1;
    for (std::size_t i = e.dimension(); i-- > 0;) {
        const auto extent = static_cast<std::ptrdiff_t>(e.shape()[i]);
        if (extent != 1 && static_cast<std::ptrdiff_t>(e.strides()[i]) != expected) return false;
        expected *= extent;
    }
    return true;
}

/// The first N extents of `d` as an xtensor shape.
template <std::size_t N>
std::array<std::size_t, N> xt_shape(const dims& d) {
    std::array<std::size_t, N> s{};
    for (std::size_t i = 0; i < N; ++i) s[i] = static_cast<std::size_t>(d[i]);
    return s;
}

}  // namespace detail::xtensor_interop

/// The xtensor expression `e` ({N, C, H, W}, any arithmetic type) as a stemshare input. Zero copy
/// when `e` is float memory, contiguous and row-major (an `xt::xtensor`/`xt::xarray`, an adaptor, a
/// contiguous view): the result borrows it (an lvalue must outlive the result; an rvalue is moved
/// into the result). Otherwise (a strided or transposed view, a lazy expression, another value
/// type) `e` is evaluated once, converted to float, into a stemshare tensor the result owns.
/// Throws `stemshare::error` naming `who` and the shape for another rank or an empty extent.
template <xtensor_expression E>
[[nodiscard]] interop::input_tensor from_xtensor(E&& e, std::string_view who = "stemshare::from_xtensor") {
    using expression = std::remove_cvref_t<E>;
    using value_type = typename expression::value_type;
    static_assert(std::is_arithmetic_v<value_type>, "from_xtensor: the expression's values must be numbers");
    const dims d = detail::xtensor_interop::nchw_dims(e, who);
    if constexpr (std::is_same_v<value_type, float> && detail::xtensor_interop::strided_floats<expression>) {
        if (detail::xtensor_interop::row_major_contiguous(e)) {
            if constexpr (std::is_lvalue_reference_v<E>) {
                const float* first = e.data() + e.data_offset();
                return interop::float_aligned(first) ? interop::input_tensor::borrowed(first, d)
                                                     : interop::copy_bytes(first, d);
            } else {
                // The address is taken after the move: a fixed-size container's storage moves with it.
                auto owner = std::make_shared<const expression>(std::move(e));
                const float* first = owner->data() + owner->data_offset();
                if (!interop::float_aligned(first)) return interop::copy_bytes(first, d);
                return interop::input_tensor::borrowed(first, d, std::move(owner));
            }
        }
    }
    tensor<float> copy(d);
    auto out = xt::adapt(copy.data(), static_cast<std::size_t>(copy.numel()), xt::no_ownership(),
                         detail::xtensor_interop::xt_shape<4>(d));
    if constexpr (std::is_same_v<value_type, float>) {
        xt::noalias(out) = e;
    } else {
        xt::noalias(out) = xt::cast<float>(e);
    }
    return interop::input_tensor::copied(std::move(copy));
}

/// The plain tensor `t` of rank `N` as an xtensor adaptor over its memory: no copy, writable when
/// `T` is. Valid while `t`'s memory is. Throws `stemshare::error` for another rank or an nhwc layout.
template <std::size_t N = 4, class T>
[[nodiscard]] auto as_xtensor(tensor_view<T> t) {
    if (t.extents().rank() != N)
        throw error("stemshare::as_xtensor",
                    "expected a rank-" + std::to_string(N) + " tensor, got " + to_string(t.extents()));
    if (t.memory_layout() != layout::plain)
        throw error("stemshare::as_xtensor", "expected a plain (row-major) tensor, got " +
                                                 std::string(to_string(t.memory_layout())) + " " +
                                                 to_string(t.extents()));
    return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(),
                     detail::xtensor_interop::xt_shape<N>(t.extents()));
}
template <std::size_t N = 4, class T>
[[nodiscard]] auto as_xtensor(tensor<T>& t) {
    return as_xtensor<N>(t.view());
}
template <std::size_t N = 4, class T>
[[nodiscard]] auto as_xtensor(const tensor<T>& t) {
    return as_xtensor<N>(t.view());
}
/// A temporary tensor would leave the adaptor dangling: use `to_xtensor`.
template <std::size_t N = 4, class T>
void as_xtensor(tensor<T>&& t) = delete;

/// An owning rank-4 copy of the plain tensor `t`.
[[nodiscard]] inline xt::xtensor<float, 4> to_xtensor(tensor_view<const float> t) {
    xt::xtensor<float, 4> out = as_xtensor<4>(t);
    return out;
}

/// Runs `model` (an `onednn::compiled_graph`) on the xtensor expression `images`, which must be
/// {batch, C, H, W} of the model; the model writes its {batch, C', H', W'} output straight into the
/// returned xtensor. The input is borrowed or copied as `from_xtensor` says. Throws
/// `stemshare::error` naming the expected and actual shapes before anything is copied.
template <interop::batch_model M, xtensor_expression E>
[[nodiscard]] xt::xtensor<float, 4> xt_run(M& model, E&& images) {
    constexpr std::string_view who = "stemshare::xt_run";
    const dims out_dims = interop::batch_dims(model.batch(), model.output_shape());
    detail::xtensor_interop::require_model_dims(images,
                                                interop::batch_dims(model.batch(), model.input_shape()), who);
    const interop::input_tensor in = from_xtensor(std::forward<E>(images), who);
    xt::xtensor<float, 4> out(detail::xtensor_interop::xt_shape<4>(out_dims));
    model.run(in.view(), tensor_view<float>(out.data(), out_dims));
    return out;
}

/// Hands the xtensor expression `frame` ({1, C, H, W} of the stream) to `executor.process` (a
/// `runtime::executor`) and returns its frame result (valid until the next frame).
template <interop::frame_processor X, xtensor_expression E>
decltype(auto) xt_process(X& executor, E&& frame) {
    constexpr std::string_view who = "stemshare::xt_process";
    detail::xtensor_interop::require_model_dims(frame, interop::batch_dims(1, executor.plan()->input_shape()),
                                                who);
    const interop::input_tensor in = from_xtensor(std::forward<E>(frame), who);
    return executor.process(in.view());
}

namespace train {

/// A training set from xtensor `images` ({N, C, H, W}, any arithmetic type, converted to float)
/// and `labels` (N integers, 0 or more). The dataset owns its copy of the images. Throws
/// `stemshare::error` for a wrong rank, a label count that is not N, or a label out of range.
template <xtensor_expression Images, xtensor_expression Labels>
[[nodiscard]] dataset dataset_from_xtensor(Images&& images, const Labels& labels) {
    constexpr std::string_view who = "train::dataset_from_xtensor";
    using label_type = typename std::remove_cvref_t<Labels>::value_type;
    static_assert(std::is_integral_v<label_type> && !std::is_same_v<label_type, bool>,
                  "dataset_from_xtensor: labels must be integers");
    const dims d = ::stemshare::detail::xtensor_interop::nchw_dims(images, who);
    if (labels.dimension() != 1 || static_cast<std::int64_t>(labels.size()) != d[0])
        throw error(std::string(who), "expected " + std::to_string(d[0]) + " labels {" +
                                          std::to_string(d[0]) + "} for images " + to_string(d) + ", got " +
                                          ::stemshare::detail::xtensor_interop::shape_text(labels));
    dataset out{from_xtensor(std::forward<Images>(images), who).to_tensor(), {}};
    out.labels.reserve(static_cast<std::size_t>(d[0]));
    std::size_t i = 0;
    for (const auto label : labels) {
        if (!std::in_range<std::int32_t>(label) || std::cmp_less(label, 0))
            throw error(std::string(who), "label " + std::to_string(i) + " is " + std::to_string(label) +
                                              "; labels are class numbers 0.." +
                                              std::to_string(std::numeric_limits<std::int32_t>::max()));
        out.labels.push_back(static_cast<std::int32_t>(label));
        ++i;
    }
    return out;
}

}  // namespace train

}  // namespace stemshare
