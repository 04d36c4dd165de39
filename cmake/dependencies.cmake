# Every dependency is a Debian package installed by scripts/ensure-deps.
find_package(OpenMP REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(GTest REQUIRED)
find_package(ZLIB REQUIRED)  # gzip-compressed corpora (data/inputs.h)
find_package(tomlplusplus REQUIRED)  # parti train --config (cli/config_file.h)

# OpenBLAS, OpenMP build: its threads are OpenMP threads, so BLAS and our kernels share one pool
# and `--threads` sets both. Linked by full path so the run-time path picks this variant rather
# than whichever libopenblas.so.0 the Debian alternatives point at.
set(PARTI_OPENBLAS_DIR "/usr/lib/x86_64-linux-gnu/openblas-openmp" CACHE PATH "OpenBLAS (OpenMP) folder")
find_library(PARTI_OPENBLAS_LIB NAMES openblas PATHS "${PARTI_OPENBLAS_DIR}" NO_DEFAULT_PATH REQUIRED)
find_path(PARTI_OPENBLAS_INCLUDE cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-openmp REQUIRED)
add_library(parti_openblas INTERFACE)
target_link_libraries(parti_openblas INTERFACE "${PARTI_OPENBLAS_LIB}")
target_include_directories(parti_openblas SYSTEM INTERFACE "${PARTI_OPENBLAS_INCLUDE}")
