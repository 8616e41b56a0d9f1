#!/usr/bin/env bash
# What `make test` needs besides Python packages: Debian's Chromium (the browser tests drive it,
# never a Playwright download) and Node.js (the segment builder's model tests run `node --test`).
# Installed from Debian's packages when missing and we may (root, or sudo without a password);
# otherwise one line says what to install, and `make test` stops.
set -euo pipefail

chromium="${BEACON_TEST_CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "make test needs ${missing[*]}: install them (apt-get install ${missing[*]}) and run it again" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "make test needs ${missing[*]} (Chromium at $chromium, or set BEACON_TEST_CHROMIUM; Node.js 20+)" >&2
  exit 1
fi
echo "Installing ${missing[*]} from Debian's packages (needed by the browser and builder tests)"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
