#!/usr/bin/env bash
# The API driven by the official openai package (tests/server/api.test.mjs)
# against `deliberate serve` with the tiny random Qwen3 as model "tiny".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
N_TESTS=13
[ -f "$MODEL" ] || skip_all $N_TESTS "$MODEL not found (set DL_SHARED)"
command -v node >/dev/null || skip_all $N_TESTS "node is not installed"
[ -d tests/server/node_modules/openai ] ||
    skip_all $N_TESTS "the openai package is not installed (cd tests/server && npm ci)"
KEY=$(new_key "$TMP/db" tests)
[ -n "$KEY" ] || { bad "create a key"; summary; exit 1; }
start_server -m "tiny=$MODEL" --db "$TMP/db" --parallel 2 -c 1024 || { bad "server starts"; summary; exit 1; }
DL_BASE_URL="$BASE/v1" DL_API_KEY="$KEY" node --test --test-reporter=tap tests/server/api.test.mjs \
    >"$TMP/tap.txt" 2>&1
rc=$?
cat "$TMP/tap.txt" | grep -E "^(not )?ok |^# (pass|fail)|^  ---|error|expected|actual" | head -80
PASS=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$TMP/tap.txt")
FAIL=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$TMP/tap.txt")
PASS=${PASS:-0}; FAIL=${FAIL:-0}
[ $rc -ne 0 ] && [ "$FAIL" -eq 0 ] && { echo "node exited $rc"; FAIL=1; }
stop_server
summary
