#!/usr/bin/env bash
# Runs each cmocka test binary given as an argument and sums their results.
# Closing line (read by CI): "N passed, N failed, N skipped".
set -u
passed=0 failed=0 skipped=0 crashed=0
for bin in "$@"; do
    echo "=== $(basename "$bin")"
    out=$(timeout 600 "$bin" 2>&1) # a hung test fails instead of hanging CI
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    f=$(printf '%s\n' "$out" | sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    s=$(printf '%s\n' "$out" | sed -n 's/.*\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | awk '{s+=$1} END {print s+0}')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "!!! $(basename "$bin") exited with status $rc without reporting a failed test"
        crashed=$((crashed + 1)); failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
