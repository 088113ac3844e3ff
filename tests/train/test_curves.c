/* Test-time compute measurement: Wilson intervals, and the curves measured
 * through the reasoning controller on a miniature trained model, written
 * as JSON, SVG and HTML. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/testutil.h"
#include "train/train_int.h"

static void test_wilson(void **state) {
    (void)state;
    double lo, hi;
    dl_wilson95(19, 20, &lo, &hi);
    assert_float_equal(lo, 0.763864, 1e-6);
    assert_float_equal(hi, 0.991119, 1e-6);
    dl_wilson95(0, 10, &lo, &hi);
    assert_float_equal(lo, 0.0, 1e-12);
    assert_float_equal(hi, 0.277540, 1e-6);
    dl_wilson95(50, 100, &lo, &hi);
    assert_float_equal(lo, 0.403830, 1e-6);
    assert_float_equal(hi, 0.596170, 1e-6);
    dl_wilson95(0, 0, &lo, &hi);
    assert_true(lo == 0.0 && hi == 1.0);
}

static char g_dir[512];

static const char *model_path(void) {
    static char path[1024];
    if (g_dir[0]) return path;
    snprintf(g_dir, sizeof g_dir, "%s/curves_test_sft", dl_test_tmpdir());
    dl_sft_params p = dl_sft_default_params();
    p.out_dir = g_dir;
    p.steps = 150;
    p.threads = 1;
    p.n_samples = 500;
    p.n_valid = 8;
    p.min_level = p.max_level = 1;
    p.task_mask = 1u << DL_TASK_ADD | 1u << DL_TASK_COMPARE;
    dl_sft_result res;
    dl_error err = {0};
    if (dl_sft_run(&p, &res, &err)) fail_msg("sft: %s", err.msg);
    snprintf(path, sizeof path, "%s", res.model_path);
    return path;
}

static void check_point(const dl_ttc_point *pt, int n) {
    assert_int_equal(pt->n, n);
    assert_true(pt->correct >= 0 && pt->correct <= n);
    assert_float_equal(pt->acc, (double)pt->correct / n, 1e-12);
    double lo, hi;
    dl_wilson95(pt->correct, n, &lo, &hi);
    assert_float_equal(pt->lo, lo, 1e-12);
    assert_float_equal(pt->hi, hi, 1e-12);
    assert_int_equal(pt->task_n[DL_TASK_ADD] + pt->task_n[DL_TASK_COMPARE], n);
}

static void test_measure(void **state) {
    (void)state;
    dl_ttc_params p = dl_ttc_default_params();
    /* the default difficulty is that of train sft / rl / eval and the shipped model */
    assert_int_equal(p.level, 1);
    assert_int_equal(p.max_level, 2);
    p.model_path = model_path();
    p.task_mask = 1u << DL_TASK_ADD | 1u << DL_TASK_COMPARE;
    p.n_per_task = 3;
    p.threads = 1, p.batch = 1; /* one problem at a time */
    p.max_tokens = 128;
    p.budgets = "low=4,medium=12,high=200";
    p.votes[0] = 1, p.votes[1] = 3, p.votes[2] = 5;
    dl_ttc_result r;
    dl_error err = {0};
    char *show1 = NULL;
    size_t show1_len = 0;
    FILE *sf = open_memstream(&show1, &show1_len);
    assert_int_equal(dl_ttc_measure(&p, &r, sf, &err), 0);
    fclose(sf);
    const double want_x[4] = {0, 4, 12, 200};
    const char *want_label[4] = {"none", "low", "medium", "high"};
    for (int e = 0; e < 4; e++) {
        check_point(&r.effort[e], 6);
        assert_string_equal(r.effort[e].label, want_label[e]);
        assert_true(r.effort[e].x == want_x[e]);
    }
    /* the budget is enforced: none thinks not at all, low at most 4 tokens
     * (the forced close is not reasoning), medium at most 12 */
    assert_true(r.effort[0].mean_reasoning_tokens == 0.0);
    assert_true(r.effort[1].mean_reasoning_tokens > 0.0 && r.effort[1].mean_reasoning_tokens <= 4.0);
    assert_true(r.effort[2].mean_reasoning_tokens <= 12.0);
    assert_true(r.effort[3].mean_reasoning_tokens > r.effort[2].mean_reasoning_tokens);
    assert_int_equal(r.n_votes, 3);
    for (int v = 0; v < 3; v++) {
        check_point(&r.vote[v], 6);
        assert_true(r.vote[v].x == p.votes[v]);
    }
    assert_string_equal(r.vote[1].label, "n=3");
    assert_int_equal(r.n_problems, 6);
    assert_true(r.n_distinct >= 2 && r.n_distinct <= 6); /* at least one per task */

    /* problems measured at once give the same figures, problem by problem
     * (samples included), as one at a time: three engines; and two engines
     * whose three slots each share decode passes (an F32 model's logits do
     * not depend on what else is in the pass) */
    const int shapes[2][2] = {{3, 1}, {2, 3}};
    for (int sh = 0; sh < 2; sh++) {
        p.threads = shapes[sh][0], p.batch = shapes[sh][1];
        dl_ttc_result t3;
        char *show = NULL;
        size_t show_len = 0;
        sf = open_memstream(&show, &show_len);
        assert_int_equal(dl_ttc_measure(&p, &t3, sf, &err), 0);
        fclose(sf);
        assert_string_equal(show, show1); /* every reply's answer, in problem order */
        free(show);
        for (int e = 0; e < 4; e++) {
            assert_memory_equal(t3.effort[e].outcomes.data, r.effort[e].outcomes.data, 6);
            assert_float_equal(t3.effort[e].mean_reasoning_tokens, r.effort[e].mean_reasoning_tokens, 1e-9);
        }
        for (int v = 0; v < 3; v++) {
            assert_memory_equal(t3.vote[v].outcomes.data, r.vote[v].outcomes.data, 6);
            assert_float_equal(t3.vote[v].mean_reasoning_tokens, r.vote[v].mean_reasoning_tokens, 1e-9);
        }
        dl_ttc_result_free(&t3);
    }
    free(show1);
    dl_ttc_result t3;
    /* a model the workers cannot open is an error that names it */
    const char *good = p.model_path;
    p.model_path = "/nonexistent/model.gguf";
    assert_int_equal(dl_ttc_measure(&p, &t3, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/model.gguf"));
    p.model_path = good;
    p.threads = 1, p.batch = 1;

    /* greedy "samples" are all the same reply: every vote equals effort high */
    p.temperature = 0.0f;
    dl_ttc_result g;
    assert_int_equal(dl_ttc_measure(&p, &g, NULL, &err), 0);
    for (int v = 0; v < 3; v++) assert_int_equal(g.vote[v].correct, g.effort[3].correct);
    for (int e = 0; e < 4; e++) assert_int_equal(g.effort[e].correct, r.effort[e].correct); /* greedy: same */
    /* per-problem outcomes, in order: as many as problems, '1' as often as correct,
     * and the greedy votes right and wrong on exactly the problems effort high was */
    for (int e = 0; e < 4; e++) {
        assert_int_equal(r.effort[e].outcomes.len, 6);
        int ones = 0;
        for (size_t i = 0; i < r.effort[e].outcomes.len; i++) ones += r.effort[e].outcomes.data[i] == '1';
        assert_int_equal(ones, r.effort[e].correct);
        assert_memory_equal(g.effort[e].outcomes.data, r.effort[e].outcomes.data, 6);
    }
    for (int v = 0; v < 3; v++) assert_memory_equal(g.vote[v].outcomes.data, g.effort[3].outcomes.data, 6);
    dl_ttc_result_free(&g);

    /* the report */
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/curves_test_out", dl_test_tmpdir());
    mkdir(dir, 0755);
    char extra[700];
    snprintf(extra, sizeof extra, "%s/extra.svg", dir);
    FILE *f = fopen(extra, "w");
    assert_non_null(f);
    fputs("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>training marker</text></svg>\n", f);
    fclose(f);
    p.embed[0] = extra;
    p.n_embed = 1;
    assert_int_equal(dl_ttc_write(&p, &r, dir, &err), 0);
    snprintf(path, sizeof path, "%s/curves.json", dir);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    json_t *ea = json_object_get(j, "effort"), *va = json_object_get(j, "votes");
    assert_int_equal(json_array_size(ea), 4);
    assert_int_equal(json_array_size(va), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ea, 2), "label")), "medium");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(va, 2), "correct")), r.vote[2].correct);
    assert_float_equal(json_real_value(json_object_get(json_array_get(ea, 3), "hi")), r.effort[3].hi, 1e-12);
    const char *oc = json_string_value(json_object_get(json_array_get(ea, 1), "outcomes"));
    assert_non_null(oc);
    assert_int_equal(strlen(oc), 6);
    assert_memory_equal(oc, r.effort[1].outcomes.data, 6);
    /* the settings of the vote samples are on record */
    assert_string_equal(json_string_value(json_object_get(j, "split")), "test");
    assert_int_equal(json_integer_value(json_object_get(j, "problems")), 6);
    assert_int_equal(json_integer_value(json_object_get(j, "distinct_problems")), r.n_distinct);
    assert_int_equal(json_integer_value(json_object_get(j, "top_k")), 0);
    assert_float_equal(json_real_value(json_object_get(j, "top_p")), 1.0, 1e-9);
    assert_float_equal(json_real_value(json_object_get(j, "min_p")), 0.0, 1e-9);
    json_decref(j);
    const char *files[] = {"budget.svg", "votes.svg", "curves.html"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        char *s = dl_read_file(path, NULL, NULL);
        assert_non_null(s);
        assert_non_null(strstr(s, "<svg"));
        assert_non_null(strstr(s, "<circle")); /* points with error bars */
        if (i == 2) {
            assert_non_null(strstr(s, "<td>medium</td><td>12</td>"));
            const char *tr = strstr(s, "<h2>Training</h2>"), *mk = strstr(s, "training marker");
            assert_non_null(tr);
            assert_non_null(mk);
            assert_true(mk > tr && mk < strstr(s, "<h2>Thinking budget</h2>"));
        }
        free(s);
    }
    /* a missing chart is an error */
    p.embed[0] = "/nonexistent/chart.svg";
    assert_int_equal(dl_ttc_write(&p, &r, dir, &err), -1);
    dl_ttc_result_free(&r);
    /* bad vote counts */
    p.votes[1] = 1;
    assert_int_equal(dl_ttc_measure(&p, &r, NULL, &err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_measure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
