# PARTI_SANITIZE=ON: the sanitizer build (scripts/test makes it in build-san with clang).
# AddressSanitizer and UndefinedBehaviorSanitizer on every object, any report fatal; with clang,
# libFuzzer's coverage instrumentation too, so the fuzz targets (tests/fuzz) see into the
# library. Only single-process tests and the fuzz targets are built: the multi-rank tests run
# Open MPI's launcher, whose own leaks and races are not ours to report.
option(PARTI_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(PARTI_SANITIZE)
  set(parti_sanitizers -fsanitize=address,undefined -fno-sanitize-recover=all)
  # -O1 and line tables only: the build is part of every CI run, so it is made to compile fast;
  # reports still name file and line.
  add_compile_options(${parti_sanitizers} -O1 -fno-omit-frame-pointer)
  add_link_options(${parti_sanitizers})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options(-gline-tables-only)
    # The instrumentation keeps `omp simd` loops scalar; clang would warn about each one.
    add_compile_options(-fsanitize=fuzzer-no-link -Wno-pass-failed)
  else()
    add_compile_options(-g1)
  endif()
endif()
