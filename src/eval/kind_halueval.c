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

static int hal_load(const dl_eval_def *d, const char *data_dir, uint64_t seed, dl_eval_samples *out,
                    dl_error *err) {
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
        const char *name = dl_ku_opt_str(spec, "name", "halueval");
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            char b1[32], b2[32], b3[32], b4[32];
            const char *id = dl_ku_need(row, "ID", label, i, b1, sizeof b1, err);
            const char *q = id ? dl_ku_need(row, "user_query", label, i, b2, sizeof b2, err) : NULL;
            const char *r = q ? dl_ku_need(row, "chatgpt_response", label, i, b3, sizeof b3, err) : NULL;
            const char *h = r ? dl_ku_need(row, "hallucination", label, i, b4, sizeof b4, err) : NULL;
            if (!h) {
                rc = -1;
                break;
            }
            if (strcasecmp(h, "yes") && strcasecmp(h, "no")) {
                rc = dl_error_set(err, 400, "%s: row %zu: 'hallucination' must be yes or no, not '%s'",
                                  label, i + 1, h);
                break;
            }
            dl_buf prompt = {0};
            dl_buf_printf(&prompt,
                          "Below is a query a user sent to an AI assistant, and the assistant's "
                          "response. Decide whether the response contains hallucination: "
                          "statements that are false, made up or cannot be verified, or that do "
                          "not follow from the query.\n\n"
                          "Query:\n<<<\n%s\n>>>\n\nResponse:\n<<<\n%s\n>>>\n\n"
                          "Does the response contain hallucination? Answer Yes or No.",
                          q, r);
            dl_buf key = {0};
            dl_buf_printf(&key, "%s:%s", name, id);
            char *k = dl_ku_unique_key(seen, key.data, i);
            json_t *ref = json_pack("{s:b}", "hallucination", !strcasecmp(h, "yes"));
            dl_chat_msg m = {.role = DL_ROLE_USER, .content = prompt.data};
            dl_eval_samples_add(out, k, &m, 1, ref);
            free(k);
            dl_buf_free(&key);
            dl_buf_free(&prompt);
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
