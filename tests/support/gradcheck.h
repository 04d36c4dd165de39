// Central finite differences in double: d loss / d x[i] ~ (loss(x + h e_i) - loss(x - h e_i)) / 2h
// with h = 1e-5. In double the truncation error is ~h^2 |f'''| and the rounding error
// ~1e-16 / h, both far below the 1e-6 relative bound the tests demand.
#pragma once

#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace parti::test {

// Numerical gradient of loss() with respect to x[0..n), perturbing x in place and restoring it.
inline std::vector<double> numeric_gradient(double* x, size_t n,
                                            const std::function<double()>& loss, double h = 1e-5) {
  std::vector<double> grad(n);
  for (size_t i = 0; i < n; ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = loss();
    x[i] = keep - h;
    const double down = loss();
    x[i] = keep;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

// ||a - b|| / ||b|| (or ||a - b|| when b is zero).
inline double relative_error(const double* a, const double* b, size_t n) {
  double diff = 0.0, ref = 0.0;
  for (size_t i = 0; i < n; ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    ref += b[i] * b[i];
  }
  return ref > 0.0 ? std::sqrt(diff / ref) : std::sqrt(diff);
}

inline double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  return relative_error(a.data(), b.data(), a.size());
}

inline std::vector<double> random_vector(size_t n, unsigned seed, double scale = 1.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> v(n);
  for (double& x : v) {
    x = normal(gen);
  }
  return v;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    s += a[i] * b[i];
  }
  return s;
}

// The bound every gradient check uses (issue #2, acceptance 1).
constexpr double kGradTolerance = 1e-6;

}  // namespace parti::test
