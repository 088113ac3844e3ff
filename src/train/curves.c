/* Test-time compute on held-out problems, measured through the project's
 * reasoning controller (dl_reason_run) on the local backend: accuracy
 * against the thinking budget (effort none/low/medium/high, greedy) and
 * against n samples with majority vote, with Wilson 95% intervals. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../backend/backend.h"
#include "train_int.h"

dl_ttc_params dl_ttc_default_params(void) {
    dl_ttc_params p = {0};
    p.level = 1; /* levels 1-2, as train sft / rl / eval and the shipped model */
    p.max_level = 2;
    p.n_per_task = 20;
    p.seed = 1;
    p.threads = 2;
    p.max_tokens = 256;
    p.votes[0] = 1, p.votes[1] = 4, p.votes[2] = 16;
    p.n_votes = 3;
    p.temperature = 1.0f;
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

/* One problem: the four effort levels (greedy), then the vote samples. */
static int measure_one(dl_backend *b, const dl_ttc_params *p, const dl_effort_budgets *bud, const dl_problem *pr,
                       uint64_t seed, dl_ttc_result *res, FILE *show, dl_error *err) {
    dl_chat_msg msgs[3];
    size_t nm = problem_msgs(pr, msgs);
    dl_gen_params gen = dl_gen_default_params();
    gen.max_tokens = p->max_tokens;
    gen.sampling.seed = seed;
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
        bool ok = dl_task_verify(pr, out.answer);
        dl_ttc_point *pt = &res->effort[e];
        pt->n++, pt->correct += ok;
        dl_buf_append(&pt->outcomes, ok ? "1" : "0", 1);
        pt->task_n[pr->kind]++, pt->task_correct[pr->kind] += ok;
        pt->mean_reasoning_tokens += out.usage.reasoning_tokens;
        if (show)
            fprintf(show, "%-7s %-6s %-5s reasoning %4d  expected %-10s answer %s\n", dl_task_name(pr->kind),
                    dl_effort_name(EFFORTS[e]), ok ? "ok" : "WRONG", out.usage.reasoning_tokens, pr->answer, out.answer);
        dl_reason_result_free(&out);
    }
    if (p->n_votes == 0) return 0;
    dl_reason_result out;
    rp.effort = p->vote_effort;
    rp.n = p->votes[p->n_votes - 1];
    rp.strategy = DL_STRATEGY_VOTE;
    gen.sampling.temperature = p->temperature;
    if (dl_reason_run(b, msgs, nm, &gen, &rp, NULL, &out, err)) return -1;
    dl_vote_item items[64];
    for (int i = 0; i < out.n_samples && i < 64; i++)
        items[i] = (dl_vote_item){out.samples[i].extracted, out.samples[i].mean_logprob};
    for (int v = 0; v < p->n_votes; v++) {
        int k = DL_MIN(p->votes[v], out.n_samples), votes = 0;
        int w = dl_vote_majority(items, (size_t)k, &votes);
        bool ok = w >= 0 && dl_task_verify(pr, out.samples[w].answer_text);
        dl_ttc_point *pt = &res->vote[v];
        pt->n++, pt->correct += ok;
        dl_buf_append(&pt->outcomes, ok ? "1" : "0", 1);
        pt->task_n[pr->kind]++, pt->task_correct[pr->kind] += ok;
        for (int i = 0; i < k; i++) pt->mean_reasoning_tokens += (double)out.samples[i].reasoning_tokens / k;
        if (show)
            fprintf(show, "%-7s n=%-4d %-5s votes %2d/%-2d expected %-10s answer %s\n", dl_task_name(pr->kind),
                    p->votes[v], ok ? "ok" : "WRONG", votes, k, pr->answer, w >= 0 ? out.samples[w].answer_text : "");
    }
    dl_reason_result_free(&out);
    return 0;
}

int dl_ttc_measure(const dl_ttc_params *p, dl_ttc_result *res, FILE *show, dl_error *err) {
    memset(res, 0, sizeof *res);
    int max_level = p->max_level ? p->max_level : p->level;
    if (!p->model_path || p->level < 1 || max_level > DL_TASK_MAX_LEVEL || max_level < p->level ||
        p->n_per_task < 1 || p->threads < 1 || p->max_tokens < 1 || p->n_votes < 0 || p->n_votes > DL_TTC_MAX_VOTES)
        return dl_error_set(err, 400, "curves: invalid parameters");
    for (int v = 0; v < p->n_votes; v++)
        if (p->votes[v] < 1 || p->votes[v] > 64 || (v && p->votes[v] <= p->votes[v - 1]))
            return dl_error_set(err, 400, "curves: vote counts must rise, each 1..64");
    double t0 = dl_time_ms();
    dl_local_opts lo = {.n_parallel = 1, .n_threads = p->threads};
    dl_backend *b = dl_backend_local_open(p->model_path, &lo, err);
    if (!b) return -1;
    int rc = -1;
    dl_effort_budgets bud = dl_effort_budgets_for(b);
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
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        if (p->task_mask && !(p->task_mask >> k & 1)) continue;
        dl_trng r;
        dl_trng_seed(&r, p->seed + (uint64_t)k * 1000003u);
        for (int32_t i = 0; i < p->n_per_task; i++) {
            dl_problem pr;
            int level = p->level + (int)(i % (max_level - p->level + 1));
            if (dl_task_generate((dl_task_kind)k, level, DL_SPLIT_TEST, &r, &pr, err)) goto out;
            pr.no_thinking = false;
            pr.cut = 0;
            int e = measure_one(b, p, &bud, &pr, p->seed * 7919u + (uint64_t)k * 100003u + (uint64_t)i * 101u, res, show, err);
            dl_problem_free(&pr);
            if (e) goto out;
        }
    }
    for (int e = 0; e < 4; e++) finish_point(&res->effort[e]);
    for (int v = 0; v < p->n_votes; v++) finish_point(&res->vote[v]);
    res->seconds = (dl_time_ms() - t0) / 1000.0;
    rc = 0;
out:
    dl_backend_free(b);
    if (rc) dl_ttc_result_free(res);
    return rc;
}
