#include "parti/kernels/gemm.h"

#include <cblas.h>

#include <algorithm>

namespace parti::kernels {
namespace {

CBLAS_TRANSPOSE to_cblas(Trans t) { return t == Trans::yes ? CblasTrans : CblasNoTrans; }

}  // namespace

template <>
void gemm<float>(Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
  if (m == 1 && n > 1 && k > 1) {
    // One row (generation with the key/value cache): a matrix-vector product. OpenBLAS 0.3.21's
    // sgemm would copy (pack) all of B first, reading it twice; sgemv streams it once.
    const int incx = ta == Trans::yes ? lda : 1;
    if (beta == 0.0f) {  // C may hold anything (NaN bit patterns): beta 0 ignores it, as sgemm
      std::fill(c, c + n, 0.0f);
    }
    if (tb == Trans::yes) {  // c = B a, B (n x k)
      cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, incx, beta, c, 1);
    } else {  // c = B^T a, B (k x n)
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, incx, beta, c, 1);
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

template <>
void gemm<double>(Trans ta, Trans tb, int m, int n, int k, double alpha, const double* a, int lda,
                  const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), m, n, k, alpha, a, lda, b, ldb, beta, c,
              ldc);
}

}  // namespace parti::kernels
