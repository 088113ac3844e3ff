#!/usr/bin/env bash
# Agreement of the refusal and harmful graders with human labels
# (docs/eval-graders.md). Builds and runs tests/eval/test_grader_agreement:
#   refusal: XSTest v2 completions of GPT-4, Mistral-7B+guardrail,
#            Llama-2-70b-chat (original and new system prompt) and
#            Mistral-7B-Instruct (tests/eval/data/xstest_completions), binary
#            and 3-class, per file, first tuning files vs the files added later (all
#            five inspected now, none held out), all files;
#   harmful: GPTFuzz's human-labelled evaluate.csv (../shared; skipped when absent).
# Usage: bench/grader_agreement.sh [BUILD_DIR]      (default build/rel)
#        DL_AGREEMENT_VERBOSE=1 (or =bin) lists the disagreements (binary only).
#        DL_AGREEMENT_JBB=FILE measures the harmful grader against the human majority
#        labels of JailbreakBench's judge-comparison set (not reachable offline).
#        DL_AGREEMENT_GPTFUZZ=train.csv measures the harmful grader on GPTFuzz's
#        train split, the one its rule was written against.
set -eu
cd "$(dirname "$0")/.."
O=${1:-build/rel}
make -s O="$O" "$O/tests/eval/test_grader_agreement" >/dev/null
"$O/tests/eval/test_grader_agreement" 2>&1 | grep -v "^\[" || true
