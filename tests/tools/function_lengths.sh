#!/usr/bin/env bash
# Prints "LINES FILE:LINE SIGNATURE" for every namespace-scope function definition under the given
# folders (clang-formatted code: a definition starts at column 0 and ends with "}" at column 0;
# member functions defined inside a class body are not seen). Used by guards.sh.
set -euo pipefail
find "$@" -name '*.cpp' -o -name '*.h' | sort | xargs awk '
  FNR == 1 { cand = 0; infn = 0 }
  infn && /^}/ { print FNR - start + 1, FILENAME ":" start, sig; infn = 0; next }
  infn { next }
  /^[A-Za-z_]/ && !/^(namespace|using|template|class|struct|enum|union|typedef|extern|static_assert)[ <]/ {
    cand = 1; start = FNR; sig = $0
  }
  cand && /\{$/ { infn = 1; cand = 0; next }
  cand && /[;}]$/ { cand = 0 }
'
