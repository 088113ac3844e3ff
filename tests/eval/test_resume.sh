#!/usr/bin/env bash
# Crash and resume: `deliberate eval run gsm8k` against the tiny fixture
# GGUF is run once uninterrupted (store A); then the same command in store B
# is killed with SIGKILL once at least 3 samples are stored, and run again:
# it must resume the same run (same id, the stored samples not redone) and
# end with exactly A's metrics and A's answers. A Ctrl-C (SIGINT) run exits
# 130, stays unfinished, and resumes too.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/server/lib.sh
[ -f "$MODEL" ] || skip_all 12 "$MODEL not found (set DL_SHARED)"
command -v sqlite3 >/dev/null || skip_all 12 "the sqlite3 program is not installed"
[ -d "$SHARED/datasets/gsm8k" ] || skip_all 12 "$SHARED/datasets/gsm8k not found"

# Long enough to be killed midway (the tiny model writes ~3000 tokens/s).
ARGS=(eval run gsm8k -m "$MODEL" --limit 24 --max-tokens 200 -t 1 --seed 3 --json)
count() { sqlite3 "$1" "SELECT count(*) FROM eval_samples" 2>/dev/null || echo 0; }
run_id() { sqlite3 "$1" "SELECT id FROM eval_runs ORDER BY created_at DESC, rowid DESC LIMIT 1"; }
answers() { sqlite3 "$1" "SELECT key || '|' || coalesce(response,'') || '|' || coalesce(grade_json,'') FROM eval_samples ORDER BY key"; }
metrics() { sqlite3 "$1" "SELECT metrics_json FROM eval_runs WHERE id = '$2'"; }

"$DELIBERATE" "${ARGS[@]}" --db "$TMP/a.db" >"$TMP/a.out" 2>"$TMP/a.err"
check "uninterrupted run exits 0" [ $? -eq 0 ]
A=$(run_id "$TMP/a.db")
check "uninterrupted run stored all 24 samples" [ "$(count "$TMP/a.db")" = 24 ]

# killed with SIGKILL once >= 3 samples are stored
"$DELIBERATE" "${ARGS[@]}" --db "$TMP/b.db" >"$TMP/b1.out" 2>&1 &
PID=$!
n=0
for _ in $(seq 2000); do
    n=$(count "$TMP/b.db")
    [ "${n:-0}" -ge 3 ] && break
    kill -0 $PID 2>/dev/null || break
    sleep 0.005
done
kill -9 $PID 2>/dev/null
wait $PID 2>/dev/null
KILLED=$(count "$TMP/b.db")
echo "stored when killed: $KILLED of 24"
check "killed midway (3 <= stored < 24)" [ "$KILLED" -ge 3 -a "$KILLED" -lt 24 ]
B=$(run_id "$TMP/b.db")
check "the killed run is unfinished" [ "$(sqlite3 "$TMP/b.db" "SELECT complete FROM eval_runs WHERE id='$B'")" = 0 ]
# INSERT OR REPLACE gives a redone sample a new rowid: unchanged rowids = kept
FIRST=$(sqlite3 "$TMP/b.db" "SELECT key || ':' || rowid FROM eval_samples ORDER BY key")

"$DELIBERATE" "${ARGS[@]}" --db "$TMP/b.db" >"$TMP/b2.out" 2>"$TMP/b2.err"
check "the rerun exits 0" [ $? -eq 0 ]
check "the rerun resumed the same run ($B)" grep -q "\"run_id\":\"$B\"" "$TMP/b2.out"
check "only one run in store B" [ "$(sqlite3 "$TMP/b.db" "SELECT count(*) FROM eval_runs")" = 1 ]
AGAIN=$(sqlite3 "$TMP/b.db" "SELECT key || ':' || rowid FROM eval_samples ORDER BY key")
kept=1
while IFS= read -r row; do
    printf '%s\n' "$AGAIN" | grep -qxF "$row" || kept=0
done <<<"$FIRST"
check "samples stored before the kill were not redone" [ $kept = 1 ]
check "final metrics equal the uninterrupted run's" [ "$(metrics "$TMP/a.db" "$A")" = "$(metrics "$TMP/b.db" "$B")" ]
check "every answer and grade equals the uninterrupted run's" [ "$(answers "$TMP/a.db")" = "$(answers "$TMP/b.db")" ]

# Ctrl-C: exit 130, unfinished, resumable
"$DELIBERATE" "${ARGS[@]}" --new --db "$TMP/c.db" >"$TMP/c1.out" 2>"$TMP/c1.err" &
PID=$!
for _ in $(seq 2000); do
    n=$(count "$TMP/c.db")
    [ "${n:-0}" -ge 2 ] && break
    kill -0 $PID 2>/dev/null || break
    sleep 0.005
done
kill -INT $PID 2>/dev/null
wait $PID
RC=$?
C=$(run_id "$TMP/c.db")
if [ "$(count "$TMP/c.db")" -lt 24 ]; then
    check "Ctrl-C exits 130 and leaves the run unfinished" [ $RC = 130 -a "$(sqlite3 "$TMP/c.db" "SELECT complete FROM eval_runs WHERE id='$C'")" = 0 ]
else
    echo "note: the run finished before the SIGINT arrived"
    check "Ctrl-C after the end: exit 0" [ $RC = 0 ]
fi
"$DELIBERATE" "${ARGS[@]}" --db "$TMP/c.db" >"$TMP/c2.out" 2>&1
check "after Ctrl-C the rerun resumes and ends with the same metrics" \
    [ "$(metrics "$TMP/a.db" "$A")" = "$(metrics "$TMP/c.db" "$C")" ]
summary
