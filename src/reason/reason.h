/* reason: the reasoning controller — effort -> thinking budget, budget
 * forcing settings, test-time compute (n samples with self-consistency or
 * best-of-n), answer extraction, and the reasoning summary that is the only
 * view of the reasoning a caller gets unless raw reasoning is asked for and
 * allowed. Written against backend.h only. */
#ifndef DL_REASON_H
#define DL_REASON_H

#include "../base/base.h"
#include "../backend/backend.h"

/* ---- effort ---------------------------------------------------------------- */

typedef enum dl_effort {
    DL_EFFORT_NONE = 0,
    DL_EFFORT_MINIMAL = 1,
    DL_EFFORT_LOW = 2,
    DL_EFFORT_MEDIUM = 3,
    DL_EFFORT_HIGH = 4,
    DL_EFFORT__COUNT = 5
} dl_effort;
const char *dl_effort_name(dl_effort e);
int dl_effort_parse(const char *name, dl_effort *out, dl_error *err); /* 400 lists the names */

/* Thinking-token budget per effort level (budget[DL_EFFORT_NONE] is 0:
 * thinking off). Defaults: 0, 64, 512, 2048, 8192; a model may suggest its
 * own (dl_backend_budget_hint) and a caller may override each level. */
typedef struct dl_effort_budgets {
    int32_t budget[DL_EFFORT__COUNT];
} dl_effort_budgets;
dl_effort_budgets dl_effort_default_budgets(void);
/* Defaults, replaced by the backend's hints where it has them. */
dl_effort_budgets dl_effort_budgets_for(const dl_backend *b);
/* Parses "low=256,high=4096" over *b; 400 on a bad level or number. */
int dl_effort_budgets_parse(dl_effort_budgets *b, const char *spec, dl_error *err);

/* ---- answer extraction ------------------------------------------------------ */

typedef enum dl_extract_kind {
    DL_EXTRACT_AUTO = 0,   /* \boxed{} if present, else a final "answer is/Answer:" line's
                            * value, else a choice letter if the text is only one, else the
                            * last number, else the last non-empty line */
    DL_EXTRACT_NUMBER = 1, /* last number (or the one after "answer"), normalised:
                            * "1,234.50" -> "1234.5", "-0" -> "0", "3/4" kept */
    DL_EXTRACT_CHOICE = 2, /* a multiple-choice letter A-J: "(B)", "Answer: C", "B." */
    DL_EXTRACT_BOXED = 3,  /* content of the last \boxed{...} (nested braces) */
    DL_EXTRACT_LAST_LINE = 4, /* last non-empty line, trimmed */
} dl_extract_kind;
const char *dl_extract_kind_name(dl_extract_kind k);
int dl_extract_kind_parse(const char *name, dl_extract_kind *out, dl_error *err);

/* Extracts the final answer of `text` as a malloc'd, normalised string (so
 * equal answers compare equal with strcmp), or NULL when none is found. */
char *dl_extract_answer(const char *text, dl_extract_kind kind);

/* ---- voting ------------------------------------------------------------------- */

typedef struct dl_vote_item {
    const char *answer;    /* extracted answer; NULL = none (never wins unless all are NULL) */
    double mean_logprob;   /* tie-breaker: higher wins */
} dl_vote_item;
/* Majority vote over items[0..n): returns the index of the winning item (the
 * one with the highest mean_logprob among those carrying the most common
 * answer; equal answers count together, ties between answers go to the
 * answer whose best item has the higher mean_logprob, then to the earlier
 * one). *votes (may be NULL) gets the winner's count. -1 when n == 0. */
int dl_vote_majority(const dl_vote_item *items, size_t n, int *votes);

/* ---- controller ---------------------------------------------------------------- */

typedef enum dl_strategy {
    DL_STRATEGY_VOTE = 0,      /* self-consistency: majority over extracted answers */
    DL_STRATEGY_BEST_OF_N = 1, /* the verifier's highest score wins */
} dl_strategy;

typedef enum dl_summary_mode {
    DL_SUMMARY_OFF = 0,
    DL_SUMMARY_AUTO = 1,     /* concise for short reasoning, detailed for long */
    DL_SUMMARY_CONCISE = 2,
    DL_SUMMARY_DETAILED = 3,
} dl_summary_mode;
const char *dl_summary_name(dl_summary_mode m);
int dl_summary_parse(const char *name, dl_summary_mode *out, dl_error *err);

