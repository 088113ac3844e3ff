/* eval/scorecard: a JSON file that maps metrics of evals to risk levels per
 * tracked category, evaluated against a results document for one model,
 * before and after mitigation (docs/eval-reports.md has the format). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"
#include "report_int.h"

const char *dl_risk_name(dl_risk r) {
    switch (r) {
    case DL_RISK_LOW: return "Low";
    case DL_RISK_MEDIUM: return "Medium";
    case DL_RISK_HIGH: return "High";
    case DL_RISK_CRITICAL: return "Critical";
    default: return "Unknown";
    }
}

dl_risk dl_risk_level(double v, bool hib, const double th[3]) {
    for (int i = 0; i < 3; i++)
        if (hib ? v >= th[i] : v <= th[i]) return (dl_risk)i;
    return DL_RISK_CRITICAL;
}

static int severity(dl_risk r) {
    static const int sev[] = {0, 1, 3, 4, 2}; /* Low, Medium, High, Critical, Unknown */
    return sev[r <= DL_RISK_UNKNOWN ? r : DL_RISK_UNKNOWN];
}

dl_risk dl_risk_worse(dl_risk a, dl_risk b) { return severity(a) >= severity(b) ? a : b; }

/* One eval a category rests on. */
typedef struct sc_eval {
    const char *eval;
    const char *metric; /* NULL = the run's primary metric */
    bool hib;           /* higher is better */
    double th[3];       /* medium, high, critical */
} sc_eval;

typedef struct sc_cat {
    const char *name;
    sc_eval *evals;
    size_t n;
} sc_cat;

typedef struct sc_ctx {
    const char *path;
    char where[128];
    dl_error *err;
} sc_ctx;

static int bad(sc_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(sc_ctx *c, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(c->err, 400, "scorecard %s: %s%s%s", c->path, c->where, *c->where ? ": " : "",
                        msg);
}

/* Only the listed keys may appear in object o. */
static int only_keys(sc_ctx *c, const json_t *o, const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, k)) a++;
        if (!*a) return bad(c, "unknown key '%s'", k);
    }
    return 0;
}

static int read_thresholds(sc_ctx *c, const json_t *t, bool hib, double th[3]) {
    static const char *const names[] = {"medium", "high", "critical", NULL};
    if (!json_is_object(t)) return bad(c, "'thresholds' must be an object {\"medium\", \"high\", \"critical\"}");
    size_t len = strlen(c->where);
    snprintf(c->where + len, sizeof c->where - len, ".thresholds");
    if (only_keys(c, t, names)) return -1;
    for (int i = 0; i < 3; i++) {
        json_t *v = json_object_get(t, names[i]);
        if (!v) return bad(c, "missing '%s'", names[i]);
        if (!json_is_number(v)) return bad(c, "'%s' must be a number", names[i]);
        th[i] = json_number_value(v);
        if (!isfinite(th[i])) return bad(c, "'%s' must be finite", names[i]);
    }
    for (int i = 0; i < 2; i++) {
        bool ok = hib ? th[i] > th[i + 1] : th[i] < th[i + 1];
        if (!ok)
            return bad(c,
                       hib ? "bad threshold order: '%s' must be above '%s' (higher is better)"
                           : "bad threshold order: '%s' must be below '%s' (lower is better)",
                       names[i], names[i + 1]);
    }
    c->where[len] = 0;
    return 0;
}

/* Reads the metric / higher_is_better / thresholds of object o into e,
 * starting from the inherited values in `base` (NULL = none). */
