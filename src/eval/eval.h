/* eval: the evaluation hub — eval definitions (evals/<name>.json), dataset
 * loading, the runner (any backend, with or without the safety stack,
 * concurrent, retried, resumable, results in the store), graders, metrics
 * with confidence intervals, reports (HTML with inline SVG + JSON),
 * pairwise comparison, and the Preparedness-style scorecard and gate.
 * Written against backend.h, reason.h, safety.h and store.h; JSON values
 * are jansson's json_t (reference counted: a function that returns a json_t*
 * gives the caller one reference).
 *
 * Vocabulary
 *   eval definition  a JSON file in evals/: name, kind, datasets, options
 *   kind             C code that turns dataset rows into samples, grades a
 *                    response to a sample and computes the eval's metrics
 *   sample           one conversation sent to the model, with the reference
 *                    data its grader needs; `key` is stable across runs
 *   run              one eval x one model x one configuration (effort, n,
 *                    mitigation, seed, limit); stored with every sample's
 *                    response and grade, so a run can be resumed and history
 *                    accumulates
 *   metric           a named figure of a run with a 95% confidence interval
 */
#ifndef DL_EVAL_H
#define DL_EVAL_H

#include <jansson.h>

#include "../backend/backend.h"
#include "../base/base.h"
#include "../reason/reason.h"
#include "../safety/safety.h"
#include "../store/store.h"

/* ======================================================================
 * Metrics (stats.c)
 * ====================================================================== */

typedef struct dl_metric {
    char name[48];   /* "not_unsafe", "accuracy", "goodness@0.1", "f_score", ... */
    double value;
    double lo, hi;   /* 95% confidence interval (lo == hi == value when none applies) */
    int64_t n;       /* observations the value rests on */
} dl_metric;

/* Wilson score interval for k successes in n trials (z = 1.96). n == 0 gives
 * value 0 and the interval [0, 1]. */
dl_metric dl_metric_proportion(const char *name, int64_t k, int64_t n);
/* Mean of x[0..n) with a normal-approximation 95% interval. */
dl_metric dl_metric_mean(const char *name, const double *x, size_t n);
/* 95% interval by percentile bootstrap: `stat` computed over `reps`
 * resamples (with replacement, deterministic in seed) of the n items. */
typedef double (*dl_stat_fn)(void *ud, const size_t *idx, size_t n);
dl_metric dl_metric_bootstrap(const char *name, dl_stat_fn stat, void *ud, size_t n, int reps,
                              uint64_t seed);
/* {"value":..,"lo":..,"hi":..,"n":..} */
json_t *dl_metric_to_json(const dl_metric *m);
int dl_metric_from_json(const char *name, const json_t *j, dl_metric *out, dl_error *err);

/* ======================================================================
 * Eval definitions and samples (def.c, dataset.c)
 * ====================================================================== */

/* An eval definition as read from evals/<name>.json (docs/eval.md has the
 * schema). Owned strings; `json` keeps the whole document for kind options. */
typedef struct dl_eval_def {
    char *name;         /* "xstest_safe" */
    char *kind;         /* "refusal", "jailbreak", "simpleqa", "bbq", "math", "ih", ... */
    char *category;     /* scorecard category it feeds ("disallowed", "jailbreak",
                         * "hallucination", "bias", "instruction_hierarchy", "reasoning", ...) */
    char *description;
    char *primary;      /* the headline metric's name */
    char *path;         /* the file it was read from (for relative dataset paths) */
    json_t *json;       /* the whole definition (options of the kind: "datasets", ...) */
} dl_eval_def;

/* Reads a definition; 400 naming the file and the problem (malformed JSON
 * with line/column, missing or mistyped field, unknown kind). */
int dl_eval_def_load(const char *path, dl_eval_def *out, dl_error *err);
void dl_eval_def_free(dl_eval_def *d);
/* Finds the definition `name_or_path`: a path to a .json file, or a name
 * looked up in the evals/ directory (next to the program, then the source
 * tree, then $DELIBERATE_EVALS). 404 listing what exists. */
int dl_eval_def_find(const char *name_or_path, dl_eval_def *out, dl_error *err);
/* All definitions in the evals/ directory, sorted by name. */
int dl_eval_def_list(dl_eval_def **out, size_t *n, dl_error *err);

/* Where a definition's dataset path resolves: absolute paths as given;
 * "shared:<rel>" and bare relative paths of public datasets under
 * $DL_SHARED/datasets (default ../shared/datasets relative to the source
 * tree, then ./shared/datasets); "evals:<rel>" under the evals/ directory.
 * --data-dir DIR (runner option) replaces the datasets root. malloc'd. */
char *dl_eval_data_path(const dl_eval_def *d, const char *rel, const char *data_dir);

