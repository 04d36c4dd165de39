option(PARTI_WERROR "Treat warnings as errors" ON)
function(parti_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wold-style-cast -Wnon-virtual-dtor
    -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 at -O3 reports false -Wrestrict overlaps inside std::string (GCC PR 105651).
    target_compile_options(${target} PRIVATE -Wno-restrict)
  else()
    # Clang's -Wconversion also means -Wsign-conversion, which GCC's (for C++) does not: the
    # sanitizer build (clang) keeps the rules of the main one (GCC).
    target_compile_options(${target} PRIVATE -Wno-sign-conversion)
  endif()
  if(PARTI_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# nlohmann-json's inlined accessors trip GCC 12's -Wnull-dereference at -O3 (a false positive
# inside the library, not in our code): targets that parse JSON opt out of that one warning.
function(parti_json_target target)
  target_compile_options(${target} PRIVATE -Wno-null-dereference)
endfunction()
