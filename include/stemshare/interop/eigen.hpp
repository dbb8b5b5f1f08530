#pragma once
/// \file
/// Eigen where users meet stemshare (link `stemshare::eigen`). Two shapes of data go in:
/// - a rank-4 row-major tensor expression `{N, C, H, W}` (`Eigen::Tensor<float, 4, Eigen::RowMajor>`,
///   a `TensorMap`, a `TensorRef`, lazy expressions, any arithmetic type);
/// - a matrix expression `{N, features}` (`Eigen::Map<Matrix>`, a `Matrix`, a block...), one sample
///   per row, which becomes `{N, features, 1, 1}` (a flat vector is `{K, 1, 1}`).
/// Zero copy when the memory is contiguous, row-major float; one evaluation into a stemshare tensor
/// otherwise. A column-major tensor is refused rather than copied: its dims are usually NCHW
/// reversed (W, H, C, N) to match NCHW memory, and guessing would silently scramble the images.
/// A matrix's rows and columns say which is the sample, so a column-major one is just copied.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include <stemshare/core/dims.hpp>
#include <stemshare/core/error.hpp>
#include <stemshare/interop/input_tensor.hpp>
#include <stemshare/tensor/tensor.hpp>
#include <stemshare/tensor/tensor_view.hpp>

namespace stemshare {

/// Any Eigen tensor expression: `Tensor`, `TensorMap`, `TensorFixedSize`, `TensorRef`, lazy ops.
template <class E>
concept eigen_tensor_expression =
    std::is_base_of_v<Eigen::TensorBase<std::remove_cvref_t<E>, Eigen::ReadOnlyAccessors>,
                      std::remove_cvref_t<E>>;

/// Any dense Eigen matrix or array expression: `Matrix`, `Map`, blocks, products, lazy ops.
template <class E>
concept eigen_matrix_expression =
    std::is_base_of_v<Eigen::DenseBase<std::remove_cvref_t<E>>, std::remove_cvref_t<E>>;

namespace detail::eigen_interop {

template <class E>
inline constexpr int rank_of = Eigen::internal::traits<E>::NumDimensions;

template <class E>
inline constexpr bool row_major_layout = static_cast<int>(Eigen::internal::traits<E>::Layout) ==
                                         static_cast<int>(Eigen::RowMajor);

/// A tensor whose elements are contiguous floats in memory (`TensorRef` may answer nullptr).
template <class E>
concept direct_floats = requires(const E& e) {
    { e.data() } -> std::convertible_to<const float*>;
};

/// The dims of a tensor expression, lazy ones included, without evaluating it.
template <class E>
std::array<Eigen::Index, rank_of<E>> extents_of(const E& e) {
    const Eigen::DefaultDevice device;
    const Eigen::TensorEvaluator<const E, Eigen::DefaultDevice> evaluator(e, device);
    std::array<Eigen::Index, rank_of<E>> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = evaluator.dimensions()[i];
    return out;
}

template <class Array>
std::string shape_text(const Array& extents) {
    std::string s = "{";
    for (std::size_t i = 0; i < extents.size(); ++i) s += (i ? ", " : "") + std::to_string(extents[i]);
    return s + "}";
}

/// Whether a tensor expression can be an NCHW input at all (checked at compile time).
template <class E>
inline constexpr bool nchw_type = row_major_layout<E>&& rank_of<E> == 4;

/// Refuses a tensor expression that is column-major or not of rank 4, naming its shape and what
/// was `expected`.
template <class E>
[[noreturn]] void refuse(const E& e, std::string_view who, const std::string& expected = "{N, C, H, W}") {
    if constexpr (!row_major_layout<E>) {
        throw error(std::string(who), "expected a row-major Eigen tensor (Eigen::RowMajor) " + expected +
                                          ", got a column-major one " + shape_text(extents_of(e)) +
                                          "; declare it RowMajor, or swap_layout() and shuffle() it");
    } else {
        throw error(std::string(who), "expected a rank-4 NCHW Eigen tensor " + expected + ", got rank " +
                                          std::to_string(rank_of<E>) + " " + shape_text(extents_of(e)));
    }
}

/// The NCHW dims of a row-major rank-4 tensor expression; throws naming its shape for an empty extent.
template <class E>
requires nchw_type<E> dims nchw_dims(const E& e, std::string_view who) {
    const auto extents = extents_of(e);
    const dims d{extents[0], extents[1], extents[2], extents[3]};
    interop::require_nchw(d, who, "Eigen tensor");
    return d;
}

/// {rows, cols, 1, 1} of a matrix expression; throws naming its shape when it is empty.
template <class E>
dims matrix_dims(const E& m, std::string_view who) {
    if (m.rows() <= 0 || m.cols() <= 0)
        throw error(std::string(who), "expected a non-empty {N, features} Eigen matrix, got {" +
                                          std::to_string(m.rows()) + ", " + std::to_string(m.cols()) + "}");
    return dims{m.rows(), m.cols(), 1, 1};
}

/// The actual shape of `x` as the user sees it: NCHW for a tensor, {rows, cols} for a matrix.
template <class E>
std::string user_shape(const E& x) {
    if constexpr (eigen_tensor_expression<E>) {
        return shape_text(extents_of(x));
    } else {
        return "{" + std::to_string(x.rows()) + ", " + std::to_string(x.cols()) + "}";
    }
}

/// Throws unless `x` is a row-major tensor or matrix of exactly the dims `expected`.
template <class E>
void require_model_dims(const E& x, const dims& expected, std::string_view who) {
    bool fits = false;
    if constexpr (eigen_tensor_expression<E>) {
        if constexpr (!nchw_type<E>) {
            refuse(x, who, to_string(expected));
        } else {
            const auto e = extents_of(x);
            fits = dims{e[0], e[1], e[2], e[3]} == expected;
        }
    } else {
        fits = dims{x.rows(), x.cols(), 1, 1} == expected;
    }
    if (!fits)
        throw error(std::string(who), "expected input " + to_string(expected) + ", got " + user_shape(x));
}

/// Borrows the contiguous floats at `first` from `x` (kept alive when it is an rvalue), or copies
/// them byte-wise when misaligned.
template <class E, class Pointer>
interop::input_tensor borrow(E&& x, Pointer first_of, const dims& d) {
    using expression = std::remove_cvref_t<E>;
    if constexpr (std::is_lvalue_reference_v<E>) {
        const float* first = first_of(x);
        return interop::float_aligned(first) ? interop::input_tensor::borrowed(first, d)
                                             : interop::copy_bytes(first, d);
    } else {
        // A moved dynamic Matrix/Tensor keeps its heap buffer; a fixed-size one does not, so the
        // data is found after the move.
        auto owner = std::make_shared<const expression>(std::move(x));
        const float* first = first_of(*owner);
        if (!interop::float_aligned(first)) return interop::copy_bytes(first, d);
        return interop::input_tensor::borrowed(first, d, std::move(owner));
    }
}

template <class E>
bool matrix_row_major_contiguous(const E& m) {
    return (m.rows() == 1 || m.rowStride() == m.cols()) && (m.cols() == 1 || m.colStride() == 1);
}

}  // namespace detail::eigen_interop

/// The Eigen tensor expression `t` (row-major {N, C, H, W}, any arithmetic type) as a stemshare
/// input. Zero copy when `t` is float memory (`Tensor`, `TensorMap`, `TensorFixedSize`, a
/// `TensorRef` of one): the result borrows it (an lvalue must outlive the result; an rvalue is
/// moved into it). Otherwise (slices, shuffles, lazy ops, other types) `t` is evaluated once,
/// converted to float, into a stemshare tensor the result owns. Throws `stemshare::error` naming
/// `who` and the shape for a column-major tensor, another rank or an empty extent.
template <eigen_tensor_expression E>
[[nodiscard]] interop::input_tensor from_eigen(E&& t, std::string_view who = "stemshare::from_eigen") {
    using expression = std::remove_cvref_t<E>;
    using scalar = typename Eigen::internal::traits<expression>::Scalar;
    static_assert(std::is_arithmetic_v<scalar>, "from_eigen: the tensor's values must be numbers");
    if constexpr (!detail::eigen_interop::nchw_type<expression>) {
        detail::eigen_interop::refuse(t, who);
    } else {
        const dims d = detail::eigen_interop::nchw_dims(t, who);
        if constexpr (std::is_same_v<scalar, float> && detail::eigen_interop::direct_floats<expression>) {
            if (t.data() != nullptr)
                return detail::eigen_interop::borrow(
                    std::forward<E>(t), [](const expression& x) -> const float* { return x.data(); }, d);
        }
        tensor<float> copy(d);
        Eigen::TensorMap<Eigen::Tensor<float, 4, Eigen::RowMajor>> out(copy.data(), d[0], d[1], d[2], d[3]);
        if constexpr (std::is_same_v<scalar, float>) {
            out = t;
        } else {
            out = t.template cast<float>();
        }
        return interop::input_tensor::copied(std::move(copy));
    }
}

/// The Eigen matrix expression `m` ({N, features}: one sample per row, any arithmetic type) as a
/// stemshare input of dims {N, features, 1, 1}. Zero copy when `m` is row-major contiguous float
/// memory (`Map<Matrix<float, Dynamic, Dynamic, RowMajor>>`, a row-major `Matrix`, a run of its
/// rows, a single row or column); one copy otherwise (column-major storage, strided blocks, lazy
/// expressions). Throws `stemshare::error` naming `who` and the shape when it is empty.
template <eigen_matrix_expression E>
[[nodiscard]] interop::input_tensor from_eigen(E&& m, std::string_view who = "stemshare::from_eigen") {
    using expression = std::remove_cvref_t<E>;
    using scalar = typename expression::Scalar;
    static_assert(std::is_arithmetic_v<scalar>, "from_eigen: the matrix's values must be numbers");
    const dims d = detail::eigen_interop::matrix_dims(m, who);
    if constexpr (std::is_same_v<scalar, float> &&
                  (static_cast<unsigned>(expression::Flags) & Eigen::DirectAccessBit) != 0) {
        if (detail::eigen_interop::matrix_row_major_contiguous(m))
            return detail::eigen_interop::borrow(
                std::forward<E>(m), [](const expression& x) -> const float* { return x.data(); }, d);
    }
    tensor<float> copy(d);
    Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> out(copy.data(), d[0],
                                                                                          d[1]);
    if constexpr (std::is_same_v<scalar, float>) {
        out = m;
    } else {
        out = m.template cast<float>();
    }
    return interop::input_tensor::copied(std::move(copy));
}

/// The plain rank-4 tensor `t` as a row-major `Eigen::TensorMap`: no copy, writable when `T` is.
/// Throws `stemshare::error` for another rank or an nhwc layout.
template <class T>
[[nodiscard]] auto as_eigen(tensor_view<T> t) {
    using value = std::remove_const_t<T>;
    using eigen_tensor =
        std::conditional_t<std::is_const_v<T>, const Eigen::Tensor<value, 4, Eigen::RowMajor>,
                           Eigen::Tensor<value, 4, Eigen::RowMajor>>;
    const dims& d = t.extents();
    if (d.rank() != 4 || t.memory_layout() != layout::plain)
        throw error("stemshare::as_eigen", "expected a plain rank-4 tensor, got " +
                                               std::string(to_string(t.memory_layout())) + " " +
                                               to_string(d));
    return Eigen::TensorMap<eigen_tensor>(t.data(), d[0], d[1], d[2], d[3]);
}

/// The plain tensor `t` ({N, ...}) as a row-major `Eigen::Map` of N rows (one per image) and
/// numel / N columns: scores {N, K, 1, 1} become an N x K matrix. No copy.
template <class T>
[[nodiscard]] auto as_eigen_matrix(tensor_view<T> t) {
    using value = std::remove_const_t<T>;
    using matrix = Eigen::Matrix<value, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using eigen_matrix = std::conditional_t<std::is_const_v<T>, const matrix, matrix>;
    const dims& d = t.extents();
    if (d.rank() == 0 || d.has_zero_or_negative() || t.memory_layout() != layout::plain)
        throw error("stemshare::as_eigen_matrix", "expected a plain non-empty tensor {N, ...}, got " +
                                                      std::string(to_string(t.memory_layout())) + " " +
                                                      to_string(d));
    return Eigen::Map<eigen_matrix>(t.data(), d[0], t.numel() / d[0]);
}

/// Runs `model` (an `onednn::compiled_graph`) on Eigen data: a row-major tensor {batch, C, H, W}
/// gives an `Eigen::Tensor<float, 4, Eigen::RowMajor>` {batch, C', H', W'}; a matrix {batch,
/// features} (a model whose input is {features, 1, 1}) gives a row-major matrix {batch, C'*H'*W'}.
/// The model writes straight into the result; the input is borrowed or copied as `from_eigen`
/// says. Throws `stemshare::error` naming the expected and actual shapes before anything is copied.
template <interop::batch_model M, class E>
requires eigen_tensor_expression<E> || eigen_matrix_expression<E>
[[nodiscard]] auto eigen_run(M& model, E&& x) {
    constexpr std::string_view who = "stemshare::eigen_run";
    const dims out_dims = interop::batch_dims(model.batch(), model.output_shape());
    detail::eigen_interop::require_model_dims(x, interop::batch_dims(model.batch(), model.input_shape()),
                                              who);
    const interop::input_tensor in = from_eigen(std::forward<E>(x), who);
    if constexpr (eigen_tensor_expression<E>) {
        Eigen::Tensor<float, 4, Eigen::RowMajor> out(out_dims[0], out_dims[1], out_dims[2], out_dims[3]);
        model.run(in.view(), tensor_view<float>(out.data(), out_dims));
        return out;
    } else {
        Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> out(
            out_dims[0], out_dims.numel() / out_dims[0]);
        model.run(in.view(), tensor_view<float>(out.data(), out_dims));
        return out;
    }
}

/// Hands Eigen data (a row-major tensor {1, C, H, W}, or a 1 x features matrix) to
/// `executor.process` (a `runtime::executor`) and returns its frame result (valid until the next
/// frame).
template <interop::frame_processor X, class E>
requires eigen_tensor_expression<E> || eigen_matrix_expression<E>
decltype(auto) eigen_process(X& executor, E&& frame) {
    constexpr std::string_view who = "stemshare::eigen_process";
    detail::eigen_interop::require_model_dims(frame, interop::batch_dims(1, executor.plan()->input_shape()),
                                              who);
    const interop::input_tensor in = from_eigen(std::forward<E>(frame), who);
    return executor.process(in.view());
}

}  // namespace stemshare