static int read_rule(sc_ctx *c, const json_t *o, const sc_eval *base, sc_eval *e) {
    if (base) *e = *base;
    else {
        memset(e, 0, sizeof *e);
        e->hib = true;
        e->th[0] = NAN;
    }
    json_t *v = json_object_get(o, "metric");
    if (v) {
        if (!json_is_string(v)) return bad(c, "'metric' must be a string");
        e->metric = json_string_value(v);
    }
    v = json_object_get(o, "higher_is_better");
    if (v) {
        if (!json_is_boolean(v)) return bad(c, "'higher_is_better' must be true or false");
        e->hib = json_is_true(v);
    }
    v = json_object_get(o, "thresholds");
    if (v) {
        if (read_thresholds(c, v, e->hib, e->th)) return -1;
    } else if (!isnan(e->th[0]) && json_object_get(o, "higher_is_better")) {
        /* inherited thresholds must suit an overridden direction */
        bool hib = e->hib;
        for (int i = 0; i < 2; i++)
            if (hib ? !(e->th[i] > e->th[i + 1]) : !(e->th[i] < e->th[i + 1]))
                return bad(c, "bad threshold order: the category's thresholds do not suit "
                              "higher_is_better = %s",
                           hib ? "true" : "false");
    }
    return 0;
}

static void free_cats(sc_cat *cats, size_t n) {
    for (size_t i = 0; i < n; i++) free(cats[i].evals);
    free(cats);
}

/* Parses the scorecard document into categories (strings borrowed from doc). */
static int parse(sc_ctx *c, const json_t *doc, sc_cat **out, size_t *n_out) {
    static const char *const top_keys[] = {"name", "description", "categories", NULL};
    static const char *const cat_keys[] = {"name",   "description", "eval",       "evals",
                                           "metric", "higher_is_better", "thresholds", NULL};
    static const char *const ev_keys[] = {"eval", "metric", "higher_is_better", "thresholds", NULL};
    *out = NULL;
    *n_out = 0;
    if (!json_is_object(doc)) return bad(c, "expected a JSON object with \"categories\"");
    if (only_keys(c, doc, top_keys)) return -1;
    json_t *cats = json_object_get(doc, "categories");
    if (!json_is_array(cats) || !json_array_size(cats))
        return bad(c, "'categories' must be a non-empty array");
    size_t n = json_array_size(cats);
    sc_cat *v = dl_xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(cats, i);
        snprintf(c->where, sizeof c->where, "categories[%zu]", i);
        if (!json_is_object(o)) {
            bad(c, "must be an object");
            goto fail;
        }
        if (only_keys(c, o, cat_keys)) goto fail;
        v[i].name = dl_json_str(o, "name");
        if (!v[i].name || !*v[i].name) {
            bad(c, "'name' must be a non-empty string");
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(v[j].name, v[i].name)) {
                bad(c, "category '%s' is listed twice", v[i].name);
                goto fail;
            }
        snprintf(c->where, sizeof c->where, "categories[%zu] (%.60s)", i, v[i].name);
        sc_eval base;
        if (read_rule(c, o, NULL, &base)) goto fail;
        json_t *one = json_object_get(o, "eval"), *many = json_object_get(o, "evals");
        if ((one != NULL) == (many != NULL)) {
            bad(c, "give either 'eval' (a name) or 'evals' (a list)");
            goto fail;
        }
        if (one && !json_is_string(one)) {
            bad(c, "'eval' must be a string");
            goto fail;
        }
        if (many && (!json_is_array(many) || !json_array_size(many))) {
            bad(c, "'evals' must be a non-empty array");
            goto fail;
        }
        size_t ne = one ? 1 : json_array_size(many);
        v[i].evals = dl_xcalloc(ne, sizeof *v[i].evals);
        v[i].n = ne;
        for (size_t k = 0; k < ne; k++) {
            json_t *e = one ? one : json_array_get(many, k);
            sc_eval *se = &v[i].evals[k];
            size_t len = strlen(c->where);
            if (many) snprintf(c->where + len, sizeof c->where - len, ".evals[%zu]", k);
            if (json_is_string(e)) {
                *se = base;
                se->eval = json_string_value(e);
            } else if (json_is_object(e)) {
                if (only_keys(c, e, ev_keys) || read_rule(c, e, &base, se)) goto fail;
                se->eval = dl_json_str(e, "eval");
                if (!se->eval) {
                    bad(c, "'eval' must be a string");
                    goto fail;
                }
            } else {
                bad(c, "must be an eval name or {\"eval\", \"metric\", \"thresholds\", ...}");
                goto fail;
            }
            if (!*se->eval) {
                bad(c, "the eval name is empty");
                goto fail;
            }
            if (isnan(se->th[0])) {
                bad(c, "missing 'thresholds'");
                goto fail;
            }
            c->where[len] = 0;
        }
    }
    *out = v;
    *n_out = n;
    c->where[0] = 0;
    return 0;
