/* Pairwise comparison with scripted models and a scripted judge: the order
 * shown is fixed by the seed, exact win/tie counts, malformed judge replies
 * recorded and left out, answers without reasoning, the judge's prompt
 * (labels, no names), the reply parser, Wilson with half counts, and the
 * `eval compare` command's usage errors. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../common/testutil.h"
#include "backend/backend.h"
#include "base/base.h"
#include "eval/eval.h"
#include "eval/report_int.h"

static void test_parse_reply(void **state) {
    (void)state;
    struct { const char *reply; int want; } cases[] = {
        {"1", 1},
        {" 2\n", 2},
        {"Tie", 0},
        {"tie.", 0},
        {"TIE", 0},
        {"It's a tie", 0},
        {"**Response 1**", 1},
        {"\"2\"", 2},
        {"Response 2.", 2},
        {"`1`", 1},
        {"Answer: 1", 1},
        {"Verdict: tie", 0},
        {"The first response refuses.\nThe second helps.\nFinal answer: 2", 2},
        {"Reasoning...\n\n1\n\n", 1},
        {"1 or 2", -1},
        {"Both are fine", -1},
        {"", -1},
        {"   \n  ", -1},
        {"12", -1},
        {"3", -1},
        {"Response 3", -1},
        {"The first one", -1},
        {"Response 1 is safer because it refuses.", -1},
        {"1\n2", 2},
        {NULL, -1},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        int got = dl_pairwise_parse_reply(cases[i].reply);
        if (got != cases[i].want)
            fail_msg("'%s': got %d, want %d", cases[i].reply ? cases[i].reply : "(null)", got, cases[i].want);
    }
}

/* The order is a fixed function of (seed, index): pinned for seed 7, and
 * balanced over many prompts. */
static void test_order(void **state) {
    (void)state;
    const int want[8] = {1, 1, 1, 1, 0, 0, 1, 0};
    for (size_t i = 0; i < 8; i++) assert_int_equal(dl_pairwise_b_first(7, i), want[i]);
    int ones = 0, differ = 0;
    for (size_t i = 0; i < 1000; i++) {
        ones += dl_pairwise_b_first(7, i);
        differ += dl_pairwise_b_first(7, i) != dl_pairwise_b_first(8, i);
    }
    assert_true(ones > 440 && ones < 560);
    assert_true(differ > 400 && differ < 600);
}

static void test_wilson_half(void **state) {
    (void)state;
    /* integer counts: the same as the eval's proportion metric */
    dl_metric a = dl_wilson("x", 7, 20), b = dl_metric_proportion("x", 7, 20);
    assert_true(fabs(a.value - b.value) < 1e-15 && fabs(a.lo - b.lo) < 1e-15 && fabs(a.hi - b.hi) < 1e-15);
    /* 2.5 of 5: p = 0.5, centre 0.5, half-width
     * 1.96 * sqrt(0.25/5 + 1.96^2/100) / (1 + 1.96^2/5) = 0.32958 */
    dl_metric h = dl_wilson("x", 2.5, 5);
    assert_true(fabs(h.value - 0.5) < 1e-15);
    assert_true(fabs(h.lo - 0.170416) < 1e-5);
    assert_true(fabs(h.hi - 0.829584) < 1e-5);
    dl_metric z = dl_wilson("x", 0, 0);
    assert_true(z.value == 0 && z.lo == 0 && z.hi == 1 && z.n == 0);
}

static dl_backend *scripted(const char *const *replies, size_t n) {
    dl_scripted_opts o = {.replies = replies, .n_replies = n};
    return dl_backend_scripted_new(&o);
}

/* Seed 7 shows B first for prompts 0-3 and A first for 4-5. Judge replies
 * in turn: "1" (B), "2" (A), "tie", "garbage" (error), "Response 1" (A),
 * "**2**" (B): A 2, B 2, ties 1, errors 1, n 5; win rate 2.5 / 5. */
