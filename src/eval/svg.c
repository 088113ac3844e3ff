/* eval/svg: a small SVG chart builder for the HTML report — grouped bar
 * charts with interval whiskers and line charts with an interval band, with
 * axes, labels and a legend. Every piece of text goes through
 * dl_xml_escape. Layout is computed from estimated text widths (7 px per
 * character at the 12 px font), so the output is deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

#define FONT "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\""
#define CHAR_W 7.0
#define LABEL_MAX 32 /* characters of an axis label shown; the rest is in the tooltip */

static const char *const PALETTE[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char *const PALETTE_LIGHT[] = {"#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                            "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
                                            "#dbdb8d", "#9edae5"};

const char *dl_svg_color(size_t i, bool light) {
    i %= DL_ARRAY_LEN(PALETTE);
    return light ? PALETTE_LIGHT[i] : PALETTE[i];
}

void dl_xml_escape(dl_buf *out, const char *s) {
    if (!s) return;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int len = dl_utf8_decode(s + i, n - i, &cp);
        if (len <= 0 || (cp < 0x20 && c != '\t' && c != '\n') || cp == 0x7f ||
            cp == 0xfffe || cp == 0xffff) {
            dl_buf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD */
            i += len > 0 ? (size_t)len : 1;
            continue;
        }
        switch (c) {
        case '&': dl_buf_append(out, "&amp;", 5); break;
        case '<': dl_buf_append(out, "&lt;", 4); break;
        case '>': dl_buf_append(out, "&gt;", 4); break;
        case '"': dl_buf_append(out, "&quot;", 6); break;
        case '\'': dl_buf_append(out, "&#39;", 5); break;
        default: dl_buf_append(out, s + i, (size_t)len);
        }
        i += (size_t)len;
    }
}

/* Number of characters (code points) in s. */
static size_t text_chars(const char *s) {
    size_t k = 0;
    for (; s && *s; s++) k += ((unsigned char)*s & 0xC0) != 0x80;
    return k;
}

/* Appends s cut to max characters (with an ellipsis), escaped. */
static void text_cut(dl_buf *out, const char *s, size_t max) {
    if (text_chars(s) <= max) {
        dl_xml_escape(out, s);
        return;
    }
    size_t i = 0, k = 0;
    while (s[i] && k < max - 1) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80) i++;
        k++;
    }
    char *cut = dl_xstrndup(s, i);
    dl_xml_escape(out, cut);
    free(cut);
    dl_buf_append(out, "\xE2\x80\xA6", 3);
}

static double text_w(const char *s, size_t max) {
    size_t k = text_chars(s);
    return (double)(k < max ? k : max) * CHAR_W;
}

/* The y axis. Bars (zoom false): [0, 1] with ticks every 0.2 when every
 * value and interval lies within it, else a range around the data and 0.
 * Lines (zoom true): a range around the data only. Steps are 1, 2 or 5
 * times a power of ten. */
typedef struct yaxis {
    double y0, y1, step;
    int decimals;
    double top, height; /* pixels */
} yaxis;

static void y_range(yaxis *ax, const double *const *arrays, const size_t *lens, size_t n_arrays,
                    bool zoom) {
    double mn = INFINITY, mx = -INFINITY;
    for (size_t a = 0; a < n_arrays; a++)
        for (size_t i = 0; i < lens[a]; i++)
            if (isfinite(arrays[a][i])) {
                mn = fmin(mn, arrays[a][i]);
                mx = fmax(mx, arrays[a][i]);
            }
    bool unit = mn >= 0 && mx <= 1;
    if (!(mn <= mx) || (unit && !zoom)) {
        ax->y0 = 0;
        ax->y1 = 1;
        ax->step = 0.2;
        ax->decimals = 1;
        return;
    }
    if (!zoom) {
        mn = fmin(mn, 0);
        mx = fmax(mx, 0);
    }
    if (mx - mn < 0.02) {
        mn -= 0.05;
        mx += 0.05;
    }
    double raw = (mx - mn) / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double s = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    ax->y0 = floor(mn / s + 1e-9) * s;
    ax->y1 = ceil(mx / s - 1e-9) * s;
    if (unit) {
        ax->y0 = fmax(ax->y0, 0);
        ax->y1 = fmin(ax->y1, 1);
    }
    if (ax->y1 <= ax->y0) ax->y1 = ax->y0 + s;
    ax->step = s;
    ax->decimals = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
}