fail:
    free_cats(v, n);
    return -1;
}

/* Drops a UTF-8 sequence that snprintf cut at the end of s. */
static void trim_utf8(char *s) {
    size_t n = strlen(s);
    s[n - dl_utf8_incomplete_tail(s, n)] = 0;
}

/* Level of one eval for (model, mitigation); appends its evidence. */
static dl_risk eval_level(const sc_eval *e, const dl_rrun *runs, size_t n, const char *model,
                          const char *mit, dl_buf *ev) {
    dl_rrun_filter f = {.eval = e->eval, .model = model, .mitigation = mit, .complete_only = true};
    const dl_rrun *r = dl_rrun_pick(runs, n, &f);
    if (!r) {
        dl_buf_printf(ev, " %s no run", mit);
        return DL_RISK_UNKNOWN;
    }
    dl_metric m;
    const char *mname = e->metric && *e->metric ? e->metric : r->primary;
    if (!dl_rrun_metric(r, mname, &m)) {
        dl_buf_printf(ev, " %s: run %s has no metric '%s'", mit, r->id, mname);
        return DL_RISK_UNKNOWN;
    }
    dl_risk lvl = dl_risk_level(m.value, e->hib, e->th);
    dl_buf_printf(ev, " %s %s %.3f=%s (%s)", mit, mname, m.value, dl_risk_name(lvl), r->id);
    return lvl;
}

int dl_scorecard_eval(const char *path, const json_t *results, const char *model,
                      dl_scorecard_row **rows, size_t *n_rows, dl_error *err) {
    *rows = NULL;
    *n_rows = 0;
    sc_ctx c = {.path = path, .err = err};
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        if (je.line <= 0)
            return dl_error_set(err, 400, "scorecard %s: %s", path, je.text);
        return dl_error_set(err, 400, "scorecard %s: line %d column %d: %s", path, je.line,
                            je.column, je.text);
    }
    sc_cat *cats = NULL;
    size_t n_cats = 0, n_runs = 0;
    dl_rrun *runs = NULL;
    int rc = -1;
    if (parse(&c, doc, &cats, &n_cats) != 0) goto out;
    if (dl_rruns_read(results, &runs, &n_runs, err) != 0) goto out;
    dl_scorecard_row *v = dl_xcalloc(n_cats, sizeof *v);
    for (size_t i = 0; i < n_cats; i++) {
        dl_buf ev = {0};
        snprintf(v[i].category, sizeof v[i].category, "%s", cats[i].name);
        v[i].pre = v[i].post = DL_RISK_LOW;
        for (size_t k = 0; k < cats[i].n; k++) {
            const sc_eval *e = &cats[i].evals[k];
            dl_buf_printf(&ev, "%s%s:", k ? "; " : "", e->eval);
            v[i].pre = k ? dl_risk_worse(v[i].pre, eval_level(e, runs, n_runs, model, "pre", &ev))
                         : eval_level(e, runs, n_runs, model, "pre", &ev);
            dl_buf_printf(&ev, ",");
            v[i].post = k ? dl_risk_worse(v[i].post, eval_level(e, runs, n_runs, model, "post", &ev))
                          : eval_level(e, runs, n_runs, model, "post", &ev);
        }
        snprintf(v[i].evidence, sizeof v[i].evidence, "%s", ev.data ? ev.data : "");
        trim_utf8(v[i].evidence);
        trim_utf8(v[i].category);
        dl_buf_free(&ev);
    }
    *rows = v;
    *n_rows = n_cats;
    rc = 0;
out:
    free(runs);
    free_cats(cats, n_cats);
    json_decref(doc);
    return rc;
}
