#!/usr/bin/env bash
# Installs the system libraries Suyuan builds against (libsodium, SQLite, pkg-config) and runs with (libcurl)
# when missing, and with --browser also Chromium for the browser test.
# Debian/Ubuntu; needs root or sudo. Safe to run again: it does nothing when all are present.
set -euo pipefail
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for p in libsodium-dev libsqlite3-dev pkg-config; do
  installed "$p" || need+=("$p")
done
# libcurl, which FoundationNetworking's URLSession loads at run time (`suyuan mirror`, SuyuanClient):
# libcurl4 up to Debian 12, libcurl4t64 from Debian 13 on.
curl=0
installed libcurl4 || installed libcurl4t64 || curl=1
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#need[@]} -gt 0 ] || [ $curl -eq 1 ]; then
  $SUDO apt-get update -qq
  if [ $curl -eq 1 ]; then
    if apt-cache policy libcurl4t64 2>/dev/null | grep -q "Candidate: [0-9]"; then need+=(libcurl4t64); else need+=(libcurl4); fi
  fi
  echo "setup: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6.1 or later is required)" >&2; exit 1; }
# With --browser (Tools/test.sh): the consumer page's browser test (Tests/SuyuanWebTests) runs Debian's
# headless Chromium.
if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null; then
  echo "setup: installing chromium (for the consumer page's browser test)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
