/* Reports: the interval of a difference of proportions against Newcombe's
 * published figures, XML escaping, the report document built from the
 * fixture results (charts, the points they plot, comparisons), escaping of
 * hostile names in the HTML, self-containment, malformed results. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "base/base.h"
#include "eval/eval.h"
#include "eval/report_int.h"

#define SAMPLE "tests/eval/data/results_sample.json"

static json_t *load_sample(void) {
    json_error_t je;
    json_t *j = json_load_file(SAMPLE, 0, &je);
    if (!j) fail_msg("%s: %s", SAMPLE, je.text);
    return j;
}

static size_t count(const char *hay, const char *needle) {
    size_t k = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) k++;
    return k;
}

/* Newcombe (1998), "Interval estimation for the difference between
 * independent proportions", Table II, method 10: 56/70 - 48/80 has
 * 0.0524 to 0.3339; 9/10 - 3/10 has 0.1705 to 0.8090. */
static void test_newcombe(void **state) {
    (void)state;
    struct { int k1, n1, k2, n2; double d, lo, hi; } cases[] = {
        {56, 70, 48, 80, 0.2, 0.0524, 0.3339},
        {9, 10, 3, 10, 0.6, 0.1705, 0.8090},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        /* b - a with b = the first proportion */
        dl_metric b = dl_metric_proportion("p", cases[i].k1, cases[i].n1);
        dl_metric a = dl_metric_proportion("p", cases[i].k2, cases[i].n2);
        double d, lo, hi;
        dl_diff_interval(&a, &b, &d, &lo, &hi);
        assert_true(fabs(d - cases[i].d) < 1e-12);
        assert_true(fabs(lo - cases[i].lo) < 5e-5);
        assert_true(fabs(hi - cases[i].hi) < 5e-5);
        /* swapping the sides mirrors the interval */
        double d2, lo2, hi2;
        dl_diff_interval(&b, &a, &d2, &lo2, &hi2);
        assert_true(fabs(d2 + d) < 1e-12 && fabs(lo2 + hi) < 1e-12 && fabs(hi2 + lo) < 1e-12);
    }
    /* no interval on either side: the difference's interval is the point */
    dl_metric x = {.value = 0.5, .lo = 0.5, .hi = 0.5}, y = {.value = 0.7, .lo = 0.7, .hi = 0.7};
    double d, lo, hi;
    dl_diff_interval(&x, &y, &d, &lo, &hi);
    assert_true(fabs(lo - 0.2) < 1e-12 && fabs(hi - 0.2) < 1e-12);
}

static char *escaped(const char *s) {
    dl_buf b = {0};
    dl_xml_escape(&b, s);
    dl_buf_append(&b, "", 1);
    return b.data;
}

static void test_xml_escape(void **state) {
    (void)state;
    char *e = escaped("a<b>&\"c'd");
    assert_string_equal(e, "a&lt;b&gt;&amp;&quot;c&#39;d");
    free(e);
    e = escaped("caf\xC3\xA9 \xE2\x80\x94 ok\ttab\nline");
    assert_string_equal(e, "caf\xC3\xA9 \xE2\x80\x94 ok\ttab\nline");
    free(e);
    /* invalid UTF-8, a lone continuation byte, control characters -> U+FFFD */
    e = escaped("x\xFFy\x80z\x01w\x7F");
    assert_string_equal(e, "x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBDw\xEF\xBF\xBD");
    free(e);
    e = escaped("&amp;");
    assert_string_equal(e, "&amp;amp;");
    free(e);
}

static const json_t *chart(const json_t *rep, const char *type, const char *key, const char *val) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(rep, "charts"), i, c) {
        if (!strcmp(json_string_value(json_object_get(c, "type")), type) &&
            !strcmp(json_string_value(json_object_get(c, key)), val))
            return c;
    }
    return NULL;
}

