/* Self-contained SVG line charts for the training reports: no scripts, no
 * external styles, so a chart opens in any browser and renders on GitHub. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

#define W 720
#define H 420
#define ML 70 /* margins: left, right, top, bottom */
#define MR 20
#define MT 40
#define MB 50

/* A "nice" tick step for a range: 1, 2 or 5 times a power of ten. */
static double nice_step(double range, int target) {
    double raw = range / target, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

int dl_svg_chart(const char *path, const char *title, const char *xlabel, const char *ylabel,
                 const dl_svg_series *series, size_t n_series, bool log_y, dl_error *err) {
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y) || (log_y && y <= 0)) continue;
            if (log_y) y = log10(y);
            x0 = fmin(x0, x), x1 = fmax(x1, x), y0 = fmin(y0, y), y1 = fmax(y1, y);
            if (series[k].lo && series[k].hi && !log_y && isfinite(series[k].lo[i]) && isfinite(series[k].hi[i]))
                y0 = fmin(y0, series[k].lo[i]), y1 = fmax(y1, series[k].hi[i]);
        }
    if (!(x0 <= x1)) return dl_error_set(err, 400, "chart: no finite points to plot");
    if (x1 == x0) x1 = x0 + 1;
    for (size_t k = 0; k < n_series; k++)
        if (series[k].lo && series[k].hi) { /* room for the end points' error bars */
            double pad = 0.04 * (x1 - x0);
            x0 -= pad, x1 += pad;
            break;
        }
    if (y1 == y0) y1 = y0 + 1, y0 -= 1;
    if (log_y) y0 = floor(y0), y1 = ceil(y1);
    FILE *f = fopen(path, "w");
    if (!f) return dl_error_set(err, 500, "chart: cannot write %s", path);
    const double pw = W - ML - MR, ph = H - MT - MB;
#define PX(x) (ML + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (MT + ph - ((y) - y0) / (y1 - y0) * ph)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"24\" font-size=\"15\">", ML);
    xml_text(f, title);
    fputs("</text>\n", f);
    /* grid and ticks */
    double xs = nice_step(x1 - x0, 8);
    for (double x = ceil(x0 / xs) * xs; x <= x1 + 1e-9 * xs; x += xs)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\">%g</text>\n", PX(x), MT, PX(x), MT + ph, PX(x), MT + ph + 16, fabs(x) < 1e-9 * xs ? 0.0 : x);
    if (log_y) {
        for (double y = y0; y <= y1 + 1e-9; y += 1)
            fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                       "text-anchor=\"end\">%g</text>\n", ML, PY(y), ML + pw, PY(y), ML - 6, PY(y) + 4, pow(10.0, y));
    } else {
        double ys = nice_step(y1 - y0, 6);
        for (double y = ceil(y0 / ys) * ys; y <= y1 + 1e-9 * ys; y += ys)
            fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                       "text-anchor=\"end\">%g</text>\n", ML, PY(y), ML + pw, PY(y), ML - 6, PY(y) + 4, fabs(y) < 1e-9 * ys ? 0.0 : y);
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n", ML, MT, pw, ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", ML + pw / 2, H - 10);
    xml_text(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">", MT + ph / 2);
    xml_text(f, ylabel);
    fputs("</text>\n", f);
    /* the legend's box, sized by the longest name (~6.6 px per character) */
    size_t longest = 0;
    for (size_t k = 0; k < n_series; k++) longest = DL_MAX(longest, strlen(series[k].name));
    const double lw = 34 + 6.6 * (double)longest, lx = ML + pw - lw - 6, lh = 8 + 16 * (double)n_series;
    /* top right, unless more points fall there than in the bottom right corner */
    int in_top = 0, in_bottom = 0;
    for (size_t k = 0; k < n_series; k++)
        for (size_t i = 0; i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y) || (log_y && y <= 0)) continue;
            double px = PX(x), py = PY(log_y ? log10(y) : y);
            if (px < lx - 4) continue;
            in_top += py <= MT + 4 + lh + 4;
            in_bottom += py >= MT + ph - 4 - lh - 4;
        }
    const double ly0 = in_top > in_bottom ? MT + ph - 4 - lh : MT + 4;
    for (size_t k = 0; k < n_series; k++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", series[k].color);
        for (size_t i = 0; i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i];
            if (!isfinite(x) || !isfinite(y) || (log_y && y <= 0)) continue;
            fprintf(f, "%.1f,%.1f ", PX(x), PY(log_y ? log10(y) : y));
        }
        fputs("\"/>\n", f);
        for (size_t i = 0; series[k].lo && series[k].hi && !log_y && i < series[k].n; i++) {
            double x = series[k].x[i], y = series[k].y[i], l = series[k].lo[i], h = series[k].hi[i];
            if (!isfinite(x) || !isfinite(y) || !isfinite(l) || !isfinite(h)) continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>"
                       "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\" stroke=\"%s\" fill=\"none\"/>\n",
                    PX(x), PY(y), series[k].color, PX(x), PY(l), PY(h), PX(x) - 4, PY(l), PX(x) - 4, PY(h),
                    series[k].color);
        }
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" fill-opacity=\"0.85\" "
               "stroke=\"#ccc\"/>\n", lx, ly0, lw, lh);
    for (size_t k = 0; k < n_series; k++) {
        double ly = ly0 + 10 + 16 * (double)k;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\">", lx + 6, ly, lx + 26, ly, series[k].color, lx + 30, ly + 4);
        xml_text(f, series[k].name);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
#undef PX
#undef PY
    if (fclose(f) != 0) return dl_error_set(err, 500, "chart: writing %s failed", path);
    return 0;
}

int dl_sft_plot_log(const char *log_csv, const char *svg_path, dl_error *err) {
    size_t len;
    char *data = dl_read_file(log_csv, &len, err);
    if (!data) return -1;
    dl_csv c;
    dl_csv_init(&c, data, len);
    double *x = NULL, *y = NULL, *ema = NULL;
    size_t n = 0, cap = 0;
    int col_step = -1, col_loss = -1, rc = -1;
    if (dl_csv_next(&c)) {
        col_step = dl_csv_col(&c, "step");
        col_loss = dl_csv_col(&c, "loss");
    }
    if (col_step < 0 || col_loss < 0) {
        dl_error_set(err, 400, "%s: not a training log (no step/loss columns)", log_csv);
        goto out;
    }
    while (dl_csv_next(&c)) {
        if ((size_t)col_loss >= c.nf || (size_t)col_step >= c.nf) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            x = dl_xrealloc(x, cap * sizeof(double));
            y = dl_xrealloc(y, cap * sizeof(double));
        }
        x[n] = strtod(c.f[col_step], NULL);
        y[n] = strtod(c.f[col_loss], NULL);
        n++;
    }
    ema = dl_xmalloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; i < n; i++) ema[i] = i ? 0.95 * ema[i - 1] + 0.05 * y[i] : y[i];
    dl_svg_series s[2] = {{"loss per step", x, y, n, "#9ecae1", NULL, NULL}, {"smoothed (EMA 0.95)", x, ema, n, "#08519c", NULL, NULL}};
    rc = dl_svg_chart(svg_path, "SFT training loss (assistant tokens)", "optimiser step", "cross-entropy (nats)",
                      s, 2, true, err);
out:
    free(x);
    free(y);
    free(ema);
    dl_csv_free(&c);
    free(data);
    return rc;
}
