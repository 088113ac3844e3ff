#!/usr/bin/env bash
# Crash safety: clients store responses (/v1/responses, store=true) while the
# server is killed with SIGKILL; after a restart every response the server
# acknowledged (HTTP 200 with its id) is there, intact, and SQLite's
# integrity check passes.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
[ -f "$MODEL" ] || skip_all 4 "$MODEL not found (set DL_SHARED)"
command -v curl >/dev/null || skip_all 4 "curl is not installed"

KEY=$(new_key "$TMP/db" crash)
start_server -m "tiny=$MODEL" --db "$TMP/db" -c 256 --parallel 2 || { bad "server starts"; summary; exit 1; }

# client N: stores responses until the server is gone; logs acknowledged ids
client() {
    local i=0
    while [ $i -lt 2000 ]; do
        out=$(curl -s -m 10 -w '\n%{http_code}' -H "Authorization: Bearer $KEY" \
              -H 'Content-Type: application/json' \
              --data-binary "{\"model\":\"tiny\",\"input\":\"note $1-$i\",\"max_output_tokens\":4,\"reasoning\":{\"effort\":\"none\"}}" \
              "$BASE/v1/responses") || break
        code=${out##*$'\n'}
        [ "$code" = 200 ] || break
        printf '%s\n' "${out%$'\n'*}" | sed -n 's/^{"id":"\(resp_[A-Za-z0-9]*\)".*/\1/p' >>"$TMP/acked.$1"
        i=$((i + 1))
    done
}
for c in 1 2 3 4; do client $c & done
sleep 2.5
kill -9 "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""
wait
cat "$TMP"/acked.* >"$TMP/acked" 2>/dev/null
N=$(wc -l <"$TMP/acked")
echo "acknowledged before the kill: $N responses"
check "responses were being stored when the server was killed" [ "$N" -ge 10 ]

start_server -m "tiny=$MODEL" --db "$TMP/db" -c 256 || { bad "server restarts on the same store"; summary; exit 1; }
missing=0
while read -r id; do
    body=$(curl -s -H "Authorization: Bearer $KEY" "$BASE/v1/responses/$id")
    printf '%s' "$body" | grep -q "\"id\":\"$id\"" && printf '%s' "$body" | grep -q '"output"' ||
        { missing=$((missing + 1)); echo "lost: $id"; }
done <"$TMP/acked"
check "every acknowledged response is intact after SIGKILL ($N checked)" [ "$missing" -eq 0 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data-binary '{"model":"tiny","input":"after","max_output_tokens":2}' "$BASE/v1/responses")
check "the store takes new responses after the restart" [ "$code" = 200 ]
stop_server
if command -v sqlite3 >/dev/null; then
    check "SQLite integrity check passes" [ "$(sqlite3 "$TMP/db" 'PRAGMA integrity_check;')" = ok ]
else
    echo "SKIP SQLite integrity check: the sqlite3 program is not installed"
    echo "[  SKIPPED ] 1 test(s)."
fi
summary
