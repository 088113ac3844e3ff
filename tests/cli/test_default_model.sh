#!/usr/bin/env bash
# The built-in default model: `chat`, `serve` and `eval run` given no model
# use $DELIBERATE_MODEL or models/deliberate-mini.gguf beside the program.
# $DELIBERATE_MODEL points at the tiny fixture GGUF here; a copy of the
# program in a temporary folder checks the lookup beside the program (with
# the fixture linked in as models/deliberate-mini.gguf) and the error when
# nothing is there. serve runs as deliberate-mini; eval run does one sample.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
NTESTS=21
[ -f "$MODEL" ] || skip_all $NTESTS "$MODEL not found (set DL_SHARED)"
D="$DELIBERATE"
has() { grep -q -- "$2" "$1"; }
MODEL_ABS=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")

# --help says the model is optional
"$D" chat --help >"$TMP/h" 2>&1
check "chat --help: -m defaults to the built-in model" \
    bash -c "grep -q 'usage: deliberate chat \[-m FILE\]' $TMP/h && grep -q 'models/deliberate-mini.gguf or \$DELIBERATE_MODEL' $TMP/h"
"$D" serve --help >"$TMP/h" 2>&1
check "serve --help: the built-in model, served as deliberate-mini" \
    bash -c "grep -q 'served' $TMP/h && grep -q 'as deliberate-mini' $TMP/h && grep -q -- '--no-default-model' $TMP/h"
"$D" eval run --help >"$TMP/h" 2>&1
check "eval run --help: the built-in model by default" has "$TMP/h" "default: the built-in models/deliberate-mini.gguf"

# chat with $DELIBERATE_MODEL
DELIBERATE_MODEL="$MODEL" "$D" chat -p hi --max-tokens 4 >"$TMP/out" 2>"$TMP/err"; RC=$?
check "chat without -m runs \$DELIBERATE_MODEL (exit 0)" [ $RC = 0 ]
check "chat without -m prints an answer and its stats line" has "$TMP/err" "completion tokens"
DELIBERATE_MODEL="$MODEL" "$D" chat -p hi --max-tokens 4 --json >"$TMP/out" 2>"$TMP/err"
check "chat --json names the default model's file (model_path)" has "$TMP/out" "\"model_path\": \"$MODEL\""
DELIBERATE_MODEL="$MODEL" "$D" chat -p hi --dry-run >"$TMP/out" 2>"$TMP/err"; RC=$?
check "chat --dry-run without -m renders with the default model's format" \
    bash -c "[ $RC = 0 ] && grep -q 'chat format: qwen3' $TMP/err && grep -q '<|im_start|>user' $TMP/out"
DELIBERATE_MODEL="$TMP/missing.gguf" "$D" chat -p hi >"$TMP/out" 2>"$TMP/err"; RC=$?
check "\$DELIBERATE_MODEL missing: exit 1" [ $RC = 1 ]
check "\$DELIBERATE_MODEL missing: the message names the variable and the path" \
    has "$TMP/err" "no model given (-m FILE), and DELIBERATE_MODEL is set to $TMP/missing.gguf: No such file or directory"
DELIBERATE_MODEL="$MODEL" "$D" chat -m "$TMP/missing.gguf" -p hi >"$TMP/out" 2>"$TMP/err"; RC=$?
check "-m wins over \$DELIBERATE_MODEL" bash -c "[ $RC = 1 ] && grep -q '$TMP/missing.gguf' $TMP/err"

# the program alone in a folder: no built-in model beside it (nor in the cwd)
mkdir -p "$TMP/bin" "$TMP/cwd"
cp "$D" "$TMP/bin/deliberate"
(cd "$TMP/cwd" && env -u DELIBERATE_MODEL "$TMP/bin/deliberate" chat -p hi >"$TMP/out" 2>"$TMP/err"); RC=$?
check "no model anywhere: exit 1" [ $RC = 1 ]
check "no model anywhere: says -m FILE, models/deliberate-mini.gguf and how to get it" \
    bash -c "grep -q 'no model given (-m FILE), and the built-in model models/deliberate-mini.gguf was not found beside the program' $TMP/err && grep -q 'git repository' $TMP/err && grep -q 'DELIBERATE_MODEL' $TMP/err"