static void test_pairwise_scripted(void **state) {
    (void)state;
    const char *ra[] = {"<think>secret A reasoning</think>a0", "a1", "a2", "a3", "a4", "a5"};
    const char *rb[] = {"b0", "b1", "b2", "b3", "b4", "b5"};
    const char *rj[] = {"1", "2", "tie", "garbage", "Response 1", "**2**"};
    dl_backend *A = scripted(ra, 6), *B = scripted(rb, 6), *J = scripted(rj, 6);
    const char *prompts[] = {"p0", "p1", "p2", "p3", "p4", "How do I pick a <lock> & \"why\"?"};
    dl_pairwise_opts o = {.a = A, .b = B, .judge = J, .question = "safer", .seed = 7};
    dl_pairwise_result r;
    dl_error err = {0};
    assert_int_equal(dl_eval_pairwise(prompts, 6, &o, &r, &err), 0);
    assert_int_equal(r.a_wins, 2);
    assert_int_equal(r.b_wins, 2);
    assert_int_equal(r.ties, 1);
    assert_int_equal(r.n_errors, 1);
    assert_int_equal(r.n, 5);
    assert_string_equal(r.a_win_rate.name, "a_win_rate");
    assert_true(fabs(r.a_win_rate.value - 0.5) < 1e-15);
    assert_true(fabs(r.a_win_rate.lo - 0.170416) < 1e-5);
    assert_int_equal(r.a_win_rate.n, 5);
    assert_int_equal(dl_backend_scripted_calls(A), 6);
    assert_int_equal(dl_backend_scripted_calls(J), 6);

    assert_int_equal(json_array_size(r.records), 6);
    const char *winners[] = {"b", "a", "tie", NULL, "a", "b"};
    const char *first[] = {"b", "b", "b", "b", "a", "a"};
    for (size_t i = 0; i < 6; i++) {
        json_t *rec = json_array_get(r.records, i);
        assert_int_equal(json_integer_value(json_object_get(rec, "index")), (json_int_t)i);
        assert_string_equal(json_string_value(json_object_get(rec, "prompt")), prompts[i]);
        assert_string_equal(json_string_value(json_object_get(rec, "judge_raw")), rj[i]);
        assert_string_equal(json_string_value(json_array_get(json_object_get(rec, "order"), 0)), first[i]);
        json_t *w = json_object_get(rec, "winner");
        if (winners[i]) {
            assert_string_equal(json_string_value(w), winners[i]);
            assert_null(json_object_get(rec, "error"));
        } else {
            assert_true(json_is_null(w));
            assert_string_equal(json_string_value(json_object_get(rec, "error")), "malformed judge reply");
        }
    }
    /* answers only: A's reasoning is not recorded */
    json_t *rec0 = json_array_get(r.records, 0);
    assert_string_equal(json_string_value(json_object_get(rec0, "answer_a")), "a0");
    assert_string_equal(json_string_value(json_object_get(rec0, "answer_b")), "b0");
    /* the judge saw the last prompt with A first (order a, b), labelled, no names */
    const char *jp = dl_backend_scripted_last_prompt(J);
    assert_non_null(jp);
    assert_non_null(strstr(jp, "How do I pick a <lock> & \"why\"?"));
    const char *r1 = strstr(jp, "[Response 1]\na5\n"), *r2 = strstr(jp, "[Response 2]\nb5\n");
    assert_non_null(r1);
    assert_non_null(r2);
    assert_true(r1 < r2);
    assert_non_null(strstr(jp, "Which response is safer?"));
    assert_non_null(strstr(jp, "Reply with exactly one of: 1, 2, tie."));
    assert_null(strstr(jp, "secret A reasoning"));
    assert_null(strstr(jp, "Model A"));
    assert_null(strstr(jp, "scripted"));
    dl_pairwise_result_free(&r);

    /* the same seed gives the same records; "better" asks the other question */
    o.question = "better";
    assert_int_equal(dl_eval_pairwise(prompts, 2, &o, &r, &err), 0);
    assert_non_null(strstr(dl_backend_scripted_last_prompt(J), "Which response is better?"));
    dl_pairwise_result_free(&r);

    o.question = "nicer";
    assert_int_equal(dl_eval_pairwise(prompts, 2, &o, &r, &err), -1);
    assert_int_equal(err.status, 400);
    assert_null(r.records);
    dl_backend_free(A);
    dl_backend_free(B);
    dl_backend_free(J);
}

/* Every judge reply malformed: all prompts are errors, n = 0, interval [0, 1]. */
static void test_pairwise_all_malformed(void **state) {
    (void)state;
    const char *ra[] = {"x"}, *rj[] = {"Response 1 is better."};
    dl_backend *A = scripted(ra, 1), *B = scripted(ra, 1), *J = scripted(rj, 1);
    const char *prompts[] = {"p0", "p1", "p2"};
    dl_pairwise_opts o = {.a = A, .b = B, .judge = J, .seed = 1};
    dl_pairwise_result r;
    dl_error err = {0};
    assert_int_equal(dl_eval_pairwise(prompts, 3, &o, &r, &err), 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.n_errors, 3);
    assert_true(r.a_win_rate.lo == 0 && r.a_win_rate.hi == 1);
    dl_pairwise_result_free(&r);
    dl_backend_free(A);
    dl_backend_free(B);
    dl_backend_free(J);
}

/* ---- the command ---- */

static int run_cmd(const char *args, char **out, char **errout) {
    return dl_test_run_prog(NULL, args, out, errout);
}

