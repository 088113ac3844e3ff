/* eval/report_build: the report document — what the HTML page shows, as
 * JSON: the runs in table order, the charts with every plotted point (bars
 * per category, compute curves against effort and against n), the
 * comparisons and the scorecard. report_html.c only draws it. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* A JSON string of s (valid UTF-8 apart from a sequence cut at the end by
 * snprintf, which is dropped). */
static json_t *jstr(const char *s) {
    size_t n = strlen(s);
    n -= dl_utf8_incomplete_tail(s, n);
    json_t *j = json_stringn(s, n);
    return j ? j : json_string("");
}

/* Table order: category, eval, model, pre before post, effort, n, newest first. */
static int cmp_table(const void *x, const void *y) {
    const dl_rrun *a = *(const dl_rrun *const *)x, *b = *(const dl_rrun *const *)y;
    int c = strcmp(a->category, b->category);
    if (!c) c = strcmp(a->eval, b->eval);
    if (!c) c = strcmp(a->model, b->model);
    if (!c) c = strcmp(b->mitigation, a->mitigation); /* "pre" > "post" */
    if (!c) c = a->effort_rank - b->effort_rank;
    if (!c) c = strcmp(a->effort, b->effort);
    if (!c) c = a->n < b->n ? -1 : a->n > b->n;
    if (!c) c = -dl_rrun_newer(a, b);
    return c;
}

/* A chart series: one model at one mitigation. */
typedef struct series {
    const char *model, *mitigation;
    char label[160];
    const char *color;
} series;

typedef struct ctx {
    const dl_rrun *runs;
    size_t n;
    series *ser;
    size_t n_ser;
} ctx;

static bool has_runs(const ctx *c, const char *model, const char *mit) {
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->runs[i].model, model) && !strcmp(c->runs[i].mitigation, mit)) return true;
    return false;
}

/* Series for every (model, mitigation) present: models sorted by name, pre
 * before post; a model's pre runs get its light tint when it also has post
 * runs. Labels name the mitigation only when the results have post runs. */
static void make_series(ctx *c) {
    const char **models;
    size_t nm = dl_rruns_distinct(c->runs, c->n, offsetof(dl_rrun, model), &models);
    qsort(models, nm, sizeof *models, cmp_str);
    bool any_post = false;
    for (size_t i = 0; i < c->n; i++) any_post |= !strcmp(c->runs[i].mitigation, "post");
    c->ser = dl_xcalloc(2 * nm + 1, sizeof *c->ser);
    for (size_t m = 0; m < nm; m++) {
        bool pre = has_runs(c, models[m], "pre"), post = has_runs(c, models[m], "post");
        for (int k = 0; k < 2; k++) {
            if (!(k ? post : pre)) continue;
            series *s = &c->ser[c->n_ser++];
            s->model = models[m];
            s->mitigation = k ? "post" : "pre";
            s->color = dl_svg_color(m, !k && post);
            if (any_post) snprintf(s->label, sizeof s->label, "%s (%s-mitigation)", models[m], s->mitigation);
            else snprintf(s->label, sizeof s->label, "%s", models[m]);
        }
    }
    free(models);
}

/* {"value","lo","hi","n","run","effort","n_per_prompt","tip"} of a run's primary metric. */
static json_t *point(const dl_rrun *r, const series *s) {
    const dl_metric *m = &r->primary_m;
    char tip[512];
    snprintf(tip, sizeof tip, "%s | %s | %s | effort %s | n %lld | %s %.3f [%.3f, %.3f] | run %s",
             r->eval, s->label, r->complete ? "complete" : "incomplete", *r->effort ? r->effort : "-",
             (long long)r->n, m->name, m->value, m->lo, m->hi, r->id);
    json_t *p = dl_metric_to_json(m);
    json_object_set_new(p, "run", json_string(r->id));
    json_object_set_new(p, "effort", json_string(r->effort));
    json_object_set_new(p, "n_per_prompt", json_integer((json_int_t)r->n));
    json_object_set_new(p, "complete", json_boolean(r->complete));
    json_object_set_new(p, "tip", jstr(tip));
    return p;
}

