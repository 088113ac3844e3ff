#!/usr/bin/env bash
# Every shipped eval completes against the tiny fixture GGUF through the
# local backend (metrics meaningless, pipeline real): each definition that
# `deliberate eval list` names is run on 2 samples, pre-mitigation, with a
# fake OpenAI-compatible judge (tests/eval/fake_judge.mjs) for the
# model-graded rubrics, and must finish with every sample graded and its
# primary metric reported. One eval also runs post-mitigation (--safety).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
D="$DELIBERATE"
"$D" eval list --json >"$TMP/list" 2>&1 || { bad "eval list"; summary; exit 1; }
EVALS=$(sed -n 's/^    "name": "\(.*\)",$/\1/p' "$TMP/list")
NTESTS=$(( $(echo "$EVALS" | grep -c .) + 4 ))
[ -f "$MODEL" ] || skip_all $NTESTS "$MODEL not found (set DL_SHARED)"
[ -d "$SHARED/datasets/gsm8k" ] || skip_all $NTESTS "$SHARED/datasets not found"
command -v node >/dev/null || skip_all $NTESTS "node not found (scripts/install-deps.sh installs it)"

node tests/eval/fake_judge.mjs >"$TMP/judge.port" 2>"$TMP/judge.log" &
JUDGE_PID=$!
trap 'kill $JUDGE_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 100); do [ -s "$TMP/judge.port" ] && break; sleep 0.1; done
JUDGE="http://127.0.0.1:$(cat "$TMP/judge.port")/v1"
check "the fake judge starts" [ -s "$TMP/judge.port" ]

for e in $EVALS; do
    "$D" eval run "$e" -m "$MODEL" --limit 2 --max-tokens 8 --judge "$JUDGE" --judge-model judge \
        --db "$TMP/all.db" --json >"$TMP/$e.out" 2>"$TMP/$e.err"
    RC=$?
    PRIMARY=$(sed -n "/\"name\": \"$e\"/,/primary/s/^    \"primary\": \"\(.*\)\",$/\1/p" "$TMP/list")
    if [ $RC = 0 ] && grep -q '"complete":true' "$TMP/$e.out" && grep -q '"n_done":2' "$TMP/$e.out" \
        && grep -qF "\"$PRIMARY\"" "$TMP/$e.out"; then
        ok "$e completes against the tiny GGUF (2 samples, primary $PRIMARY)"
    else
        bad "$e completes against the tiny GGUF (exit $RC): $(tail -c 300 "$TMP/$e.err")"
    fi
done

"$D" eval run instruction_hierarchy -m "$MODEL" --limit 2 --max-tokens 8 --safety \
    --db "$TMP/all.db" --json >"$TMP/post.out" 2>"$TMP/post.err"
check "post-mitigation (--safety) run completes and is recorded as post" \
    bash -c "[ $? = 0 ] && grep -q '\"complete\":true' $TMP/post.out && grep -q '\"mitigation\":\"post\"' $TMP/post.out"
printf '%s\n' '{"prompt": "Name a colour."}' '{"prompt": "What is 2+2?"}' >"$TMP/prompts.jsonl"
"$D" eval compare -a "$MODEL" -b "$MODEL" --judge "$JUDGE" --judge-model judge \
    --prompts "$TMP/prompts.jsonl" --max-tokens 8 >"$TMP/cmp.out" 2>&1
check "eval compare with --judge URL: the fake judge's ties are counted" \
    bash -c "[ $? = 0 ] && grep -q 'ties 2' $TMP/cmp.out"
printf '%s\n' '{"prompt": "Q", "response": "R", "answer": "Paris"}' >"$TMP/g.jsonl"
"$D" eval grade --grader simpleqa --judge "$JUDGE" --judge-model judge --json "$TMP/g.jsonl" >"$TMP/g.out" 2>&1
check "eval grade with --judge URL: the judge's NOT_ATTEMPTED grade" \
    bash -c "[ $? = 0 ] && grep -q NOT_ATTEMPTED $TMP/g.out"
summary
