#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs system libraries, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh --browser
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test-output.txt
