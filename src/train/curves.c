/* Test-time compute on held-out problems, measured through the project's
 * reasoning controller (dl_reason_run) on the local backend: accuracy
 * against the thinking budget (effort none/low/medium/high, greedy) and
 * against n samples with majority vote, with Wilson 95% intervals. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "train_int.h"

dl_ttc_params dl_ttc_default_params(void) {
    dl_ttc_params p = {0};
    p.level = 1; /* levels 1-2, as train sft / rl / eval and the shipped model */
    p.max_level = 2;
    p.n_per_task = 20;
    p.split = DL_SPLIT_TEST;
    p.seed = 1;
    p.threads = 2;
    p.batch = 8;
    p.max_tokens = 256;
    p.votes[0] = 1, p.votes[1] = 4, p.votes[2] = 16;
    p.n_votes = 3;
    p.temperature = 1.0f;
    p.top_k = 0, p.top_p = 1.0f, p.min_p = 0.0f;
    p.vote_effort = DL_EFFORT_HIGH;
    return p;
}

void dl_wilson95(int64_t k, int64_t n, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0.0, *hi = 1.0;
        return;
    }
    const double z = 1.96, ph = (double)k / (double)n, z2n = z * z / (double)n;
    double c = (ph + z2n / 2.0) / (1.0 + z2n);
    double h = z * sqrt(ph * (1.0 - ph) / (double)n + z2n / (4.0 * (double)n)) / (1.0 + z2n);
    *lo = fmax(0.0, c - h), *hi = fmin(1.0, c + h);
}

void dl_ttc_result_free(dl_ttc_result *r) {
    for (int e = 0; e < 4; e++) dl_buf_free(&r->effort[e].outcomes);
    for (int v = 0; v < DL_TTC_MAX_VOTES; v++) dl_buf_free(&r->vote[v].outcomes);
}

static void finish_point(dl_ttc_point *pt) {
    pt->acc = pt->n ? (double)pt->correct / pt->n : 0.0;
    dl_wilson95(pt->correct, pt->n, &pt->lo, &pt->hi);
    if (pt->n) pt->mean_reasoning_tokens /= pt->n;
}

/* The conversation of a problem: its system / developer messages, then
 * the question. Returns the number of messages (at most 3). */
static size_t problem_msgs(const dl_problem *pr, dl_chat_msg msgs[3]) {
    size_t n = 0;
    if (pr->system) msgs[n++] = (dl_chat_msg){.role = DL_ROLE_SYSTEM, .content = pr->system};
    if (pr->developer) msgs[n++] = (dl_chat_msg){.role = DL_ROLE_DEVELOPER, .content = pr->developer};
    msgs[n++] = (dl_chat_msg){.role = DL_ROLE_USER, .content = pr->question};
    return n;
}

static const dl_effort EFFORTS[4] = {DL_EFFORT_NONE, DL_EFFORT_LOW, DL_EFFORT_MEDIUM, DL_EFFORT_HIGH};

/* One problem's measurement: its outcome and reasoning tokens at each
 * effort (0..3) and each vote count (4..), and what --show prints. */
typedef struct problem_rec {
    dl_problem pr;
    uint64_t seed;
    bool ok[4 + DL_TTC_MAX_VOTES];
    double tokens[4 + DL_TTC_MAX_VOTES];
    char *show;
    size_t show_len;
} problem_rec;

/* One problem: the four effort levels (greedy), then the vote samples.
 * Fills rec; `show` (may be NULL) gets the per-reply lines. */
