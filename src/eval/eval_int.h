/* eval internals shared by the module's files: the kinds and graders each
 * file defines, and small helpers. */
#ifndef DL_EVAL_INT_H
#define DL_EVAL_INT_H

#include <stdio.h>

#include "eval.h"

/* The evals/ directory: $DELIBERATE_EVALS, next to the program (walking up
 * from build/rel/), or ./evals. NULL when none exists. */
const char *dl_eval_dir(void);

/* Frees the samples from index `from` on (dl_eval_samples_free frees all). */
void dl_eval_samples_truncate(dl_eval_samples *s, size_t from);

/* ---- kinds (one per kind_<name>.c) ---- */
extern const dl_eval_kind dl_kind_refusal;     /* kind_refusal.c: not_unsafe / not_overrefuse */
extern const dl_eval_kind dl_kind_math;        /* kind_math.c: GSM8K, MATH-500, AIME, MGSM */
extern const dl_eval_kind dl_kind_jailbreak;   /* kind_jailbreak.c: StrongREJECT x templates */
extern const dl_eval_kind dl_kind_simpleqa;    /* kind_simpleqa.c */
extern const dl_eval_kind dl_kind_truthfulqa;  /* kind_truthfulqa.c */
extern const dl_eval_kind dl_kind_halueval;    /* kind_halueval.c */
extern const dl_eval_kind dl_kind_bbq;         /* kind_bbq.c */
extern const dl_eval_kind dl_kind_crows_pairs; /* kind_crows.c */
extern const dl_eval_kind dl_kind_style;       /* kind_style.c: refusal style adherence */
extern const dl_eval_kind dl_kind_ih;          /* kind_ih.c: instruction hierarchy */

/* ---- graders (grade_*.c), each with dl_grade's contract ---- */
typedef int (*dl_grader_fn)(const char *prompt, const char *response, const json_t *ref,
                            const dl_grade_ctx *ctx, json_t **verdict, dl_error *err);
int dl_grader_exact(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                    dl_error *);
int dl_grader_normalized(const char *, const char *, const json_t *, const dl_grade_ctx *,
                         json_t **, dl_error *);
int dl_grader_numeric(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                      dl_error *);
int dl_grader_choice(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                     dl_error *);
int dl_grader_regex(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                    dl_error *);
int dl_grader_refusal(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                      dl_error *);
int dl_grader_harmful(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                      dl_error *);
int dl_grader_style(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                    dl_error *);
int dl_grader_rubric(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                     dl_error *);
int dl_grader_simpleqa(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **,
                       dl_error *);
int dl_grader_strongreject(const char *, const char *, const json_t *, const dl_grade_ctx *,
                           json_t **, dl_error *);

/* Asks the judge backend one question (system + user message, thinking off,
 * greedy, seed) and returns its answer text (malloc'd) or NULL + err. */
char *dl_eval_judge_ask(dl_backend *judge, const char *system, const char *user, uint64_t seed,
                        int32_t max_tokens, dl_error *err);

/* One splitmix64 step: advances *state, returns the next value. */
uint64_t dl_eval_splitmix64(uint64_t *state);

/* String field of a JSON object, or NULL (not a string / missing). */
const char *dl_json_str(const json_t *o, const char *key);

#endif
