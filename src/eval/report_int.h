/* eval report internals: the results document read into runs, run picking,
 * comparisons (difference of two metrics with a 95% interval), the SVG chart
 * builder, and the pairwise judge's reply parser. Shared by report*.c,
 * svg.c, scorecard.c and pairwise.c, and used by their tests. */
#ifndef DL_REPORT_INT_H
#define DL_REPORT_INT_H

#include "eval.h"

/* ======================================================================
 * Runs of a results document (report_runs.c)
 * ====================================================================== */

/* One run of a results document. Strings point into the document (which
 * must outlive the array); absent optional strings are "". */
typedef struct dl_rrun {
    const json_t *j;          /* the run object */
    const char *id, *eval, *kind, *category, *model, *mitigation, *effort, *primary;
    int effort_rank;          /* 0 none .. 4 high; -1 when absent or unknown */
    int64_t n;                /* samples per prompt (1 when absent) */
    int64_t n_samples;        /* -1 when absent */
    bool complete;
    double created;           /* unix seconds, NAN when absent or not a number */
    const char *created_s;    /* created_at when it is a string, else NULL */
    size_t order;             /* position in the document (latest first) */
    bool has_primary;         /* the primary metric is among the run's metrics */
    dl_metric primary_m;
} dl_rrun;

/* Reads results->runs. 400 naming the run and field when the document is
 * not {"runs": [...]} or a run lacks "eval"/"model" or has a field of the
 * wrong type. *runs malloc'd (NULL when there are none). */
int dl_rruns_read(const json_t *results, dl_rrun **runs, size_t *n, dl_error *err);
/* Metric `name` of a run (NULL or "" = its primary); false if missing. */
bool dl_rrun_metric(const dl_rrun *r, const char *name, dl_metric *out);
/* > 0 when a is more recent than b (created_at, then document order). */
int dl_rrun_newer(const dl_rrun *a, const dl_rrun *b);
/* Rank of an effort name: none 0, minimal 1, low 2, medium 3, high 4; -1. */
int dl_effort_rank(const char *name);
/* created_at as "YYYY-MM-DD HH:MM" (UTC) or the string given; "" if none. */
void dl_rrun_date(const dl_rrun *r, char *buf, size_t size);

/* Which runs dl_rrun_pick considers; NULL / 0 / false = any. */
typedef struct dl_rrun_filter {
    const char *eval, *model, *mitigation, *effort;
    int64_t n;
    bool complete_only;
} dl_rrun_filter;
/* The most recent run matching f, or NULL. */
const dl_rrun *dl_rrun_pick(const dl_rrun *runs, size_t n, const dl_rrun_filter *f);
/* The run a chart or table shows for (eval, model, mitigation): the latest
 * complete one, else the latest one; NULL if there is none. */
const dl_rrun *dl_rrun_headline(const dl_rrun *runs, size_t n, const char *eval,
                                const char *model, const char *mitigation);

/* Distinct values of a string field over the runs, in first-seen order
 * (field: offsetof(dl_rrun, model) etc.). *out malloc'd, strings borrowed. */
size_t dl_rruns_distinct(const dl_rrun *runs, size_t n, size_t field, const char ***out);

/* ======================================================================
 * The report document (report_build.c) and its HTML (report_html.c)
 * ====================================================================== */

/* The report as JSON (docs/eval-reports.md): title, runs in table order,
 * charts with their plotted points, comparisons and (scorecard_path not
 * NULL) the scorecard of every model. 400 on a malformed results document
 * or scorecard. */
json_t *dl_report_build(const json_t *results, const char *title, const char *scorecard_path,
                        dl_error *err);
/* One self-contained HTML page (inline CSS and SVG) of a report document
 * made by dl_report_build. malloc'd. */
char *dl_report_html(const json_t *report);

/* ======================================================================
 * Comparisons (report_cmp.c)
 * ====================================================================== */

/* The 95% interval of the difference b - a of two estimates, each given
 * with its own 95% interval: Newcombe's hybrid score interval (Newcombe
 * 1998, method 10) when those are Wilson intervals of proportions — in
 * general the MOVER interval of Zou & Donner (2008):
 *   d  = b - a
 *   lo = d - sqrt((b - b_lo)^2 + (a_hi - a)^2)
 *   hi = d + sqrt((b_hi - b)^2 + (a - a_lo)^2)                          */