static double ypix(const yaxis *ax, double v) {
    if (v < ax->y0) v = ax->y0;
    if (v > ax->y1) v = ax->y1;
    return ax->top + ax->height * (ax->y1 - v) / (ax->y1 - ax->y0);
}

static void svg_open(dl_buf *o, const char *cls, double w, double h, const char *title) {
    dl_buf_printf(o,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart %s\" width=\"%.0f\" "
                  "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"",
                  cls, w, h, w, h);
    dl_xml_escape(o, title);
    dl_buf_printf(o, "\" " FONT ">\n<title>");
    dl_xml_escape(o, title);
    dl_buf_printf(o, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
                  w, h);
    dl_buf_printf(o, "<text class=\"chart-title\" x=\"%.1f\" y=\"20\" text-anchor=\"middle\" "
                     "font-weight=\"bold\" font-size=\"14\">",
                  w / 2);
    dl_xml_escape(o, title);
    dl_buf_printf(o, "</text>\n");
}

/* Horizontal grid lines with tick labels, the y label, and the axes. */
static void y_axis(dl_buf *o, const yaxis *ax, double left, double right, const char *label) {
    dl_buf_printf(o, "<g class=\"axis y-axis\">\n");
    int nt = (int)floor((ax->y1 - ax->y0) / ax->step + 0.5);
    for (int t = 0; t <= nt; t++) {
        double v = ax->y0 + t * ax->step, y = ypix(ax, v);
        dl_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>",
                      left, y, right, y);
        dl_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%.*f</text>\n",
                      left - 6, y + 4, ax->decimals, fabs(v) < 1e-12 ? 0.0 : v);
    }
    double bottom = ax->top + ax->height;
    dl_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                  left, ax->top, left, bottom);
    double zero = ypix(ax, ax->y0 <= 0 && ax->y1 >= 0 ? 0 : ax->y0);
    dl_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
                  left, zero, right, zero);
    if (label && *label) {
        double cy = ax->top + ax->height / 2;
        dl_buf_printf(o, "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.1f)\">",
                      cy, cy);
        text_cut(o, label, LABEL_MAX);
        dl_buf_printf(o, "</text>\n");
    }
    dl_buf_printf(o, "</g>\n");
}

/* The legend, wrapped to the chart width, from y on; returns its height. */
static double legend(dl_buf *o, const char *const *names, const char *const *colors, size_t n,
                     bool lines, double left, double width, double y) {
    double x = left, row = 0;
    dl_buf_printf(o, "<g class=\"legend\">\n");
    for (size_t i = 0; i < n; i++) {
        double w = 18 + text_w(names[i], 40) + 18;
        if (x > left && x + w > left + width) {
            x = left;
            row++;
        }
        double yy = y + row * 18;
        if (lines)
            dl_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>",
                          x, yy + 6, x + 12, yy + 6, colors[i]);
        else
            dl_buf_printf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>",
                          x, yy, colors[i]);
        dl_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\">", x + 18, yy + 10);
        text_cut(o, names[i], 40);
        dl_buf_printf(o, "</text>\n");
        x += w;
    }
    dl_buf_printf(o, "</g>\n");
    return n ? (row + 1) * 18 : 0;
}

/* Rough legend height, for sizing the SVG before drawing. */
static double legend_height(const char *const *names, size_t n, double width) {
    double x = 0, rows = n ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        double w = 18 + text_w(names[i], 40) + 18;
        if (x > 0 && x + w > width) {
            x = 0;
            rows++;
        }
        x += w;
    }
    return rows * 18;
}

