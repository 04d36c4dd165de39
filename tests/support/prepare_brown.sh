#!/usr/bin/env bash
# The TestData.Brown fixture: prepares Brown in each tokenizer the tests use, once per ctest run,
# into the build tree's test-data folder (tests/cli/run.h: shared_brown).
# Usage: prepare_brown.sh PARTI_BINARY TEST_DATA_DIR
set -euo pipefail
for tokenizer in gpt2 byte llama3; do
  "$1" prepare --corpus brown --tokenizer "$tokenizer" --out "$2/brown-$tokenizer"
done
# Single-process reference runs (tests/support/layout_runs.h) are made again in every ctest run.
rm -rf "$2/references"