static int measure_one(dl_backend *b, const dl_ttc_params *p, const dl_effort_budgets *bud, problem_rec *rec,
                       FILE *show, dl_error *err) {
    const dl_problem *pr = &rec->pr;
    dl_chat_msg msgs[3];
    size_t nm = problem_msgs(pr, msgs);
    dl_gen_params gen = dl_gen_default_params();
    gen.max_tokens = p->max_tokens;
    gen.sampling.seed = rec->seed;
    dl_reason_params rp = dl_reason_default_params();
    rp.budgets = *bud;
    rp.summary = DL_SUMMARY_OFF;
    rp.extract = DL_EXTRACT_LAST_LINE; /* the model answers on one line; lists stay whole */
    if (!p->continue_cue) rp.continue_cue = NULL;
    for (int e = 0; e < 4; e++) {
        dl_reason_result out;
        rp.effort = EFFORTS[e];
        rp.n = 1;
        gen.sampling.temperature = 0.0f;
        if (dl_reason_run(b, msgs, nm, &gen, &rp, NULL, &out, err)) return -1;
        rec->ok[e] = dl_task_verify(pr, out.answer);
        rec->tokens[e] = out.usage.reasoning_tokens;
        if (show)
            fprintf(show, "%-7s %-6s %-5s reasoning %4d  expected %-10s answer %s\n", dl_task_name(pr->kind),
                    dl_effort_name(EFFORTS[e]), rec->ok[e] ? "ok" : "WRONG", out.usage.reasoning_tokens, pr->answer,
                    out.answer);
        dl_reason_result_free(&out);
    }
    if (p->n_votes == 0) return 0;
    dl_reason_result out;
    rp.effort = p->vote_effort;
    rp.n = p->votes[p->n_votes - 1];
    rp.strategy = DL_STRATEGY_VOTE;
    gen.sampling.temperature = p->temperature;
    gen.sampling.top_k = p->top_k, gen.sampling.top_p = p->top_p, gen.sampling.min_p = p->min_p;
    if (dl_reason_run(b, msgs, nm, &gen, &rp, NULL, &out, err)) return -1;
    dl_vote_item items[64];
    for (int i = 0; i < out.n_samples && i < 64; i++)
        items[i] = (dl_vote_item){out.samples[i].extracted, out.samples[i].mean_logprob};
    for (int v = 0; v < p->n_votes; v++) {
        int k = DL_MIN(p->votes[v], out.n_samples), votes = 0;
        int w = dl_vote_majority(items, (size_t)k, &votes);
        bool ok = w >= 0 && dl_task_verify(pr, out.samples[w].answer_text);
        rec->ok[4 + v] = ok;
        rec->tokens[4 + v] = 0;
        for (int i = 0; i < k; i++) rec->tokens[4 + v] += (double)out.samples[i].reasoning_tokens / k;
        if (show)
            fprintf(show, "%-7s n=%-4d %-5s votes %2d/%-2d expected %-10s answer %s\n", dl_task_name(pr->kind),
                    p->votes[v], ok ? "ok" : "WRONG", votes, k, pr->answer, w >= 0 ? out.samples[w].answer_text : "");
    }
    dl_reason_result_free(&out);
    return 0;
}

/* The problems shared by the workers: worker ith runs backends[ith %
 * n_backends] (engines opened beforehand, one thread each, batch slots) and
 * takes the next unmeasured problem. */
typedef struct ttc_job {
    const dl_ttc_params *p;
    dl_backend **backends;
    int n_backends;
    const dl_effort_budgets *bud;
    problem_rec *recs;
    int32_t n, next, done;
    bool show;
    pthread_mutex_t mu;
    int rc;
    dl_error err; /* the first failure */
} ttc_job;

static void ttc_worker(void *ctx, int ith, int nth) {
    (void)nth;
    ttc_job *j = ctx;
    dl_error err = {0};
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int32_t i = j->rc ? j->n : j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n) break;
        problem_rec *rec = &j->recs[i];
        FILE *show = j->show ? open_memstream(&rec->show, &rec->show_len) : NULL;
        int e = measure_one(j->backends[ith % j->n_backends], j->p, j->bud, rec, show, &err);
        if (show) fclose(show);
        pthread_mutex_lock(&j->mu);
        j->done++;
        if (e && !j->rc) j->rc = -1, j->err = err; /* the others stop at their next problem */
        else if (!e && j->p->progress) j->p->progress((float)j->done / (float)j->n, j->p->progress_ctx);
        pthread_mutex_unlock(&j->mu);
        if (e) break;
    }
}

/* Adds one problem's outcome to a point (in problem order, so two points
 * over the same problems compare pair by pair). */
static void add_outcome(dl_ttc_point *pt, dl_task_kind kind, bool ok, double tokens) {
    pt->n++, pt->correct += ok;
    dl_buf_append(&pt->outcomes, ok ? "1" : "0", 1);
    pt->task_n[kind]++, pt->task_correct[kind] += ok;
    pt->mean_reasoning_tokens += tokens;
}

