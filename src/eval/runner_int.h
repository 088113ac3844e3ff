/* eval runner internals shared by runner.c, runner_sample.c and progress.c
 * (not part of the module's contract). */
#ifndef DL_EVAL_RUNNER_INT_H
#define DL_EVAL_RUNNER_INT_H

#include <pthread.h>

#include "eval_int.h"

/* ---- progress.c: the progress bar on stderr ---- */
typedef struct dl_eval_progress {
    const char *label;
    int64_t total;      /* samples of the run */
    int64_t start_done; /* already stored when this process started */
    double t0_ms, last_ms;
    bool on;
} dl_eval_progress;
void dl_eval_progress_start(dl_eval_progress *p, bool on, const char *label, int64_t total,
                            int64_t done);
/* Redraws the bar: done/total, rate (samples/s of this process), ETA. At
 * most 10 redraws a second unless `last`. */
void dl_eval_progress_update(dl_eval_progress *p, int64_t done, int64_t failed, bool last);
void dl_eval_progress_end(dl_eval_progress *p);

/* ---- runner_sample.c: one sample, start to stored ---- */
typedef struct dl_eval_job {
    const dl_eval_def *d;
    const dl_eval_kind *kind;
    const dl_eval_run_opts *o;
    dl_reason_params rp;  /* effort, n, extract, summary off */
    dl_gen_params gen;    /* max_tokens; seed set per sample */
    const char *run_id;
    dl_store *st;
    double backoff_ms;    /* first retry delay (500) */
} dl_eval_job;

/* Answers (safety stack, reasoning controller, retries), grades and stores
 * one sample. *graded = the sample got a grade (false: failed, its error is
 * stored). 0, or -1 + err only when the store could not record it. */
int dl_eval_job_sample(const dl_eval_job *j, const dl_eval_sample *s, bool *graded, dl_error *err);

/* FNV-1a 64 of a string: stable across runs and machines. */
uint64_t dl_eval_hash_str(const char *s);

#endif
