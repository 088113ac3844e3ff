/* eval/report_runs: the runs of a results document — reading and checking
 * them, and picking the run a chart, comparison or scorecard rests on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval_int.h"
#include "report_int.h"

static const char *const EFFORTS[] = {"none", "minimal", "low", "medium", "high"};

int dl_effort_rank(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < (int)DL_ARRAY_LEN(EFFORTS); i++)
        if (!strcmp(name, EFFORTS[i])) return i;
    return -1;
}

/* Optional string field: "" when absent; 400 when present but not a string. */
static int opt_str(const json_t *o, size_t idx, const char *key, const char **out,
                   dl_error *err) {
    json_t *v = json_object_get(o, key);
    *out = "";
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return dl_error_set(err, 400, "results: runs[%zu].%s must be a string", idx, key);
    *out = json_string_value(v);
    return 0;
}

static int read_run(const json_t *o, size_t idx, dl_rrun *r, dl_error *err) {
    memset(r, 0, sizeof *r);
    r->j = o;
    r->order = idx;
    if (!json_is_object(o)) return dl_error_set(err, 400, "results: runs[%zu] must be an object", idx);
    const char *const keys[] = {"id", "eval", "kind", "category", "model", "mitigation", "effort",
                                "primary"};
    const char **dst[] = {&r->id,    &r->eval,       &r->kind,   &r->category,
                          &r->model, &r->mitigation, &r->effort, &r->primary};
    for (size_t k = 0; k < DL_ARRAY_LEN(keys); k++) {
        json_t *v = json_object_get(o, keys[k]);
        if (json_is_integer(v) && !strcmp(keys[k], "effort")) { /* an enum value */
            json_int_t e = json_integer_value(v);
            if (e < 0 || e >= (json_int_t)DL_ARRAY_LEN(EFFORTS))
                return dl_error_set(err, 400, "results: runs[%zu].effort %lld is not a level",
                                    idx, (long long)e);
            r->effort = EFFORTS[e];
            continue;
        }
        if (opt_str(o, idx, keys[k], dst[k], err)) return -1;
    }
    if (!*r->eval) return dl_error_set(err, 400, "results: runs[%zu] has no \"eval\"", idx);
    if (!*r->model) return dl_error_set(err, 400, "results: runs[%zu] has no \"model\"", idx);
    if (!*r->mitigation) r->mitigation = "pre";
    if (strcmp(r->mitigation, "pre") && strcmp(r->mitigation, "post"))
        return dl_error_set(err, 400, "results: runs[%zu].mitigation must be \"pre\" or \"post\"",
                            idx);
    r->effort_rank = dl_effort_rank(r->effort);
    json_t *v = json_object_get(o, "n");
    if (v && !json_is_integer(v))
        return dl_error_set(err, 400, "results: runs[%zu].n must be an integer", idx);
    r->n = v ? (int64_t)json_integer_value(v) : 1;
    v = json_object_get(o, "n_samples");
    if (v && !json_is_integer(v))
        return dl_error_set(err, 400, "results: runs[%zu].n_samples must be an integer", idx);
    r->n_samples = v ? (int64_t)json_integer_value(v) : -1;
    v = json_object_get(o, "complete");
    if (v && !json_is_boolean(v))
        return dl_error_set(err, 400, "results: runs[%zu].complete must be true or false", idx);
    r->complete = v ? json_is_true(v) : true;
    v = json_object_get(o, "created_at");
    r->created = json_is_number(v) ? json_number_value(v) : NAN;
    r->created_s = json_is_string(v) ? json_string_value(v) : NULL;
    v = json_object_get(o, "metrics");
    if (v && !json_is_object(v))
        return dl_error_set(err, 400, "results: runs[%zu].metrics must be an object", idx);
    const char *mname;
    json_t *mv;
    json_object_foreach(v, mname, mv) {
        dl_metric m;
        if (!json_is_object(mv) || dl_metric_from_json(mname, mv, &m, err) != 0)
            return dl_error_set(err, 400,
                                "results: runs[%zu].metrics.%s must be {\"value\", \"lo\", \"hi\", \"n\"}",
                                idx, mname);
    }
    if (!*r->primary && json_object_size(v) == 1) r->primary = json_object_iter_key(json_object_iter(v));
    r->has_primary = dl_rrun_metric(r, NULL, &r->primary_m);
    return 0;
}

int dl_rruns_read(const json_t *results, dl_rrun **runs, size_t *n, dl_error *err) {
    *runs = NULL;
    *n = 0;
    json_t *a = json_object_get(results, "runs");
    if (!json_is_object(results) || !json_is_array(a))
        return dl_error_set(err, 400, "results: expected a JSON object with a \"runs\" array");
    size_t cnt = json_array_size(a);
    dl_rrun *v = dl_xcalloc(cnt ? cnt : 1, sizeof *v);
    for (size_t i = 0; i < cnt; i++) {
        if (read_run(json_array_get(a, i), i, &v[i], err) != 0) {
            free(v);
            return -1;
        }
    }
    *runs = v;
    *n = cnt;
    return 0;
}

bool dl_rrun_metric(const dl_rrun *r, const char *name, dl_metric *out) {
    if (!name || !*name) name = r->primary;
    json_t *m = json_object_get(json_object_get(r->j, "metrics"), name);
    if (!m) return false;
    return dl_metric_from_json(name, m, out, NULL) == 0;
}

int dl_rrun_newer(const dl_rrun *a, const dl_rrun *b) {
    if (!isnan(a->created) && !isnan(b->created) && a->created != b->created)
        return a->created > b->created ? 1 : -1;
    if (a->created_s && b->created_s) {
        int c = strcmp(a->created_s, b->created_s);
        if (c) return c;
    }
    /* The document lists the latest first. */
    return a->order < b->order ? 1 : a->order > b->order ? -1 : 0;
}

void dl_rrun_date(const dl_rrun *r, char *buf, size_t size) {
    buf[0] = 0;
    if (r->created_s) {
        snprintf(buf, size, "%s", r->created_s);
    } else if (!isnan(r->created)) {
        time_t t = (time_t)r->created;
        struct tm tm;
        if (gmtime_r(&t, &tm)) strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
    }
}

static bool match(const char *want, const char *have) { return !want || !strcmp(want, have); }

const dl_rrun *dl_rrun_pick(const dl_rrun *runs, size_t n, const dl_rrun_filter *f) {
    const dl_rrun *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const dl_rrun *r = &runs[i];
        if (!match(f->eval, r->eval) || !match(f->model, r->model) ||
            !match(f->mitigation, r->mitigation) || !match(f->effort, r->effort))
            continue;
        if ((f->n && r->n != f->n) || (f->complete_only && !r->complete)) continue;
        if (!best || dl_rrun_newer(r, best) > 0) best = r;
    }
    return best;
}

const dl_rrun *dl_rrun_headline(const dl_rrun *runs, size_t n, const char *eval,
                                const char *model, const char *mitigation) {
    dl_rrun_filter f = {.eval = eval, .model = model, .mitigation = mitigation,
                        .complete_only = true};
    const dl_rrun *r = dl_rrun_pick(runs, n, &f);
    if (r) return r;
    f.complete_only = false;
    return dl_rrun_pick(runs, n, &f);
}

size_t dl_rruns_distinct(const dl_rrun *runs, size_t n, size_t field, const char ***out) {
    const char **v = dl_xmalloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = *(const char *const *)((const char *)&runs[i] + field);
        size_t j = 0;
        while (j < k && strcmp(v[j], s)) j++;
        if (j == k) v[k++] = s;
    }
    *out = v;
    return k;
}