int dl_ttc_measure(const dl_ttc_params *p, dl_ttc_result *res, FILE *show, dl_error *err) {
    memset(res, 0, sizeof *res);
    int max_level = p->max_level ? p->max_level : p->level;
    if (!p->model_path || p->level < 1 || max_level > DL_TASK_MAX_LEVEL || max_level < p->level ||
        p->n_per_task < 1 || p->threads < 1 || p->batch < 1 || p->max_tokens < 1 || p->n_votes < 0 || p->n_votes > DL_TTC_MAX_VOTES)
        return dl_error_set(err, 400, "curves: invalid parameters");
    for (int v = 0; v < p->n_votes; v++)
        if (p->votes[v] < 1 || p->votes[v] > 64 || (v && p->votes[v] <= p->votes[v - 1]))
            return dl_error_set(err, 400, "curves: vote counts must rise, each 1..64");
    double t0 = dl_time_ms();
    /* `threads` engines, each on one thread with `batch` slots, and a worker
     * per slot; no more workers (nor engines) than problems. A worker's
     * replies share its engine's decode passes with the other slots' (one
     * pass over the weights for all of them): for an F32 model a reply's
     * logits are the same bits whatever else is in the pass, so the figures
     * do not depend on threads or batch. */
    int64_t n_max = (int64_t)DL_TASK__COUNT * p->n_per_task;
    int n_workers = (int)DL_MIN((int64_t)p->threads * p->batch, n_max);
    int n_backends = DL_MIN(p->threads, n_workers);
    dl_backend **backends = dl_xcalloc((size_t)n_backends, sizeof *backends);
    problem_rec *recs = NULL;
    int32_t n = 0;
    int rc = -1;
    dl_local_opts lo = {.n_parallel = (n_workers + n_backends - 1) / n_backends, .n_threads = 1};
    for (int w = 0; w < n_backends; w++)
        if (!(backends[w] = dl_backend_local_open(p->model_path, &lo, err))) goto out;
    dl_effort_budgets bud = dl_effort_budgets_for(backends[0]);
    if (p->budgets && dl_effort_budgets_parse(&bud, p->budgets, err)) goto out;
    for (int e = 0; e < 4; e++) {
        dl_ttc_point *pt = &res->effort[e];
        snprintf(pt->label, sizeof pt->label, "%s", dl_effort_name(EFFORTS[e]));
        pt->x = EFFORTS[e] == DL_EFFORT_NONE ? 0 : bud.budget[EFFORTS[e]];
    }
    res->n_votes = p->n_votes;
    for (int v = 0; v < p->n_votes; v++) {
        snprintf(res->vote[v].label, sizeof res->vote[v].label, "n=%d", p->votes[v]);
        res->vote[v].x = p->votes[v];
    }
    /* the problems first, in a fixed order, so any number of workers
     * measures the same problems with the same seeds */
    recs = dl_xcalloc((size_t)DL_TASK__COUNT * (size_t)p->n_per_task, sizeof *recs);
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        if (p->task_mask && !(p->task_mask >> k & 1)) continue;
        dl_trng r;
        dl_trng_seed(&r, p->seed + (uint64_t)k * 1000003u);
        for (int32_t i = 0; i < p->n_per_task; i++) {
            problem_rec *rec = &recs[n];
            int level = p->level + (int)(i % (max_level - p->level + 1));
            if (dl_task_generate((dl_task_kind)k, level, p->split, &r, &rec->pr, err)) goto out;
            n++;
            rec->pr.no_thinking = false;
            rec->pr.cut = 0;
            rec->seed = p->seed * 7919u + (uint64_t)k * 100003u + (uint64_t)i * 101u;
        }
    }
    ttc_job job = {.p = p, .backends = backends, .n_backends = n_backends, .bud = &bud, .recs = recs, .n = n, .show = show != NULL};
    pthread_mutex_init(&job.mu, NULL);
    dl_pool *pool = dl_pool_create(n_workers);
    dl_pool_run(pool, ttc_worker, &job);
    dl_pool_free(pool);
    pthread_mutex_destroy(&job.mu);
    if (job.rc) {
        *err = job.err;
        goto out;
    }
    res->n_problems = n;
    for (int32_t i = 0; i < n; i++) {
        bool seen = false; /* n is thousands at most: a quadratic scan is fine */
        for (int32_t j = 0; j < i && !seen; j++)
            seen = recs[j].pr.kind == recs[i].pr.kind && !strcmp(recs[j].pr.canon, recs[i].pr.canon);
        res->n_distinct += !seen;
    }
    for (int32_t i = 0; i < n; i++) {
        const problem_rec *rec = &recs[i];
        for (int e = 0; e < 4; e++) add_outcome(&res->effort[e], rec->pr.kind, rec->ok[e], rec->tokens[e]);
        for (int v = 0; v < p->n_votes; v++) add_outcome(&res->vote[v], rec->pr.kind, rec->ok[4 + v], rec->tokens[4 + v]);
        if (show && rec->show) fwrite(rec->show, 1, rec->show_len, show);
    }
    for (int e = 0; e < 4; e++) finish_point(&res->effort[e]);
    for (int v = 0; v < p->n_votes; v++) finish_point(&res->vote[v]);
    res->seconds = (dl_time_ms() - t0) / 1000.0;
    rc = 0;
out:
    for (int32_t i = 0; i < n; i++) {
        dl_problem_free(&recs[i].pr);
        free(recs[i].show);
    }
    free(recs);
    for (int w = 0; w < n_backends; w++) dl_backend_free(backends[w]);
    free(backends);
    if (rc) dl_ttc_result_free(res);
    return rc;
}
