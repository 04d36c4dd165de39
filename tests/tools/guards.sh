#!/usr/bin/env bash
# Source guards (STYLE.md 2.9 and habit 10): no file over 800 lines (prints the table of files
# over the 400-line aim), no MPI outside src/parti/dist/, every source folder has a test folder.
set -euo pipefail
root=$1
cd "$root"
fail=0
while read -r lines file; do
  [[ $file == total ]] && continue
  if ((lines > 800)); then echo "FAIL: $file has $lines lines (limit 800)"; fail=1
  elif ((lines > 400)); then echo "note: $file has $lines lines (aim 400)"; fi
done < <(find src tests bench -name '*.cpp' -o -name '*.h' | grep -v unicode_tables.cpp | xargs wc -l)
if grep -rln -E '#include <mpi.h>|\bMPI_[A-Z][a-z_]*\(' src tests --include='*.cpp' --include='*.h' |
    grep -v '^src/parti/dist/'; then
  echo "FAIL: MPI used outside src/parti/dist/"; fail=1
fi
for dir in src/parti/*/; do
  name=$(basename "$dir")
  [[ -d tests/$name ]] || { echo "FAIL: src/parti/$name has no tests/$name"; fail=1; }
done
((fail == 0)) && echo "guards: ok"
exit $fail
