#!/usr/bin/env bash
# The test command of README.md and CI: installs what the tests need, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift build --build-tests 2>&1 | grep -v -E '^\[[0-9]+/[0-9]+\] (Compiling|Write|Linking|Emitting|Copying)' || true
swift build --build-tests >/dev/null  # fails loudly if the build did
scripts/start-libvirt.sh
# Line-buffered, so that a run stopped by CI's clock still shows which tests had started.
stdbuf -oL -eL swift test
