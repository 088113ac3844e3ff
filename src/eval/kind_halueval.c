/* eval/kind_halueval: HaluEval (general user queries) — the model judges
 * whether a given response to a user query contains hallucination, and is
 * scored against the human label. Metrics: accuracy, hallucination_recall
 * (hallucinated responses it flagged), hallucination_precision (its "Yes"
 * answers that were right), unparsed_rate (replies without a Yes/No). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kind_util.h"

static bool is_wc(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* 1 when the word at p (any case, whole word) is "yes", 0 for "no", else -1. */
static int word_yes_no(const char *p, const char *start) {
    if (p > start && is_wc(p[-1])) return -1;
    if (!strncasecmp(p, "yes", 3) && !is_wc(p[3])) return 1;
    if (!strncasecmp(p, "no", 2) && !is_wc(p[2])) return 0;
    return -1;
}

/* The model's Yes/No: its first word; else the word after the last
 * "answer:" / "answer is"; else the only one of the two words that occurs.
 * -1 when none of these decides. */
static int parse_yes_no(const char *t) {
    const char *p = t;
    while (*p && !is_wc(*p)) p++;
    int v = word_yes_no(p, t);
    if (v >= 0) return v;
    const char *cue = NULL;
    for (const char *q = t; (q = strcasestr(q, "answer")); q += 6) cue = q;
    if (cue) {
        const char *q = cue + 6;
        while (*q == ' ' || *q == ':' || *q == '*' || *q == '"' || *q == '\'') q++;
        if (!strncasecmp(q, "is", 2) && !is_wc(q[2])) q += 2;
        while (*q && !is_wc(*q)) q++;
        v = word_yes_no(q, t);
        if (v >= 0) return v;
    }
    bool yes = false, no = false;
    for (const char *q = t; *q; q++) {
        int w = word_yes_no(q, t);
        yes = yes || w == 1;
        no = no || w == 0;
    }
    return yes != no ? (yes ? 1 : 0) : -1;
}

static int hal_row(const dl_ku_row *r, void *ctx, dl_error *err) {
    (void)ctx;
    static const char *const cols[] = {"ID", "user_query", "chatgpt_response", "hallucination"};
    const char *f[4];
    char bufs[4][32];
    if (dl_ku_row_fields(r, cols, 4, f, bufs, err)) return -1;
    const char *id = f[0], *q = f[1], *resp = f[2], *h = f[3];
    if (strcasecmp(h, "yes") && strcasecmp(h, "no"))
        return dl_error_set(err, 400, "%s: row %zu: 'hallucination' must be yes or no, not '%s'",
                            r->label, r->i + 1, h);
    dl_buf prompt = {0};
    dl_buf_printf(&prompt,
                  "Below is a query a user sent to an AI assistant, and the assistant's "
                  "response. Decide whether the response contains hallucination: "
                  "statements that are false, made up or cannot be verified, or that do "
                  "not follow from the query.\n\n"
                  "Query:\n<<<\n%s\n>>>\n\nResponse:\n<<<\n%s\n>>>\n\n"
                  "Does the response contain hallucination? Answer Yes or No.",
                  q, resp);
    char *k = dl_ku_row_key(r, "%s:%s", r->name, id);
    json_t *ref = json_pack("{s:b}", "hallucination", !strcasecmp(h, "yes"));
    dl_ku_add_user(r->out, k, prompt.data, ref);
    free(k);
    dl_buf_free(&prompt);
    return 0;
}

static int hal_load(const dl_eval_def *d, const char *data_dir, uint64_t seed, dl_eval_samples *out,
                    dl_error *err) {
    return dl_ku_load_rows(d, data_dir, seed, "halueval", hal_row, NULL, out, err);
}

static int hal_grade(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                     const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    (void)d;
    (void)ctx;
    const json_t *l = json_object_get(s->ref, "hallucination");
    if (!json_is_boolean(l))
        return dl_error_set(err, 400, "halueval: sample %s has no hallucination label", s->key);
    int pred = parse_yes_no(response ? response : "");
    bool label = json_is_true(l);
    bool ok = pred >= 0 && (pred == 1) == label;
    *verdict = json_pack("{s:f,s:s,s:b}", "score", ok ? 1.0 : 0.0, "predicted",
                         pred < 0 ? "none" : pred ? "yes" : "no", "label", label);
    return 0;
}

static int hal_metrics(const dl_eval_def *d, const dl_eval_graded *g, size_t n, dl_metric **out,
                       size_t *n_out, dl_error *err) {
    (void)d;
    (void)err;
    int64_t ok = 0, tp = 0, pos = 0, pred_yes = 0, unparsed = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = dl_json_str(g[i].grade, "predicted");
        bool label = json_is_true(json_object_get(g[i].sample->ref, "hallucination"));
        bool yes = p && !strcmp(p, "yes");
        ok += dl_ku_num(g[i].grade, "score", 0) == 1;
        pos += label;
        pred_yes += yes;
        tp += yes && label;
        unparsed += !p || !strcmp(p, "none");
    }
    dl_ku_metrics m = {0};
    dl_ku_metrics_add(&m, dl_metric_proportion("accuracy", ok, (int64_t)n));
    dl_ku_metrics_add(&m, dl_metric_proportion("hallucination_recall", tp, pos));
    dl_ku_metrics_add(&m, dl_metric_proportion("hallucination_precision", tp, pred_yes));
    dl_ku_metrics_add(&m, dl_metric_proportion("unparsed_rate", unparsed, (int64_t)n));
    dl_ku_metrics_take(&m, out, n_out);
    return 0;
}

const dl_eval_kind dl_kind_halueval = {
    .name = "halueval", .load = hal_load, .grade = hal_grade, .metrics = hal_metrics};