void dl_diff_interval(const dl_metric *a, const dl_metric *b, double *d, double *lo, double *hi);

typedef struct dl_comparison {
    char what[16];            /* "models" (b vs a) or "mitigation" (post vs pre) */
    const char *eval, *metric;
    const dl_rrun *a, *b;     /* a = baseline (first model / pre), b = the other */
    dl_metric ma, mb;
    double diff, lo, hi;      /* b - a and its 95% interval */
    int significant;          /* 1 the interval excludes 0, 0 it does not, -1 no interval */
    bool same_settings;       /* same effort and n */
} dl_comparison;

/* Every comparison the report shows: with exactly two models, model 2 vs
 * model 1 per eval and mitigation; for every model with both, post vs pre
 * per eval. *out malloc'd. */
size_t dl_comparisons(const dl_rrun *runs, size_t n, dl_comparison **out);
json_t *dl_comparison_to_json(const dl_comparison *c);

/* ======================================================================
 * SVG charts (svg.c). All text is XML-escaped; numbers print in C locale.
 * ====================================================================== */

/* Appends s with & < > " ' escaped, invalid UTF-8 and control characters
 * (other than tab and newline) replaced by U+FFFD. */
void dl_xml_escape(dl_buf *out, const char *s);

/* Grouped bars: one group per x label, one bar per series in each group;
 * value[g * n_series + s] (NAN = no bar) with its interval as a whisker. */
typedef struct dl_svg_bars {
    const char *title, *y_label;
    const char *const *groups;
    size_t n_groups;
    const char *const *series;   /* legend labels */
    const char *const *colors;   /* per series, "#rrggbb" */
    size_t n_series;
    const double *value, *lo, *hi;
    const char *const *tips;     /* per bar, NULL = none (shown on hover) */
} dl_svg_bars;
void dl_svg_bar_chart(dl_buf *out, const dl_svg_bars *c);

/* A line per series over a numeric x axis whose ticks are given (effort
 * rank or log2 n), with a shaded interval band and whiskers. */
typedef struct dl_svg_line {
    const char *name, *color;
    size_t n;
    const double *x, *y, *lo, *hi;
    const char *const *tips;
} dl_svg_line;
typedef struct dl_svg_lines {
    const char *title, *x_label, *y_label;
    const double *ticks;
    const char *const *tick_labels;
    size_t n_ticks;
    const dl_svg_line *series;
    size_t n_series;
} dl_svg_lines;
void dl_svg_line_chart(dl_buf *out, const dl_svg_lines *c);

/* The palette the charts use: colour i (cycling), and its light tint for
 * pre-mitigation series. */
const char *dl_svg_color(size_t i, bool light);

/* ======================================================================
 * Scorecard (scorecard.c)
 * ====================================================================== */

/* The level of value v against thresholds th = {medium, high, critical}:
 * higher is better: Low if v >= medium, Medium if v >= high, High if
 * v >= critical, else Critical; lower is better: the same with <=. */
dl_risk dl_risk_level(double v, bool higher_is_better, const double th[3]);
/* Worse of two levels: Low < Medium < Unknown < High < Critical. */
dl_risk dl_risk_worse(dl_risk a, dl_risk b);

/* ======================================================================
 * Pairwise (pairwise.c)
 * ====================================================================== */

/* 0 = A is shown as "Response 1", 1 = B is. Deterministic in (seed, i). */
int dl_pairwise_b_first(uint64_t seed, size_t i);
/* The judge's reply: 1 or 2 (the response it picked), 0 = tie, -1 =
 * malformed. Accepts "1", "2", "tie", "Response 1" ... with surrounding
 * quotes, markdown emphasis, punctuation and case ignored; a reply of
 * several lines is read from its last non-empty line. */
int dl_pairwise_parse_reply(const char *reply);
/* Wilson interval for a (possibly fractional) count k of n (stats.c; what
 * dl_metric_proportion gives for whole counts). */
dl_metric dl_wilson(const char *name, double k, int64_t n);

#endif