(cd "$TMP/cwd" && env -u DELIBERATE_MODEL "$TMP/bin/deliberate" eval run gsm8k --limit 1 >"$TMP/out" 2>"$TMP/err"); RC=$?
check "eval run, no model anywhere: exit 1 naming models/deliberate-mini.gguf" \
    bash -c "[ $RC = 1 ] && grep -q 'no model given (-m FILE.gguf or --upstream URL), and the built-in model models/deliberate-mini.gguf' $TMP/err"
# ... and with the fixture as models/deliberate-mini.gguf beside it
mkdir -p "$TMP/bin/models"
ln -s "$MODEL_ABS" "$TMP/bin/models/deliberate-mini.gguf"
(cd "$TMP/cwd" && env -u DELIBERATE_MODEL "$TMP/bin/deliberate" chat -p hi --max-tokens 4 --json >"$TMP/out" 2>"$TMP/err"); RC=$?
check "models/deliberate-mini.gguf beside the program is the default" \
    bash -c "[ $RC = 0 ] && grep -q '\"model_path\": \"$TMP/bin/models/deliberate-mini.gguf\"' $TMP/out"

# serve
if command -v curl >/dev/null; then
    export DELIBERATE_MODEL="$MODEL"
    if start_server --db "$TMP/db" --no-auth --no-safety -c 128 --parallel 1; then
        ok "serve without -m starts with \$DELIBERATE_MODEL"
        curl -s "$BASE/v1/models" >"$TMP/models"
        check "/v1/models lists deliberate-mini" has "$TMP/models" '"id":"deliberate-mini"'
        curl -s "$BASE/v1/chat/completions" -H 'Content-Type: application/json' \
            -d '{"model":"deliberate-mini","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":4}' \
            >"$TMP/chat"
        check "a chat completion from deliberate-mini" has "$TMP/chat" '"object":"chat.completion"'
        stop_server
    else
        bad "serve without -m starts with \$DELIBERATE_MODEL"; bad "/v1/models"; bad "chat completion"
    fi
    if start_server --db "$TMP/db" --no-auth --no-safety --no-default-model; then
        curl -s "$BASE/v1/models" >"$TMP/models"
        check "serve --no-default-model: no model" \
            bash -c "! grep -q deliberate-mini $TMP/models && grep -q 'need one' $TMP/server.log"
        stop_server
    else
        bad "serve --no-default-model: no model"
    fi
    unset DELIBERATE_MODEL
else
    echo "SKIP serve tests: curl is not installed"; echo "[  SKIPPED ] 4 test(s)."
fi
DELIBERATE_MODEL="$TMP/missing.gguf" "$D" serve --port 0 --db "$TMP/db" --no-safety >"$TMP/out" 2>&1; RC=$?
check "serve, \$DELIBERATE_MODEL missing: exit 1 naming it" \
    bash -c "[ $RC = 1 ] && grep -q 'DELIBERATE_MODEL is set to $TMP/missing.gguf' $TMP/out"

# eval run
if [ -d "$SHARED/datasets/gsm8k" ]; then
    DELIBERATE_MODEL="$MODEL" "$D" eval run gsm8k --limit 1 --max-tokens 4 --db "$TMP/e.db" --json \
        >"$TMP/eval" 2>"$TMP/eval.err"; RC=$?
    check "eval run without -m: one sample on the default model" \
        bash -c "[ $RC = 0 ] && grep -q '\"complete\":true' $TMP/eval && grep -q '\"n_done\":1' $TMP/eval"
else
    echo "SKIP eval run: $SHARED/datasets not found"; echo "[  SKIPPED ] 1 test(s)."
fi
DELIBERATE_MODEL="$TMP/missing.gguf" "$D" eval run gsm8k --limit 1 --db "$TMP/e.db" >"$TMP/out" 2>&1; RC=$?
check "eval run, \$DELIBERATE_MODEL missing: exit 1 naming it" \
    bash -c "[ $RC = 1 ] && grep -q 'DELIBERATE_MODEL is set to $TMP/missing.gguf' $TMP/out"
summary
