#!/usr/bin/env bash
# The shipped model's recipe (scripts/train-model.sh) end to end in
# miniature, as CI runs it: SFT, RL, both held-out measurements, the model
# card; then the result runs as the default model of chat.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/common/shtest.sh

bash scripts/train-model.sh --help >"$TMP/help" 2>&1; rc=$?
check "recipe --help exits 0 and names --mini" [ $rc -eq 0 ]
check "recipe help text" has "$TMP/help" "--mini"
bash scripts/train-model.sh --bogus >/dev/null 2>&1; rc=$?
check "recipe: unknown option exits 2" [ $rc -eq 2 ]

R="$TMP/r"
models_before=$(find models -type f -exec md5sum {} + 2>/dev/null | sort)
bash scripts/train-model.sh --mini --out "$R" --bin "$DELIBERATE" >"$TMP/out" 2>"$TMP/err"; rc=$?
check "mini recipe exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$TMP/err"
for f in sft/model.gguf sft/loss.svg rl/model.gguf rl/rl.svg rl/rl_log.csv curves/curves.json curves/curves.html \
    curves-sft/curves.json model-card.md; do
    check "recipe wrote $f" [ -s "$R/$f" ]
done
check "--mini leaves models/ untouched" [ "$models_before" = "$(find models -type f -exec md5sum {} + 2>/dev/null | sort)" ]
check "stages ran in order" bash -c "grep -o '[0-9]/5 [a-z-]*' '$TMP/err' | tr '\n' ' ' | grep -q '1/5 supervised 2/5 reinforcement 3/5 held-out 4/5 held-out 5/5 model'"
"$DELIBERATE" info --json "$R/rl/model.gguf" >"$TMP/info" 2>&1
check "RL model carries the thinking-budget hints" has "$TMP/info" "deliberate.reasoning.budget.medium"
low=$(jq -r '.metadata["deliberate.reasoning.budget.low"] // empty' "$TMP/info" 2>/dev/null)
sftlow=$(sed -n 's/.*low \([0-9]*\), medium.*/\1/p' "$R/sft.txt")
check "hint equals what sft measured ($low = $sftlow)" [ -n "$low" ] && [ "$low" = "$sftlow" ]
check "card: effort table" has "$R/model-card.md" "^| high | $(jq -r '.effort[3].x' "$R/curves/curves.json") |"
check "card: vote table" has "$R/model-card.md" "^| 2 | "
check "card: per-task rows" has "$R/model-card.md" "^| letters | "
check "card: RL vs SFT line" has "$R/model-card.md" "^RL against SFT at effort high: "
check "card: the recipe command" has "$R/model-card.md" "make -j2 model"
check "card: the step verdicts, paired" has "$R/model-card.md" "^- none -> low: .*; paired: difference "
n_out=$(jq -r '.effort[3].outcomes | length' "$R/curves/curves.json")
n_pts=$(jq -r '.effort[3].n' "$R/curves/curves.json")
check "curves.json: one outcome per problem ($n_out = $n_pts)" [ "$n_out" = "$n_pts" ]
check "report embeds the training charts" has "$R/curves/curves.html" "<h2>Training</h2>"
# reproducible: a second run from scratch gives the same bits and figures
bash scripts/train-model.sh --mini --out "$TMP/r2" --bin "$DELIBERATE" >/dev/null 2>&1
check "a second run gives the same SFT model" cmp -s "$R/sft/model.gguf" "$TMP/r2/sft/model.gguf"
check "a second run gives the same RL model" cmp -s "$R/rl/model.gguf" "$TMP/r2/rl/model.gguf"
same_figures() { [ "$(jq -c 'del(.seconds, .model)' "$1")" = "$(jq -c 'del(.seconds, .model)' "$2")" ]; }
check "a second run measures the same accuracies" same_figures "$R/curves/curves.json" "$TMP/r2/curves/curves.json"
DELIBERATE_MODEL="$R/rl/model.gguf" "$DELIBERATE" chat -p "what's 2+3" --max-tokens 8 >"$TMP/chat" 2>&1; rc=$?
check "the trained model chats as the default model" [ $rc -eq 0 ]

summary
