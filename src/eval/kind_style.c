/* eval/kind_style: refusal-style adherence — each case names the style its
 * answer should have (hard_refusal, safe_completion, soft_refusal, allow);
 * the response is graded with the safety stack's style grader
 * (dl_style_grade_response). Metrics: style_adherence overall and per style
 * ("style_adherence:<style>"). */
#include <stdlib.h>
#include <string.h>

#include "kind_util.h"

static const struct {
    const char *name, *alias;
    dl_action action;
} STYLES[] = {
    {"hard_refusal", "hard_refuse", DL_ACTION_HARD_REFUSE},
    {"safe_completion", "safe_complete", DL_ACTION_SAFE_COMPLETE},
    {"soft_refusal", "soft_refuse", DL_ACTION_SOFT_REFUSE},
    {"allow", "allow", DL_ACTION_ALLOW},
};

/* Index into STYLES of a style name or alias, or -1. */
static int style_index(const char *s) {
    for (size_t i = 0; s && i < DL_ARRAY_LEN(STYLES); i++)
        if (!strcmp(s, STYLES[i].name) || !strcmp(s, STYLES[i].alias)) return (int)i;
    return -1;
}

static int style_load(const dl_eval_def *d, const char *data_dir, uint64_t seed,
                      dl_eval_samples *out, dl_error *err) {
    (void)seed;
    memset(out, 0, sizeof *out);
    json_t *dss = dl_ku_datasets(d, err);
    if (!dss) return -1;
    json_t *seen = json_object();
    int rc = 0;
    size_t di;
    json_t *spec;
    json_array_foreach(dss, di, spec) {
        json_t *rows;
        char *label;
        if (dl_ku_rows(d, spec, data_dir, &rows, &label, err) != 0) {
            rc = -1;
            break;
        }
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            char b1[32], b2[32], b3[32], b4[32];
            const char *id = dl_ku_need(row, "id", label, i, b1, sizeof b1, err);
            const char *prompt = id ? dl_ku_need(row, "prompt", label, i, b2, sizeof b2, err) : NULL;
            const char *style = prompt ? dl_ku_need(row, "style", label, i, b3, sizeof b3, err) : NULL;
            const char *cat = style ? dl_ku_need(row, "category", label, i, b4, sizeof b4, err) : NULL;
            if (!cat) {
                rc = -1;
                break;
            }
            int si = style_index(style);
            if (si < 0) {
                rc = dl_error_set(err, 400,
                                  "%s: row %zu: style '%s' (expected hard_refusal, safe_completion, "
                                  "soft_refusal or allow)",
                                  label, i + 1, style);
                break;
            }
            dl_buf key = {0};
            dl_buf_printf(&key, "style:%s", id);
            char *k = dl_ku_unique_key(seen, key.data, i);
            json_t *ref = json_pack("{s:s,s:s}", "style", STYLES[si].name, "category", cat);
            dl_chat_msg m = {.role = DL_ROLE_USER, .content = prompt};
            dl_eval_samples_add(out, k, &m, 1, ref);
            free(k);
            dl_buf_free(&key);
        }
        json_decref(rows);
        free(label);
        if (rc) break;
    }
    json_decref(seen);
    json_decref(dss);
    if (rc) dl_eval_samples_free(out);
    return rc;
}

static int style_grade(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                       const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    (void)d;
    (void)ctx;
    int si = style_index(dl_json_str(s->ref, "style"));
    if (si < 0) return dl_error_set(err, 400, "style: sample %s has no valid ref.style", s->key);
    dl_style_grade g;
    dl_style_grade_response(STYLES[si].action, response ? response : "", &g);
    *verdict = json_pack("{s:f,s:s,s:b,s:b,s:b,s:b,s:b,s:b}", "score", g.compliant ? 1.0 : 0.0,
                         "style", STYLES[si].name, "compliant", g.compliant, "apology", g.apology,
                         "judgemental", g.judgemental, "resources", g.resources, "operational",
                         g.operational, "refusal", g.refusal);
    return 0;
}

static int style_metrics(const dl_eval_def *d, const dl_eval_graded *g, size_t n, dl_metric **out,
                         size_t *n_out, dl_error *err) {
    (void)d;
    (void)err;
    int64_t k[DL_ARRAY_LEN(STYLES)] = {0}, m[DL_ARRAY_LEN(STYLES)] = {0}, kall = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = dl_ku_num(g[i].grade, "score", 0) == 1;
        kall += ok;
        int si = style_index(dl_json_str(g[i].sample->ref, "style"));
        if (si < 0) continue;
        m[si]++;
        k[si] += ok;
    }
    dl_ku_metrics l = {0};
    dl_ku_metrics_add(&l, dl_metric_proportion("style_adherence", kall, (int64_t)n));
    for (size_t si = 0; si < DL_ARRAY_LEN(STYLES); si++) {
        if (!m[si]) continue;
        char name[48];
        dl_ku_metric_name(name, sizeof name, "style_adherence", STYLES[si].name);
        dl_ku_metrics_add(&l, dl_metric_proportion(name, k[si], m[si]));
    }
    dl_ku_metrics_take(&l, out, n_out);
    return 0;
}

const dl_eval_kind dl_kind_style = {
    .name = "style", .load = style_load, .grade = style_grade, .metrics = style_metrics};
