#!/usr/bin/env bash
# Every test: the Swift suites (domain, store contract, app, schema conformance) and the contract
# tests that drive the built `switchboard` binary from outside.
#
#   scripts/test.sh              once
#   scripts/test.sh --repeat 3   built once, then every suite three times in a row: a test that passes
#                                only sometimes shows here, not in CI. One summary line per run; fails
#                                if any run failed.
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat="${2:-}"; shift 2 || true ;;
    *) echo "usage: scripts/test.sh [--repeat N]" >&2; exit 2 ;;
  esac
done
case "$repeat" in ''|*[!0-9]*|0) echo "test: --repeat takes a whole number of runs, 1 or more" >&2; exit 2 ;; esac

scripts/setup.sh --tests
swift build --build-tests

if [ "$repeat" -eq 1 ]; then
  swift test --skip-build
  python3 -m pytest -q Tests/contract
  exit 0
fi

logs="$(mktemp -d)"
summaries=()
failed=0
for run in $(seq 1 "$repeat"); do
  echo "test: run $run of $repeat (output in $logs/run-$run.log)"
  status=0
  { swift test --skip-build && python3 -m pytest -q Tests/contract; } >"$logs/run-$run.log" 2>&1 || status=$?
  swift_line="$(grep -E 'Test run with [0-9]+ tests' "$logs/run-$run.log" | tail -1 | sed 's/^[^A-Za-z]*//')"
  contract_line="$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^[0-9]+ (passed|failed)|(passed|failed).* in [0-9.]+s' "$logs/run-$run.log" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//')"
  if [ "$status" -ne 0 ]; then
    failed=$((failed + 1))
    grep -E '^(FAILED|ERROR) |✘' "$logs/run-$run.log" | head -20 || true
  fi
  summaries+=("run $run: $([ "$status" -eq 0 ] && echo ok || echo FAILED) · swift: ${swift_line:-no summary} · contract: ${contract_line:-not run}")
  echo "test: ${summaries[-1]}"
done
echo "test: $repeat runs, $failed failed"
printf 'test: %s\n' "${summaries[@]}"
[ "$failed" -eq 0 ]
