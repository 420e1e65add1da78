#!/usr/bin/env bash
# Runs Switchboard with demo data on the embedded store: the engine, the projections and the
# HTTP + WebSocket server (default port 8080; pass --port N, or --port 0 for a free one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product switchboard
exec .build/release/switchboard serve --demo --store "${SWITCHBOARD_STORE:-./switchboard.sqlite}" "$@"
