/* The math kind's grading: numeric answers (GSM8K/MGSM/AIME form) and
 * LaTeX answers after normalisation (MATH-500 form), pair by pair; loading
 * (keys, gold after "####", groups, prompt) and metrics per group. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "eval/eval.h"

extern const dl_eval_kind dl_kind_math; /* declared in eval_int.h */

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* A definition in memory with the given extract/compare options. */
static void def_of(dl_eval_def *d, const char *extract, const char *compare) {
    memset(d, 0, sizeof *d);
    d->name = (char *)"m";
    d->path = (char *)"(test)";
    d->json = json_pack("{s:s,s:s}", "extract", extract, "compare", compare);
}

/* Grades response against gold; returns the verdict's "correct". */
static bool grade(const dl_eval_def *d, const char *gold, const char *response) {
    dl_eval_sample s = {0};
    s.key = (char *)"k";
    s.ref = json_pack("{s:s}", "answer", gold);
    json_t *v = NULL;
    dl_error err = {0};
    if (dl_kind_math.grade(d, &s, response, NULL, &v, &err)) fail_msg("grade: %s", err.msg);
    bool ok = json_is_true(json_object_get(v, "correct"));
    double score = json_number_value(json_object_get(v, "score"));
    assert_true(score == (ok ? 1.0 : 0.0));
    json_decref(v);
    json_decref(s.ref);
    return ok;
}

/* A response graded against a gold answer, and whether it is correct. */
typedef struct grade_case {
    const char *gold, *response;
    bool correct;
} grade_case;

/* Grades every case with the definition options extract / compare. */
static void check_cases(const char *extract, const char *compare, const grade_case *cases, size_t n) {
    dl_eval_def d;
    def_of(&d, extract, compare);
    for (size_t i = 0; i < n; i++)
        if (grade(&d, cases[i].gold, cases[i].response) != cases[i].correct)
            fail_msg("case %zu: gold %s, response '%s': want %s", i, cases[i].gold, cases[i].response,
                     cases[i].correct ? "correct" : "wrong");
    json_decref(d.json);
}

static void test_numeric(void **state) {
    static const grade_case cases[] = {
        {"18", "Answer: 18", true},
        {"18", "She makes $18.00 a day.", true},
        {"70000", "The profit is $70,000.", true},
        {"5,600", "Answer: 5600", true},
        {"3", "It takes 3 bolts, not 4.\nAnswer: 3", true},
        {"3", "Answer: 3.5", false},
        {"20", "\\boxed{20} cups", true},
        {"0.5", "Answer: 1/2", true},
        {"-4", "Answer: \u22124", true}, /* U+2212 minus */
        {"18", "I do not know.", false},
        {"18", "", false},
        {"113", "Answer: 112", false},
        {"25", "Answer: 025", true},
    };
    check_cases("number", "numeric", cases, DL_ARRAY_LEN(cases));
}

static void test_latex(void **state) {
    static const grade_case cases[] = {
        {"\\frac{14}{3}", "\\boxed{\\dfrac{14}{3}}", true},
        {"\\frac{14}{3}", "\\boxed{14/3}", true},
        {"\\frac{14}{3}", "\\boxed{4.67}", false},
        {"\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\frac{\\pi}{2})}", true},
        {"\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3,\\pi/2)}", true},
        {"\\text{Evelyn}", "\\boxed{Evelyn}", true},
        {"\\text{Evelyn}", "\\boxed{Emily}", false},
        {"90^\\circ", "\\boxed{90}", true},
        {"90^\\circ", "\\boxed{90^{\\circ}}", true},
        {"11\\sqrt2", "\\boxed{11\\sqrt{2}}", true},
        {"11\\sqrt2", "\\boxed{11 \\sqrt{2}}", true},
        {"x=5", "\\boxed{5}", true},
        {"1,-2", "\\boxed{1, -2}", true},
        {"1,-2", "\\boxed{1, 2}", false},
        {"1.25", "\\boxed{1.250}", true},
        {"\\$32", "\\boxed{32}", true},
        {"10\\%", "\\boxed{10}", true},
        {"-\\frac{\\pi}{6}", "\\boxed{-\\frac{\\pi}{6}}", true},
        {"\\frac{3\\sqrt{3}}{4}", "\\boxed{\\frac{3\\sqrt3}{4}}", true},
        {"p - q", "\\boxed{p-q}", true},
        {"\\frac{243}{625}", "The answer is \\boxed{\\tfrac{243}{625}}.", true},
        {"2220", "\\boxed{2,220}", true},
        {"(6,31,-1)", "\\boxed{\\left(6, 31, -1\\right)}", true},
        {"\\cot x", "\\boxed{\\cot x}", true},
        {"\\cot x", "\\boxed{\\tan x}", false},
    };
    check_cases("auto", "latex", cases, DL_ARRAY_LEN(cases));
}

