# Helpers for shell test scripts (sourced after cd to the repository root):
# $DELIBERATE (the program; tests/run.sh sets it), $TMP (removed on exit),
# and the cmocka-style report that tests/run.sh adds up.
DELIBERATE=${DELIBERATE:-./deliberate}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dl-$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASS=0 FAIL=0
ok()  { PASS=$((PASS + 1)); echo "[       OK ] $1"; }
bad() { FAIL=$((FAIL + 1)); echo "[  ERROR   ] $1"; echo "[  FAILED  ] $1"; }
# check NAME COMMAND...: runs the command, counts it as passed when it succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# has FILE PATTERN: the file has a line matching the (grep) pattern.
has() { grep -q -- "$2" "$1"; }
# summary: the totals; the script's exit status (0 when nothing failed).
summary() {
    echo "[==========] $((PASS + FAIL)) test(s) run."
    echo "[  PASSED  ] $PASS test(s)."
    [ "$FAIL" -gt 0 ] && echo "[  FAILED  ] $FAIL test(s), listed above."
    [ "$FAIL" -eq 0 ]
}
