/* eval/report_html: the report document drawn as one self-contained HTML
 * page — inline CSS, inline SVG charts, no scripts and no external
 * resources. Every text from the document is escaped. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"
#include "report_int.h"

static const char CSS[] =
    "body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222;background:#fafafa}"
    "main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}"
    "h1{font-size:26px;margin:8px 0}h2{font-size:20px;margin:32px 0 8px;border-bottom:1px solid #ccc}"
    "h3{font-size:16px;margin:20px 0 6px}"
    "p.meta,p.note{color:#555;font-size:13px}"
    "table{border-collapse:collapse;font-size:13px;background:#fff;margin:8px 0}"
    "th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "td.incomplete{color:#a15c00}"
    "div.charts{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}"
    "figure{margin:8px 0;background:#fff;border:1px solid #ddd;padding:4px}"
    "svg{display:block}"
    ".risk-Low{background:#d9f2d9}.risk-Medium{background:#fff3c4}"
    ".risk-High{background:#ffd0a8}.risk-Critical{background:#ffb3b3;font-weight:bold}"
    ".risk-Unknown{background:#e4e4e4}"
    ".sig-yes{font-weight:bold}nav a{margin-right:12px}";

static void esc(dl_buf *o, const char *s) { dl_xml_escape(o, s ? s : ""); }

static const char *jstr_or(const json_t *o, const char *key, const char *dflt) {
    const char *s = dl_json_str(o, key);
    return s ? s : dflt;
}

static double jnum(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* "0.912 [0.871, 0.941]" */
static void metric_cell(dl_buf *o, const json_t *m) {
    double v = jnum(m, "value"), lo = jnum(m, "lo"), hi = jnum(m, "hi");
    if (isnan(v)) {
        dl_buf_printf(o, "&ndash;");
        return;
    }
    dl_buf_printf(o, "%.3f", v);
    if (!isnan(lo) && !isnan(hi) && (lo != v || hi != v)) dl_buf_printf(o, " [%.3f, %.3f]", lo, hi);
}

static void runs_table(dl_buf *o, const json_t *runs) {
    dl_buf_printf(o, "<section id=\"runs\"><h2>Runs</h2>\n");
    if (!json_array_size(runs)) {
        dl_buf_printf(o, "<p class=\"note\">The results hold no runs.</p></section>\n");
        return;
    }
    dl_buf_printf(o, "<table class=\"runs\"><thead><tr><th>Eval</th><th>Category</th><th>Model</th>"
                     "<th>Mitigation</th><th>Effort</th><th>n</th><th>Primary metric (95%% CI)</th>"
                     "<th>Samples</th><th>Date</th><th>Run</th></tr></thead><tbody>\n");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
        const char *primary = jstr_or(r, "primary", "");
        json_t *m = json_object_get(json_object_get(r, "metrics"), primary);
        json_t *ns = json_object_get(r, "n_samples"), *n = json_object_get(r, "n");
        bool complete = !json_is_false(json_object_get(r, "complete"));
        dl_buf_printf(o, "<tr><td>");
        esc(o, jstr_or(r, "eval", ""));
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(r, "category", ""));
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(r, "model", ""));
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(r, "mitigation", "pre"));
        dl_buf_printf(o, "</td><td>");
        json_t *eff = json_object_get(r, "effort");
        if (json_is_string(eff)) esc(o, json_string_value(eff));
        else if (json_is_integer(eff)) dl_buf_printf(o, "%lld", (long long)json_integer_value(eff));
        dl_buf_printf(o, "</td><td class=\"num\">%lld</td><td class=\"num\">",
                      json_is_integer(n) ? (long long)json_integer_value(n) : 1LL);
        if (*primary) {
            esc(o, primary);
            dl_buf_printf(o, " ");
        }
        if (m) metric_cell(o, m);
        else dl_buf_printf(o, "&ndash;");
        dl_buf_printf(o, "</td><td class=\"num%s\">", complete ? "" : " incomplete");
        if (json_is_integer(ns)) dl_buf_printf(o, "%lld", (long long)json_integer_value(ns));
        if (!complete) dl_buf_printf(o, " (incomplete)");
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(r, "date", ""));
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(r, "id", ""));
        dl_buf_printf(o, "</td></tr>\n");
    }
    dl_buf_printf(o, "</tbody></table></section>\n");
}

