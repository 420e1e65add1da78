#!/usr/bin/env bash
# Every test: the Swift suites (domain, store contract, app, schema conformance) and the contract
# tests that drive the built `switchboard` binary from outside.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
swift build --build-tests
swift test --skip-build
python3 -m pytest -q Tests/contract
