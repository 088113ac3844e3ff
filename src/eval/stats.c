/* eval/stats: metrics with 95% confidence intervals — Wilson intervals for
 * proportions, normal intervals for means, percentile bootstrap for
 * anything else (goodness@0.1, F-scores, bias scores). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"
#include "report_int.h"

#define Z95 1.959963984540054

static void set_name(dl_metric *m, const char *name) {
    snprintf(m->name, sizeof m->name, "%s", name ? name : "");
}

dl_metric dl_wilson(const char *name, double k, int64_t n) {
    dl_metric m = {0};
    set_name(&m, name);
    m.n = n;
    if (n <= 0) {
        m.hi = 1;
        return m;
    }
    double nn = (double)n, p = k / nn, z2 = Z95 * Z95, denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = Z95 * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    m.value = p;
    m.lo = fmax(0, centre - half);
    m.hi = fmin(1, centre + half);
    return m;
}

dl_metric dl_metric_proportion(const char *name, int64_t k, int64_t n) {
    return dl_wilson(name, (double)k, n);
}

dl_metric dl_metric_mean(const char *name, const double *x, size_t n) {
    dl_metric m = {0};
    set_name(&m, name);
    m.n = (int64_t)n;
    if (n == 0) return m;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    double mean = s / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
    double se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : 0;
    m.value = mean;
    m.lo = mean - Z95 * se;
    m.hi = mean + Z95 * se;
    return m;
}

uint64_t dl_eval_splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

dl_metric dl_metric_bootstrap(const char *name, dl_stat_fn stat, void *ud, size_t n, int reps,
                              uint64_t seed) {
    dl_metric m = {0};
    set_name(&m, name);
    m.n = (int64_t)n;
    size_t *idx = dl_xmalloc((n ? n : 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    m.value = stat(ud, idx, n);
    m.lo = m.hi = m.value;
    if (n > 1 && reps > 1) {
        double *v = dl_xmalloc((size_t)reps * sizeof *v);
        uint64_t s = seed;
        for (int r = 0; r < reps; r++) {
            for (size_t i = 0; i < n; i++) idx[i] = (size_t)(dl_eval_splitmix64(&s) % n);
            v[r] = stat(ud, idx, n);
        }
        qsort(v, (size_t)reps, sizeof *v, cmp_double);
        m.lo = v[(size_t)floor(0.025 * (reps - 1))];
        m.hi = v[(size_t)ceil(0.975 * (reps - 1))];
        free(v);
    }
    free(idx);
    return m;
}

json_t *dl_metric_to_json(const dl_metric *m) {
    return json_pack("{s:f,s:f,s:f,s:I}", "value", m->value, "lo", m->lo, "hi", m->hi, "n",
                     (json_int_t)m->n);
}

int dl_metric_from_json(const char *name, const json_t *j, dl_metric *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    set_name(out, name);
    json_t *v = json_object_get(j, "value");
    if (!json_is_number(v))
        return dl_error_set(err, 400, "metric '%s': 'value' must be a number", name);
    out->value = json_number_value(v);
    json_t *lo = json_object_get(j, "lo"), *hi = json_object_get(j, "hi"),
           *n = json_object_get(j, "n");
    out->lo = json_is_number(lo) ? json_number_value(lo) : out->value;
    out->hi = json_is_number(hi) ? json_number_value(hi) : out->value;
    out->n = json_is_integer(n) ? (int64_t)json_integer_value(n) : 0;
    return 0;
}