static const json_t *series(const json_t *ch, const char *model, const char *mit) {
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(ch, "series"), i, s) {
        if (!strcmp(json_string_value(json_object_get(s, "model")), model) &&
            !strcmp(json_string_value(json_object_get(s, "mitigation")), mit))
            return s;
    }
    return NULL;
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void test_report_document(void **state) {
    (void)state;
    json_t *res = load_sample();
    dl_error err = {0};
    json_t *rep = dl_report_build(res, NULL, NULL, &err);
    assert_non_null(rep);
    assert_string_equal(str(rep, "title"), "Evaluation report");
    assert_int_equal(json_array_size(json_object_get(rep, "runs")), 29);
    /* table order: category, eval, model, pre before post */
    const json_t *r0 = json_array_get(json_object_get(rep, "runs"), 0);
    assert_string_equal(str(r0, "eval"), "advbench");
    assert_string_equal(str(r0, "model"), "alpha-7b");
    assert_string_equal(str(r0, "mitigation"), "pre");
    assert_string_equal(str(r0, "date"), "2025-11-23 13:03");

    /* 5 categories -> 5 bar charts; gsm8k has an effort and an n curve */
    assert_int_equal(json_array_size(json_object_get(rep, "charts")), 7);
    const json_t *dis = chart(rep, "bar", "category", "disallowed");
    assert_non_null(dis);
    assert_int_equal(json_array_size(json_object_get(dis, "groups")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(dis, "groups"), 0)), "advbench");
    assert_int_equal(json_array_size(json_object_get(dis, "series")), 4);
    const json_t *s = series(dis, "alpha-7b", "pre");
    assert_string_equal(str(s, "name"), "alpha-7b (pre-mitigation)");
    assert_string_equal(str(s, "color"), "#aec7e8"); /* light tint: the model has post runs */
    assert_string_equal(str(series(dis, "alpha-7b", "post"), "color"), "#1f77b4");
    const json_t *bar = json_array_get(json_object_get(s, "values"), 0);
    assert_true(fabs(num(bar, "value") - 430.0 / 520) < 1e-6);
    assert_string_equal(str(bar, "run"), "run_005");

    /* jailbreak: beta-8b has no post run -> 3 series */
    assert_int_equal(json_array_size(json_object_get(chart(rep, "bar", "category", "jailbreak"), "series")), 3);
    /* reasoning bars: the setting both series share with the latest run = (high, 1);
     * beta's newer incomplete run (run_029) is passed over for the complete run_028 */
    const json_t *rsn = chart(rep, "bar", "category", "reasoning");
    bar = json_array_get(json_object_get(series(rsn, "alpha-7b", "pre"), "values"), 0);
    assert_string_equal(str(bar, "run"), "run_021");
    bar = json_array_get(json_object_get(series(rsn, "beta-8b", "pre"), "values"), 0);
    assert_string_equal(str(bar, "run"), "run_028");
    assert_true(fabs(num(bar, "value") - 0.63) < 1e-6);

    /* effort curve: ticks none..high; alpha at n=1: none, low, medium, high */
    const json_t *ec = chart(rep, "line", "x", "effort");
    assert_non_null(ec);
    assert_string_equal(str(ec, "eval"), "gsm8k");
    assert_int_equal(json_array_size(json_object_get(ec, "ticks")), 5);
    assert_string_equal(json_string_value(json_array_get(json_object_get(ec, "tick_labels"), 4)), "high");
    const json_t *pts = json_object_get(series(ec, "alpha-7b", "pre"), "points");
    assert_int_equal(json_array_size(pts), 4);
    const double want_e[] = {0.402, 0.52, 0.601, 0.655};
    const int want_x[] = {0, 2, 3, 4};
    for (size_t i = 0; i < 4; i++) {
        assert_true(fabs(num(json_array_get(pts, i), "value") - want_e[i]) < 1e-6);
        assert_int_equal((int)num(json_array_get(pts, i), "x"), want_x[i]);
    }
    assert_string_equal(str(series(ec, "alpha-7b", "pre"), "name"), "alpha-7b (pre-mitigation), n=1");
    pts = json_object_get(series(ec, "beta-8b", "pre"), "points");
    assert_int_equal(json_array_size(pts), 3);
    assert_string_equal(str(json_array_get(pts, 2), "run"), "run_028");

    /* n curve: alpha at effort medium, n = 1, 2, 4, 8, 16 at x = log2 n */
    const json_t *nc = chart(rep, "line", "x", "n");
    assert_non_null(nc);
    pts = json_object_get(series(nc, "alpha-7b", "pre"), "points");
    assert_int_equal(json_array_size(pts), 5);
    const double want_n[] = {0.601, 0.615, 0.64, 0.662, 0.671};
    for (size_t i = 0; i < 5; i++) {
        assert_true(fabs(num(json_array_get(pts, i), "x") - (double)i) < 1e-12);
        assert_true(fabs(num(json_array_get(pts, i), "value") - want_n[i]) < 1e-6);
    }
    assert_string_equal(str(json_array_get(pts, 4), "x_label"), "16");
    assert_string_equal(json_string_value(json_array_get(json_object_get(nc, "tick_labels"), 4)), "16");
    /* beta: one n per effort, so the highest effort, one point */
    assert_string_equal(str(series(nc, "beta-8b", "pre"), "name"), "beta-8b (pre-mitigation), effort high");

    /* comparisons: 9 between the two models, 4 + 3 pre/post */
    const json_t *cmp = json_object_get(rep, "comparisons");
    assert_int_equal(json_array_size(cmp), 16);
    size_t models = 0, mits = 0;
    size_t i;
    json_t *c;
    const json_t *gsm = NULL, *adv = NULL, *xs = NULL;
    json_array_foreach(cmp, i, c) {
        if (!strcmp(str(c, "what"), "models")) {
            models++;
            assert_string_equal(str(json_object_get(c, "a"), "model"), "alpha-7b");
            assert_string_equal(str(json_object_get(c, "b"), "model"), "beta-8b");
            if (!strcmp(str(c, "eval"), "gsm8k")) gsm = c;
            if (!strcmp(str(c, "eval"), "advbench") && !strcmp(str(json_object_get(c, "a"), "mitigation"), "pre"))
                adv = c;
        } else {
            mits++;
            assert_string_equal(str(json_object_get(c, "a"), "mitigation"), "pre");
            assert_string_equal(str(json_object_get(c, "b"), "mitigation"), "post");
            if (!strcmp(str(c, "eval"), "xstest_safe") &&
                !strcmp(str(json_object_get(c, "a"), "model"), "alpha-7b"))
                xs = c;
        }
        assert_string_equal(str(c, "method"), "newcombe");
    }
    assert_int_equal(models, 9);
    assert_int_equal(mits, 7);
    /* gsm8k: the most recent pair at the same settings is (high, 1) */
    assert_non_null(gsm);
    assert_string_equal(str(json_object_get(gsm, "a"), "run"), "run_021");
    assert_string_equal(str(json_object_get(gsm, "b"), "run"), "run_028");
    assert_true(json_is_true(json_object_get(gsm, "same_settings")));
    assert_true(fabs(num(gsm, "difference") - (0.63 - 0.655)) < 1e-9);
    /* advbench pre: 401/520 - 430/520, from the runs' Wilson intervals */
    dl_metric ma = dl_metric_proportion("x", 430, 520), mb = dl_metric_proportion("x", 401, 520);
    double d, lo, hi;
    dl_diff_interval(&ma, &mb, &d, &lo, &hi);
    assert_true(fabs(num(adv, "difference") - d) < 1e-6);
    assert_true(fabs(num(adv, "lo") - lo) < 1e-5);
    assert_true(fabs(num(adv, "hi") - hi) < 1e-5);
    assert_true(hi < 0 && json_is_true(json_object_get(adv, "significant")));
    /* alpha's over-refusal got worse after mitigation: 221/250 - 236/250 */
    assert_true(fabs(num(xs, "difference") - (221.0 - 236.0) / 250) < 1e-6);
    assert_true(json_is_true(json_object_get(xs, "significant")));
    json_decref(rep);
    json_decref(res);
}

