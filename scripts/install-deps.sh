#!/usr/bin/env bash
# Installs the Debian packages deliberate needs to build and test.
set -euo pipefail
PKGS="build-essential clang libclang-rt-14-dev pkg-config libjansson-dev libonig-dev libutf8proc-dev libcmocka-dev libedit-dev valgrind"
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