static json_t *series_json(const series *s) {
    return json_pack("{s:o, s:s, s:s, s:s}", "name", jstr(s->label), "model", s->model,
                     "mitigation", s->mitigation, "color", s->color);
}

/* Appends to ser the line series of s named `name` with points pts (taken). */
static void add_line_series(json_t *ser, const series *s, const char *name, json_t *pts) {
    json_t *sj = series_json(s);
    json_object_set_new(sj, "name", jstr(name));
    json_object_set_new(sj, "points", pts);
    json_array_append_new(ser, sj);
}

/* The common primary metric name of the evals, or "primary metric". */
static const char *y_label_of(const ctx *c, const char *const *evals, size_t ne) {
    const char *name = NULL;
    for (size_t i = 0; i < c->n; i++)
        for (size_t e = 0; e < ne; e++)
            if (!strcmp(c->runs[i].eval, evals[e]) && c->runs[i].has_primary) {
                if (name && strcmp(name, c->runs[i].primary)) return "primary metric";
                name = c->runs[i].primary;
            }
    return name ? name : "primary metric";
}

static const dl_rrun *at(const ctx *c, const series *s, const char *eval, const char *effort,
                         int64_t n);

/* The settings (effort, n) the bars of one eval use: the one at which the
 * most series have a complete run (on a tie, the one with the latest run). */
static void bar_config(const ctx *c, const char *eval, const char **effort, int64_t *n) {
    int best = -1;
    const dl_rrun *best_run = NULL;
    *effort = NULL;
    *n = 0;
    const dl_rrun **e = dl_xmalloc((c->n ? c->n : 1) * sizeof *e);
    size_t ne = 0;
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->runs[i].eval, eval) && c->runs[i].complete && c->runs[i].has_primary)
            e[ne++] = &c->runs[i];
    for (size_t i = 0; i < ne; i++) {
        const dl_rrun *r = e[i];
        int cnt = 0;
        for (size_t s = 0; s < c->n_ser; s++) {
            bool has = false;
            for (size_t j = 0; j < ne && !has; j++)
                has = e[j]->n == r->n && !strcmp(e[j]->effort, r->effort) &&
                      !strcmp(e[j]->model, c->ser[s].model) &&
                      !strcmp(e[j]->mitigation, c->ser[s].mitigation);
            cnt += has;
        }
        if (cnt > best || (cnt == best && dl_rrun_newer(r, best_run) > 0)) {
            best = cnt;
            best_run = r;
            *effort = r->effort;
            *n = r->n;
        }
    }
    free(e);
}

/* One bar chart per category: groups = its evals, bars = series, each bar
 * the series' latest run at the eval's bar_config (else its latest run). */
static void bar_charts(const ctx *c, json_t *charts) {
    const char **cats;
    size_t nc = dl_rruns_distinct(c->runs, c->n, offsetof(dl_rrun, category), &cats);
    qsort(cats, nc, sizeof *cats, cmp_str);
    for (size_t k = 0; k < nc; k++) {
        const char **evals = dl_xmalloc(c->n * sizeof *evals);
        size_t ne = 0;
        for (size_t i = 0; i < c->n; i++) {
            if (strcmp(c->runs[i].category, cats[k])) continue;
            size_t j = 0;
            while (j < ne && strcmp(evals[j], c->runs[i].eval)) j++;
            if (j == ne) evals[ne++] = c->runs[i].eval;
        }
        qsort(evals, ne, sizeof *evals, cmp_str);
        json_t *ch = json_object(), *ser = json_array();
        char title[160];
        snprintf(title, sizeof title, "%s", *cats[k] ? cats[k] : "uncategorised");
        json_object_set_new(ch, "type", json_string("bar"));
        json_object_set_new(ch, "category", json_string(cats[k]));
        json_object_set_new(ch, "title", jstr(title));
        json_object_set_new(ch, "y_label", json_string(y_label_of(c, evals, ne)));
        json_t *groups = json_array();
        for (size_t e = 0; e < ne; e++) json_array_append_new(groups, json_string(evals[e]));
        json_object_set_new(ch, "groups", groups);
        const char **eff = dl_xmalloc((ne ? ne : 1) * sizeof *eff);
        int64_t *nn = dl_xmalloc((ne ? ne : 1) * sizeof *nn);
        for (size_t e = 0; e < ne; e++) bar_config(c, evals[e], &eff[e], &nn[e]);
        for (size_t s = 0; s < c->n_ser; s++) {
            json_t *vals = json_array();
            bool any = false;
            for (size_t e = 0; e < ne; e++) {
                const dl_rrun *r = eff[e] ? at(c, &c->ser[s], evals[e], eff[e], nn[e]) : NULL;
                if (!r)
                    r = dl_rrun_headline(c->runs, c->n, evals[e], c->ser[s].model,
                                         c->ser[s].mitigation);
                if (r && r->has_primary) {
                    json_array_append_new(vals, point(r, &c->ser[s]));
                    any = true;
                } else {
                    json_array_append_new(vals, json_null());
                }
            }
            if (!any) {
                json_decref(vals);
                continue;
            }
            json_t *sj = series_json(&c->ser[s]);
            json_object_set_new(sj, "values", vals);
            json_array_append_new(ser, sj);
        }
        free(eff);
        free(nn);
        json_object_set_new(ch, "series", ser);
        if (json_array_size(ser)) json_array_append(charts, ch);
        json_decref(ch);
        free(evals);
    }
    free(cats);
}

