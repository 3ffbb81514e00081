#!/usr/bin/env bash
# Runs every test file under src/ and test/. Node 20's test runner does not expand globs,
# so the shell finds the files. Pass file paths to run only those.
#
# Files in ALONE run after the others, one at a time: their assertions compare what CPU-driven
# autoscaling does under a fixed load with a negative control (the same load without warm-up
# exclusion must overshoot), and another test file's load on the same 2 cores can decide that
# comparison (seen once: the control run answered 105 of 159 requests and never scaled out).
set -euo pipefail
cd "$(dirname "$0")/.."
run() { node --import tsx --test --test-concurrency="$1" --test-timeout=240000 "${@:2}"; }
if [ "$#" -gt 0 ]; then run "${SLUICE_TEST_CONCURRENCY:-2}" "$@"; exit; fi
# mesh-security's rotation check (at least two certificate rotations during a bounded load) and
# mesh-activator's first-answer checks are timing-sensitive too: run beside each other on 2 cores,
# the rotation check failed in 2 of 5 runs already at 97f5e74.
ALONE=(test/e2e/autoscale-cpu.test.ts test/e2e/mesh-security.test.ts test/e2e/mesh-activator.test.ts)
mapfile -t all < <(find src test -name '*.test.ts' | sort)
files=()
for f in "${all[@]}"; do
  keep=1
  for a in "${ALONE[@]}"; do [ "$f" = "$a" ] && keep=0; done
  [ "$keep" = 1 ] && files+=("$f")
done
status=0
run "${SLUICE_TEST_CONCURRENCY:-2}" "${files[@]}" || status=$?
run 1 "${ALONE[@]}" || status=$?
exit "$status"