static void whisker(dl_buf *o, const yaxis *ax, double x, double lo, double hi) {
    if (!isfinite(lo) || !isfinite(hi)) return;
    double y1 = ypix(ax, lo), y2 = ypix(ax, hi);
    dl_buf_printf(o,
                  "<path class=\"whisker\" d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" "
                  "stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\"/>",
                  x, y1, y2, x - 4, y1, x + 4, x - 4, y2, x + 4);
}

void dl_svg_bar_chart(dl_buf *o, const dl_svg_bars *c) {
    const double left = 64, top = 36, ph = 220, barw = 18, gap = 28;
    double content = (double)c->n_series * barw + (c->n_series > 1 ? (double)(c->n_series - 1) * 2 : 0);
    double *slot = dl_xmalloc((c->n_groups ? c->n_groups : 1) * sizeof *slot);
    double pw = 0;
    for (size_t g = 0; g < c->n_groups; g++) {
        slot[g] = fmax(content + gap, text_w(c->groups[g], LABEL_MAX) + 12);
        pw += slot[g];
    }
    double title_w = text_w(c->title, 200) * 1.2 + 40;
    double w = fmax(fmax(left + pw + 24, 400), title_w);
    double legend_y = top + ph + 36;
    double h = legend_y + legend_height(c->series, c->n_series, w - left - 16) + 10;
    yaxis ax = {.top = top, .height = ph};
    size_t nv = c->n_groups * c->n_series, lens[3] = {nv, nv, nv};
    const double *arrs[3] = {c->value, c->lo, c->hi};
    y_range(&ax, arrs, lens, 3, false);

    svg_open(o, "bar-chart", w, h, c->title);
    y_axis(o, &ax, left, w - 16, c->y_label);
    double zero = ypix(&ax, ax.y0 <= 0 && ax.y1 >= 0 ? 0 : ax.y0);
    double x = left;
    for (size_t g = 0; g < c->n_groups; g++) {
        double bx = x + (slot[g] - content) / 2;
        dl_buf_printf(o, "<g class=\"group\">\n");
        for (size_t s = 0; s < c->n_series; s++, bx += barw + 2) {
            size_t k = g * c->n_series + s;
            double v = c->value[k];
            if (!isfinite(v)) continue;
            double y = ypix(&ax, v);
            dl_buf_printf(o, "<g>");
            if (c->tips && c->tips[k]) {
                dl_buf_printf(o, "<title>");
                dl_xml_escape(o, c->tips[k]);
                dl_buf_printf(o, "</title>");
            }
            dl_buf_printf(o,
                          "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                          bx, fmin(y, zero), barw, fmax(fabs(zero - y), 0.5), c->colors[s]);
            whisker(o, &ax, bx + barw / 2, c->lo[k], c->hi[k]);
            dl_buf_printf(o, "</g>\n");
        }
        dl_buf_printf(o, "<text class=\"x-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                      x + slot[g] / 2, top + ph + 18);
        text_cut(o, c->groups[g], LABEL_MAX);
        dl_buf_printf(o, "</text>\n</g>\n");
        x += slot[g];
    }
    legend(o, c->series, c->colors, c->n_series, false, left, w - left - 16, legend_y);
    dl_buf_printf(o, "</svg>\n");
    free(slot);
}

void dl_svg_line_chart(dl_buf *o, const dl_svg_lines *c) {
    const double left = 64, top = 36, ph = 220;
    double pw = fmax(320, 90.0 * (double)c->n_ticks);
    double title_w = text_w(c->title, 200) * 1.2 + 40;
    double w = fmax(left + pw + 40, title_w);
    const char **names = dl_xmalloc((c->n_series ? c->n_series : 1) * sizeof *names);
    const char **colors = dl_xmalloc((c->n_series ? c->n_series : 1) * sizeof *colors);
    for (size_t s = 0; s < c->n_series; s++) {
        names[s] = c->series[s].name;
        colors[s] = c->series[s].color;
    }
    double legend_y = top + ph + 52;
    double h = legend_y + legend_height(names, c->n_series, w - left - 16) + 10;
    yaxis ax = {.top = top, .height = ph};
    const double **arrs = dl_xmalloc((3 * c->n_series + 1) * sizeof *arrs);
    size_t *lens = dl_xmalloc((3 * c->n_series + 1) * sizeof *lens);
    for (size_t s = 0; s < c->n_series; s++) {
        arrs[3 * s] = c->series[s].y;
        arrs[3 * s + 1] = c->series[s].lo;
        arrs[3 * s + 2] = c->series[s].hi;
        lens[3 * s] = lens[3 * s + 1] = lens[3 * s + 2] = c->series[s].n;
    }
    y_range(&ax, arrs, lens, 3 * c->n_series, true);
    double x0 = INFINITY, x1 = -INFINITY;
    for (size_t t = 0; t < c->n_ticks; t++) {
        x0 = fmin(x0, c->ticks[t]);
        x1 = fmax(x1, c->ticks[t]);
    }
    double pl = left + 30, pr = left + pw - 10; /* plot area inside the axes */
#define XPIX(v) (x1 > x0 ? pl + (pr - pl) * ((v) - x0) / (x1 - x0) : (pl + pr) / 2)

    svg_open(o, "line-chart", w, h, c->title);
    y_axis(o, &ax, left, left + pw + 10, c->y_label);
    dl_buf_printf(o, "<g class=\"axis x-axis\">\n");
    for (size_t t = 0; t < c->n_ticks; t++) {
        double x = XPIX(c->ticks[t]);
        dl_buf_printf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>",
                      x, top + ph, x, top + ph + 5);
        dl_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, top + ph + 18);
        text_cut(o, c->tick_labels[t], 16);
        dl_buf_printf(o, "</text>\n");
    }
    if (c->x_label && *c->x_label) {
        dl_buf_printf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (pl + pr) / 2,
                      top + ph + 38);
        text_cut(o, c->x_label, 60);
        dl_buf_printf(o, "</text>\n");
    }
    dl_buf_printf(o, "</g>\n");
    for (size_t s = 0; s < c->n_series; s++) {
        const dl_svg_line *L = &c->series[s];
        if (!L->n) continue;
        dl_buf_printf(o, "<g class=\"series-group\">\n");
        /* the interval band: along the upper bounds, back along the lower */
        dl_buf_printf(o, "<polygon class=\"band\" fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"",
                      L->color);
        for (size_t i = 0; i < L->n; i++)
            dl_buf_printf(o, "%.1f,%.1f ", XPIX(L->x[i]), ypix(&ax, isfinite(L->hi[i]) ? L->hi[i] : L->y[i]));
        for (size_t i = L->n; i-- > 0;)
            dl_buf_printf(o, "%.1f,%.1f ", XPIX(L->x[i]), ypix(&ax, isfinite(L->lo[i]) ? L->lo[i] : L->y[i]));
        dl_buf_printf(o, "\"/>\n<polyline class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" points=\"",
                      L->color);
        for (size_t i = 0; i < L->n; i++) dl_buf_printf(o, "%.1f,%.1f ", XPIX(L->x[i]), ypix(&ax, L->y[i]));
        dl_buf_printf(o, "\"/>\n");
        for (size_t i = 0; i < L->n; i++) {
            double x = XPIX(L->x[i]);
            dl_buf_printf(o, "<g>");
            if (L->tips && L->tips[i]) {
                dl_buf_printf(o, "<title>");
                dl_xml_escape(o, L->tips[i]);
                dl_buf_printf(o, "</title>");
            }
            whisker(o, &ax, x, L->lo[i], L->hi[i]);
            dl_buf_printf(o, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/></g>\n",
                          x, ypix(&ax, L->y[i]), L->color);
        }
        dl_buf_printf(o, "</g>\n");
    }
#undef XPIX
    legend(o, names, colors, c->n_series, true, left, w - left - 16, legend_y);
    dl_buf_printf(o, "</svg>\n");
    free(names);
    free(colors);
    free(arrs);
    free(lens);
}
