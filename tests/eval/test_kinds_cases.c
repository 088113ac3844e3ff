/* Runs the end-to-end case files of this branch's evals
 * (tests/eval/cases/<eval>.json) through load / grade / metrics of their
 * kinds, the way the runner's harness does after integration: the model's
 * reply is the first "replies" entry whose substring occurs in the last user
 * message, the judge's the first "judge_replies" entry whose substring
 * occurs in the judge prompt. Every metric of the case must come out exactly
 * (1e-9). This checks the hand-computed figures of the case files before the
 * runner exists. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "eval/eval.h"
#include "eval/eval_int.h"

static const dl_eval_kind *const MY_KINDS[] = {&dl_kind_jailbreak,  &dl_kind_simpleqa,
                                               &dl_kind_truthfulqa, &dl_kind_halueval,
                                               &dl_kind_bbq,        &dl_kind_crows_pairs,
                                               &dl_kind_style};

/* The reply of the first [substring, reply] pair whose substring occurs in text, or NULL. */
static const char *match(const json_t *pairs, const char *text) {
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p) {
        const char *sub = json_string_value(json_array_get(p, 0));
        if (sub && strstr(text, sub)) return json_string_value(json_array_get(p, 1));
    }
    return NULL;
}

/* Grades one sample with the case's judge: a first call with a placeholder
 * judge reveals the judge prompt, the second uses the matching reply. */
static json_t *grade_one(const dl_eval_def *d, const dl_eval_kind *k, const dl_eval_sample *s,
                         const char *response, const json_t *judge_replies) {
    dl_error err = {0};
    json_t *v = NULL;
    if (!judge_replies) {
        dl_grade_ctx ctx = {0};
        if (k->grade(d, s, response, &ctx, &v, &err) != 0) print_message("%s: %s\n", s->key, err.msg);
        assert_non_null(v);
        return v;
    }
    const char *probe = !strcmp(d->kind, "jailbreak") ? "1.b 1\n2.b 1\n3.b 1" : "A";
    dl_scripted_opts o = {.replies = &probe, .n_replies = 1};
    dl_backend *j = dl_backend_scripted_new(&o);
    dl_grade_ctx ctx = {.judge = j};
    assert_int_equal(k->grade(d, s, response, &ctx, &v, &err), 0);
    json_decref(v);
    const char *reply = match(judge_replies, dl_backend_scripted_last_prompt(j));
    dl_backend_free(j);
    if (!reply) print_message("%s: no judge reply matches\n", s->key);
    assert_non_null(reply);
    o.replies = &reply;
    j = dl_backend_scripted_new(&o);
    ctx.judge = j;
    v = NULL;
    if (k->grade(d, s, response, &ctx, &v, &err) != 0) print_message("%s: %s\n", s->key, err.msg);
    assert_non_null(v);
    dl_backend_free(j);
    return v;
}

static void run_case(const char *name) {
    /* the kinds must be linked in (the registry's references are weak) */
    for (size_t i = 0; i < DL_ARRAY_LEN(MY_KINDS); i++)
        assert_ptr_equal(dl_eval_kind_find(MY_KINDS[i]->name), MY_KINDS[i]);
    char path[512];
    snprintf(path, sizeof path, "tests/eval/cases/%s.json", name);
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (!c) print_message("%s: %s\n", path, je.text);
    assert_non_null(c);
    dl_eval_def d;
    dl_error err = {0};
    int rc = dl_eval_def_find(dl_json_str(c, "eval"), &d, &err);
    if (rc != 0) print_message("%s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(d.name, name);
    const dl_eval_kind *k = dl_eval_kind_find(d.kind);
    assert_non_null(k);
    dl_eval_samples s = {0};
    assert_int_equal(k->load(&d, dl_json_str(c, "data_dir"), 42, &s, &err), 0);
    assert_true(s.n > 0);
    json_t **grades = calloc(s.n, sizeof *grades);
    dl_eval_graded *g = calloc(s.n, sizeof *g);
    for (size_t i = 0; i < s.n; i++) {
        const char *last = s.v[i].msgs[s.v[i].n_msgs - 1].content;
        const char *resp = match(json_object_get(c, "replies"), last);
        if (!resp) print_message("%s: %s: no reply matches\n", name, s.v[i].key);
        assert_non_null(resp);
        grades[i] = grade_one(&d, k, &s.v[i], resp, json_object_get(c, "judge_replies"));
        g[i] = (dl_eval_graded){.sample = &s.v[i], .response = resp, .grade = grades[i]};
    }
    dl_metric *m;
    size_t nm;
    assert_int_equal(k->metrics(&d, g, s.n, &m, &nm, &err), 0);
    const char *mname;
    json_t *want;
    int bad = 0;
    json_object_foreach(json_object_get(c, "metrics"), mname, want) {
        const dl_metric *got = NULL;
        for (size_t i = 0; i < nm; i++)
            if (!strcmp(m[i].name, mname)) got = &m[i];
        if (!got || fabs(got->value - json_number_value(want)) > 1e-9) {
            print_message("%s: %s = %.17g, expected %.17g\n", name, mname, got ? got->value : NAN,
                          json_number_value(want));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    bool has_primary = false;
    for (size_t i = 0; i < nm; i++) has_primary |= !strcmp(m[i].name, d.primary);
    assert_true(has_primary);
    free(m);
    for (size_t i = 0; i < s.n; i++) json_decref(grades[i]);
    free(grades);
    free(g);
    dl_eval_samples_free(&s);
    dl_eval_def_free(&d);
    json_decref(c);
}

#define CASE(n)                                                                                    \
    static void test_case_##n(void **state) {                                                      \
        (void)state;                                                                               \
        run_case(#n);                                                                              \
    }
CASE(strongreject_gptfuzz)
CASE(strongreject_inthewild)
CASE(strongreject_jbb)
CASE(simpleqa)
CASE(truthfulqa)
CASE(halueval)
CASE(bbq)
CASE(crows_pairs)
CASE(refusal_style)

/* The option orders depend on the seed; the case files do not. */
static void test_cases_any_seed(void **state) {
    (void)state;
    static const char *const seeded[] = {"truthfulqa", "crows_pairs"};
    for (size_t i = 0; i < DL_ARRAY_LEN(seeded); i++) {
        dl_eval_def d;
        dl_error err = {0};
        assert_int_equal(dl_eval_def_find(seeded[i], &d, &err), 0);
        dl_eval_samples a = {0}, b = {0};
        assert_int_equal(dl_eval_kind_find(d.kind)->load(&d, "tests/eval/data", 1, &a, &err), 0);
        assert_int_equal(dl_eval_kind_find(d.kind)->load(&d, "tests/eval/data", 2, &b, &err), 0);
        bool differs = false;
        for (size_t j = 0; j < a.n; j++)
            differs |= strcmp(a.v[j].msgs[0].content, b.v[j].msgs[0].content) != 0;
        assert_true(differs);
        dl_eval_samples_free(&a);
        dl_eval_samples_free(&b);
        dl_eval_def_free(&d);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case_strongreject_gptfuzz),
        cmocka_unit_test(test_case_strongreject_inthewild),
        cmocka_unit_test(test_case_strongreject_jbb),
        cmocka_unit_test(test_case_simpleqa),
        cmocka_unit_test(test_case_truthfulqa),
        cmocka_unit_test(test_case_halueval),
        cmocka_unit_test(test_case_bbq),
        cmocka_unit_test(test_case_crows_pairs),
        cmocka_unit_test(test_case_refusal_style),
        cmocka_unit_test(test_cases_any_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
