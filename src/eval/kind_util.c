/* eval/kind_util: helpers shared by the jailbreak, hallucination, bias and
 * refusal-style kinds (kind_util.h). */
#include "kind_util.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- seeded choices ---- */

uint64_t dl_ku_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t dl_ku_seed_for(uint64_t seed, const char *key) {
    uint64_t s = seed ^ dl_ku_hash(key);
    return dl_eval_splitmix64(&s);
}

void dl_ku_shuffle(size_t *v, size_t n, uint64_t *state) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(dl_eval_splitmix64(state) % i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* ---- dataset rows ---- */

static bool has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rows of every *.jsonl / *.csv file in dir, in name order. */
static int dir_rows(const char *dir, json_t *rows, dl_error *err) {
    DIR *dh = opendir(dir);
    if (!dh) return dl_error_set(err, 404, "%s: cannot open the directory", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.' || !(has_suffix(e->d_name, ".jsonl") || has_suffix(e->d_name, ".csv")))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = dl_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = dl_xstrdup(e->d_name);
    }
    closedir(dh);
    int rc = 0;
    if (n == 0) rc = dl_error_set(err, 404, "%s: no .jsonl or .csv files in the directory", dir);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            dl_buf path = {0};
            dl_buf_printf(&path, "%s/%s", dir, names[i]);
            json_t *part;
            if (dl_eval_read_rows(path.data, &part, err) != 0) {
                rc = -1;
            } else {
                /* where each row came from, for error messages */
                size_t k;
                json_t *row;
                json_array_foreach(part, k, row) {
                    json_object_set_new(row, "_file", json_string(names[i]));
                    json_object_set_new(row, "_row", json_integer((json_int_t)k + 1));
                }
                json_array_extend(rows, part);
                json_decref(part);
            }
            dl_buf_free(&path);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int dl_ku_rows(const dl_eval_def *d, const json_t *spec, const char *data_dir, json_t **rows,
               char **label, dl_error *err) {
    *rows = NULL;
    if (label) *label = NULL;
    const char *rel = json_is_string(spec) ? json_string_value(spec) : dl_json_str(spec, "path");
    if (!rel || !*rel)
        return dl_error_set(err, 400, "%s: a dataset needs a \"path\"", d->path ? d->path : d->name);
    char *path = dl_eval_data_path(d, rel, data_dir);
    struct stat st;
    int rc;
    if (stat(path, &st) != 0) {
        rc = dl_error_set(err, 404, "%s: dataset not found (%s)", rel, path);
    } else if (S_ISDIR(st.st_mode)) {
        json_t *r = json_array();
        rc = dir_rows(path, r, err);
        if (rc == 0) *rows = r;
        else json_decref(r);
    } else {
        rc = dl_eval_read_rows(path, rows, err);
    }
    free(path);
    if (rc == 0 && label) *label = dl_xstrdup(rel);
    return rc;
}

json_t *dl_ku_datasets(const dl_eval_def *d, dl_error *err) {
    json_t *ds = json_object_get(d->json, "datasets");
    if (!ds) ds = json_object_get(d->json, "dataset");
    if (json_is_array(ds) && json_array_size(ds) > 0) return json_incref(ds);
    if (json_is_string(ds) || json_is_object(ds)) return json_pack("[O]", ds);
    dl_error_set(err, 400, "%s: \"datasets\" must list at least one dataset",
                 d->path ? d->path : d->name);
    return NULL;
}

/* The rows of one spec with base's def, seen, out and seed. */
static int spec_rows(dl_ku_row base, const json_t *spec, const char *data_dir,
                     const char *default_name, dl_ku_row_fn fn, void *ctx, dl_error *err) {
    json_t *rows;
    char *label;
    if (dl_ku_rows(base.def, spec, data_dir, &rows, &label, err) != 0) return -1;
    dl_ku_row r = base;
    r.spec = spec;
    r.name = dl_ku_opt_str(spec, "name", default_name);
    r.label = label;
    int rc = 0;
    json_t *row;
    json_array_foreach(rows, r.i, row) {
        r.row = row;
        if (fn(&r, ctx, err) != 0) {
            rc = -1;
            break;
        }
    }
    json_decref(rows);
    free(label);
    return rc;
}

int dl_ku_each_spec_row(const dl_ku_row *base, const json_t *spec, const char *data_dir,
                        const char *default_name, dl_ku_row_fn fn, void *ctx, dl_error *err) {
    return spec_rows(*base, spec, data_dir, default_name, fn, ctx, err);
}

/* Every dataset of the definition, one key set for all. */
static int all_rows(dl_ku_row base, const char *data_dir, const char *default_name,
                    dl_ku_row_fn fn, void *ctx, dl_error *err) {
    json_t *dss = dl_ku_datasets(base.def, err);
    if (!dss) return -1;
    base.seen = json_object();
    int rc = 0;
    size_t di;
    json_t *spec;
    json_array_foreach(dss, di, spec) {
        rc = spec_rows(base, spec, data_dir, default_name, fn, ctx, err);
        if (rc) break;
    }
    json_decref(base.seen);
    json_decref(dss);
    return rc;
}

int dl_ku_each_row(const dl_eval_def *d, const char *data_dir, const char *default_name,
                   dl_ku_row_fn fn, void *ctx, dl_error *err) {
    return all_rows((dl_ku_row){.def = d}, data_dir, default_name, fn, ctx, err);
}

int dl_ku_load_rows(const dl_eval_def *d, const char *data_dir, uint64_t seed,
                    const char *default_name, dl_ku_row_fn fn, void *ctx, dl_eval_samples *out,
                    dl_error *err) {
    memset(out, 0, sizeof *out);
    int rc = all_rows((dl_ku_row){.def = d, .out = out, .seed = seed}, data_dir, default_name, fn,
                      ctx, err);
    if (rc) dl_eval_samples_free(out);
    return rc;
}

char *dl_ku_row_key(const dl_ku_row *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *key = dl_xmalloc((size_t)(n > 0 ? n : 0) + 1);
    va_start(ap, fmt);
    vsnprintf(key, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
    va_end(ap);
    char *k = dl_ku_unique_key(r->seen, key, r->i);
    free(key);
    return k;
}

const char *dl_ku_row_need(const dl_ku_row *r, const char *col, char *buf, size_t size,
                           dl_error *err) {
    return dl_ku_need(r->row, col, r->label, r->i, buf, size, err);
}

int dl_ku_row_fields(const dl_ku_row *r, const char *const *cols, size_t n, const char **out,
                     char (*bufs)[32], dl_error *err) {
    for (size_t c = 0; c < n; c++) {
        out[c] = dl_ku_row_need(r, cols[c], bufs[c], sizeof bufs[c], err);
        if (!out[c]) return -1;
    }
    return 0;
}

void dl_ku_add_user(dl_eval_samples *out, const char *key, const char *content, json_t *ref) {
    dl_chat_msg m = {.role = DL_ROLE_USER, .content = content};
    dl_eval_samples_add(out, key, &m, 1, ref);
}

const char *dl_ku_text(const json_t *row, const char *col, char *buf, size_t size) {
    const json_t *v = json_object_get(row, col);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, size, "%" PRId64, (int64_t)json_integer_value(v));
        return buf;
    }
    if (json_is_real(v)) {
        snprintf(buf, size, "%.17g", json_real_value(v));
        return buf;
    }
    return NULL;
}

const char *dl_ku_need(const json_t *row, const char *col, const char *file, size_t i, char *buf,
                       size_t size, dl_error *err) {
    const char *s = dl_ku_text(row, col, buf, size);
    if (s) return s;
    const char *f = dl_json_str(row, "_file"); /* a row of a directory's file */
    if (f)
        dl_error_set(err, 400, "%s/%s: row %lld has no field '%s'", file, f,
                     (long long)json_integer_value(json_object_get(row, "_row")), col);
    else dl_error_set(err, 400, "%s: row %zu has no field '%s'", file, i + 1, col);
    return NULL;
}

const char *dl_ku_opt_str(const json_t *o, const char *key, const char *dflt) {
    const char *s = dl_json_str(o, key);
    return s ? s : dflt;
}

int64_t dl_ku_opt_int(const json_t *o, const char *key, int64_t dflt) {
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

char *dl_ku_unique_key(json_t *seen, const char *key, size_t row) {
    if (!json_object_get(seen, key)) {
        json_object_set_new(seen, key, json_true());
        return dl_xstrdup(key);
    }
    dl_buf b = {0};
    dl_buf_printf(&b, "%s#%zu", key, row);
    json_object_set_new(seen, b.data, json_true());
    return b.data;
}

/* ---- choice questions ---- */

char *dl_ku_choice_prompt(const char *stem, const char *const *options, size_t n,
                          const char *instruction) {
    dl_buf b = {0};
    dl_buf_printf(&b, "%s\n\n", stem);
    for (size_t i = 0; i < n; i++) dl_buf_printf(&b, "%c. %s\n", (char)('A' + i), options[i]);
    dl_buf_printf(&b, "\n%s", instruction);
    return b.data;
}

int dl_ku_choice_index(const char *response, size_t n_options, char *letter) {
    if (letter) *letter = 0;
    char *a = dl_extract_answer(response ? response : "", DL_EXTRACT_CHOICE);
    int idx = -1;
    if (a && a[0] >= 'A' && a[0] <= 'J' && !a[1]) {
        if (letter) *letter = a[0];
        if ((size_t)(a[0] - 'A') < n_options) idx = a[0] - 'A';
    }
    free(a);
    return idx;
}

void dl_ku_choice_verdict(json_t *v, int idx, char letter) {
    char l[2] = {letter, 0};
    json_object_set_new(v, "extracted", letter ? json_string(l) : json_null());
    json_object_set_new(v, "choice", json_integer(idx));
}

/* ---- metrics ---- */

void dl_ku_metrics_add(dl_ku_metrics *m, dl_metric x) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = dl_xrealloc(m->v, m->cap * sizeof *m->v);
    }
    m->v[m->n++] = x;
}

