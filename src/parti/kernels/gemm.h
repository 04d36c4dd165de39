// Row-major GEMM for float (cblas_sgemm) and double (cblas_dgemm, used by gradient checks):
//   C (m, n) = alpha * op(A) (m, k) * op(B) (k, n) + beta * C, with leading dimensions.
// A single row (m = 1: generation's key/value-cache steps) goes to sgemv instead.
#pragma once

namespace parti::kernels {

enum class Trans { no, yes };

template <typename T>
void gemm(Trans ta, Trans tb, int m, int n, int k, T alpha, const T* a, int lda, const T* b,
          int ldb, T beta, T* c, int ldc);

}  // namespace parti::kernels
