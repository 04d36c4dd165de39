#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its seeds (issue #18): any crash, sanitizer
# report, uncaught exception, input slower than 10 s or allocation over 1 GiB fails the test,
# and the input that did it is kept in the build folder (printed by libFuzzer).
# usage: run_fuzzer.sh FUZZER SEEDS_DIR WORK_DIR SECONDS
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus"
cd "$work"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=1024 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/" corpus "$seeds"