/* A results document with one run per (model, mitigation, eval). */
static json_t *doc_with(const char *model, const char *eval, const char *category) {
    json_t *m = json_pack("{s:{s:f, s:f, s:f, s:i}}", "acc", "value", 0.5, "lo", 0.4, "hi", 0.6, "n", 100);
    json_t *run = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:i, s:o}", "id", "r<1>",
                            "eval", eval, "category", category, "primary", "acc", "model", model,
                            "mitigation", "pre", "effort", "low", "n", 1, "complete", 1, "created_at",
                            1700000000, "metrics", m);
    json_t *run2 = json_deep_copy(run);
    json_object_set_new(run2, "effort", json_string("high"));
    json_object_set_new(run2, "created_at", json_integer(1700000100));
    return json_pack("{s:[o, o]}", "runs", run, run2);
}

static void test_html_escaping(void **state) {
    (void)state;
    const char *model = "evil<script>alert(1)</script>&\"q\"'", *eval = "e<v>&l";
    json_t *res = doc_with(model, eval, "cat\"<>");
    char html[512], js[512];
    snprintf(html, sizeof html, "%s/esc.html", dl_test_tmpdir());
    snprintf(js, sizeof js, "%s/esc.json", dl_test_tmpdir());
    dl_error err = {0};
    assert_int_equal(dl_eval_report_write(res, "T<i>tle & \"x\"", html, js, &err), 0);
    char *h = dl_read_file(html, NULL, &err);
    assert_non_null(h);
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "<v>"));
    assert_null(strstr(h, "<i>"));
    assert_null(strstr(h, "cat\""));
    assert_non_null(strstr(h, "evil&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;q&quot;&#39;"));
    assert_non_null(strstr(h, "e&lt;v&gt;&amp;l"));
    assert_non_null(strstr(h, "<title>T&lt;i&gt;tle &amp; &quot;x&quot;</title>"));
    /* the escaped name is in the SVG legend and in the tooltips */
    assert_true(count(h, "evil&lt;script&gt;") >= 4);
    /* an effort curve (two efforts) and a bar chart */
    assert_int_equal(count(h, "class=\"chart bar-chart\""), 1);
    assert_int_equal(count(h, "class=\"chart line-chart\""), 1);
    free(h);
    /* the JSON keeps the names as they are */
    json_error_t je;
    json_t *rep = json_load_file(js, 0, &je);
    assert_non_null(rep);
    assert_string_equal(str(json_array_get(json_object_get(rep, "runs"), 0), "model"), model);
    json_decref(rep);
    json_decref(res);
}

