#pragma once
/// \file
/// `onednn::sgemm`: row-major single-precision matrix product on oneDNN's sgemm, which picks
/// AVX2/AVX-512 code at run time, so callers are fast without compiling the headers for a
/// particular CPU (no -march).

#include <cstdint>
#include <string>
#include <string_view>

#include <oneapi/dnnl/dnnl.hpp>

#include <stemshare/core/error.hpp>

namespace stemshare::onednn {

/// C (m x n) = alpha * op(A) * op(B) + beta * C, all row-major; op(A) is m x k, op(B) is k x n;
/// lda/ldb/ldc are the row strides of A, B and C as stored. An empty C is left alone. A failure
/// is a `stemshare::error` from `who` naming the sizes.
inline void sgemm(bool transpose_a, bool transpose_b, std::int64_t m, std::int64_t n, std::int64_t k,
                  float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                  float* c, std::int64_t ldc, std::string_view who = "onednn::sgemm") {
    if (m == 0 || n == 0) return;
    const dnnl::status s = dnnl::sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha, a,
                                       lda, b, ldb, beta, c, ldc);
    if (s != dnnl::status::success)
        throw error(std::string(who), "oneDNN sgemm failed for m=" + std::to_string(m) +
                                          " n=" + std::to_string(n) + " k=" + std::to_string(k));
}

}  // namespace stemshare::onednn
