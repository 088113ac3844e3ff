#!/usr/bin/env bash
# The API driven by the official openai package (tests/server/api.test.mjs)
# against `deliberate serve` with the tiny random Qwen3 as model "tiny".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
N_TESTS=21
[ -f "$MODEL" ] || skip_all $N_TESTS "$MODEL not found (set DL_SHARED)"
command -v node >/dev/null || skip_all $N_TESTS "node is not installed"
[ -d tests/server/node_modules/openai ] ||
    skip_all $N_TESTS "the openai package is not installed (cd tests/server && npm ci)"
KEY=$(new_key "$TMP/db" tests)
export DL_KEY_A=$KEY
[ -n "$KEY" ] || { bad "create a key"; summary; exit 1; }
# "tiny" in its recognised format (Qwen3: the random model rarely opens a
# think block); "tiny-think" as QwQ, whose prompt opens it, so reasoning,
# budgets and summaries are exercised
# "canned": a fake upstream whose replies are chosen by the question, for the
# safety stack's output checks
node tests/server/fake_upstream.mjs >"$TMP/fake.port" 2>"$TMP/fake.log" &
FAKE_PID=$!
for _ in $(seq 100); do [ -s "$TMP/fake.port" ] && break; sleep 0.1; done
cat >"$TMP/config.json" <<JSON
{"db": "$TMP/db", "parallel": 2, "ctx_size": 1024,
 "models": [{"name": "tiny", "path": "$MODEL"},
            {"name": "tiny-think", "path": "$MODEL", "chat_format": "qwq"},
            {"name": "canned", "upstream": "http://127.0.0.1:$(cat "$TMP/fake.port")/v1"}]}
JSON
start_server --config "$TMP/config.json" || { bad "server starts"; summary; exit 1; }
# a second server whose model "relay" is the first one through the upstream backend
"$DELIBERATE" serve --host 127.0.0.1 --port 0 --port-file "$TMP/relay.port" --db "$TMP/relay.db" --no-auth \
    --upstream "relay=$BASE/v1,model=tiny,key-env=DL_KEY_A" >"$TMP/relay.log" 2>&1 &
RELAY_PID=$!
for _ in $(seq 100); do [ -s "$TMP/relay.port" ] && break; sleep 0.1; done
RELAY_URL="http://127.0.0.1:$(cat "$TMP/relay.port" 2>/dev/null)/v1"
DL_RELAY_URL="$RELAY_URL" DL_BASE_URL="$BASE/v1" DL_API_KEY="$KEY" node --test --test-reporter=tap tests/server/api.test.mjs \
    >"$TMP/tap.txt" 2>&1
rc=$?
cat "$TMP/tap.txt" | grep -E "^(not )?ok |^# (pass|fail)|^  ---|error|expected|actual" | head -80
PASS=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$TMP/tap.txt")
FAIL=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$TMP/tap.txt")
PASS=${PASS:-0}; FAIL=${FAIL:-0}
[ $rc -ne 0 ] && [ "$FAIL" -eq 0 ] && { echo "node exited $rc"; FAIL=1; }
kill -TERM "$RELAY_PID" "$FAKE_PID" 2>/dev/null; wait "$RELAY_PID" "$FAKE_PID" 2>/dev/null
stop_server
summary
