#!/usr/bin/env bash
# Installs the system libraries Suyuan builds against (libsodium, SQLite, pkg-config) when missing, and
# with --browser also Chromium for the browser test.
# Debian/Ubuntu; needs root or sudo. Safe to run again: it does nothing when all are present.
set -euo pipefail
need=()
for p in libsodium-dev libsqlite3-dev pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6.1 or later is required)" >&2; exit 1; }
# With --browser (Tools/test.sh): the consumer page's browser test (Tests/SuyuanWebTests) runs Debian's
# headless Chromium.
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null; then
  echo "setup: installing chromium (for the consumer page's browser test)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
