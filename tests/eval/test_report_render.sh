#!/usr/bin/env bash
# The HTML report renders its charts in a real browser: builds the report of
# tests/eval/data/results_sample.json (2 models, pre/post mitigation, an
# effort sweep and an n sweep), loads it in headless Chromium, and checks
#  - the rendered DOM (--dump-dom) holds every chart's SVG elements;
#  - the screenshot is a PNG of the window's size that is not blank: many
#    colours, enough non-white pixels, and the chart palette's colours
#    painted over real areas (bars and lines), read with tests/eval/png_check.mjs
#    (Node), or only the PNG header and size when Node is missing.
# Skips visibly when Chromium is not installed (scripts/install-deps.sh
# installs Debian's chromium). Runs from the repository root.
set -u
cd "$(dirname "$0")/../.." || exit 1
DELIBERATE=${DELIBERATE:-./deliberate}
N_TESTS=7
PASS=0 FAIL=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dl-render-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok()  { PASS=$((PASS + 1)); echo "[       OK ] $1"; }
bad() { FAIL=$((FAIL + 1)); echo "[  ERROR   ] $1"; echo "[  FAILED  ] $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
summary() {
    echo "[==========] $((PASS + FAIL)) test(s) run."
    echo "[  PASSED  ] $PASS test(s)."
    [ "$FAIL" -gt 0 ] && echo "[  FAILED  ] $FAIL test(s), listed above."
    [ "$FAIL" -eq 0 ]
}

CHROMIUM=""
for c in chromium chromium-browser google-chrome; do
    command -v "$c" >/dev/null 2>&1 && { CHROMIUM=$c; break; }
done
if [ -z "$CHROMIUM" ]; then
    echo "SKIP $(basename "$0"): chromium is not installed (scripts/install-deps.sh installs it)"
    echo "[  SKIPPED ] $N_TESTS test(s)."
    exit 0
fi

chrome() {
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-color-profile=srgb --user-data-dir="$TMP/profile" "$@" 2>>"$TMP/chromium.log"
}

HTML="$TMP/report.html"
"$DELIBERATE" eval report --results tests/eval/data/results_sample.json --out "$HTML" \
    --json "$TMP/report.json" --scorecard evals/scorecards/default.json --title "Render test" \
    >"$TMP/report.log" 2>&1
check "report written" test -s "$HTML"

# The DOM after parsing and layout: every chart and its parts are elements.
chrome --dump-dom "file://$HTML" >"$TMP/dom.html"
count() { grep -o -- "$1" "$TMP/dom.html" | wc -l | tr -d ' '; }
dom_ok() {
    [ "$(count '<svg ')" -eq 7 ] && [ "$(count 'class="chart bar-chart"')" -eq 5 ] &&
        [ "$(count 'class="chart line-chart"')" -eq 2 ] &&
        [ "$(count '<rect class="bar"')" -eq 19 ] && [ "$(count '<polyline class="series"')" -eq 4 ] &&
        [ "$(count 'class="whisker"')" -ge 30 ] && [ "$(count '<table class="scorecard">')" -eq 2 ]
}
check "rendered DOM has 7 charts, 19 bars, 4 curves, whiskers, 2 scorecards" dom_ok
if ! dom_ok; then
    echo "  svg $(count '<svg ') bar-charts $(count 'class="chart bar-chart"') bars $(count '<rect class="bar"')" \
         "curves $(count '<polyline class="series"') whiskers $(count 'class="whisker"')"
fi

PNG="$TMP/shot.png"
chrome --screenshot="$PNG" --window-size=1280,2000 "file://$HTML" >/dev/null
check "screenshot written" test -s "$PNG"

# PNG header: signature, then IHDR width and height (big-endian).
hdr=$(od -An -tx1 -N24 "$PNG" 2>/dev/null | tr -d ' \n')
w=$((16#${hdr:32:8})) h=$((16#${hdr:40:8}))
check "PNG of the window's size (1280x2000)" test "${hdr:0:16}" = 89504e470d0a1a0a -a "$w" = 1280 -a "$h" = 2000
size=$(wc -c <"$PNG" | tr -d ' ')
check "PNG is not trivially small ($size bytes > 40000)" test "$size" -gt 40000

if command -v node >/dev/null 2>&1; then
    # alpha-7b post (#1f77b4), its pre tint (#aec7e8), beta-8b post (#ff7f0e)
    stats=$(node tests/eval/png_check.mjs "$PNG" '#1f77b4' '#aec7e8' '#ff7f0e')
    echo "  $stats"
    not_blank() {
        node -e '
            const s = JSON.parse(process.argv[1]);
            const ok = s.distinct_colours >= 100 && s.ink >= 0.03;
            process.exit(ok ? 0 : 1);' "$stats"
    }
    painted() {
        node -e '
            const s = JSON.parse(process.argv[1]);
            const ok = Object.values(s.colours).every((n) => n >= 1000);
            process.exit(ok ? 0 : 1);' "$stats"
    }
    check "screenshot not blank (>= 100 colours, >= 3% inked pixels)" not_blank
    check "chart colours painted (>= 1000 px each of 3 series colours)" painted
else
    echo "SKIP pixel checks: node is not installed"
    echo "[  SKIPPED ] 2 test(s)."
fi
[ "$FAIL" -gt 0 ] && { echo "--- chromium log"; tail -20 "$TMP/chromium.log"; cat "$TMP/report.log"; }
summary