static void test_load_and_metrics(void **state) {
    dl_eval_def d;
    dl_error err = {0};
    if (dl_eval_def_load("evals/mgsm.json", &d, &err)) fail_msg("%s", err.msg);
    dl_eval_samples s = {0};
    assert_int_equal(dl_kind_math.load(&d, "tests/eval/data", 0, &s, &err), 0);
    assert_int_equal(s.n, 12);
    assert_string_equal(s.v[0].key, "mgsm:bn:0");
    assert_string_equal(jstr(s.v[0].ref, "group"), "bn");
    assert_int_equal(s.v[0].n_msgs, 1);
    assert_int_equal(s.v[0].msgs[0].role, DL_ROLE_USER);
    assert_non_null(strstr(s.v[0].msgs[0].content, "Answer: <number>"));
    /* metrics: 2 of 3 English right, 1 of 1 German */
    json_t *g[4];
    dl_eval_graded gr[4];
    const char *ok[] = {"true", "false", "true", "true"};
    const dl_eval_sample *samp[4] = {NULL};
    for (size_t i = 0; i < s.n; i++) {
        if (!strcmp(s.v[i].key, "mgsm:en:0")) samp[0] = &s.v[i];
        if (!strcmp(s.v[i].key, "mgsm:en:1")) samp[1] = &s.v[i];
        if (!strcmp(s.v[i].key, "mgsm:de:0")) samp[2] = &s.v[i];
    }
    samp[3] = samp[0];
    for (int i = 0; i < 4; i++) {
        char buf[80];
        snprintf(buf, sizeof buf, "{\"correct\": %s, \"extracted\": \"1\"}", ok[i]);
        g[i] = json_loads(buf, 0, NULL);
        gr[i] = (dl_eval_graded){samp[i], "", g[i]};
    }
    dl_metric *m;
    size_t nm;
    assert_int_equal(dl_kind_math.metrics(&d, gr, 4, &m, &nm, &err), 0);
    assert_int_equal(nm, 4); /* accuracy, answered, accuracy_de, accuracy_en */
    assert_string_equal(m[0].name, "accuracy");
    assert_true(m[0].value == 0.75);
    assert_string_equal(m[2].name, "accuracy_de");
    assert_true(m[2].value == 1.0);
    assert_string_equal(m[3].name, "accuracy_en");
    assert_true(fabs(m[3].value - 2.0 / 3.0) < 1e-12);
    assert_int_equal(m[3].n, 3);
    free(m);
    for (int i = 0; i < 4; i++) json_decref(g[i]);
    dl_eval_samples_free(&s);

    /* GSM8K: the gold is the number after "####" */
    dl_eval_def_free(&d);
    if (dl_eval_def_load("evals/gsm8k.json", &d, &err)) fail_msg("%s", err.msg);
    assert_int_equal(dl_kind_math.load(&d, "tests/eval/data", 0, &s, &err), 0);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.v[2].key, "gsm8k:2");
    assert_string_equal(jstr(s.v[2].ref, "answer"), "70000");
    dl_eval_samples_free(&s);
    assert_int_equal(dl_kind_math.load(&d, "tests/eval/nowhere", 0, &s, &err), -1);
    assert_int_equal(err.status, 404);
    dl_eval_samples_free(&s);
    dl_eval_def_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_latex),
        cmocka_unit_test(test_load_and_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
