/* eval/kind_simpleqa: SimpleQA — short factual questions, graded by a judge
 * with SimpleQA's method (grade_simpleqa.c). Metrics: correct, incorrect,
 * not_attempted (shares of all samples), accuracy_given_attempted =
 * correct / (correct + incorrect), f_score = harmonic mean of correct and
 * accuracy_given_attempted (0 when both are 0). */
#include <stdlib.h>
#include <string.h>

#include "kind_util.h"

/* The topic in SimpleQA's metadata column, a Python dict literal
 * ("{'topic': 'Art', ...}"); malloc'd or NULL. */
static char *topic_of(const char *meta) {
    if (!meta) return NULL;
    const char *p = strstr(meta, "'topic': '");
    if (!p) return NULL;
    p += 10;
    const char *e = strchr(p, '\'');
    return e ? dl_xstrndup(p, (size_t)(e - p)) : NULL;
}

static int sqa_row(const dl_ku_row *r, void *ctx, dl_error *err) {
    (void)ctx;
    const char *cols[] = {dl_ku_opt_str(r->spec, "question", "problem"),
                          dl_ku_opt_str(r->spec, "answer", "answer")};
    const char *f[2];
    char bufs[2][32];
    if (dl_ku_row_fields(r, cols, 2, f, bufs, err)) return -1;
    const char *q = f[0], *a = f[1];
    json_t *ref = json_pack("{s:s,s:s}", "question", q, "answer", a);
    char *topic = topic_of(dl_json_str(r->row, "metadata"));
    if (topic) json_object_set_new(ref, "topic", json_string(topic));
    free(topic);
    char *k = dl_ku_row_key(r, "%s:%zu", r->name, r->i);
    dl_ku_add_user(r->out, k, q, ref);
    free(k);
    return 0;
}

static int sqa_load(const dl_eval_def *d, const char *data_dir, uint64_t seed, dl_eval_samples *out,
                    dl_error *err) {
    return dl_ku_load_rows(d, data_dir, seed, "simpleqa", sqa_row, NULL, out, err);
}

static int sqa_grade(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                     const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    (void)d;
    return dl_grader_simpleqa(dl_json_str(s->ref, "question"), response, s->ref, ctx, verdict, err);
}

/* 0 = correct, 1 = incorrect, 2 = not attempted, per sample. */
static double f_score_stat(void *ud, const size_t *idx, size_t n) {
    const unsigned char *g = ud;
    size_t c = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        c += g[idx[i]] == 0;
        w += g[idx[i]] == 1;
    }
    if (n == 0 || c == 0) return 0;
    double correct = (double)c / (double)n, aga = (double)c / (double)(c + w);
    return 2 * correct * aga / (correct + aga);
}

static int sqa_metrics(const dl_eval_def *d, const dl_eval_graded *g, size_t n, dl_metric **out,
                       size_t *n_out, dl_error *err) {
    *out = NULL;
    *n_out = 0;
    unsigned char *cls = dl_xmalloc(n ? n : 1);
    int64_t c = 0, w = 0, na = 0;
    for (size_t i = 0; i < n; i++) {
        const char *gr = dl_json_str(g[i].grade, "grade");
        if (!gr) {
            free(cls);
            return dl_error_set(err, 400, "%s: sample %s has no SimpleQA grade", d->name,
                                g[i].sample->key);
        }
        cls[i] = !strcmp(gr, "CORRECT") ? 0 : !strcmp(gr, "INCORRECT") ? 1 : 2;
        c += cls[i] == 0;
        w += cls[i] == 1;
        na += cls[i] == 2;
    }
    dl_ku_metrics m = {0};
    dl_ku_metrics_add(&m, dl_metric_proportion("correct", c, (int64_t)n));
    dl_ku_metrics_add(&m, dl_metric_proportion("incorrect", w, (int64_t)n));
    dl_ku_metrics_add(&m, dl_metric_proportion("not_attempted", na, (int64_t)n));
    dl_ku_metrics_add(&m, dl_metric_proportion("accuracy_given_attempted", c, c + w));
    dl_ku_metrics_add(&m, dl_metric_bootstrap("f_score", f_score_stat, cls, n, DL_KU_BOOT_REPS,
                                              DL_KU_BOOT_SEED));
    dl_ku_metrics_take(&m, out, n_out);
    free(cls);
    return 0;
}

const dl_eval_kind dl_kind_simpleqa = {
    .name = "simpleqa", .load = sqa_load, .grade = sqa_grade, .metrics = sqa_metrics};
