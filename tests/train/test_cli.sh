#!/usr/bin/env bash
# `deliberate train` end to end, as CI runs it: a miniature model trained
# for a few seconds, written as GGUF, loaded by info/chat/eval, resumed.
set -u
cd "$(dirname "$0")/../.." || exit 1
DELIBERATE=${DELIBERATE:-./deliberate}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dl-train-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASS=0 FAIL=0
ok()  { PASS=$((PASS + 1)); echo "[       OK ] $1"; }
bad() { FAIL=$((FAIL + 1)); echo "[  ERROR   ] $1"; echo "[  FAILED  ] $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
has() { grep -q -- "$2" "$1"; }

"$DELIBERATE" train --help >"$TMP/help" 2>&1; rc=$?
check "train --help exits 0" [ $rc -eq 0 ]
check "help lists sft" has "$TMP/help" "deliberate train sft"
"$DELIBERATE" train sft --bogus >/dev/null 2>&1; rc=$?
check "unknown option exits 2" [ $rc -eq 2 ]
"$DELIBERATE" train sample --task letters --level 2 -n 1 >"$TMP/sample" 2>&1
check "sample renders a think block" has "$TMP/sample" "<think>"

"$DELIBERATE" train sft --out "$TMP/m" --steps 20 --samples 500 --threads 2 >"$TMP/sft" 2>"$TMP/sft.err"; rc=$?
check "sft exits 0" [ $rc -eq 0 ]
check "sft reports 20 steps" has "$TMP/sft" "for 20 steps"
check "sft writes model, tokenizer, checkpoint, log, chart" \
    test -s "$TMP/m/model.gguf" -a -s "$TMP/m/tokenizer.gguf" -a -s "$TMP/m/checkpoint.bin" -a -s "$TMP/m/train_log.csv" -a -s "$TMP/m/loss.svg"
check "sft draws the loss chart" has "$TMP/m/loss.svg" "<polyline"
check "log has 20 rows" [ "$(wc -l <"$TMP/m/train_log.csv")" -eq 21 ]
"$DELIBERATE" info "$TMP/m/model.gguf" >"$TMP/info" 2>&1
check "info: architecture qwen3" has "$TMP/info" "architecture:  qwen3"
check "info: tokenizer pre qwen2" has "$TMP/info" '"qwen2"'
"$DELIBERATE" chat -m "$TMP/m/model.gguf" --dry-run -p "hi" >"$TMP/dry" 2>&1
check "chat recognises the qwen3 format" has "$TMP/dry" "chat format: qwen3"
"$DELIBERATE" chat -m "$TMP/m/model.gguf" -p "what's 2+3" --max-tokens 8 --temp 0 >"$TMP/chat" 2>&1; rc=$?
check "chat runs the trained model" [ $rc -eq 0 ]
"$DELIBERATE" train eval -m "$TMP/m/model.gguf" --level 1 -n 1 --max-tokens 16 >"$TMP/eval" 2>&1; rc=$?
check "eval runs and reports a total" [ $rc -eq 0 ]
check "eval total line" has "$TMP/eval" "^all "
"$DELIBERATE" train eval -m "$TMP/m/model.gguf" --level 1 -n 1 --max-tokens 4 --no-thinking >"$TMP/eval2" 2>&1; rc=$?
check "eval without thinking runs" [ $rc -eq 0 ]
"$DELIBERATE" train sft --out "$TMP/m" --steps 30 --samples 500 --threads 2 --resume >"$TMP/sft2" 2>/dev/null; rc=$?
check "resume exits 0" [ $rc -eq 0 ]
check "resume continues to 30 steps" has "$TMP/sft2" "for 30 steps"
check "resume appends to the log" [ "$(wc -l <"$TMP/m/train_log.csv")" -eq 31 ]
"$DELIBERATE" train sft --out "$TMP/m" --steps 40 --samples 600 --threads 2 --resume >/dev/null 2>"$TMP/sft3"; rc=$?
check "resume with other data is refused" [ $rc -eq 1 ]
check "the refusal says why" has "$TMP/sft3" "other data parameters"

echo "[==========] $((PASS + FAIL)) test(s) run."
echo "[  PASSED  ] $PASS test(s)."
[ "$FAIL" -gt 0 ] && echo "[  FAILED  ] $FAIL test(s), listed above."
[ "$FAIL" -eq 0 ]
