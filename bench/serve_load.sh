#!/usr/bin/env bash
# Load benchmark of the API server: 50 concurrent streaming clients for 60 s
# (CLIENTS=, DURATION= to change) against the tiny fixture model on loopback.
# Prints the server's RSS before, at its peak and after, and the clients'
# totals (bench/serve_load.mjs). Run from the repository root after `make`:
#   bash bench/serve_load.sh [path/to/model.gguf]
set -eu
DELIBERATE=${DELIBERATE:-./deliberate}
MODEL=${1:-${DL_SHARED:-../shared}/fixtures/models/tiny-qwen3-f32.gguf}
NODE_PATH_DIR=tests/server/node_modules
TMP=$(mktemp -d)
trap 'kill -9 $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$TMP"' EXIT
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$PID/status"; }
KEY=$("$DELIBERATE" keys create --project load --db "$TMP/db" --json | sed -n 's/.*"key": *"\([^"]*\)".*/\1/p')
"$DELIBERATE" serve -m "tiny=$MODEL" --db "$TMP/db" --port 0 --port-file "$TMP/port" \
    --parallel "${PARALLEL:-8}" -c 512 --max-concurrent 256 >"$TMP/log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
PORT=$(cat "$TMP/port")
echo "server pid $PID on port $PORT, model $MODEL, parallel ${PARALLEL:-8}"
echo "RSS before: $(rss)"
PEAK=0
( while kill -0 $PID 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
    [ "${r:-0}" -gt "$PEAK" ] && PEAK=$r && echo "$PEAK" >"$TMP/peak"
    sleep 0.5
  done ) &
SAMPLER=$!
set +e
DL_BASE_URL="http://127.0.0.1:$PORT/v1" DL_API_KEY="$KEY" CLIENTS=${CLIENTS:-50} DURATION=${DURATION:-60} \
    node bench/serve_load.mjs
rc=$?
set -e
echo "RSS peak: $(cat "$TMP/peak") kB"
echo "RSS after: $(rss)"
kill $SAMPLER 2>/dev/null || true
exit $rc
