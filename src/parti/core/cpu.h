// The machine's compute set-up: which OpenBLAS kernel runs, how many threads.
// OpenBLAS picks its kernel from the CPU when the library loads; on some virtual machines that
// detection falls back to a generic core (e.g. 'Prescott', ~5x slower sgemm) although the CPU has
// AVX2/AVX-512. `select_blas_kernel` runs first thing in main: if the kernel is generic, the CPU
// flags allow a faster one and the user has not set OPENBLAS_CORETYPE, it sets it and re-executes
// the program so the library loads again with the right kernel.
#pragma once

#include <string>

namespace parti::core {

// Returns normally when no re-exec is needed; otherwise replaces the process (never returns).
void select_blas_kernel(char** argv);

// Keeps the memory the process frees for its next allocations, as PyTorch's caching allocator
// does on a GPU. glibc serves a block above its mmap threshold (32 MiB at most) from fresh pages
// and unmaps it on free, so a buffer of that size made again faults every page in again: Open
// MPI takes a temporary buffer of the message's size for each all-reduce, and one of 64 MiB over
// 2 ranks took 169 ms instead of 21 ms on the 2-core VM (any gradient bucket or ZeRO unit above
// 32 MiB). Large blocks come from the heap instead, and its top is never trimmed: the resident
// size stays at the process's peak. Runs first thing in main.
void keep_freed_memory();

// Sets both OpenMP's and OpenBLAS's thread counts (they share one OpenMP pool).
void set_threads(int threads);
int threads();

// "OpenBLAS 0.3.21 kernel Zen (OPENBLAS_CORETYPE=...), 2 threads"
std::string describe_compute();

// Measured single-precision GEMM rate of this process (GFLOP/s): the best of `repeats` timed
// (m x k) (k x n) products after one untimed warm-up.
double measure_sgemm_gflops(int m, int n, int k, int repeats);

}  // namespace parti::core