/* Does run r belong to series s on eval e, with a primary metric? */
static bool in_series(const dl_rrun *r, const series *s, const char *eval) {
    return r->has_primary && !strcmp(r->eval, eval) && !strcmp(r->model, s->model) &&
           !strcmp(r->mitigation, s->mitigation);
}

/* The latest complete (else latest) run of series s on eval at (effort, n). */
static const dl_rrun *at(const ctx *c, const series *s, const char *eval, const char *effort,
                         int64_t n) {
    dl_rrun_filter f = {.eval = eval, .model = s->model, .mitigation = s->mitigation,
                        .effort = effort, .n = n, .complete_only = true};
    const dl_rrun *r = dl_rrun_pick(c->runs, c->n, &f);
    if (r && r->has_primary) return r;
    f.complete_only = false;
    r = dl_rrun_pick(c->runs, c->n, &f);
    return r && r->has_primary ? r : NULL;
}

static const char *const EFFORT_NAMES[] = {"none", "minimal", "low", "medium", "high"};

/* Metric against effort for one eval: each series at its smallest n,
 * one point per effort level. NULL when no series has two levels. */
static json_t *effort_curve(const ctx *c, const char *eval) {
    json_t *ser = json_array();
    int lo = 5, hi = -1;
    bool worth = false;
    for (size_t s = 0; s < c->n_ser; s++) {
        int64_t n_ref = 0;
        for (size_t i = 0; i < c->n; i++)
            if (in_series(&c->runs[i], &c->ser[s], eval) && c->runs[i].effort_rank >= 0 &&
                (!n_ref || c->runs[i].n < n_ref))
                n_ref = c->runs[i].n;
        if (!n_ref) continue;
        json_t *pts = json_array();
        for (int e = 0; e < 5; e++) {
            const dl_rrun *r = at(c, &c->ser[s], eval, EFFORT_NAMES[e], n_ref);
            if (!r) continue;
            json_t *p = point(r, &c->ser[s]);
            json_object_set_new(p, "x", json_integer(e));
            json_object_set_new(p, "x_label", json_string(EFFORT_NAMES[e]));
            json_array_append_new(pts, p);
            lo = e < lo ? e : lo;
            hi = e > hi ? e : hi;
        }
        worth |= json_array_size(pts) >= 2;
        char name[200];
        snprintf(name, sizeof name, "%s, n=%lld", c->ser[s].label, (long long)n_ref);
        add_line_series(ser, &c->ser[s], name, pts);
    }
    if (!worth) {
        json_decref(ser);
        return NULL;
    }
    json_t *ticks = json_array(), *labels = json_array();
    for (int e = lo; e <= hi; e++) {
        json_array_append_new(ticks, json_integer(e));
        json_array_append_new(labels, json_string(EFFORT_NAMES[e]));
    }
    char title[200];
    snprintf(title, sizeof title, "%s: test-time compute (reasoning effort)", eval);
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "type", "line", "x", "effort",
                     "eval", eval, "title", jstr(title), "x_label", "reasoning effort", "ticks", ticks,
                     "tick_labels", labels, "series", ser);
}

