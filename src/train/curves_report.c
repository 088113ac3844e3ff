/* The test-time compute report: curves.json, two SVG charts with Wilson
 * 95% error bars, and an HTML page holding both charts and the tables. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

/* s with &, <, > and " escaped for HTML text. */
static void html_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static json_t *point_json(const dl_ttc_point *pt) {
    json_t *o = json_pack("{s:s, s:f, s:i, s:i, s:f, s:f, s:f, s:f}", "label", pt->label, "x", pt->x, "n", pt->n,
                          "correct", pt->correct, "accuracy", pt->acc, "lo", pt->lo, "hi", pt->hi,
                          "mean_reasoning_tokens", pt->mean_reasoning_tokens);
    json_t *tasks = json_object();
    for (int k = 0; k < DL_TASK__COUNT; k++)
        if (pt->task_n[k])
            json_object_set_new(tasks, dl_task_name((dl_task_kind)k),
                                json_pack("{s:i, s:i}", "n", pt->task_n[k], "correct", pt->task_correct[k]));
    json_object_set_new(o, "tasks", tasks);
    json_object_set_new(o, "outcomes", json_stringn(pt->outcomes.data ? pt->outcomes.data : "", pt->outcomes.len));
    return o;
}

static int chart(const char *path, const char *title, const char *xlabel, const dl_ttc_point *pts, int n,
                 const char *color, dl_error *err) {
    double x[8], y[8], lo[8], hi[8];
    for (int i = 0; i < n; i++) x[i] = pts[i].x, y[i] = pts[i].acc, lo[i] = pts[i].lo, hi[i] = pts[i].hi;
    dl_svg_series s = {"accuracy (95% Wilson interval)", x, y, (size_t)n, color, lo, hi};
    return dl_svg_chart(path, title, xlabel, "accuracy on held-out problems", &s, 1, false, err);
}

static void html_table(FILE *f, const char *head, const dl_ttc_point *pts, int n) {
    fprintf(f, "<table><tr><th>%s</th><th>x</th><th>n</th><th>correct</th><th>accuracy</th><th>95%% CI</th>"
               "<th>mean reasoning tokens</th></tr>\n", head);
    for (int i = 0; i < n; i++)
        fprintf(f, "<tr><td>%s</td><td>%g</td><td>%d</td><td>%d</td><td>%.1f%%</td><td>%.1f&ndash;%.1f%%</td>"
                   "<td>%.1f</td></tr>\n", pts[i].label, pts[i].x, pts[i].n, pts[i].correct, 100 * pts[i].acc,
                100 * pts[i].lo, 100 * pts[i].hi, pts[i].mean_reasoning_tokens);
    fputs("</table>\n", f);
}

static int embed(FILE *f, const char *svg_path, dl_error *err) {
    char *svg = dl_read_file(svg_path, NULL, err);
    if (!svg) return -1;
    fputs(svg, f);
    free(svg);
    return 0;
}

int dl_ttc_write(const dl_ttc_params *p, const dl_ttc_result *res, const char *dir, dl_error *err) {
    char path[1024], budget_svg[1024], votes_svg[1024];
    snprintf(budget_svg, sizeof budget_svg, "%s/budget.svg", dir);
    snprintf(votes_svg, sizeof votes_svg, "%s/votes.svg", dir);
    /* the effort curve against the effort index (budgets differ by orders of magnitude) */
    dl_ttc_point eff[4];
    memcpy(eff, res->effort, sizeof eff);
    char xlabel[256];
    snprintf(xlabel, sizeof xlabel, "reasoning effort: 0 none, 1 low (%g tokens), 2 medium (%g), 3 high (%g)",
             eff[1].x, eff[2].x, eff[3].x);
    for (int e = 0; e < 4; e++) eff[e].x = e;
    char title[256], levels[32];
    int max_level = p->max_level ? p->max_level : p->level;
    if (max_level > p->level) snprintf(levels, sizeof levels, "levels %d-%d", p->level, max_level);
    else snprintf(levels, sizeof levels, "level %d", p->level);
    snprintf(title, sizeof title, "Accuracy vs thinking budget (%s, greedy)", levels);
    if (chart(budget_svg, title, xlabel, eff, 4, "#08519c", err)) return -1;
    if (res->n_votes > 0) {
        snprintf(title, sizeof title, "Accuracy vs samples, majority vote (effort %s, temperature %g)",
                 dl_effort_name(p->vote_effort), (double)p->temperature);
        if (chart(votes_svg, title, "n samples", res->vote, res->n_votes, "#d94801", err)) return -1;
    }

    json_t *root = json_pack("{s:s, s:i, s:i, s:s, s:i, s:i, s:i, s:i, s:f, s:i, s:f, s:f, s:s, s:f, s:i, s:i}", "model",
                             p->model_path, "problems", res->n_problems, "distinct_problems", res->n_distinct,
                             "split", dl_split_name(p->split), "level", p->level, "max_level", max_level,
                             "n_per_task", p->n_per_task, "max_tokens", p->max_tokens, "temperature",
                             (double)p->temperature, "top_k", p->top_k, "top_p", (double)p->top_p, "min_p",
                             (double)p->min_p, "vote_effort", dl_effort_name(p->vote_effort), "seconds",
                             res->seconds, "threads", p->threads, "batch", p->batch);
    json_t *ea = json_array(), *va = json_array();
    for (int e = 0; e < 4; e++) json_array_append_new(ea, point_json(&res->effort[e]));
    for (int v = 0; v < res->n_votes; v++) json_array_append_new(va, point_json(&res->vote[v]));
    json_object_set_new(root, "effort", ea);
    json_object_set_new(root, "votes", va);
    snprintf(path, sizeof path, "%s/curves.json", dir);
    int jrc = json_dump_file(root, path, JSON_INDENT(2));
    json_decref(root);
    if (jrc) return dl_error_set(err, 500, "curves: cannot write %s", path);

    snprintf(path, sizeof path, "%s/curves.html", dir);
    FILE *f = fopen(path, "w");
    if (!f) return dl_error_set(err, 500, "curves: cannot write %s", path);
    const char *heading = p->title ? p->title : "Test-time compute";
    fputs("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    html_text(f, heading);
    fputs("</title>\n<style>body{font-family:sans-serif;max-width:760px;margin:2em auto}table{border-collapse:collapse;"
          "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>\n<h1>",
          f);
    html_text(f, heading);
    fputs("</h1>\n", f);
    fprintf(f, "<p>%d held-out (test split) problems per task at %s; every reply produced by the reasoning "
               "controller on the local engine; intervals are Wilson 95%%. Measured in %.1f s.</p>\n",
            p->n_per_task, levels, res->seconds);
    int rc = 0;
    if (p->n_embed > 0) fputs("<h2>Training</h2>\n", f);
    for (int i = 0; i < p->n_embed && i < 4 && !rc; i++) rc = embed(f, p->embed[i], err);
    fputs("<h2>Thinking budget</h2>\n", f);
    if (!rc) rc = embed(f, budget_svg, err);
    html_table(f, "effort", res->effort, 4);
    if (!rc && res->n_votes > 0) {
        fputs("<h2>Samples with majority vote</h2>\n", f);
        rc = embed(f, votes_svg, err);
        html_table(f, "samples", res->vote, res->n_votes);
    }
    fputs("</body></html>\n", f);
    if (fclose(f) != 0 && !rc) rc = dl_error_set(err, 500, "curves: writing %s failed", path);
    return rc;
}
