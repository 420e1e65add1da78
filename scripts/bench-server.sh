#!/usr/bin/env bash
# Server figures (poll vs a hello handler, fan-out latency, memory per WebSocket; `capacity`: the floor
# stepped up), each beside its baseline in the same run. Needs wrk (installed here if missing). Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
command -v wrk >/dev/null 2>&1 || { apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null); }
swift build -c release --product switchboard
swift build -c release --product switchboard-bench
ulimit -n "$(ulimit -Hn)" || true
python3 scripts/bench_server.py .build/release/switchboard .build/release/switchboard-bench "$@"