static void bar_chart(dl_buf *o, const json_t *ch) {
    json_t *groups = json_object_get(ch, "groups"), *ser = json_object_get(ch, "series");
    size_t ng = json_array_size(groups), ns = json_array_size(ser);
    const char **gnames = dl_xcalloc(ng + 1, sizeof *gnames);
    const char **snames = dl_xcalloc(ns + 1, sizeof *snames);
    const char **colors = dl_xcalloc(ns + 1, sizeof *colors);
    const char **tips = dl_xcalloc(ng * ns + 1, sizeof *tips);
    double *v = dl_xmalloc((ng * ns + 1) * sizeof *v), *lo = dl_xmalloc((ng * ns + 1) * sizeof *lo),
           *hi = dl_xmalloc((ng * ns + 1) * sizeof *hi);
    for (size_t g = 0; g < ng; g++) gnames[g] = json_string_value(json_array_get(groups, g));
    for (size_t s = 0; s < ns; s++) {
        json_t *sj = json_array_get(ser, s), *vals = json_object_get(sj, "values");
        snames[s] = jstr_or(sj, "name", "");
        colors[s] = jstr_or(sj, "color", "#888888");
        for (size_t g = 0; g < ng; g++) {
            json_t *p = json_array_get(vals, g);
            size_t k = g * ns + s;
            v[k] = jnum(p, "value");
            lo[k] = jnum(p, "lo");
            hi[k] = jnum(p, "hi");
            tips[k] = dl_json_str(p, "tip");
        }
    }
    dl_svg_bars c = {.title = jstr_or(ch, "title", ""),
                     .y_label = jstr_or(ch, "y_label", ""),
                     .groups = gnames,
                     .n_groups = ng,
                     .series = snames,
                     .colors = colors,
                     .n_series = ns,
                     .value = v,
                     .lo = lo,
                     .hi = hi,
                     .tips = tips};
    dl_buf_printf(o, "<figure>\n");
    dl_svg_bar_chart(o, &c);
    dl_buf_printf(o, "</figure>\n");
    free(gnames);
    free(snames);
    free(colors);
    free(tips);
    free(v);
    free(lo);
    free(hi);
}

static void line_chart(dl_buf *o, const json_t *ch) {
    json_t *ticks = json_object_get(ch, "ticks"), *labels = json_object_get(ch, "tick_labels"),
           *ser = json_object_get(ch, "series");
    size_t nt = json_array_size(ticks), ns = json_array_size(ser);
    double *tx = dl_xmalloc((nt + 1) * sizeof *tx);
    const char **tl = dl_xcalloc(nt + 1, sizeof *tl);
    for (size_t t = 0; t < nt; t++) {
        tx[t] = json_number_value(json_array_get(ticks, t));
        tl[t] = json_string_value(json_array_get(labels, t));
        if (!tl[t]) tl[t] = "";
    }
    dl_svg_line *lines = dl_xcalloc(ns + 1, sizeof *lines);
    for (size_t s = 0; s < ns; s++) {
        json_t *sj = json_array_get(ser, s), *pts = json_object_get(sj, "points");
        size_t np = json_array_size(pts);
        double *buf = dl_xmalloc((4 * np + 1) * sizeof *buf);
        const char **tips = dl_xcalloc(np + 1, sizeof *tips);
        for (size_t i = 0; i < np; i++) {
            json_t *p = json_array_get(pts, i);
            buf[i] = jnum(p, "x");
            buf[np + i] = jnum(p, "value");
            buf[2 * np + i] = jnum(p, "lo");
            buf[3 * np + i] = jnum(p, "hi");
            tips[i] = dl_json_str(p, "tip");
        }
        lines[s] = (dl_svg_line){.name = jstr_or(sj, "name", ""),
                                 .color = jstr_or(sj, "color", "#888888"),
                                 .n = np,
                                 .x = buf,
                                 .y = buf + np,
                                 .lo = buf + 2 * np,
                                 .hi = buf + 3 * np,
                                 .tips = tips};
    }
    dl_svg_lines c = {.title = jstr_or(ch, "title", ""),
                      .x_label = jstr_or(ch, "x_label", ""),
                      .y_label = "primary metric",
                      .ticks = tx,
                      .tick_labels = tl,
                      .n_ticks = nt,
                      .series = lines,
                      .n_series = ns};
    dl_buf_printf(o, "<figure>\n");
    dl_svg_line_chart(o, &c);
    dl_buf_printf(o, "</figure>\n");
    for (size_t s = 0; s < ns; s++) {
        free((void *)lines[s].x);
        free((void *)lines[s].tips);
    }
    free(lines);
    free(tx);
    free(tl);
}

