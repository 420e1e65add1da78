#!/usr/bin/env bash
# Installs what Switchboard needs on a fresh Debian machine with Swift, skipping what is present.
# Called by scripts/run.sh and scripts/test.sh (and so by CI); safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_needed=()
command -v pkg-config >/dev/null 2>&1 || apt_needed+=(pkg-config)
dpkg -s libsqlite3-dev >/dev/null 2>&1 || apt_needed+=(libsqlite3-dev)
dpkg -s libwebsockets-dev >/dev/null 2>&1 || apt_needed+=(libwebsockets-dev)
# The server runs lws on a libev (epoll) loop: lws's plugin for it and libev's header (Debian's
# libwebsockets-dev depends on both; named here so a build never finds them missing).
dpkg -s libwebsockets-evlib-ev >/dev/null 2>&1 || apt_needed+=(libwebsockets-evlib-ev)
dpkg -s libev-dev >/dev/null 2>&1 || apt_needed+=(libev-dev)
command -v sqlite3 >/dev/null 2>&1 || apt_needed+=(sqlite3)
# The page tests (`setup.sh --tests`) drive a real headless Chromium (Tests/contract/test_pages.py).
if [ "${1:-}" = "--tests" ]; then
  command -v chromium >/dev/null 2>&1 || apt_needed+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || apt_needed+=(chromium-driver)
  dpkg -s fonts-noto-color-emoji >/dev/null 2>&1 || apt_needed+=(fonts-noto-color-emoji)  # the status icons in screenshots
fi
if [ ${#apt_needed[@]} -gt 0 ]; then
  echo "setup: installing ${apt_needed[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${apt_needed[@]}" >/dev/null
fi

# The pinned versions, every time: pip answers at once (without the network) when they are installed,
# and a machine with other versions gets exactly the ones the suite passed with.
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r "$(dirname "$0")/requirements-test.txt"