void dl_ku_metrics_take(dl_ku_metrics *m, dl_metric **out, size_t *n_out) {
    *out = m->v;
    *n_out = m->n;
    memset(m, 0, sizeof *m);
}

void dl_ku_metric_name(char *dst, size_t size, const char *base, const char *group) {
    snprintf(dst, size, "%s:%s", base, group);
}

static double mean_stat(void *ud, const size_t *idx, size_t n) {
    const double *x = ud;
    if (n == 0) return 0;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[idx[i]];
    return s / (double)n;
}

dl_metric dl_ku_boot_mean(const char *name, const double *x, size_t n) {
    return dl_metric_bootstrap(name, mean_stat, (void *)x, n, DL_KU_BOOT_REPS, DL_KU_BOOT_SEED);
}

json_t *dl_ku_groups(const dl_eval_graded *g, size_t n, const char *field) {
    json_t *seen = json_object(), *out = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *v = g[i].sample ? dl_json_str(g[i].sample->ref, field) : NULL;
        if (!v || json_object_get(seen, v)) continue;
        json_object_set_new(seen, v, json_true());
        json_array_append_new(out, json_string(v));
    }
    json_decref(seen);
    return out;
}

int dl_ku_score_is_1(const dl_eval_graded *g) { return dl_ku_num(g->grade, "score", 0) == 1; }

