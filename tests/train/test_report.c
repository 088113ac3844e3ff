/* SVG charts for the training reports: well-formed output with one point
 * per finite value, log axes skipping non-positive values, a training log
 * turned into a loss chart, errors for empty data and foreign CSVs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "train/train.h"

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* Number of "x,y " points in the first polyline. */
static int points_of_first_polyline(const char *svg) {
    const char *p = strstr(svg, "points=\"");
    if (!p) return -1;
    p += 8;
    int n = 0;
    for (; *p && *p != '"'; p++) n += *p == ',';
    return n;
}

static void test_chart(void **state) {
    (void)state;
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {4, 2, 1, 0.5, -1}, z[5] = {3, 3, 3, 3, 3};
    dl_svg_series s[2] = {{"a <b>", x, y, 5, "#123456", NULL, NULL}, {"flat", x, z, 5, "red", NULL, NULL}};
    char path[512];
    snprintf(path, sizeof path, "%s/chart.svg", dl_test_tmpdir());
    dl_error err = {0};
    assert_int_equal(dl_svg_chart(path, "T & t", "step", "loss", s, 2, false, &err), 0);
    char *svg = dl_read_file(path, NULL, &err);
    assert_non_null(svg);
    assert_int_equal(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39), 0);
    assert_non_null(strstr(svg, "T &amp; t"));
    assert_non_null(strstr(svg, "a &lt;b&gt;"));
    assert_int_equal(count(svg, "<polyline"), 2);
    assert_int_equal(points_of_first_polyline(svg), 5);
    assert_non_null(strstr(svg, "</svg>\n"));
    free(svg);
    /* log axis: the negative value is skipped */
    assert_int_equal(dl_svg_chart(path, "t", "x", "y", s, 1, true, &err), 0);
    svg = dl_read_file(path, NULL, &err);
    assert_int_equal(points_of_first_polyline(svg), 4);
    free(svg);
    dl_svg_series empty = {"e", x, y, 0, "red", NULL, NULL};
    assert_int_equal(dl_svg_chart(path, "t", "x", "y", &empty, 1, false, &err), -1);
    assert_int_equal(err.status, 400);
}

static void test_plot_log(void **state) {
    (void)state;
    char csv[512], svg[512];
    snprintf(csv, sizeof csv, "%s/log.csv", dl_test_tmpdir());
    snprintf(svg, sizeof svg, "%s/loss.svg", dl_test_tmpdir());
    FILE *f = fopen(csv, "w");
    fputs("step,lr,loss,grad_norm,elapsed_ms\n1,0.001,6.0,1,10\n2,0.002,4.0,1,20\n3,0.003,2.5,1,30\n", f);
    fclose(f);
    dl_error err = {0};
    assert_int_equal(dl_sft_plot_log(csv, svg, &err), 0);
    char *s = dl_read_file(svg, NULL, &err);
    assert_int_equal(count(s, "<polyline"), 2);
    assert_int_equal(points_of_first_polyline(s), 3);
    free(s);
    f = fopen(csv, "w");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    assert_int_equal(dl_sft_plot_log(csv, svg, &err), -1);
    assert_int_equal(err.status, 400);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_chart), cmocka_unit_test(test_plot_log)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
