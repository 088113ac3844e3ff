/* eval/report_cmp: side-by-side comparisons for the report — two models on
 * the same eval, or one model before and after mitigation — with the
 * difference of the primary metrics and its 95% interval. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

void dl_diff_interval(const dl_metric *a, const dl_metric *b, double *d, double *lo, double *hi) {
    double da = a->value, db = b->value;
    *d = db - da;
    *lo = *d - sqrt((db - b->lo) * (db - b->lo) + (a->hi - da) * (a->hi - da));
    *hi = *d + sqrt((b->hi - db) * (b->hi - db) + (da - a->lo) * (da - a->lo));
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Of two runs, the more recent. */
static const dl_rrun *newest(const dl_rrun *x, const dl_rrun *y) {
    return dl_rrun_newer(x, y) >= 0 ? x : y;
}
static const dl_rrun *oldest(const dl_rrun *x, const dl_rrun *y) {
    return dl_rrun_newer(x, y) >= 0 ? y : x;
}

/* The runs to compare for (eval, model_a, mit_a) vs (eval, model_b, mit_b):
 * the most recent pair of complete runs with the same effort and n that
 * both have metric `m`; failing that, the two headline runs. false when one
 * side has no run with the metric. */
static bool find_pair(const dl_rrun *runs, size_t n, const char *eval, const char *model_a,
                      const char *mit_a, const char *model_b, const char *mit_b,
                      const dl_rrun **ra, const dl_rrun **rb, bool *same) {
    const dl_rrun *ba = NULL, *bb = NULL;
    dl_metric m;
    /* the candidates of each side first, so the pairing is over few runs */
    const dl_rrun **xs = dl_xmalloc((n ? n : 1) * sizeof *xs), **ys = dl_xmalloc((n ? n : 1) * sizeof *ys);
    size_t nx = 0, ny = 0;
    for (size_t i = 0; i < n; i++) {
        const dl_rrun *r = &runs[i];
        if (!r->complete || strcmp(r->eval, eval)) continue;
        if (r->has_primary && !strcmp(r->model, model_a) && !strcmp(r->mitigation, mit_a)) xs[nx++] = r;
        if (!strcmp(r->model, model_b) && !strcmp(r->mitigation, mit_b)) ys[ny++] = r;
    }
    for (size_t i = 0; i < nx; i++) {
        const dl_rrun *x = xs[i];
        for (size_t j = 0; j < ny; j++) {
            const dl_rrun *y = ys[j];
            if (y == x || strcmp(y->effort, x->effort) || y->n != x->n ||
                !dl_rrun_metric(y, x->primary, &m))
                continue;
            if (!ba) {
                ba = x;
                bb = y;
                continue;
            }
            int c = dl_rrun_newer(newest(x, y), newest(ba, bb));
            if (c == 0) c = dl_rrun_newer(oldest(x, y), oldest(ba, bb));
            if (c > 0) {
                ba = x;
                bb = y;
            }
        }
    }
    free(xs);
    free(ys);
    *same = ba != NULL;
    if (!ba) {
        ba = dl_rrun_headline(runs, n, eval, model_a, mit_a);
        bb = dl_rrun_headline(runs, n, eval, model_b, mit_b);
        if (!ba || !bb || !ba->has_primary || !dl_rrun_metric(bb, ba->primary, &m)) return false;
        *same = !strcmp(ba->effort, bb->effort) && ba->n == bb->n;
    }
    *ra = ba;
    *rb = bb;
    return true;
}

static void add(dl_comparison **v, size_t *k, size_t *cap, const char *what, const char *eval,
                const dl_rrun *a, const dl_rrun *b, bool same) {
    if (*k == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *v = dl_xrealloc(*v, *cap * sizeof **v);
    }
    dl_comparison *c = &(*v)[(*k)++];
    memset(c, 0, sizeof *c);
    snprintf(c->what, sizeof c->what, "%s", what);
    c->eval = eval;
    c->metric = a->primary;
    c->a = a;
    c->b = b;
    c->ma = a->primary_m;
    dl_rrun_metric(b, a->primary, &c->mb);
    c->same_settings = same;
    dl_diff_interval(&c->ma, &c->mb, &c->diff, &c->lo, &c->hi);
    bool no_ci = c->ma.lo == c->ma.hi && c->mb.lo == c->mb.hi;
    c->significant = no_ci ? -1 : (c->lo > 0 || c->hi < 0);
}

size_t dl_comparisons(const dl_rrun *runs, size_t n, dl_comparison **out) {
    const char **models, **evals;
    size_t n_models = dl_rruns_distinct(runs, n, offsetof(dl_rrun, model), &models);
    size_t n_evals = dl_rruns_distinct(runs, n, offsetof(dl_rrun, eval), &evals);
    qsort(models, n_models, sizeof *models, cmp_str);
    qsort(evals, n_evals, sizeof *evals, cmp_str);
    dl_comparison *v = NULL;
    size_t k = 0, cap = 0;
    const char *const mits[2] = {"pre", "post"};
    const dl_rrun *ra, *rb;
    bool same;
    if (n_models == 2)
        for (size_t e = 0; e < n_evals; e++)
            for (int m = 0; m < 2; m++)
                if (find_pair(runs, n, evals[e], models[0], mits[m], models[1], mits[m], &ra, &rb,
                              &same))
                    add(&v, &k, &cap, "models", evals[e], ra, rb, same);
    for (size_t i = 0; i < n_models; i++)
        for (size_t e = 0; e < n_evals; e++)
            if (find_pair(runs, n, evals[e], models[i], "pre", models[i], "post", &ra, &rb, &same))
                add(&v, &k, &cap, "mitigation", evals[e], ra, rb, same);
    free(models);
    free(evals);
    *out = v;
    return k;
}

json_t *dl_comparison_to_json(const dl_comparison *c) {
    json_t *o = json_object();
    json_object_set_new(o, "what", json_string(c->what));
    json_object_set_new(o, "eval", json_string(c->eval));
    json_object_set_new(o, "metric", json_string(c->metric));
    const dl_rrun *side[2] = {c->a, c->b};
    const dl_metric *m[2] = {&c->ma, &c->mb};
    const char *names[2] = {"a", "b"};
    for (int s = 0; s < 2; s++) {
        json_t *j = json_object();
        json_object_set_new(j, "run", json_string(side[s]->id));
        json_object_set_new(j, "model", json_string(side[s]->model));
        json_object_set_new(j, "mitigation", json_string(side[s]->mitigation));
        json_object_set_new(j, "effort", json_string(side[s]->effort));
        json_object_set_new(j, "n", json_integer((json_int_t)side[s]->n));
        json_object_set_new(j, "metric", dl_metric_to_json(m[s]));
        json_object_set_new(o, names[s], j);
    }
    json_object_set_new(o, "difference", json_real(c->diff));
    json_object_set_new(o, "lo", json_real(c->lo));
    json_object_set_new(o, "hi", json_real(c->hi));
    json_object_set_new(o, "method", json_string("newcombe"));
    json_object_set_new(o, "significant", c->significant < 0 ? json_null() : json_boolean(c->significant));
    json_object_set_new(o, "same_settings", json_boolean(c->same_settings));
    return o;
}