/* Rows of a CSV (RFC 4180: quoted fields with commas, doubled quotes and
 * newlines) or JSONL file as JSON objects (CSV: column -> string). 400 on a
 * malformed file naming the path and line. *rows gets one reference. */
int dl_eval_read_rows(const char *path, json_t **rows, dl_error *err);

typedef struct dl_eval_sample {
    char *key;           /* stable id, e.g. "harmbench:42" or "sr:7|tpl:12" */
    dl_chat_msg *msgs;   /* the conversation (role + text owned by the sample) */
    size_t n_msgs;
    json_t *ref;         /* what grading needs: gold answer, choices, label, checks, group */
} dl_eval_sample;

typedef struct dl_eval_samples {
    dl_eval_sample *v;
    size_t n, cap;
} dl_eval_samples;
void dl_eval_samples_free(dl_eval_samples *s);
/* Appends a sample (takes ownership of ref; copies key and messages). */
void dl_eval_samples_add(dl_eval_samples *s, const char *key, const dl_chat_msg *msgs,
                         size_t n_msgs, json_t *ref);

/* ======================================================================
 * Graders (grade*.c)
 * ====================================================================== */

/* What a grader may use besides the response. */
typedef struct dl_grade_ctx {
    dl_backend *judge;               /* model-graded rubrics; NULL = not available (501) */
    const dl_classifier *classifier; /* `harmful`; NULL = the shipped default is loaded */
    uint64_t seed;
} dl_grade_ctx;

/* Grades one response. `grader` is one of: "exact", "normalized", "numeric",
 * "choice", "regex", "refusal", "harmful", "style", "simpleqa" (judge),
 * "strongreject" (judge), "rubric" (judge, with ref.rubric). `ref` holds the
 * reference the grader needs (ref.answer, ref.choices, ref.pattern,
 * ref.style, ref.tolerance ...; may be NULL for refusal/harmful). *verdict
 * gets a JSON object that always has "score" (0..1, 1 = the good outcome for
 * the grader's question: correct, refused, harmful...) and the grader's own
 * fields (docs/eval.md); judge graders keep the judge's raw output in
 * "judge_raw". 400 on a missing reference field, 501 when a judge is needed
 * and ctx->judge is NULL, the judge's error otherwise. */
int dl_grade(const char *grader, const char *prompt, const char *response, const json_t *ref,
             const dl_grade_ctx *ctx, json_t **verdict, dl_error *err);
/* Names of the graders, NULL-terminated. */
const char *const *dl_grader_names(void);

/* ======================================================================
 * Kinds (kind_*.c)
 * ====================================================================== */

typedef struct dl_eval_graded {
    const dl_eval_sample *sample;
    const char *response;   /* the answer the user saw (after the safety stack, if on) */
    const json_t *grade;    /* the grader's verdict */
} dl_eval_graded;

typedef struct dl_eval_kind {
    const char *name;
    /* Builds the samples from the definition's datasets (data_dir as in
     * dl_eval_data_path). Deterministic in seed (template choice, option
     * order). 400/404 on unreadable or malformed data. */
    int (*load)(const dl_eval_def *d, const char *data_dir, uint64_t seed, dl_eval_samples *out,
                dl_error *err);
    /* Grades one sample's response; *verdict as dl_grade's. */
    int (*grade)(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                 const dl_grade_ctx *ctx, json_t **verdict, dl_error *err);
    /* The run's metrics from all graded samples; the definition's primary
     * metric must be among them. *out malloc'd. */
    int (*metrics)(const dl_eval_def *d, const dl_eval_graded *g, size_t n, dl_metric **out,
                   size_t *n_out, dl_error *err);
} dl_eval_kind;

const dl_eval_kind *dl_eval_kind_find(const char *name); /* NULL if unknown */
const dl_eval_kind *const *dl_eval_kinds(void);         /* NULL-terminated */

/* ======================================================================
 * Runner (runner.c)
 * ====================================================================== */

typedef struct dl_eval_run_opts {
    const char *model_name;     /* as recorded in the store */
    dl_backend *backend;        /* the model under test */
    dl_safety *safety;          /* non-NULL = post-mitigation: inputs and outputs go through
                                 * the safety stack (a refused input is answered with the
                                 * style's refusal text without calling the model) */
    dl_grade_ctx grade;         /* judge, classifier */
    dl_effort effort;
    int n;                      /* samples per prompt (self-consistency vote), >= 1 */
    uint64_t seed;              /* sample i of prompt k uses seed + hash(key) + i */
    int64_t limit;              /* first `limit` samples (after the seeded order); 0 = all */
    int concurrency;            /* requests in flight; 0 = 1 */
    int retries;                /* per sample, with exponential backoff from 0.5 s; default 3 */
    int32_t max_tokens;         /* per request; 0 = backend default */
    const char *data_dir;       /* NULL = default datasets root */
    const char *resume_id;      /* resume this run; NULL = resume the latest unfinished run with
                                 * the same configuration, or start a new one */
    bool fresh;                 /* always start a new run */
    bool progress;              /* progress bar on stderr (rate, ETA) */
    volatile int *stop;         /* set to non-zero (e.g. by SIGINT) to stop after the requests
                                 * in flight; the run stays resumable */
} dl_eval_run_opts;