/* Metric against n (log2 axis) for one eval: each series at the effort with
 * the most distinct n values (the higher effort on a tie). */
static json_t *n_curve(const ctx *c, const char *eval) {
    json_t *ser = json_array();
    double lo = INFINITY, hi = -INFINITY;
    bool worth = false;
    for (size_t s = 0; s < c->n_ser; s++) {
        const char *e_ref = NULL;
        size_t best = 0, m = 0;
        int best_rank = -2;
        const dl_rrun **sr = dl_xmalloc((c->n ? c->n : 1) * sizeof *sr);
        for (size_t i = 0; i < c->n; i++)
            if (in_series(&c->runs[i], &c->ser[s], eval)) sr[m++] = &c->runs[i];
        for (size_t i = 0; i < m; i++) {
            const dl_rrun *r = sr[i];
            size_t distinct = 0;
            for (size_t j = 0; j < m; j++) {
                const dl_rrun *q = sr[j];
                if (strcmp(q->effort, r->effort)) continue;
                bool seen = false;
                for (size_t k = 0; k < j && !seen; k++)
                    seen = !strcmp(sr[k]->effort, r->effort) && sr[k]->n == q->n;
                distinct += !seen;
            }
            if (distinct > best || (distinct == best && r->effort_rank > best_rank)) {
                best = distinct;
                best_rank = r->effort_rank;
                e_ref = r->effort;
            }
        }
        free(sr);
        if (!e_ref) continue;
        /* the distinct n at e_ref, ascending */
        int64_t *ns = dl_xmalloc(c->n * sizeof *ns);
        size_t nn = 0;
        for (size_t i = 0; i < c->n; i++) {
            const dl_rrun *r = &c->runs[i];
            if (!in_series(r, &c->ser[s], eval) || strcmp(r->effort, e_ref) || r->n < 1) continue;
            size_t k = 0;
            while (k < nn && ns[k] != r->n) k++;
            if (k < nn) continue;
            k = nn++;
            while (k > 0 && ns[k - 1] > r->n) {
                ns[k] = ns[k - 1];
                k--;
            }
            ns[k] = r->n;
        }
        json_t *pts = json_array();
        for (size_t k = 0; k < nn; k++) {
            const dl_rrun *r = at(c, &c->ser[s], eval, e_ref, ns[k]);
            if (!r) continue;
            json_t *p = point(r, &c->ser[s]);
            double x = log2((double)ns[k]);
            char lab[32];
            snprintf(lab, sizeof lab, "%lld", (long long)ns[k]);
            json_object_set_new(p, "x", json_real(x));
            json_object_set_new(p, "x_label", json_string(lab));
            json_array_append_new(pts, p);
            lo = fmin(lo, x);
            hi = fmax(hi, x);
        }
        free(ns);
        worth |= json_array_size(pts) >= 2;
        char name[200];
        snprintf(name, sizeof name, "%s, effort %s", c->ser[s].label, *e_ref ? e_ref : "-");
        add_line_series(ser, &c->ser[s], name, pts);
    }
    if (!worth) {
        json_decref(ser);
        return NULL;
    }
    json_t *ticks = json_array(), *labels = json_array();
    for (int k = (int)floor(lo); k <= (int)ceil(hi); k++) {
        char lab[32];
        snprintf(lab, sizeof lab, "%lld", 1LL << k);
        json_array_append_new(ticks, json_integer(k));
        json_array_append_new(labels, json_string(lab));
    }
    char title[200];
    snprintf(title, sizeof title, "%s: test-time compute (samples per prompt)", eval);
    return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o}", "type", "line", "x", "n", "eval",
                     eval, "title", jstr(title), "x_label", "samples per prompt n (log2 scale)", "ticks",
                     ticks, "tick_labels", labels, "series", ser);
}

