#!/usr/bin/env bash
# The whole test suite on a fresh Debian or Ubuntu machine, by itself (README "Quick start";
# .ci/run is this script). Extra arguments go to pytest, e.g. scripts/test.sh -x -q tests/cli.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Vary (Region) editor test drives Debian's chromium through Playwright: never a browser
# that Playwright downloads.
if ! command -v chromium >/dev/null; then
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e '.[test]'
exec .venv/bin/python -m pytest "$@"
