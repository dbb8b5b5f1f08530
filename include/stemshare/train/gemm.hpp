#pragma once
/// \file
/// `train::gemm`: row-major single-precision matrix product for the training kernels. It calls
/// oneDNN's sgemm, which the library links already and which picks AVX2/AVX-512 code at run time,
/// so training is fast without compiling the headers for a particular CPU (no -march).

#include <cstdint>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/core/error.hpp>

namespace stemshare::train {

/// C (m x n) = alpha * op(A) * op(B) + beta * C, all row-major; op(A) is m x k, op(B) is k x n;
/// lda/ldb/ldc are the row strides of A, B and C as stored.
inline void gemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                 float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                 float* c, std::int64_t ldc) {
    if (m == 0 || n == 0) return;
    const dnnl::status s = dnnl::sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha, a,
                                       lda, b, ldb, beta, c, ldc);
    if (s != dnnl::status::success)
        throw error("train::gemm", "oneDNN sgemm failed for m=" + std::to_string(m) +
                                       " n=" + std::to_string(n) + " k=" + std::to_string(k));
}

}  // namespace stemshare::train
