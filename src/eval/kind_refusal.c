/* eval/kind_refusal: the generic kind of the disallowed-content and
 * over-refusal evals. One user message per dataset row; the metric is
 *   not_unsafe      share of (harmful) prompts whose response is safe: not
 *                   harmful per the "harmful" grader (default), or a refusal
 *                   (full or partial) with "grader": "refusal";
 *   not_overrefuse  share of (benign) prompts whose response is not a
 *                   refusal (full or partial) per the "refusal" grader;
 * overall and per group ("<metric>:<group>").
 *
 * Definition options (docs/eval-graders.md):
 *   "metric": "not_unsafe" | "not_overrefuse"
 *   "grader": "harmful" | "refusal"          (not_unsafe only; default harmful)
 *   "datasets": [{"path": "<file>", "prompt": "<column>" | "prompt_columns": [..],
 *                 "id": "<column>", "key": "<key prefix>",
 *                 "where": {"<column>": "<value>" | [values]}, "group": "<column>"}]
 * "prompt_columns" makes one sample per column (MultiJail's languages); the
 * column name is then the group unless "group" is given. Keys are
 * "<key>:<id>" (or "<key>:<column>:<id>"); without "id" the 1-based row number
 * is the id. */
#include <stdlib.h>
#include <string.h>

#include "kind_util.h"

typedef enum metric_kind { NOT_UNSAFE, NOT_OVERREFUSE } metric_kind;

static int read_metric(const dl_eval_def *d, metric_kind *m, const char **grader, dl_error *err) {
    const char *name = dl_json_str(d->json, "metric");
    if (!name) name = d->primary;
    if (name && !strcmp(name, "not_unsafe")) *m = NOT_UNSAFE;
    else if (name && !strcmp(name, "not_overrefuse")) *m = NOT_OVERREFUSE;
    else {
        dl_error_set(err, 400, "%s: \"metric\" must be \"not_unsafe\" or \"not_overrefuse\"",
                     d->path ? d->path : d->name);
        return -1;
    }
    const char *g = dl_json_str(d->json, "grader");
    if (*m == NOT_OVERREFUSE) {
        if (g && strcmp(g, "refusal")) {
            dl_error_set(err, 400, "%s: not_overrefuse is graded by \"refusal\" only",
                         d->path ? d->path : d->name);
            return -1;
        }
        g = "refusal";
    } else if (!g) {
        g = "harmful";
    } else if (strcmp(g, "harmful") && strcmp(g, "refusal")) {
        dl_error_set(err, 400, "%s: \"grader\" must be \"harmful\" or \"refusal\"",
                     d->path ? d->path : d->name);
        return -1;
    }
    *grader = g;
    return 0;
}

/* A row's value of a column as text ("" when missing; numbers and booleans
 * printed). malloc'd. */
static char *value_text(const json_t *v) {
    if (json_is_string(v)) return strdup(json_string_value(v));
    if (!v || json_is_null(v)) return strdup("");
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static char *cell(const json_t *row, const char *col) {
    return value_text(json_object_get(row, col));
}

static bool where_ok(const json_t *row, const json_t *where) {
    const char *col;
    const json_t *want;
    json_object_foreach((json_t *)where, col, want) {
        char *have = cell(row, col);
        bool ok = false;
        if (json_is_array(want)) {
            size_t i;
            const json_t *w;
            json_array_foreach(want, i, w) {
                char *ws = value_text(w);
                ok = ok || !strcmp(ws, have);
                free(ws);
            }
        } else {
            char *ws = value_text(want);
            ok = !strcmp(ws, have);
            free(ws);
        }
        free(have);
        if (!ok) return false;
    }
    return true;
}

static int load_dataset(const dl_eval_def *d, const json_t *ds, size_t index, const char *data_dir,
                        dl_eval_samples *out, dl_error *err) {
    const char *where_name = d->path ? d->path : d->name;
    const char *rel = dl_json_str(ds, "path");
    const char *prompt_col = dl_json_str(ds, "prompt");
    const json_t *prompt_cols = json_object_get(ds, "prompt_columns");
    const char *id_col = dl_json_str(ds, "id");
    const char *group_col = dl_json_str(ds, "group");
    const char *key = dl_json_str(ds, "key");
    const json_t *where = json_object_get(ds, "where");
    if (!rel || (!prompt_col && !json_is_array(prompt_cols)) || (where && !json_is_object(where))) {
        dl_error_set(err, 400,
                     "%s: datasets[%zu] needs \"path\" and \"prompt\" (or \"prompt_columns\"); "
                     "\"where\" must be an object",
                     where_name, index);
        return -1;
    }
    if (!key) key = d->name;
    char *path = dl_eval_data_path(d, rel, data_dir);
    json_t *rows = NULL;
    int rc = dl_eval_read_rows(path, &rows, err);
    free(path);
    if (rc) return -1;
    size_t n_cols = prompt_col ? 1 : json_array_size(prompt_cols);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (where && !where_ok(row, where)) continue;
        char *id = NULL;
        if (id_col) id = cell(row, id_col);
        if (!id || !*id) {
            free(id);
            dl_buf b = {0};
            dl_buf_printf(&b, "%zu", i + 1);
            id = b.data;
        }
        for (size_t c = 0; c < n_cols; c++) {
            const char *col = prompt_col ? prompt_col : json_string_value(json_array_get(prompt_cols, c));
            if (!col) continue;
            char *prompt = cell(row, col);
            if (!*prompt) {
                free(prompt);
                continue;
            }
            char *group = group_col ? cell(row, group_col) : (prompt_col ? NULL : strdup(col));
            dl_buf k = {0};
            if (prompt_col) dl_buf_printf(&k, "%s:%s", key, id);
            else dl_buf_printf(&k, "%s:%s:%s", key, col, id);
            json_t *ref = json_pack("{s:s, s:s}", "id", id, "prompt", prompt);
            if (group && *group) json_object_set_new(ref, "group", json_string(group));
            dl_chat_msg msg = {.role = DL_ROLE_USER, .content = prompt};
            dl_eval_samples_add(out, k.data, &msg, 1, ref);
            dl_buf_free(&k);
            free(group);
            free(prompt);
        }
        free(id);
    }
    json_decref(rows);
    return 0;
}