static void charts(dl_buf *o, const json_t *charts_j) {
    size_t i;
    json_t *ch;
    bool any_bar = false, any_line = false;
    json_array_foreach(charts_j, i, ch) {
        const char *type = jstr_or(ch, "type", "");
        any_bar |= !strcmp(type, "bar");
        any_line |= !strcmp(type, "line");
    }
    dl_buf_printf(o, "<section id=\"categories\"><h2>Results by category</h2>\n");
    if (any_bar)
        dl_buf_printf(o, "<p class=\"note\">Each bar is a model's latest complete run of the eval, "
                         "at the effort and n most of the bars share (hover for the run); "
                         "whiskers are 95%% confidence intervals.</p>\n");
    else
        dl_buf_printf(o, "<p class=\"note\">No run has its primary metric.</p>\n");
    dl_buf_printf(o, "<div class=\"charts\">\n");
    json_array_foreach(charts_j, i, ch) if (!strcmp(jstr_or(ch, "type", ""), "bar")) bar_chart(o, ch);
    dl_buf_printf(o, "</div>\n</section>\n<section id=\"compute\"><h2>Test-time compute</h2>\n");
    if (!any_line)
        dl_buf_printf(o, "<p class=\"note\">No eval has runs of one model at several reasoning "
                         "efforts or several n.</p>\n");
    else
        dl_buf_printf(o, "<p class=\"note\">The primary metric against reasoning effort (at the "
                         "smallest n run) and against samples per prompt n (at the effort with the "
                         "most n values); bands and whiskers are 95%% confidence intervals.</p>\n");
    dl_buf_printf(o, "<div class=\"charts\">\n");
    json_array_foreach(charts_j, i, ch) if (!strcmp(jstr_or(ch, "type", ""), "line")) line_chart(o, ch);
    dl_buf_printf(o, "</div>\n</section>\n");
}

static void side(dl_buf *o, const json_t *s) {
    dl_buf_printf(o, "<td class=\"num\">");
    metric_cell(o, json_object_get(s, "metric"));
    dl_buf_printf(o, "</td>");
}

static void comparisons(dl_buf *o, const json_t *rep) {
    json_t *cmp = json_object_get(rep, "comparisons");
    if (!json_array_size(cmp)) return;
    dl_buf_printf(o, "<section id=\"comparisons\"><h2>Comparisons</h2>\n<p class=\"note\">");
    esc(o, jstr_or(rep, "comparison_method", ""));
    dl_buf_printf(o, ". Runs of the same eval share their prompts, so this unpaired interval is "
                     "conservative.</p>\n<table class=\"comparisons\"><thead><tr><th>Compared</th>"
                     "<th>Eval</th><th>Metric</th><th>A</th><th>B</th><th>B &minus; A (95%% CI)</th>"
                     "<th>Significant</th><th>Settings</th></tr></thead><tbody>\n");
    size_t i;
    json_t *c;
    json_array_foreach(cmp, i, c) {
        json_t *a = json_object_get(c, "a"), *b = json_object_get(c, "b");
        bool models = !strcmp(jstr_or(c, "what", ""), "models");
        dl_buf_printf(o, "<tr><td>");
        if (models) {
            dl_buf_printf(o, "A = ");
            esc(o, jstr_or(a, "model", ""));
            dl_buf_printf(o, ", B = ");
            esc(o, jstr_or(b, "model", ""));
            dl_buf_printf(o, " (");
            esc(o, jstr_or(a, "mitigation", ""));
            dl_buf_printf(o, "-mitigation)");
        } else {
            esc(o, jstr_or(a, "model", ""));
            dl_buf_printf(o, ": A = pre-mitigation, B = post-mitigation");
        }
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(c, "eval", ""));
        dl_buf_printf(o, "</td><td>");
        esc(o, jstr_or(c, "metric", ""));
        dl_buf_printf(o, "</td>");
        side(o, a);
        side(o, b);
        json_t *sig = json_object_get(c, "significant");
        dl_buf_printf(o, "<td class=\"num\">%+.3f [%+.3f, %+.3f]</td><td class=\"%s\">%s</td><td>",
                      jnum(c, "difference"), jnum(c, "lo"), jnum(c, "hi"),
                      json_is_true(sig) ? "sig-yes" : "sig-no",
                      json_is_null(sig) ? "n/a (no intervals)" : json_is_true(sig) ? "yes" : "no");
        if (json_is_true(json_object_get(c, "same_settings"))) {
            dl_buf_printf(o, "same (effort ");
            esc(o, jstr_or(a, "effort", "-"));
            dl_buf_printf(o, ", n %lld)", (long long)json_integer_value(json_object_get(a, "n")));
        } else {
            dl_buf_printf(o, "differ: A effort ");
            esc(o, jstr_or(a, "effort", "-"));
            dl_buf_printf(o, " n %lld, B effort ", (long long)json_integer_value(json_object_get(a, "n")));
            esc(o, jstr_or(b, "effort", "-"));
            dl_buf_printf(o, " n %lld", (long long)json_integer_value(json_object_get(b, "n")));
        }
        dl_buf_printf(o, "</td></tr>\n");
    }
    dl_buf_printf(o, "</tbody></table></section>\n");
}

