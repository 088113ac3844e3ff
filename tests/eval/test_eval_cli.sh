#!/usr/bin/env bash
# `deliberate eval` from the command line: help and usage errors; every
# reasoning eval completes against the tiny fixture GGUF (metrics
# meaningless, pipeline real); an effort x n sweep makes one run per
# combination; runs/show read the store; --safety records post-mitigation
# runs; and `eval run --upstream` against a running `deliberate serve`.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
NTESTS=26
[ -f "$MODEL" ] || skip_all $NTESTS "$MODEL not found (set DL_SHARED)"
[ -d "$SHARED/datasets/gsm8k" ] || skip_all $NTESTS "$SHARED/datasets not found"
D="$DELIBERATE"
DB="$TMP/e.db"
has() { grep -q -- "$2" "$1"; }
lines() { grep -c . "$1"; }

"$D" eval --help >"$TMP/help" 2>&1
ok_help=1
for sub in run list runs show grade report gate compare; do grep -q "^  $sub" "$TMP/help" || ok_help=0; done
check "eval --help lists every subcommand" [ $ok_help = 1 ]
"$D" --help | grep -q "eval run|list" ; check "deliberate --help mentions eval" [ $? = 0 ]
"$D" eval list --json >"$TMP/list" 2>&1
check "eval list --json names the four reasoning evals" \
    bash -c "grep -q '\"gsm8k\"' $TMP/list && grep -q '\"math500\"' $TMP/list && grep -q '\"aime\"' $TMP/list && grep -q '\"mgsm\"' $TMP/list"

DELIBERATE_MODEL="$TMP/none.gguf" "$D" eval run gsm8k --limit 2 --db "$DB" >/dev/null 2>"$TMP/err"; RC=$?
check "no model, \$DELIBERATE_MODEL missing: error (1) naming it" \
    bash -c "[ $RC = 1 ] && grep -q 'DELIBERATE_MODEL is set to $TMP/none.gguf' $TMP/err"
"$D" eval run gsm8k -m "$MODEL" --upstream http://127.0.0.1:1/v1 >/dev/null 2>&1
check "-m and --upstream together: usage error (2)" [ $? = 2 ]
"$D" eval run gsm8k -m "$MODEL" --effort extreme >/dev/null 2>&1; check "bad --effort: usage error (2)" [ $? = 2 ]
"$D" eval run gsm8k -m "$MODEL" --bogus >/dev/null 2>&1; check "unknown option: usage error (2)" [ $? = 2 ]
"$D" eval run no_such_eval -m "$MODEL" --db "$DB" >/dev/null 2>"$TMP/err"; RC=$?
check "unknown eval: error (1) naming the known ones" bash -c "[ $RC = 1 ] && grep -q gsm8k $TMP/err"
"$D" eval run gsm8k no_such_eval -m "$MODEL" --db "$DB" >/dev/null 2>&1
check "an unknown eval among known ones: error (1), no crash" [ $? = 1 ]
"$D" eval run gsm8k aime -m "$MODEL" --limit 1 --data-dir "$TMP/none" --db "$DB" >/dev/null 2>"$TMP/err"; RC=$?
check "missing datasets: error (1) for each eval, naming the file" \
    bash -c "[ $RC = 1 ] && grep -q 'none/gsm8k/test.jsonl' $TMP/err && grep -q 'none/aime/aime2024.jsonl' $TMP/err"
"$D" eval frobnicate >/dev/null 2>&1; check "unknown subcommand: usage error (2)" [ $? = 2 ]

for e in gsm8k math500 aime mgsm; do
    "$D" eval run $e -m "$MODEL" --limit 2 --max-tokens 8 --db "$DB" --json >"$TMP/$e.out" 2>"$TMP/$e.err"
    RC=$?
    check "$e completes against the tiny GGUF (2 samples)" \
        bash -c "[ $RC = 0 ] && grep -q '\"complete\":true' $TMP/$e.out && grep -q '\"n_done\":2' $TMP/$e.out && grep -q '\"accuracy\"' $TMP/$e.out"
done
check "mgsm reports a metric per language of its samples" grep -q '"accuracy_[a-z][a-z]"' "$TMP/mgsm.out"

"$D" eval run gsm8k -m "$MODEL" --limit 2 --max-tokens 4 --effort none,low --n 1,2 --db "$TMP/sweep.db" --json >"$TMP/sweep" 2>&1
check "sweep --effort none,low --n 1,2: four runs" [ "$(lines "$TMP/sweep")" = 4 ]
check "the sweep's runs carry their effort and n" \
    bash -c "grep -q '\"n\":2.*\"effort\":\"low\"' $TMP/sweep && grep -q '\"n\":1.*\"effort\":\"none\"' $TMP/sweep"

"$D" eval runs --db "$DB" --json >"$TMP/runs" 2>&1
check "eval runs --json: the results document with the four runs" \
    bash -c "[ \$(grep -c '\"id\": \"run_' $TMP/runs) = 4 ] && grep -q '\"metrics\"' $TMP/runs"
"$D" eval runs --db "$DB" --eval aime >"$TMP/runs_aime" 2>&1
check "eval runs --eval aime: one run listed" [ "$(grep -c '^run_' "$TMP/runs_aime")" = 1 ]
RUN=$(sed -n 's/.*"run_id":"\(run_[0-9a-f]*\)".*/\1/p' "$TMP/gsm8k.out")
"$D" eval show "$RUN" --db "$DB" --samples --json >"$TMP/show" 2>&1
check "eval show RUN --samples --json: the run, its config and 2 samples" \
    bash -c "grep -q '\"config\"' $TMP/show && [ \$(grep -c '\"key\": \"gsm8k:' $TMP/show) = 2 ]"
"$D" eval show run_nope --db "$DB" >/dev/null 2>&1; check "eval show of an unknown run: error (1)" [ $? = 1 ]

"$D" eval run gsm8k -m "$MODEL" --limit 2 --max-tokens 8 --safety --db "$DB" --json >"$TMP/safety" 2>&1
check "--safety: a post-mitigation run" bash -c "grep -q '\"mitigation\":\"post\"' $TMP/safety && grep -q '\"complete\":true' $TMP/safety"

# against a running server
if command -v curl >/dev/null; then
    KEY=$(new_key "$TMP/server.db" evals 2>/dev/null)
    if start_server -m "tiny=$MODEL" --db "$TMP/server.db" -c 256 --parallel 2; then
        "$D" eval run gsm8k --upstream "$BASE/v1" --upstream-model tiny --api-key "$KEY" \
            --limit 3 --max-tokens 8 --concurrency 2 --db "$DB" --json >"$TMP/up" 2>"$TMP/up.err"
        RC=$?
        check "eval run --upstream against deliberate serve completes" \
            bash -c "[ $RC = 0 ] && grep -q '\"complete\":true' $TMP/up && grep -q '\"n_done\":3' $TMP/up"
        check "the upstream run is recorded under the remote model's name" grep -q '"model":"tiny"' "$TMP/up"
        "$D" eval run gsm8k --upstream "$BASE/v1" --upstream-model tiny --api-key wrong \
            --limit 1 --max-tokens 8 --retries 0 --db "$DB" --json --new >"$TMP/up2" 2>&1
        RC=$?
        check "a rejected key fails the samples (exit 1), not the program" \
            bash -c "[ $RC = 1 ] && grep -q '\"n_failed\":1' $TMP/up2"
        stop_server
    else
        bad "server starts"; bad "upstream run recorded"; bad "rejected key"
    fi
else
    echo "SKIP upstream tests: curl is not installed"; echo "[  SKIPPED ] 3 test(s)."
fi
summary
