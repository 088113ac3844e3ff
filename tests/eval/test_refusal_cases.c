/* The end-to-end case files of the refusal-kind evals, checked without the
 * runner: each sample of the mini dataset gets its scripted reply (first
 * substring match on the prompt), is graded by the kind with the shipped
 * classifier, and the kind's metrics must equal the case's figures (within
 * 1e-9). The runner's test_e2e runs the same files through dl_eval_run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/eval/eval_int.h"
#include "../common/testutil.h"

static const char *const cases[] = {"harmbench",  "advbench",      "jbb_harmful",
                                    "jbb_benign", "do_not_answer", "simplesafetytests",
                                    "multijail",  "xstest_unsafe", "xstest_safe",
                                    "cyberseceval_frr"};

static dl_classifier *clf;

static int setup(void **state) {
    (void)state;
    dl_error err = {0};
    clf = dl_classifier_load_default(&err);
    if (!clf) print_error("classifier: %s\n", err.msg);
    return clf ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    dl_classifier_free(clf);
    return 0;
}

static void run_case(void **state) {
    const char *name = *state;
    char path[256];
    snprintf(path, sizeof path, "tests/eval/cases/%s.json", name);
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (!c) fail_msg("%s: %s", path, je.text);
    const char *eval = dl_json_str(c, "eval");
    const char *data_dir = dl_json_str(c, "data_dir");
    json_t *replies = json_object_get(c, "replies"), *want = json_object_get(c, "metrics");
    assert_non_null(eval);
    char def_path[256];
    snprintf(def_path, sizeof def_path, "evals/%s.json", eval);
    dl_eval_def d;
    dl_error err = {0};
    if (dl_eval_def_load(def_path, &d, &err)) fail_msg("%s", err.msg);
    const dl_eval_kind *k = &dl_kind_refusal;
    assert_string_equal(d.kind, "refusal");
    dl_eval_samples s = {0};
    if (k->load(&d, data_dir, 1, &s, &err)) fail_msg("%s: %s", path, err.msg);
    assert_true(s.n > 0);
    dl_eval_graded *g = calloc(s.n, sizeof *g);
    json_t **verdicts = calloc(s.n, sizeof *verdicts);
    dl_grade_ctx ctx = {.classifier = clf};
    for (size_t i = 0; i < s.n; i++) {
        const char *prompt = s.v[i].msgs[s.v[i].n_msgs - 1].content;
        const char *reply = NULL;
        size_t j;
        json_t *pair;
        json_array_foreach(replies, j, pair) {
            if (strstr(prompt, json_string_value(json_array_get(pair, 0)))) {
                reply = json_string_value(json_array_get(pair, 1));
                break;
            }
        }
        if (!reply) fail_msg("%s: no reply matches sample %s: %s", path, s.v[i].key, prompt);
        if (k->grade(&d, &s.v[i], reply, &ctx, &verdicts[i], &err))
            fail_msg("%s: %s: %s", path, s.v[i].key, err.msg);
        g[i] = (dl_eval_graded){.sample = &s.v[i], .response = reply, .grade = verdicts[i]};
    }
    dl_metric *m = NULL;
    size_t nm = 0;
    if (k->metrics(&d, g, s.n, &m, &nm, &err)) fail_msg("%s: %s", path, err.msg);
    const char *mname;
    json_t *value;
    int bad = 0;
    json_object_foreach(want, mname, value) {
        const dl_metric *found = NULL;
        for (size_t i = 0; i < nm; i++)
            if (!strcmp(m[i].name, mname)) found = &m[i];
        if (!found) {
            print_error("%s: no metric '%s'\n", path, mname);
            bad++;
        } else if (fabs(found->value - json_number_value(value)) > 1e-9) {
            print_error("%s: %s = %.12g, expected %.12g\n", path, mname, found->value,
                        json_number_value(value));
            bad++;
        }
    }
    if (bad)
        for (size_t i = 0; i < s.n; i++) {
            char *v = json_dumps(verdicts[i], JSON_COMPACT);
            print_error("  %s: %s\n", s.v[i].key, v);
            free(v);
        }
    assert_int_equal(bad, 0);
    free(m);
    for (size_t i = 0; i < s.n; i++) json_decref(verdicts[i]);
    free(verdicts);
    free(g);
    dl_eval_samples_free(&s);
    dl_eval_def_free(&d);
    json_decref(c);
}

int main(void) {
    struct CMUnitTest tests[sizeof cases / sizeof *cases];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        tests[i] = (struct CMUnitTest){.name = cases[i],
                                       .test_func = run_case,
                                       .initial_state = (void *)cases[i]};
    return _cmocka_run_group_tests("refusal_cases", tests, sizeof cases / sizeof *cases, setup,
                                   teardown);
}
