#!/usr/bin/env bash
# Every C++ file is formatted with the committed .clang-format (generated tables excepted).
set -euo pipefail
cd "$1"
if ! command -v clang-format >/dev/null; then
  echo "clang-format is not installed (scripts/ensure-deps installs it)"; exit 1
fi
find src tests bench -name '*.cpp' -o -name '*.h' | grep -v unicode_tables.cpp |
  xargs clang-format --dry-run --Werror
echo "format: ok"
