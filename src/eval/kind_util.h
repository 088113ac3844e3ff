/* eval/kind_util: small helpers shared by the kinds — dataset rows from a
 * definition's options and an iterator over them (the jailbreak,
 * hallucination, bias and refusal-style loaders), seeded choices,
 * choice-question prompts and answers, metric lists and per-group rates
 * (those kinds, refusal and math). */
#ifndef DL_EVAL_KIND_UTIL_H
#define DL_EVAL_KIND_UTIL_H

#include "eval_int.h"

/* Bootstrap settings of every non-proportion metric of these kinds: fixed,
 * so the same graded samples always give the same interval. */
#define DL_KU_BOOT_REPS 1000
#define DL_KU_BOOT_SEED 0x5EED2024ull

/* ---- seeded choices ---- */

uint64_t dl_ku_hash(const char *s);              /* FNV-1a, 64 bit */
uint64_t dl_ku_seed_for(uint64_t seed, const char *key); /* a stream per (seed, key) */
/* Fisher-Yates shuffle of v[0..n) from *state. */
void dl_ku_shuffle(size_t *v, size_t n, uint64_t *state);

/* ---- dataset rows ---- */

/* Rows of the dataset `spec` names: a string (the path) or an object with
 * "path". The path resolves with dl_eval_data_path; a directory gives the
 * rows of each *.jsonl / *.csv file in it, in name order, each row marked
 * with "_file" (its file name) and "_row" (1-based) for error messages. *rows gets one
 * reference; *label (may be NULL) a malloc'd copy of the spec's path for
 * messages. 400 on a bad spec, 404/400 from reading. */
int dl_ku_rows(const dl_eval_def *d, const json_t *spec, const char *data_dir, json_t **rows,
               char **label, dl_error *err);
/* The definition's "datasets" array (a single "dataset" becomes a one-item
 * array); one reference. NULL + 400 naming the definition when absent. */
json_t *dl_ku_datasets(const dl_eval_def *d, dl_error *err);

/* One dataset row, as the row iterators hand it to their callback. */
typedef struct dl_ku_row {
    const dl_eval_def *def;
    const json_t *spec;  /* the dataset spec (a path string or an object) */
    const char *name;    /* the spec's "name", else the iterator's default name */
    const char *label;   /* the spec's path, for messages */
    const json_t *row;
    size_t i;            /* 0-based index in the dataset's rows */
    json_t *seen;        /* sample keys used so far (dl_ku_row_key) */
    dl_eval_samples *out; /* dl_ku_load_rows: the samples (else NULL) */
    uint64_t seed;        /* dl_ku_load_rows: the load's seed (else 0) */
} dl_ku_row;
/* Called for each row; non-zero stops the iteration (err set). */
typedef int (*dl_ku_row_fn)(const dl_ku_row *r, void *ctx, dl_error *err);

/* Calls fn for each row of the dataset `spec` (dl_ku_rows), in order; the
 * rows carry base's def, seen, out and seed. 0, or the error of reading or
 * of fn. */
int dl_ku_each_spec_row(const dl_ku_row *base, const json_t *spec, const char *data_dir,
                        const char *default_name, dl_ku_row_fn fn, void *ctx, dl_error *err);
/* dl_ku_each_spec_row over every dataset of the definition
 * (dl_ku_datasets), one key set shared by all of them. */
int dl_ku_each_row(const dl_eval_def *d, const char *data_dir, const char *default_name,
                   dl_ku_row_fn fn, void *ctx, dl_error *err);
/* A kind's load over dl_ku_each_row, the rows carrying out and seed:
 * *out emptied first, freed on error. */
int dl_ku_load_rows(const dl_eval_def *d, const char *data_dir, uint64_t seed,
                    const char *default_name, dl_ku_row_fn fn, void *ctx, dl_eval_samples *out,
                    dl_error *err);
/* The printf-formatted key made unique among the load's keys
 * (dl_ku_unique_key with the row's index); malloc'd. */
