#!/usr/bin/env bash
# `deliberate train` end to end, as CI runs it: a miniature model trained
# for a few seconds, written as GGUF, loaded by info/chat/eval, resumed.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/common/shtest.sh

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

# RL from the SFT output, resumed; then the test-time compute curves
"$DELIBERATE" train rl --from "$TMP/m" --out "$TMP/rl" --steps 3 --group 4 --prompts-per-step 2 --max-tokens 48 \
    --threads 2 >"$TMP/rl.out" 2>"$TMP/rl.err"; rc=$?
check "rl exits 0" [ $rc -eq 0 ]
check "rl reports 3 steps" has "$TMP/rl.out" "RL: 3 steps (2 prompts x 4 completions each)"
check "rl writes model, checkpoint, tokenizer, log, chart" \
    test -s "$TMP/rl/model.gguf" -a -s "$TMP/rl/checkpoint.bin" -a -s "$TMP/rl/tokenizer.gguf" -a -s "$TMP/rl/rl_log.csv" -a -s "$TMP/rl/rl.svg"
check "rl log header" [ "$(head -1 "$TMP/rl/rl_log.csv")" = "step,lr,reward,accuracy,format,kl,clip_frac,mean_len,kept,loss,grad_norm,sample_ms,update_ms,elapsed_ms" ]
check "rl log has 3 rows" [ "$(wc -l <"$TMP/rl/rl_log.csv")" -eq 4 ]
# train plot redraws both kinds of chart from their logs, the same as the runs drew them
"$DELIBERATE" train plot "$TMP/rl/rl_log.csv" "$TMP/rl2.svg" >"$TMP/plot" 2>&1; rc=$?
check "plot of an RL log" [ $rc -eq 0 ] && has "$TMP/plot" "(RL log)"
check "plot of an RL log equals the run's chart" cmp -s "$TMP/rl2.svg" "$TMP/rl/rl.svg"
"$DELIBERATE" train plot "$TMP/m/train_log.csv" "$TMP/loss2.svg" >"$TMP/plot" 2>&1; rc=$?
check "plot of an SFT log equals the run's chart" bash -c "[ $rc -eq 0 ] && cmp -s '$TMP/loss2.svg' '$TMP/m/loss.svg'"
"$DELIBERATE" train plot "$TMP/nonexistent.csv" "$TMP/x.svg" >/dev/null 2>&1; rc=$?
check "plot of a missing log exits 1" [ $rc -eq 1 ]
"$DELIBERATE" train plot "$TMP/m/train_log.csv" >/dev/null 2>&1; rc=$?
check "plot without OUT.svg exits 2" [ $rc -eq 2 ]
check "rl draws reward and accuracy" has "$TMP/rl/rl.svg" "accuracy (smoothed)"
check "rl removes the rollout policy file" [ ! -e "$TMP/rl/policy.gguf" ]
"$DELIBERATE" train rl --from "$TMP/m" --out "$TMP/rl" --steps 5 --group 4 --prompts-per-step 2 --max-tokens 48 \
    --threads 2 --resume >"$TMP/rl2.out" 2>/dev/null; rc=$?
check "rl resume exits 0" [ $rc -eq 0 ]
check "rl resume continues to 5 steps" has "$TMP/rl2.out" "RL: 5 steps"
check "rl resume appends to the log" [ "$(wc -l <"$TMP/rl/rl_log.csv")" -eq 6 ]
"$DELIBERATE" chat -m "$TMP/rl/model.gguf" -p "what's 2+3" --max-tokens 8 --temp 0 >/dev/null 2>&1; rc=$?
check "chat runs the RL model" [ $rc -eq 0 ]
# a broken SFT model.gguf (where the budget hints come from) is an error, not "no hints"
cp -r "$TMP/m" "$TMP/mbad" && printf 'not a gguf' >"$TMP/mbad/model.gguf"
"$DELIBERATE" train rl --from "$TMP/mbad" --out "$TMP/rlbad" --steps 1 --group 2 --prompts-per-step 1 \
    --max-tokens 8 >/dev/null 2>"$TMP/rlbad.err"; rc=$?
check "rl from a broken model.gguf exits 1 naming it" bash -c "[ $rc -eq 1 ] && grep -q 'mbad/model.gguf' '$TMP/rlbad.err'"
"$DELIBERATE" train rl --from "$TMP/m" --out "$TMP/m" --steps 1 >/dev/null 2>"$TMP/rl3"; rc=$?
check "rl refuses to overwrite its reference" [ $rc -eq 1 ]
check "the refusal says why" has "$TMP/rl3" "must differ"
"$DELIBERATE" train rl --out "$TMP/x" >/dev/null 2>&1; rc=$?
check "rl without --from exits 2" [ $rc -eq 2 ]
"$DELIBERATE" train curves -m "$TMP/rl/model.gguf" --out "$TMP/cv" --task add -n 2 --votes 1,2,4 --max-tokens 32 \
    --budgets low=4,medium=8,high=32 --threads 2 >"$TMP/cv.out" 2>"$TMP/cv.err"; rc=$?
check "curves exits 0" [ $rc -eq 0 ]
check "curves reports the effort levels" has "$TMP/cv.out" "^medium *8 *2 "
check "curves reports the vote counts" has "$TMP/cv.out" "^n=4 "
check "curves writes json, charts, page" \
    test -s "$TMP/cv/curves.json" -a -s "$TMP/cv/budget.svg" -a -s "$TMP/cv/votes.svg" -a -s "$TMP/cv/curves.html"
check "curves json names the levels" has "$TMP/cv/curves.json" '"label": "high"'
"$DELIBERATE" train curves -m "$TMP/rl/model.gguf" --out "$TMP/cv" --votes 4,1 >/dev/null 2>&1; rc=$?
check "falling vote counts exit 2" [ $rc -eq 2 ]
"$DELIBERATE" train curves -m "$TMP/rl/model.gguf" --out "$TMP/cv" --split nosuch >/dev/null 2>"$TMP/cv2.err"; rc=$?
check "an unknown --split exits 2 naming the choices" bash -c "[ $rc -eq 2 ] && grep -q 'validation' '$TMP/cv2.err'"
"$DELIBERATE" train curves -m "$TMP/rl/model.gguf" --out "$TMP/cv" --batch 0 >/dev/null 2>"$TMP/cv4.err"; rc=$?
check "--batch 0 exits 2 naming the option" bash -c "[ $rc -eq 2 ] && grep -q -- '--batch' '$TMP/cv4.err'"
"$DELIBERATE" train curves -m "$TMP/rl/model.gguf" --out "$TMP/cv3" --task add -n 2 --votes 1,2 --max-tokens 32 \
    --split validation --top-k 40 --top-p 0.9 --min-p 0.05 --threads 3 --batch 2 >/dev/null 2>&1; rc=$?
check "curves on validation problems with truncated sampling exits 0" [ $rc -eq 0 ]
check "curves json records the split and the sampling" \
    bash -c "jq -e '.split == \"validation\" and .top_k == 40 and (.top_p - 0.9 | fabs) < 1e-6 and (.min_p - 0.05 | fabs) < 1e-6 and .threads == 3 and .batch == 2' '$TMP/cv3/curves.json' >/dev/null"

summary