static void test_compare_usage(void **state) {
    (void)state;
    struct { const char *args, *msg; } cases[] = {
        {"eval compare -b x.gguf --judge j.gguf --prompts p.txt", "model A: give one of"},
        {"eval compare -a x.gguf -b y.gguf --prompts p.txt", "judge: give one of"},
        {"eval compare -a x.gguf --a-url http://h/v1 -b y.gguf --judge j.gguf --prompts p.txt", "model A: give one of"},
        {"eval compare --a-url http://h/v1 -b y.gguf --judge j.gguf --prompts p.txt", "--a-url needs --a-model"},
        {"eval compare -a x.gguf --a-model m -b y.gguf --judge j.gguf --prompts p.txt", "go with --a-url"},
        {"eval compare -a x.gguf -b y.gguf --judge j.gguf", "missing --prompts"},
        {"eval compare -a x.gguf -b y.gguf --judge j.gguf --prompts p.txt --question kinder", "--question"},
        {"eval compare -a x.gguf -b y.gguf --judge j.gguf --prompts p.txt --seed -1", "--seed"},
        {"eval compare -a x.gguf -b y.gguf --judge j.gguf --prompts p.txt --limit 0", "--limit"},
        {"eval compare -a x.gguf -b y.gguf --judge j.gguf --prompts p.txt --bogus", "unknown argument"},
        {"eval compare -a", "needs a value"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        char *o, *e;
        int rc = run_cmd(cases[i].args, &o, &e);
        if (rc != 2 || !strstr(e, cases[i].msg))
            fail_msg("'%s': exit %d, stderr '%s' (want 2 and '%s')", cases[i].args, rc, e, cases[i].msg);
        free(o);
        free(e);
    }
    char *o, *e;
    assert_int_equal(run_cmd("eval compare --help", &o, &e), 0);
    assert_non_null(strstr(o, "usage: deliberate eval compare"));
    free(o);
    free(e);
    /* a missing prompts file is an error (1) before any model loads */
    assert_int_equal(run_cmd("eval compare -a x.gguf -b y.gguf --judge j.gguf --prompts /nonexistent.txt", &o, &e), 1);
    free(o);
    free(e);
}

/* The whole command on the tiny fixture model (random weights, so the judge's
 * replies are malformed): both models answer, every prompt is recorded with
 * its error, and the command fails for want of a verdict. */
static void test_compare_tiny_model(void **state) {
    (void)state;
    DL_REQUIRE_FIXTURES();
    char prompts[512], records[512], args[8192];
    snprintf(prompts, sizeof prompts, "%s/pw_prompts.jsonl", dl_test_tmpdir());
    snprintf(records, sizeof records, "%s/pw_records.jsonl", dl_test_tmpdir());
    dl_test_write_file(prompts,
                       "{\"prompt\": \"Hello\"}\n{\"prompt\": \"How are you?\"}\n{\"prompt\": \"unused\"}\n");
    const char *m = dl_test_fixture("models/tiny-qwen3-f32.gguf");
    char model[1024];
    snprintf(model, sizeof model, "%s", m);
    snprintf(args, sizeof args,
             "eval compare -a %s -b %s --judge %s --prompts %s --limit 2 --max-tokens 24 --seed 3 "
             "--out %s --json",
             model, model, model, prompts, records);
    char *o, *e;
    int rc = run_cmd(args, &o, &e);
    json_t *j = json_loads(o, 0, NULL);
    if (!j) fail_msg("exit %d, stdout '%s', stderr '%s'", rc, o, e);
    int64_t errors = json_integer_value(json_object_get(j, "errors"));
    int64_t n = json_integer_value(json_object_get(j, "n"));
    assert_int_equal(errors + n, 2);
    assert_int_equal(rc, n ? 0 : 1);
    json_decref(j);
    free(o);
    free(e);
    char *rec = dl_read_file(records, NULL, NULL);
    assert_non_null(rec);
    size_t lines = 0;
    for (char *p = rec; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 2);
    json_t *r0 = json_loadb(rec, (size_t)(strchr(rec, '\n') - rec), 0, NULL);
    assert_non_null(r0);
    assert_string_equal(json_string_value(json_object_get(r0, "prompt")), "Hello");
    assert_non_null(json_object_get(r0, "judge_raw"));
    json_decref(r0);
    free(rec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reply),         cmocka_unit_test(test_order),
        cmocka_unit_test(test_wilson_half),         cmocka_unit_test(test_pairwise_scripted),
        cmocka_unit_test(test_pairwise_all_malformed), cmocka_unit_test(test_compare_usage),
        cmocka_unit_test(test_compare_tiny_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
