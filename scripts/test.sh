#!/usr/bin/env bash
# `npm test [-- <file filter>...]`: set-up (scripts/setup.sh --test-data), the type check, then
# every test file in one process. The last line is always `tests: N passed, N failed` (a type
# error or a crashed runner counts as one failed test) and the exit code is 0 only if none failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

summary() {
  echo "tests: $1 passed, $2 failed"
  [ "$2" = 0 ]
  exit $?
}

if ! bash scripts/setup.sh --test-data; then
  echo "set-up failed (see above): no tests were run"
  summary 0 1
fi

echo "== type check: tsc --noEmit -p ."
tsc_failed=0
if node_modules/.bin/tsc --noEmit -p .; then
  echo "type check passed"
else
  tsc_failed=1
  echo "type check FAILED (counted as one failed test)"
fi

echo "== tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The runner's own summary line is held back and re-emitted last, after anything printed later
# (the skipped count, Dawn's messages at exit).
node --import tsx test/run.ts "$@" 2>&1 | tee "$log" | grep --line-buffered -v -E '^tests: [0-9]+ passed, [0-9]+ failed$'
rc=${PIPESTATUS[0]}

line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -1)
passed=0
failed=0
if [[ "$line" =~ ^tests:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=${BASH_REMATCH[1]}
  failed=${BASH_REMATCH[2]}
fi
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
  echo "the test runner exited with status $rc (counted as one failed test)"
  failed=1
fi
summary "$passed" $((failed + tsc_failed))