typedef struct dl_eval_run_result {
    char run_id[64];
    int64_t n_samples, n_done, n_failed; /* failed = errors after all retries */
    bool complete;
    dl_metric *metrics;   /* owned */
    size_t n_metrics;
} dl_eval_run_result;
void dl_eval_run_result_free(dl_eval_run_result *r);

/* Runs (or resumes) an eval, storing every sample's result as it is graded.
 * 0 = finished or stopped cleanly (see ->complete); -1 + err. */
int dl_eval_run(dl_store *st, const dl_eval_def *d, const dl_eval_run_opts *o,
                dl_eval_run_result *out, dl_error *err);

/* The runs in the store as the results document that reports, comparisons
 * and the scorecard read (docs/eval.md "results document"):
 *   {"runs": [{"id","eval","kind","category","primary","model","mitigation":"pre"|"post",
 *              "effort","n","seed","limit","created_at","finished_at","complete",
 *              "n_samples","metrics": {name: {"value","lo","hi","n"}}}]}
 * Filters (NULL = any): run ids (comma list), model, eval. Latest first. */
int dl_eval_results_json(dl_store *st, const char *run_ids, const char *model, const char *eval,
                         json_t **out, dl_error *err);

/* ======================================================================
 * Reports, comparison, scorecard (report*.c, svg.c, pairwise.c, scorecard.c)
 * ====================================================================== */

/* Writes one self-contained HTML file (inline SVG: a bar chart per eval
 * with CIs, test-time compute curves (metric against effort and against n),
 * runs of two models or pre/post mitigation side by side) from a results
 * document, plus the same data as JSON at json_path (NULL = none). */
int dl_eval_report_write(const json_t *results, const char *title, const char *html_path,
                         const char *json_path, dl_error *err);
/* The same with the scorecard table of every model in the results (pre and
 * post mitigation) when scorecard_path is not NULL. */
int dl_eval_report_write_scorecard(const json_t *results, const char *title,
                                   const char *scorecard_path, const char *html_path,
                                   const char *json_path, dl_error *err);

/* Pairwise comparison: both models answer each prompt; the judge, shown the
 * two answers in a seeded random order with no model names, picks the safer
 * (question = "safer") or better ("better") one. */
typedef struct dl_pairwise_opts {
    dl_backend *a, *b, *judge;
    const char *question;       /* "safer" | "better" */
    uint64_t seed;
    int32_t max_tokens;         /* per answer (reasoning + answer); 0 = backend default */
    bool progress;
} dl_pairwise_opts;
typedef struct dl_pairwise_result {
    int64_t a_wins, b_wins, ties, n;   /* n = a_wins + b_wins + ties */
    int64_t n_errors;           /* malformed judge replies: recorded, excluded from n */
    dl_metric a_win_rate;       /* ties count half */
    json_t *records;            /* per prompt: prompt, answers, order shown, judge_raw, winner */
} dl_pairwise_result;
int dl_eval_pairwise(const char *const *prompts, size_t n, const dl_pairwise_opts *o,
                     dl_pairwise_result *out, dl_error *err);
void dl_pairwise_result_free(dl_pairwise_result *r);

/* Scorecard: a JSON file mapping metrics of evals to risk levels per tracked
 * category (docs/eval-reports.md). */
typedef enum dl_risk {
    DL_RISK_LOW = 0,
    DL_RISK_MEDIUM = 1,
    DL_RISK_HIGH = 2,
    DL_RISK_CRITICAL = 3,
    DL_RISK_UNKNOWN = 4   /* no run of the eval the category needs */
} dl_risk;
const char *dl_risk_name(dl_risk r);

typedef struct dl_scorecard_row {
    char category[64];
    dl_risk pre, post;          /* from the latest pre- and post-mitigation runs */
    char evidence[256];         /* "xstest_safe not_overrefuse 0.91 (run_...)" */
} dl_scorecard_row;

/* Evaluates a scorecard file against a results document. 400 on a malformed
 * scorecard naming the problem. *rows malloc'd. */
int dl_scorecard_eval(const char *scorecard_path, const json_t *results, const char *model,
                      dl_scorecard_row **rows, size_t *n_rows, dl_error *err);

#endif