/* Scores a candidate for best-of-n; higher is better. `answer` is the
 * extracted answer (may be NULL), `text` the full answer text. */
typedef double (*dl_verifier_fn)(void *ud, const char *answer, const char *text);
/* Built-in verifiers: 1 if the extracted answer equals *(const char **)ud
 * (exact, or numerically equal for numbers), else 0. */
double dl_verify_exact(void *ud, const char *answer, const char *text);
double dl_verify_numeric(void *ud, const char *answer, const char *text);

typedef struct dl_reason_params {
    dl_effort effort;
    dl_effort_budgets budgets;   /* from dl_effort_budgets_for() or the caller */
    /* At high effort, a reasoning block closed before min_share of the budget
     * is reopened with continue_cue (at most max_continuations times).
     * continue_cue NULL = never. Defaults: "\nWait", 0.25, 2. dl_reason_run
     * never cues a model whose GGUF has deliberate.reasoning.budget.continue
     * = 0 (the models deliberate trains). */
    const char *continue_cue;
    float min_share;
    int32_t max_continuations;
    int n;                       /* samples (>= 1) */
    dl_strategy strategy;
    dl_verifier_fn verifier;     /* best-of-n; NULL = mean log-probability */
    void *verifier_ud;
    dl_extract_kind extract;
    dl_summary_mode summary;
    bool want_reasoning;         /* caller asks for the raw reasoning ... */
    bool allow_reasoning;        /* ... and the deployment allows it */
} dl_reason_params;
dl_reason_params dl_reason_default_params(void); /* medium, n 1, vote, auto extract, summary auto */

typedef struct dl_reason_sample {
    char *answer_text;   /* the sample's whole answer (owned) */
    char *extracted;     /* its extracted answer or NULL (owned) */
    double mean_logprob;
    int32_t reasoning_tokens;
    dl_finish finish;
} dl_reason_sample;

typedef struct dl_reason_result {
    char *answer;        /* the chosen sample's answer (owned) */
    char *extracted;     /* its extracted answer, or NULL */
    char *summary;       /* model-written summary of the chosen sample's reasoning, or NULL */
    char *reasoning;     /* raw reasoning: only when want_reasoning && allow_reasoning */
    int chosen;          /* index into samples */
    int votes;           /* how many samples carried the chosen answer (vote) */
    dl_reason_sample *samples;
    int n_samples;
    dl_usage usage;      /* summed over the samples */
    dl_usage summary_usage; /* the summarisation call, reported apart */
    dl_finish finish;    /* the chosen sample's */
    int32_t budget;      /* the thinking budget that was applied (-1 none) */
} dl_reason_result;
void dl_reason_result_free(dl_reason_result *r);

/* Progress and streaming for callers such as `deliberate chat`. With n == 1
 * the answer streams through on_answer; with n > 1 only the chosen answer is
 * passed to on_answer once the vote is done. on_answer / on_progress may be
 * NULL; returning false cancels. */
typedef struct dl_reason_sink {
    bool (*on_progress)(void *ud, int sample, dl_channel ch, int32_t n_reasoning);
    bool (*on_answer)(void *ud, const char *text, size_t len);
    bool (*on_reasoning)(void *ud, const char *text, size_t len); /* only if allowed */
    bool (*on_summary)(void *ud, const char *text, size_t len);   /* the summary as written */
    void *ud;
} dl_reason_sink;

/* Sets the generation settings the reasoning parameters imply on *g:
 * thinking on/off, the budget, the gpt-oss effort hint and (high effort) the
 * continuation cue. 400 on an invalid effort or budget. */
int dl_reason_apply(const dl_reason_params *p, dl_gen_params *g, dl_error *err);

/* Runs the conversation msgs[0..n_msgs) with the reasoning settings p over
 * base sampling settings `gen` (sample i uses seed gen.sampling.seed + i).
 * 0 = ok (*out filled; free with dl_reason_result_free), -1 + err. */
int dl_reason_run(dl_backend *b, const dl_chat_msg *msgs, size_t n_msgs, const dl_gen_params *gen,
                  const dl_reason_params *p, const dl_reason_sink *sink, dl_reason_result *out,
                  dl_error *err);

#endif
