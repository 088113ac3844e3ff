#!/usr/bin/env bash
# Installs the Debian packages deliberate needs to build and test.
set -euo pipefail
cd "$(dirname "$0")/.."
# chromium (headless) renders the HTML eval report in tests/eval/test_report_render.sh;
# jq reads the measurements into the model card (scripts/model-card.sh).
PKGS="build-essential clang libclang-rt-14-dev pkg-config libjansson-dev libonig-dev libutf8proc-dev libcmocka-dev libedit-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev libmicrohttpd-dev sqlite3 curl valgrind chromium jq"
# Node.js + npm run the API tests with the official `openai` package; use the
# machine's own Node.js when there is one.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y $missing
fi

# The official openai package for the API tests (tests/server), from the npm
# registry at the version pinned in package-lock.json.
if [ -f tests/server/package-lock.json ] && [ ! -d tests/server/node_modules/openai ]; then
    (cd tests/server && npm ci --no-audit --no-fund --loglevel=error)
fi