char *dl_ku_row_key(const dl_ku_row *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dl_ku_need on the row: its text field `col`, or NULL + 400. */
const char *dl_ku_row_need(const dl_ku_row *r, const char *col, char *buf, size_t size,
                           dl_error *err);
/* The row's fields cols[0..n) (dl_ku_row_need) into out[] (bufs[k] for
 * numbers); stops at the first missing one: 0, or -1 + 400. */
int dl_ku_row_fields(const dl_ku_row *r, const char *const *cols, size_t n, const char **out,
                     char (*bufs)[32], dl_error *err);
/* Adds a one-user-message sample; ref is handed over. */
void dl_ku_add_user(dl_eval_samples *out, const char *key, const char *content, json_t *ref);

/* Field `col` of a row as text: strings as they are, integers and reals
 * printed into buf; NULL when missing or of another type. */
const char *dl_ku_text(const json_t *row, const char *col, char *buf, size_t size);
/* As dl_ku_text, but a missing field is a 400 naming the file and row. */
const char *dl_ku_need(const json_t *row, const char *col, const char *file, size_t i, char *buf,
                       size_t size, dl_error *err);

/* Option of the definition (or of a dataset spec object), with a default. */
const char *dl_ku_opt_str(const json_t *o, const char *key, const char *dflt);
int64_t dl_ku_opt_int(const json_t *o, const char *key, int64_t dflt);

/* Keys seen so far, to keep sample keys unique: returns `key` itself the
 * first time, "<key>#<row>" when it was already used (malloc'd). */
char *dl_ku_unique_key(json_t *seen, const char *key, size_t row);

/* ---- choice questions ---- */

/* "<stem>\n\nA. opt0\nB. opt1\n...\n\n<instruction>" (malloc'd). */
char *dl_ku_choice_prompt(const char *stem, const char *const *options, size_t n,
                          const char *instruction);
/* The option index of a response's letter (dl_extract_answer with
 * DL_EXTRACT_CHOICE), or -1 when there is none or it is past the last
 * option. *letter (may be NULL) gets the letter or 0. */
int dl_ku_choice_index(const char *response, size_t n_options, char *letter);
/* Adds the common choice verdict fields: "extracted" (letter or null),
 * "choice" (index or -1). */
void dl_ku_choice_verdict(json_t *v, int idx, char letter);

/* ---- metrics ---- */

typedef struct dl_ku_metrics {
    dl_metric *v;
    size_t n, cap;
} dl_ku_metrics;
void dl_ku_metrics_add(dl_ku_metrics *m, dl_metric x);
/* Hands the list over as the kind's metrics result. */
void dl_ku_metrics_take(dl_ku_metrics *m, dl_metric **out, size_t *n_out);
/* "<base>:<group>" into a metric name (truncated to fit). */
void dl_ku_metric_name(char *dst, size_t size, const char *base, const char *group);
/* Mean of x[0..n) with a bootstrap interval (fixed reps and seed). */
dl_metric dl_ku_boot_mean(const char *name, const double *x, size_t n);

/* Distinct values of ref field `field` over the graded samples, in first-seen
 * order (a JSON array of strings; one reference). */
json_t *dl_ku_groups(const dl_eval_graded *g, size_t n, const char *field);

/* A graded sample's outcome for a rate: 1 a success, 0 a failure, -1 left
 * out of the rate. */
typedef int (*dl_ku_outcome_fn)(const dl_eval_graded *g);
/* Outcomes: the grade's "score" is 1 / is at least 0.5. */
int dl_ku_score_is_1(const dl_eval_graded *g);
int dl_ku_score_half(const dl_eval_graded *g);
/* Share of successes among the samples whose ref field `field` is `group`
 * (all samples when group is NULL), as a proportion named `name`. */
dl_metric dl_ku_rate(const char *name, const dl_eval_graded *g, size_t n, const char *field,
                     const char *group, dl_ku_outcome_fn ok);
/* Adds dl_ku_rate "<prefix><group>" for every group of ref field `field`:
 * first-seen order (dl_ku_groups), or by name when sorted. */
void dl_ku_group_rates(dl_ku_metrics *m, const char *prefix, bool sorted, const dl_eval_graded *g,
                       size_t n, const char *field, dl_ku_outcome_fn ok);

/* Number field of a verdict (booleans count as 0/1), or dflt. */
double dl_ku_num(const json_t *o, const char *key, double dflt);

#endif