int dl_ku_score_half(const dl_eval_graded *g) {
    return json_number_value(json_object_get(g->grade, "score")) >= 0.5;
}

dl_metric dl_ku_rate(const char *name, const dl_eval_graded *g, size_t n, const char *field,
                     const char *group, dl_ku_outcome_fn ok) {
    int64_t k = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (group) {
            const char *v = g[i].sample ? dl_json_str(g[i].sample->ref, field) : NULL;
            if (!v || strcmp(v, group)) continue;
        }
        int o = ok(&g[i]);
        if (o < 0) continue;
        m++;
        k += o;
    }
    return dl_metric_proportion(name, k, m);
}

static int cmp_json_str(const void *a, const void *b) {
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

void dl_ku_group_rates(dl_ku_metrics *m, const char *prefix, bool sorted, const dl_eval_graded *g,
                       size_t n, const char *field, dl_ku_outcome_fn ok) {
    json_t *groups = dl_ku_groups(g, n, field);
    size_t ng = json_array_size(groups);
    json_t **v = dl_xmalloc((ng ? ng : 1) * sizeof *v);
    for (size_t i = 0; i < ng; i++) v[i] = json_array_get(groups, i);
    if (sorted && ng) qsort(v, ng, sizeof *v, cmp_json_str);
    for (size_t i = 0; i < ng; i++) {
        char name[sizeof m->v->name];
        snprintf(name, sizeof name, "%s%s", prefix, json_string_value(v[i]));
        dl_ku_metrics_add(m, dl_ku_rate(name, g, n, field, json_string_value(v[i]), ok));
    }
    free(v);
    json_decref(groups);
}

double dl_ku_num(const json_t *o, const char *key, double dflt) {
    const json_t *v = json_object_get(o, key);
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_boolean(v)) return json_is_true(v) ? 1 : 0;
    return dflt;
}
