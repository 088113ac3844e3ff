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

static int style_row(const dl_ku_row *r, void *ctx, dl_error *err) {
    (void)ctx;
    static const char *const cols[] = {"id", "prompt", "style", "category"};
    const char *f[4];
    char bufs[4][32];
    if (dl_ku_row_fields(r, cols, 4, f, bufs, err)) return -1;
    const char *id = f[0], *prompt = f[1], *style = f[2], *cat = f[3];
    int si = style_index(style);
    if (si < 0)
        return dl_error_set(err, 400,
                            "%s: row %zu: style '%s' (expected hard_refusal, safe_completion, "
                            "soft_refusal or allow)",
                            r->label, r->i + 1, style);
    char *k = dl_ku_row_key(r, "style:%s", id);
    json_t *ref = json_pack("{s:s,s:s}", "style", STYLES[si].name, "category", cat);
    dl_ku_add_user(r->out, k, prompt, ref);
    free(k);
    return 0;
}

static int style_load(const dl_eval_def *d, const char *data_dir, uint64_t seed,
                      dl_eval_samples *out, dl_error *err) {
    return dl_ku_load_rows(d, data_dir, seed, "style", style_row, NULL, out, err);
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
