#!/usr/bin/env bash
# Runs Switchboard with demo data on the embedded store (./switchboard.sqlite).
# Until the live server lands this records the scripted demo day and prints its event log.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product switchboard
exec .build/release/switchboard demo --store "${SWITCHBOARD_STORE:-./switchboard.sqlite}" "$@"
