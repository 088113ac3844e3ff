#!/usr/bin/env bash
# Every error case of the API, with curl: OpenAI error JSON (message, type,
# param, code) and the right status for a missing key, malformed JSON (line
# and column), wrong types, unknown model, oversized bodies and headers,
# context overflow, too many concurrent requests (429 + Retry-After),
# unknown URLs and methods, invalid UTF-8, slow/idle clients; plus a server
# with no model, --no-auth off loopback, and /metrics.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
[ -f "$MODEL" ] || skip_all 27 "$MODEL not found (set DL_SHARED)"
command -v curl >/dev/null || skip_all 27 "curl is not installed"

KEY=$(new_key "$TMP/db" errors)
start_server -m "tiny=$MODEL" --db "$TMP/db" -c 128 --parallel 1 --max-body 65536 \
    --max-concurrent 1 --idle-timeout 2 || { bad "server starts"; summary; exit 1; }

# req METHOD PATH [BODY] [extra curl args...]: sets STATUS, BODY_OUT, HEADERS.
req() {
    local method=$1 path=$2 body=${3:-}
    shift 3 2>/dev/null || shift $#
    local args=(-s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$method"
                -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
    [ -n "$body" ] && args+=(--data-binary "$body")
    STATUS=$(curl "${args[@]}" "$@" "$BASE$path")
    BODY_OUT=$(cat "$TMP/body" 2>/dev/null)
    HEADERS=$(cat "$TMP/headers" 2>/dev/null)
}
has() { printf '%s' "$BODY_OUT" | grep -q -- "$1"; }
is_error() { # STATUS CODE-or-empty PARAM-or-empty
    [ "$STATUS" = "$1" ] && has '"error"' && has '"message"' && has '"type"' &&
        { [ -z "$2" ] || has "\"code\":\"$2\""; } && { [ -z "$3" ] || has "\"param\":\"$3\""; }
}
CHAT='{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":4}'

STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' "$BASE/v1/models"); BODY_OUT=$(cat "$TMP/body")
check "no key: 401 invalid_api_key" is_error 401 invalid_api_key ""
STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' -H 'Authorization: Bearer dlk-nope' "$BASE/v1/models"); BODY_OUT=$(cat "$TMP/body")
check "wrong key: 401" is_error 401 invalid_api_key ""

req POST /v1/chat/completions '{"model": "tiny",
  "messages": [}'
check "malformed JSON: 400 with line and column" eval 'is_error 400 invalid_json "" && has "line 2 column"'
req POST /v1/chat/completions ''
check "empty body: 400" is_error 400 invalid_json ""
req POST /v1/chat/completions '[1,2]'
check "not an object: 400" is_error 400 invalid_json ""
req POST /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":"ten"}'
check "wrong type names the field" is_error 400 invalid_type max_completion_tokens
req POST /v1/chat/completions '{"model":"tiny","messages":"hi"}'
check "messages must be an array" is_error 400 "" messages
req POST /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"temperature":7}'
check "out of range value names the field" is_error 400 invalid_value temperature
req POST /v1/chat/completions '{"messages":[{"role":"user","content":"hi"}]}'
check "missing model: 400" is_error 400 missing_required_parameter model
req POST /v1/chat/completions '{"model":"gpt-17","messages":[{"role":"user","content":"hi"}]}'
check "unknown model: 404 model_not_found" is_error 404 model_not_found model
req POST /v1/chat/completions "$(printf '{"model":"tiny","messages":[{"role":"user","content":"bad \xff byte"}]}')"
check "invalid UTF-8: 400" eval '[ "$STATUS" = 400 ] && has UTF-8'
req POST /v1/chat/completions '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":3,"frobnicate":{"x":1},"metadata":{"a":"b"}}'
check "unknown fields are ignored" eval '[ "$STATUS" = 200 ] && has chat.completion'

head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/big.txt"
req POST /v1/chat/completions "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"$(cat "$TMP/big.txt")\"}]}"
check "body over --max-body: 413" is_error 413 request_too_large ""
LONG=$(printf 'word %.0s' $(seq 200))
req POST /v1/chat/completions "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"$LONG\"}]}"
check "prompt over the context: 400 context_length_exceeded" is_error 400 context_length_exceeded messages
req POST /v1/responses "{\"model\":\"tiny\",\"input\":\"$LONG\"}"
check "responses: context_length_exceeded too" is_error 400 context_length_exceeded input
STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" \
    -H "X-Big: $(head -c 90000 /dev/zero | tr '\0' 'h')" "$BASE/v1/models")