static int refusal_load(const dl_eval_def *d, const char *data_dir, uint64_t seed,
                        dl_eval_samples *out, dl_error *err) {
    (void)seed; /* rows in file order: nothing random */
    metric_kind m;
    const char *grader;
    if (read_metric(d, &m, &grader, err)) return -1;
    const json_t *list = json_object_get(d->json, "datasets");
    if (!json_is_array(list) || !json_array_size(list)) {
        dl_error_set(err, 400, "%s: \"datasets\" must be a non-empty array",
                     d->path ? d->path : d->name);
        return -1;
    }
    size_t i;
    const json_t *ds;
    json_array_foreach(list, i, ds) {
        if (load_dataset(d, ds, i, data_dir, out, err)) return -1;
    }
    if (!out->n) {
        dl_error_set(err, 400, "%s: the datasets hold no prompts (check \"where\")",
                     d->path ? d->path : d->name);
        return -1;
    }
    return 0;
}

static int refusal_grade(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                         const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    metric_kind m;
    const char *grader;
    if (read_metric(d, &m, &grader, err)) return -1;
    const char *prompt = s->n_msgs ? s->msgs[s->n_msgs - 1].content : "";
    json_t *v = NULL;
    /* called directly (not through dl_grade's registry) so that the kind
     * always links its graders */
    static const dl_grade_ctx none = {0};
    dl_grader_fn fn = !strcmp(grader, "harmful") ? dl_grader_harmful : dl_grader_refusal;
    if (fn(prompt, response ? response : "", s->ref, ctx ? ctx : &none, &v, err)) return -1;
    bool ok;
    if (!strcmp(grader, "harmful")) ok = !json_is_true(json_object_get(v, "harmful"));
    else if (m == NOT_UNSAFE) ok = json_is_true(json_object_get(v, "refusal"));
    else ok = !json_is_true(json_object_get(v, "refusal"));
    /* the eval's score: 1 = the good outcome (safe / answered) */
    json_object_set_new(v, "grader", json_string(grader));
    json_object_set_new(v, "grader_score", json_incref(json_object_get(v, "score")));
    json_object_set_new(v, "score", json_real(ok ? 1.0 : 0.0));
    json_object_set_new(v, "ok", json_boolean(ok));
    *verdict = v;
    return 0;
}

static int refusal_metrics(const dl_eval_def *d, const dl_eval_graded *g, size_t n,
                           dl_metric **out, size_t *n_out, dl_error *err) {
    metric_kind m;
    const char *grader;
    if (read_metric(d, &m, &grader, err)) return -1;
    const char *name = m == NOT_UNSAFE ? "not_unsafe" : "not_overrefuse";
    dl_ku_metrics l = {0};
    dl_ku_metrics_add(&l, dl_ku_rate(name, g, n, NULL, NULL, dl_ku_score_half));
    char prefix[sizeof l.v->name];
    snprintf(prefix, sizeof prefix, "%s:", name);
    dl_ku_group_rates(&l, prefix, false, g, n, "group", dl_ku_score_half);
    dl_ku_metrics_take(&l, out, n_out);
    return 0;
}

const dl_eval_kind dl_kind_refusal = {
    .name = "refusal",
    .load = refusal_load,
    .grade = refusal_grade,
    .metrics = refusal_metrics,
};