static void test_html_self_contained(void **state) {
    (void)state;
    json_t *res = load_sample();
    char html[512], js[512];
    snprintf(html, sizeof html, "%s/sample.html", dl_test_tmpdir());
    snprintf(js, sizeof js, "%s/sample.json", dl_test_tmpdir());
    dl_error err = {0};
    assert_int_equal(dl_eval_report_write_scorecard(res, "Sample", "evals/scorecards/default.json", html, js, &err), 0);
    char *h = dl_read_file(html, NULL, &err);
    assert_non_null(h);
    assert_int_equal(strncmp(h, "<!DOCTYPE html>", 15), 0);
    assert_int_equal(count(h, "class=\"chart bar-chart\""), 5);
    assert_int_equal(count(h, "class=\"chart line-chart\""), 2);
    assert_int_equal(count(h, "<svg "), 7);
    assert_int_equal(count(h, "</svg>"), 7);
    /* bars: 2+2 groups of 4 in disallowed, 3 jailbreak, 2 hallucination, 4 overrefusal, 2 reasoning */
    assert_int_equal(count(h, "<rect class=\"bar\""), 8 + 3 + 2 + 4 + 2);
    assert_int_equal(count(h, "class=\"band\""), 4);
    /* no external resources: the only URL is the SVG namespace */
    assert_int_equal(count(h, "http"), count(h, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_null(strstr(h, "<script"));
    assert_null(strstr(h, "<link"));
    assert_null(strstr(h, "src="));
    assert_null(strstr(h, "nan"));
    assert_null(strstr(h, "inf\""));
    /* scorecard of both models, comparisons, incomplete run marked */
    assert_non_null(strstr(h, "id=\"scorecard\""));
    assert_int_equal(count(h, "<table class=\"scorecard\">"), 2);
    assert_non_null(strstr(h, "id=\"comparisons\""));
    assert_non_null(strstr(h, "180 (incomplete)"));
    assert_non_null(strstr(h, "<td class=\"risk-High\">High</td>")); /* alpha harmbench pre 0.80 */
    free(h);
    json_error_t je;
    json_t *rep = json_load_file(js, 0, &je);
    assert_non_null(rep);
    json_t *sc = json_object_get(rep, "scorecard");
    assert_int_equal(json_array_size(sc), 2);
    assert_string_equal(str(json_array_get(sc, 0), "model"), "alpha-7b");
    json_t *rows = json_object_get(json_array_get(sc, 0), "rows");
    assert_int_equal(json_array_size(rows), 8);
    assert_string_equal(str(json_array_get(rows, 0), "category"), "disallowed");
    assert_string_equal(str(json_array_get(rows, 0), "pre"), "High");
    assert_string_equal(str(json_array_get(rows, 0), "post"), "Low");
    assert_int_equal(json_array_size(json_object_get(rep, "comparisons")), 16);
    assert_int_equal(json_array_size(json_object_get(rep, "charts")), 7);
    json_decref(rep);
    json_decref(res);
}

static void test_empty_and_malformed(void **state) {
    (void)state;
    dl_error err = {0};
    json_t *empty = json_pack("{s:[]}", "runs");
    json_t *rep = dl_report_build(empty, "x", NULL, &err);
    assert_non_null(rep);
    char *h = dl_report_html(rep);
    assert_non_null(strstr(h, "The results hold no runs."));
    assert_null(strstr(h, "<svg"));
    free(h);
    json_decref(rep);
    json_decref(empty);

    struct { const char *doc, *msg; } bad[] = {
        {"[]", "expected a JSON object with a \"runs\" array"},
        {"{\"runs\": {}}", "expected a JSON object with a \"runs\" array"},
        {"{\"runs\": [1]}", "runs[0] must be an object"},
        {"{\"runs\": [{\"model\": \"m\"}]}", "runs[0] has no \"eval\""},
        {"{\"runs\": [{\"eval\": \"e\"}]}", "runs[0] has no \"model\""},
        {"{\"runs\": [{\"eval\": \"e\", \"model\": \"m\", \"mitigation\": \"during\"}]}",
         "runs[0].mitigation must be \"pre\" or \"post\""},
        {"{\"runs\": [{\"eval\": \"e\", \"model\": 3}]}", "runs[0].model must be a string"},
        {"{\"runs\": [{\"eval\": \"e\", \"model\": \"m\", \"n\": \"4\"}]}", "runs[0].n must be an integer"},
        {"{\"runs\": [{\"eval\": \"e\", \"model\": \"m\", \"complete\": 1}]}", "runs[0].complete must be true or false"},
        {"{\"runs\": [{\"eval\": \"e\", \"model\": \"m\", \"metrics\": {\"a\": 0.5}}]}", "runs[0].metrics.a must be"},
        {"{\"runs\": [{\"eval\": \"e\", \"model\": \"m\", \"effort\": 9}]}", "runs[0].effort 9 is not a level"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        json_t *d = json_loads(bad[i].doc, JSON_DECODE_ANY, NULL);
        assert_non_null(d);
        dl_error e = {0};
        assert_null(dl_report_build(d, NULL, NULL, &e));
        assert_int_equal(e.status, 400);
        if (!strstr(e.msg, bad[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].msg);
        json_decref(d);
    }
    /* an unwritable path is a 500 naming it */
    json_t *res = load_sample();
    dl_error e = {0};
    assert_int_equal(dl_eval_report_write(res, NULL, "/nonexistent-dir/r.html", NULL, &e), -1);
    assert_int_equal(e.status, 500);
    assert_non_null(strstr(e.msg, "/nonexistent-dir/r.html"));
    json_decref(res);
}

/* Values outside [0, 1] get an axis around the data and 0; numbers print
 * with a '.' and the chart is deterministic. */
static void test_svg_axes(void **state) {
    (void)state;
    const char *groups[] = {"g1", "g2"}, *ser[] = {"s<1>"}, *col[] = {"#123456"};
    double v[] = {-3.5, 12.25}, lo[] = {-4, 11}, hi[] = {-3, 13.5};
    dl_svg_bars c = {.title = "t", .y_label = "y", .groups = groups, .n_groups = 2, .series = ser,
                     .colors = col, .n_series = 1, .value = v, .lo = lo, .hi = hi};
    dl_buf a = {0}, b = {0};
    dl_svg_bar_chart(&a, &c);
    dl_svg_bar_chart(&b, &c);
    dl_buf_append(&a, "", 1);
    dl_buf_append(&b, "", 1);
    assert_string_equal(a.data, b.data);
    /* range -5..15 with steps of 5 */
    assert_non_null(strstr(a.data, ">-5</text>"));
    assert_non_null(strstr(a.data, ">15</text>"));
    assert_non_null(strstr(a.data, ">0</text>"));
    assert_non_null(strstr(a.data, "s&lt;1&gt;"));
    assert_int_equal(count(a.data, "class=\"whisker\""), 2);
    assert_null(strstr(a.data, "nan"));
    dl_buf_free(&a);
    dl_buf_free(&b);
    /* a missing bar (NAN) draws nothing */
    double v2[] = {NAN, 0.5}, lo2[] = {NAN, 0.4}, hi2[] = {NAN, 0.6};
    c.value = v2;
    c.lo = lo2;
    c.hi = hi2;
    dl_svg_bar_chart(&a, &c);
    dl_buf_append(&a, "", 1);
    assert_int_equal(count(a.data, "<rect class=\"bar\""), 1);
    assert_non_null(strstr(a.data, ">0.2</text>"));
    dl_buf_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_newcombe),           cmocka_unit_test(test_xml_escape),
        cmocka_unit_test(test_report_document),    cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_html_self_contained), cmocka_unit_test(test_empty_and_malformed),
        cmocka_unit_test(test_svg_axes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
