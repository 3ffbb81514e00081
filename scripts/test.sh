#!/usr/bin/env bash
# Runs every test file under src/ and test/. Node 20's test runner does not expand globs,
# so the shell finds the files. Pass file paths to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then files=("$@"); else mapfile -t files < <(find src test -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-concurrency="${SLUICE_TEST_CONCURRENCY:-2}" --test-timeout=240000 "${files[@]}"