check "oversized headers are refused" eval '[ "$STATUS" = 431 ] || [ "$STATUS" = 413 ]'

req GET /v1/frobs
check "unknown URL: 404" is_error 404 unknown_url ""
req PUT /v1/chat/completions "$CHAT"
check "wrong method: 405" is_error 405 "" ""
req GET /v1/responses/resp_doesnotexist
check "unknown stored response: 404" is_error 404 "" ""

# 429: twelve requests at once against --max-concurrent 1
for k in $(seq 12); do
    curl -s -o "$TMP/c$k.body" -D "$TMP/c$k.headers" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' \
        --data-binary '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"n":4,"max_completion_tokens":100,"reasoning_effort":"none"}' \
        "$BASE/v1/chat/completions" >"$TMP/c$k.status" &
    PIDS="${PIDS:-} $!"
done
wait $PIDS
n429=0 n200=0 retry=0
for k in $(seq 12); do
    case $(cat "$TMP/c$k.status") in
    429) n429=$((n429 + 1))
         grep -qi '^Retry-After: 1' "$TMP/c$k.headers" && grep -q '"code":"rate_limit_exceeded"' "$TMP/c$k.body" &&
             retry=$((retry + 1)) ;;
    200) n200=$((n200 + 1)) ;;
    esac
done
echo "12 concurrent requests: $n200 served, $n429 refused with 429"
check "too many concurrent requests: 429 with Retry-After, the others served" \
    eval '[ $n429 -ge 1 ] && [ $retry -eq $n429 ] && [ $((n429 + n200)) -eq 12 ] && [ $n200 -ge 1 ]'

# a client that goes away mid-stream cancels its generation: 16 choices of
# up to 120 tokens would be 1920 tokens; the client leaves after 0.3 s
before=$(curl -s "$BASE/metrics" | sed -n 's/^deliberate_tokens_generated_total \([0-9]*\)/\1/p')
curl -s -N -m 0.3 -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data-binary '{"model":"tiny","messages":[{"role":"user","content":"hi"}],"n":16,"max_completion_tokens":120,"reasoning_effort":"none","stream":true}' \
    "$BASE/v1/chat/completions"
sleep 1
after=$(curl -s "$BASE/metrics" | sed -n 's/^deliberate_tokens_generated_total \([0-9]*\)/\1/p')
inflight=$(curl -s "$BASE/metrics" | sed -n 's/^deliberate_requests_in_flight \([0-9]*\)/\1/p')
echo "tokens generated by the abandoned stream: $((after - before)) of at most 1920"
check "a disconnected client cancels its generation" eval '[ $((after - before)) -lt 1920 ] && [ "$inflight" = 0 ]'

# idle client: half a request, then silence longer than --idle-timeout 2
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&3
sleep 3
timeout 3 cat <&3 >/dev/null
rc=$?
exec 3<&- 3>&-
check "idle client is dropped after --idle-timeout" [ "$rc" -ne 124 ]

STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' "$BASE/metrics"); BODY_OUT=$(cat "$TMP/body")
check "/metrics: Prometheus text" eval '[ "$STATUS" = 200 ] && has "deliberate_requests_total{endpoint=\"chat_completions\",status=\"429\"}" && has deliberate_request_duration_seconds_bucket && has deliberate_queue_depth && has deliberate_active_sequences && has deliberate_tokens_generated_total'
stop_server

# no model configured: starts, says which endpoints need one (--no-default-model:
# not the built-in models/deliberate-mini.gguf either, should it be there)
start_server --db "$TMP/db" --no-auth --no-default-model || bad "server without a model starts"
check "no model: startup says which endpoints need one" grep -q "need one" "$TMP/server.log"
STATUS=$(curl -s -o "$TMP/body" -w '%{http_code}' "$BASE/health"); BODY_OUT=$(cat "$TMP/body")
check "no model: /health ok, model_loaded false" eval '[ "$STATUS" = 200 ] && has "\"model_loaded\":false"'
req POST /v1/chat/completions "$CHAT"
check "no model: chat is 404 model_not_found with a hint" eval 'is_error 404 model_not_found model && has "no model configured"'
stop_server

"$DELIBERATE" serve --host 0.0.0.0 --no-auth --db "$TMP/db" >"$TMP/out" 2>&1
check "--no-auth off loopback is refused (exit 2)" [ $? -eq 2 ]

summary
