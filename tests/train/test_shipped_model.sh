#!/usr/bin/env bash
# The built-in model in models/ (scripts/train-model.sh): present, a qwen3
# GGUF with its thinking-budget hints, documented by its card and report,
# the default of chat, and still as accurate as its card says on a sample
# of held-out problems.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/common/shtest.sh
M=models/deliberate-mini.gguf

check "the built-in model is in the repository" [ -s "$M" ]
check "its card is there" [ -s models/deliberate-mini.md ]
check "its report is there" [ -s models/deliberate-mini/report.html ]
"$DELIBERATE" info --json "$M" >"$TMP/info" 2>&1
check "qwen3 architecture" [ "$(jq -r .architecture "$TMP/info")" = qwen3 ]
low=$(jq -r '.metadata["deliberate.reasoning.budget.low"]' "$TMP/info")
med=$(jq -r '.metadata["deliberate.reasoning.budget.medium"]' "$TMP/info")
high=$(jq -r '.metadata["deliberate.reasoning.budget.high"]' "$TMP/info")
check "budget hints rise ($low < $med < $high)" [ "$low" -gt 0 ] && [ "$low" -lt "$med" ] && [ "$med" -lt "$high" ]
check "the card states those budgets" has models/deliberate-mini.md "low $low, medium $med, high $high"
params=$(jq -r .n_params "$TMP/info")
check "the card states the parameter count ($params)" has models/deliberate-mini.md "| parameters | $params "
for f in budget.svg votes.svg loss.svg rl.svg curves-rl.json curves-sft.json train_log.csv rl_log.csv; do
    check "report file $f" [ -s "models/deliberate-mini/$f" ]
done
check "the report embeds the training charts" has models/deliberate-mini/report.html "<h2>Training</h2>"

# the default model of chat: a worked answer and an extracted summary
env -u DELIBERATE_MODEL "$DELIBERATE" chat -p "What is 48 + 76?" --effort high --json >"$TMP/chat" 2>&1; rc=$?
check "chat without -m uses it" [ $rc -eq 0 ] && has "$TMP/chat" "deliberate-mini.gguf"
check "48 + 76 = 124 at effort high" [ "$(jq -r .answer "$TMP/chat")" = 124 ]
check "the summary is an extract of the reasoning" bash -c "jq -r .summary '$TMP/chat' | grep -q '48 + 76.* ... 124'"
# never cued: a "Wait" after a finished short reasoning only derailed it
check "its GGUF says not to cue it (budget.continue = 0)" \
    [ "$(jq -r '.metadata["deliberate.reasoning.budget.continue"]' "$TMP/info")" = 0 ]
env -u DELIBERATE_MODEL "$DELIBERATE" chat -p "sort 5, 12, 3" --effort high --json >"$TMP/chat2" 2>&1
check "sort 5, 12, 3 at effort high: 3, 5, 12 (no cue after the reasoning)" [ "$(jq -r .answer "$TMP/chat2")" = "3, 5, 12" ]
# one-digit comparisons and the longer number second are in its training data
env -u DELIBERATE_MODEL "$DELIBERATE" chat -p "Which is larger, 5 or 9?" --effort high --json >"$TMP/chat3" 2>&1
check "'Which is larger, 5 or 9?' -> 9" [ "$(jq -r .answer "$TMP/chat3")" = "9" ]
env -u DELIBERATE_MODEL "$DELIBERATE" chat -p "which is bigger, 7 or 12" --effort high --json >"$TMP/chat4" 2>&1
check "'which is bigger, 7 or 12' -> 12" [ "$(jq -r .answer "$TMP/chat4")" = "12" ]

# held-out accuracy on a sample: 20 test problems per task, greedy; the card's
# figure (effort high, the recipe's 1500 per task) minus a margin for the smaller sample
"$DELIBERATE" train eval -m "$M" --levels 1-2 -n 20 >"$TMP/eval" 2>&1; rc=$?
acc=$(awk '$1 == "all" { sub("%", "", $4); print $4 }' "$TMP/eval")
card=$(sed -n 's/^| \*\*mean over tasks\*\* | \*\*[0-9.]*%\*\* | \*\*\([0-9.]*\)%\*\* |$/\1/p' models/deliberate-mini.md)
check "card's mean accuracy found ($card%)" [ -n "$card" ]
check "held-out sample: $acc% (card: $card%, allowed 8 points below)" \
    awk -v a="$acc" -v c="$card" 'BEGIN { exit !(a != "" && c != "" && a + 8 >= c) }'

summary
