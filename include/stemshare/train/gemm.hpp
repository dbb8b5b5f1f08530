#pragma once
/// \file
/// `train::gemm`: row-major single-precision matrix product for the training kernels, on the
/// oneDNN backend's sgemm (backend/onednn/sgemm.hpp), which the library links already.

#include <cstdint>

#include <stemshare/backend/onednn/sgemm.hpp>

namespace stemshare::train {

/// C (m x n) = alpha * op(A) * op(B) + beta * C, all row-major; op(A) is m x k, op(B) is k x n;
/// lda/ldb/ldc are the row strides of A, B and C as stored.
inline void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                 float* c, std::int64_t ldc) {
    onednn::sgemm(transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, "train::gemm");
}

}  // namespace stemshare::train
