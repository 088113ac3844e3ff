#!/usr/bin/env bash
# The recipe of deliberate's built-in reasoning model (issue 9, docs/train.md):
# supervised training on generated traces, then GRPO-style reinforcement
# learning, then the held-out measurements, the model card and the report.
#
#   make -j2 model                         # builds, then the full recipe
#   bash scripts/train-model.sh            # the full recipe (~49 min on 2 cores),
#                                          # installs into models/
#   bash scripts/train-model.sh --mini     # a miniature run of the same pipeline
#                                          # (seconds; what CI runs), nothing installed
#   options: --out DIR (work folder, default build/recipe or build/recipe-mini),
#            --no-install (full recipe without touching models/),
#            --bin PATH (the deliberate binary, default ./deliberate)
#
# Everything is seeded: the same machine and thread count give the same bits.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=full
OUT=""
INSTALL=1
BIN=./deliberate
while [ $# -gt 0 ]; do
    case "$1" in
    --mini) MODE=mini; INSTALL=0 ;;
    --out) OUT="$2"; shift ;;
    --no-install) INSTALL=0 ;;
    --bin) BIN="$2"; shift ;;
    -h | --help) sed -n "2,15p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "train-model.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
command -v jq >/dev/null || { echo "train-model.sh: needs jq (bash scripts/install-deps.sh)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "train-model.sh: $BIN not found; run 'make -j2' first" >&2; exit 1; }

THREADS=2
LEVELS=1-2
if [ "$MODE" = full ]; then
    : "${OUT:=build/recipe}"
    SHAPE="--embd 192 --layers 4 --heads 6 --kv-heads 2 --head-dim 32 --ff 512 --ctx 256"
    SFT="--steps 12000 --batch 16 --samples 200000 --lr 0.003 --warmup 200"
    RL="--steps 300 --group 8 --prompts-per-step 8 --lr 1e-4 --kl 0.2 --warmup 5 --drop-flat --resample-flat 4 --max-tokens 200"
    N_EVAL=1500    # held-out problems per task for every measured point
    VOTES=1,4,16
    # vote samples at temperature 2 with chat's truncation, chosen on
    # validation problems (docs/train.md, "what decides n=4 -> 16")
    CURVES="--max-tokens 256 --temp 2 --top-k 40 --top-p 0.95 --min-p 0.05"
else
    : "${OUT:=build/recipe-mini}"
    SHAPE="--embd 32 --layers 1 --heads 2 --kv-heads 1 --head-dim 16 --ff 64 --ctx 256"
    SFT="--steps 30 --batch 4 --samples 300 --lr 0.003 --warmup 5 --vocab 300"
    RL="--steps 2 --group 4 --prompts-per-step 2 --lr 5e-5 --max-tokens 48"
    N_EVAL=1
    VOTES=1,2
    CURVES="--max-tokens 24 --temp 2 --top-k 40 --top-p 0.95 --min-p 0.05"
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*" >&2; }

stamp "1/5 supervised training ($OUT/sft)"
"$BIN" train sft --out "$OUT/sft" --threads $THREADS --levels $LEVELS $SHAPE $SFT | tee "$OUT/sft.txt"
T_SFT=$(date +%s)

stamp "2/5 reinforcement learning ($OUT/rl)"
"$BIN" train rl --from "$OUT/sft" --out "$OUT/rl" --threads $THREADS --levels $LEVELS $RL | tee "$OUT/rl.txt"
T_RL=$(date +%s)

stamp "3/5 held-out accuracy of the SFT model (thinking budgets)"
"$BIN" train curves -m "$OUT/sft/model.gguf" --out "$OUT/curves-sft" --levels $LEVELS -n $N_EVAL \
    --votes 1 --threads $THREADS $CURVES | tee "$OUT/curves-sft.txt"

stamp "4/5 held-out accuracy of the RL model (thinking budgets, majority vote)"
"$BIN" train curves -m "$OUT/rl/model.gguf" --out "$OUT/curves" --levels $LEVELS -n $N_EVAL \
    --votes $VOTES --threads $THREADS $CURVES --title "deliberate-mini: training and test-time compute" --embed "$OUT/sft/loss.svg" --embed "$OUT/rl/rl.svg" | tee "$OUT/curves.txt"
T_END=$(date +%s)

stamp "5/5 model card"
bash scripts/model-card.sh "$OUT" "$MODE" $(( T_SFT - T0 )) $(( T_RL - T_SFT )) $(( T_END - T0 )) \
    "$LEVELS" "$SHAPE" "$SFT" "$RL" "$N_EVAL" >"$OUT/model-card.md"

if [ "$INSTALL" = 1 ]; then
    mkdir -p models/deliberate-mini
    cp "$OUT/rl/model.gguf" models/deliberate-mini.gguf
    cp "$OUT/model-card.md" models/deliberate-mini.md
    cp "$OUT/curves/curves.html" models/deliberate-mini/report.html
    cp "$OUT/curves/curves.json" models/deliberate-mini/curves-rl.json
    cp "$OUT/curves-sft/curves.json" models/deliberate-mini/curves-sft.json
    cp "$OUT/curves/budget.svg" "$OUT/curves/votes.svg" "$OUT/sft/loss.svg" "$OUT/rl/rl.svg" models/deliberate-mini/
    cp "$OUT/sft/train_log.csv" "$OUT/rl/rl_log.csv" models/deliberate-mini/
    stamp "installed models/deliberate-mini.gguf, models/deliberate-mini.md, models/deliberate-mini/"
fi
stamp "done in $(( $(date +%s) - T0 )) s"