static void scorecard(dl_buf *o, const json_t *rep) {
    json_t *sc = json_object_get(rep, "scorecard");
    if (!sc) return;
    dl_buf_printf(o, "<section id=\"scorecard\"><h2>Scorecard</h2>\n<p class=\"note\">From ");
    esc(o, jstr_or(rep, "scorecard_file", ""));
    dl_buf_printf(o, ": each category's level from the latest complete pre- and post-mitigation "
                     "runs (the worst of its evals).</p>\n");
    size_t i;
    json_t *m;
    json_array_foreach(sc, i, m) {
        dl_buf_printf(o, "<h3>");
        esc(o, jstr_or(m, "model", ""));
        dl_buf_printf(o, "</h3>\n<table class=\"scorecard\"><thead><tr><th>Category</th>"
                         "<th>Pre-mitigation</th><th>Post-mitigation</th><th>Evidence</th></tr>"
                         "</thead><tbody>\n");
        size_t k;
        json_t *r;
        json_array_foreach(json_object_get(m, "rows"), k, r) {
            const char *pre = jstr_or(r, "pre", "Unknown"), *post = jstr_or(r, "post", "Unknown");
            dl_buf_printf(o, "<tr><td>");
            esc(o, jstr_or(r, "category", ""));
            dl_buf_printf(o, "</td><td class=\"risk-");
            esc(o, pre);
            dl_buf_printf(o, "\">");
            esc(o, pre);
            dl_buf_printf(o, "</td><td class=\"risk-");
            esc(o, post);
            dl_buf_printf(o, "\">");
            esc(o, post);
            dl_buf_printf(o, "</td><td>");
            esc(o, jstr_or(r, "evidence", ""));
            dl_buf_printf(o, "</td></tr>\n");
        }
        dl_buf_printf(o, "</tbody></table>\n");
    }
    dl_buf_printf(o, "</section>\n");
}

char *dl_report_html(const json_t *rep) {
    dl_buf o = {0};
    const char *title = jstr_or(rep, "title", "Evaluation report");
    json_t *runs = json_object_get(rep, "runs");
    dl_buf_printf(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>");
    esc(&o, title);
    dl_buf_printf(&o, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>", CSS);
    esc(&o, title);
    size_t n_models = 0, n_evals = 0;
    {
        dl_rrun *rr;
        size_t n;
        const char **d;
        if (dl_rruns_read(rep, &rr, &n, NULL) == 0) {
            n_models = dl_rruns_distinct(rr, n, offsetof(dl_rrun, model), &d);
            free(d);
            n_evals = dl_rruns_distinct(rr, n, offsetof(dl_rrun, eval), &d);
            free(d);
            free(rr);
        }
    }
    dl_buf_printf(&o, "</h1>\n<p class=\"meta\">%zu runs of %zu evals by %zu model%s. Intervals are "
                      "95%% confidence intervals.</p>\n<nav><a href=\"#runs\">Runs</a>"
                      "<a href=\"#categories\">By category</a><a href=\"#compute\">Test-time compute</a>",
                  json_array_size(runs), n_evals, n_models, n_models == 1 ? "" : "s");
    if (json_array_size(json_object_get(rep, "comparisons")))
        dl_buf_printf(&o, "<a href=\"#comparisons\">Comparisons</a>");
    if (json_object_get(rep, "scorecard")) dl_buf_printf(&o, "<a href=\"#scorecard\">Scorecard</a>");
    dl_buf_printf(&o, "</nav>\n");
    runs_table(&o, runs);
    charts(&o, json_object_get(rep, "charts"));
    comparisons(&o, rep);
    scorecard(&o, rep);
    dl_buf_printf(&o, "<p class=\"meta\">Written by deliberate eval report.</p>\n</main>\n</body>\n</html>\n");
    return o.data;
}