static int scorecards(const json_t *results, const char *path, const ctx *c, json_t **out,
                      dl_error *err) {
    const char **models;
    size_t nm = dl_rruns_distinct(c->runs, c->n, offsetof(dl_rrun, model), &models);
    qsort(models, nm, sizeof *models, cmp_str);
    json_t *arr = json_array();
    int rc = 0;
    for (size_t m = 0; m < nm || (m == 0 && nm == 0); m++) {
        dl_scorecard_row *rows;
        size_t nr;
        /* with no runs at all, the scorecard is still checked and shown (all Unknown) */
        const char *model = nm ? models[m] : "";
        if (dl_scorecard_eval(path, results, model, &rows, &nr, err) != 0) {
            rc = -1;
            break;
        }
        json_t *jr = json_array();
        for (size_t i = 0; i < nr; i++)
            json_array_append_new(jr, json_pack("{s:s, s:s, s:s, s:s}", "category", rows[i].category,
                                                "pre", dl_risk_name(rows[i].pre), "post",
                                                dl_risk_name(rows[i].post), "evidence",
                                                rows[i].evidence));
        free(rows);
        json_array_append_new(arr, json_pack("{s:s, s:o}", "model", model, "rows", jr));
    }
    free(models);
    if (rc) json_decref(arr);
    else *out = arr;
    return rc;
}

json_t *dl_report_build(const json_t *results, const char *title, const char *scorecard_path,
                        dl_error *err) {
    dl_rrun *runs;
    size_t n;
    if (dl_rruns_read(results, &runs, &n, err) != 0) return NULL;
    ctx c = {.runs = runs, .n = n};
    make_series(&c);
    json_t *rep = json_object();
    json_object_set_new(rep, "title", json_string(title && *title ? title : "Evaluation report"));
    json_object_set_new(rep, "generator", json_string("deliberate eval report"));

    const dl_rrun **order = dl_xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = &runs[i];
    qsort(order, n, sizeof *order, cmp_table);
    json_t *jruns = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_deep_copy(order[i]->j);
        char date[64];
        dl_rrun_date(order[i], date, sizeof date);
        json_object_set_new(r, "date", json_string(date));
        if (!json_object_get(r, "primary") && *order[i]->primary)
            json_object_set_new(r, "primary", json_string(order[i]->primary));
        json_array_append_new(jruns, r);
    }
    free(order);
    json_object_set_new(rep, "runs", jruns);

    json_t *charts = json_array();
    bar_charts(&c, charts);
    const char **evals;
    size_t ne = dl_rruns_distinct(runs, n, offsetof(dl_rrun, eval), &evals);
    qsort(evals, ne, sizeof *evals, cmp_str);
    for (size_t e = 0; e < ne; e++) {
        json_t *ch = effort_curve(&c, evals[e]);
        if (ch) json_array_append_new(charts, ch);
        ch = n_curve(&c, evals[e]);
        if (ch) json_array_append_new(charts, ch);
    }
    free(evals);
    json_object_set_new(rep, "charts", charts);

    dl_comparison *cmp;
    size_t nc = dl_comparisons(runs, n, &cmp);
    json_t *jc = json_array();
    for (size_t i = 0; i < nc; i++) json_array_append_new(jc, dl_comparison_to_json(&cmp[i]));
    free(cmp);
    json_object_set_new(rep, "comparisons", jc);
    json_object_set_new(rep, "comparison_method",
                        json_string("Difference b - a of the primary metric with a 95% interval by "
                                    "Newcombe's hybrid score method (method 10) from the two runs' "
                                    "Wilson intervals (MOVER for other metrics); significant when "
                                    "the interval excludes 0"));
    if (scorecard_path) {
        json_t *sc;
        if (scorecards(results, scorecard_path, &c, &sc, err) != 0) {
            json_decref(rep);
            rep = NULL;
        } else {
            json_object_set_new(rep, "scorecard", sc);
            json_object_set_new(rep, "scorecard_file", json_string(scorecard_path));
        }
    }
    free(c.ser);
    free(runs);
    return rep;
}
