# Helpers for the server test scripts (sourced). They run from the repository
# root with $DELIBERATE pointing at the program (tests/run.sh sets it) and
# report in the cmocka summary form tests/run.sh adds up.
DELIBERATE=${DELIBERATE:-./deliberate}
SHARED=${DL_SHARED:-../shared}
MODEL="$SHARED/fixtures/models/tiny-qwen3-f32.gguf"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dl-server-test.XXXXXX")
PASS=0 FAIL=0
SERVER_PID=""

cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# skip_all N REASON: the model is missing -> N visible skips.
skip_all() {
    echo "SKIP $(basename "$0"): $2"
    echo "[  SKIPPED ] $1 test(s)."
    exit 0
}

ok()   { PASS=$((PASS + 1)); echo "[       OK ] $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "[  ERROR   ] $1"; echo "[  FAILED  ] $1"; }
# check NAME COND...: runs the condition (a command), counts it.
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

summary() {
    echo "[==========] $((PASS + FAIL)) test(s) run."
    echo "[  PASSED  ] $PASS test(s)."
    [ "$FAIL" -gt 0 ] && echo "[  FAILED  ] $FAIL test(s), listed above."
    [ "$FAIL" -eq 0 ]
}

# start_server ARGS...: starts `deliberate serve` on 127.0.0.1, any free
# port; sets SERVER_PID and PORT (waits until it listens, up to 20 s).
start_server() {
    rm -f "$TMP/port"
    "$DELIBERATE" serve --host 127.0.0.1 --port 0 --port-file "$TMP/port" "$@" \
        >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 200); do
        [ -s "$TMP/port" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ ! -s "$TMP/port" ]; then
        echo "server did not start:"; cat "$TMP/server.log"; return 1
    fi
    PORT=$(cat "$TMP/port")
    BASE="http://127.0.0.1:$PORT"
}

stop_server() {
    [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# new_key DB PROJECT: prints a fresh API key.
new_key() {
    "$DELIBERATE" keys create --project "$2" --db "$1" --json | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p'
}
