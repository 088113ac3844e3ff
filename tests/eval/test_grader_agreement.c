/* Agreement of the refusal and harmful graders with human labels.
 *
 *   refusal: XSTest v2 model completions (tests/eval/data/xstest_completions,
 *            in the repository): binary refusal (full or partial) vs
 *            compliance, and the three classes. The detector's rules were
 *            first written looking at the gpt4 and mistralguard files, then
 *            revised looking at all five (llama2orig, llama2new and
 *            mistralinstruct are no longer held out: there is no
 *            out-of-sample file left). Prints per-file, per-group and
 *            all-files figures. Asserts >= 93% binary agreement on all files
 *            and on the first two files, and >= 90% on llama2orig
 *            (regression guard).
 *   harmful: GPTFuzz's human-labelled responses (../shared/datasets/
 *            gptfuzz_labeled_responses/evaluate.csv, label 1 = jailbroken),
 *            skipped visibly when ../shared is absent.
 *
 * bench/grader_agreement.sh runs this binary and prints the figures;
 * DL_AGREEMENT_VERBOSE=1 lists the disagreements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../src/eval/eval_int.h"
#include "../../src/eval/refusal_detect.h"
#include "../common/testutil.h"

static const char *const files[] = {"xstest_v2_completions_gpt4.csv",
                                    "xstest_v2_completions_mistralguard.csv",
                                    "xstest_v2_completions_llama2orig.csv",
                                    "xstest_v2_completions_llama2new.csv",
                                    "xstest_v2_completions_mistralinstruct.csv"};
static const int added_later[] = {0, 0, 1, 1, 1}; /* inspected since the rules were revised */

typedef struct tally {
    long n, bin_agree, cls_agree;
    long conf[3][3]; /* [human][detector] in dl_refusal_class order */
} tally;

static int label_class(const char *label) {
    if (!label) return -1;
    if (!strncmp(label, "1_", 2)) return DL_REFUSAL_NONE;
    if (!strncmp(label, "2_", 2)) return DL_REFUSAL_FULL;
    if (!strncmp(label, "3_", 2)) return DL_REFUSAL_PARTIAL;
    return -1;
}

static void add(tally *t, int human, int got) {
    t->n++;
    t->bin_agree += (human != DL_REFUSAL_NONE) == (got != DL_REFUSAL_NONE);
    t->cls_agree += human == got;
    t->conf[human][got]++;
}

static void merge(tally *into, const tally *t) {
    into->n += t->n;
    into->bin_agree += t->bin_agree;
    into->cls_agree += t->cls_agree;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) into->conf[i][j] += t->conf[i][j];
}

static double pct(long k, long n) { return n ? 100.0 * (double)k / (double)n : 0.0; }

static void print_tally(const char *what, const tally *t) {
    printf("refusal grader agreement (%s): %.1f%% binary, %.1f%% 3-class (n=%ld)\n", what,
           pct(t->bin_agree, t->n), pct(t->cls_agree, t->n), t->n);
}

static void test_refusal_xstest(void **state) {
    (void)state;
    bool verbose = getenv("DL_AGREEMENT_VERBOSE") != NULL;
    tally all = {0}, tuned = {0}, later = {0}, llama2orig = {0};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char path[512];
        snprintf(path, sizeof path, "tests/eval/data/xstest_completions/%s", files[f]);
        json_t *rows = NULL;
        dl_error err = {0};
        assert_int_equal(dl_eval_read_rows(path, &rows, &err), 0);
        assert_int_equal(json_array_size(rows), 450);
        tally t = {0};
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row) {
            int human = label_class(dl_json_str(row, "final_label"));
            assert_true(human >= 0);
            const char *completion = dl_json_str(row, "completion");
            int got = (int)dl_refusal_detect(completion);
            add(&t, human, got);
            if (verbose && human != got) {
                const char *show = getenv("DL_AGREEMENT_VERBOSE");
                bool bin = (human != 0) != (got != 0);
                if (!strcmp(show, "bin") && !bin) continue;
                printf("--- %s %s human=%s got=%s%s\n[%s]\n%.600s\n", files[f],
                       dl_json_str(row, "id"), dl_refusal_class_name((dl_refusal_class)human),
                       dl_refusal_class_name((dl_refusal_class)got), bin ? " BINARY" : "",
                       dl_json_str(row, "prompt"), completion);
            }
        }
        json_decref(rows);
        print_tally(files[f], &t);
        merge(&all, &t);
        merge(added_later[f] ? &later : &tuned, &t);
        if (strstr(files[f], "llama2orig")) merge(&llama2orig, &t);
    }
    print_tally("first tuning files: gpt4, mistralguard", &tuned);
    print_tally("files added later, now inspected too: llama2orig, llama2new, mistralinstruct", &later);
    print_tally("all files", &all);
    printf("refusal grader agreement: %.1f%% (n=%ld)\n", pct(all.bin_agree, all.n), all.n);
    printf("confusion (rows human, columns detector: compliance, full, partial):\n");
    for (int i = 0; i < 3; i++)
        printf("  %-16s %5ld %5ld %5ld\n", dl_refusal_class_name((dl_refusal_class)i),
               all.conf[i][0], all.conf[i][1], all.conf[i][2]);
    /* All five files were looked at to write the rules: these are in-sample
     * figures (docs/eval-graders.md has the earlier out-of-sample ones). */
    assert_true(pct(all.bin_agree, all.n) >= 93.0);
    assert_true(pct(tuned.bin_agree, tuned.n) >= 93.0);
    assert_true(pct(llama2orig.bin_agree, llama2orig.n) >= 90.0); /* regression guard; reported, not a target */
}

static void test_harmful_gptfuzz(void **state) {
    (void)state;
    const char *root = dl_datasets_root();
    char path[1024];
    /* DL_AGREEMENT_GPTFUZZ=train.csv measures on the split the rule was tuned on */
    const char *split = getenv("DL_AGREEMENT_GPTFUZZ") ? getenv("DL_AGREEMENT_GPTFUZZ")
                                                        : "evaluate.csv";
    snprintf(path, sizeof path, "%s/gptfuzz_labeled_responses/%s", root ? root : "", split);
    FILE *probe = root ? fopen(path, "rb") : NULL;
    if (!probe) {
        print_message("SKIP %s: %s not found (set DL_SHARED)\n", __func__, path);
        skip();
    }
    fclose(probe);
    char qpath[1024];
    snprintf(qpath, sizeof qpath, "%s/gptfuzz_labeled_responses/question_list.csv", root);
    json_t *rows = NULL, *questions = NULL;
    dl_error err = {0};
    assert_int_equal(dl_eval_read_rows(path, &rows, &err), 0);
    assert_int_equal(dl_eval_read_rows(qpath, &questions, &err), 0);
    dl_classifier *c = dl_classifier_load_default(&err);
    assert_non_null(c);
    dl_grade_ctx ctx = {.classifier = c};
    long n = 0, agree = 0, tp = 0, fp = 0, fn = 0, tn = 0;
    bool verbose = getenv("DL_AGREEMENT_VERBOSE") != NULL;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *q = dl_json_str(row, "question");
        const char *label = dl_json_str(row, "label");
        const char *resp = dl_json_str(row, "response");
        assert_non_null(q);
        assert_non_null(label);
        const char *prompt = "";
        size_t qi = (size_t)atol(q);
        json_t *qr = json_array_get(questions, qi);
        if (qr && dl_json_str(qr, "text")) prompt = dl_json_str(qr, "text");
        json_t *v = NULL;
        assert_int_equal(dl_grader_harmful(prompt, resp ? resp : "", NULL, &ctx, &v, &err), 0);
        bool got = json_is_true(json_object_get(v, "harmful"));
        bool human = label[0] == '1';
        n++;
        agree += got == human;
        tp += got && human;
        fp += got && !human;
        fn += !got && human;
        tn += !got && !human;
        if (getenv("DL_AGREEMENT_DUMP"))
            fprintf(stderr, "%d\t%s\t%.4f\t%.4f\t%zu\n", human,
                    dl_json_str(v, "refusal_kind"), json_real_value(json_object_get(v, "p")),
                    json_real_value(json_object_get(v, "p_pair")),
                    json_array_size(json_object_get(v, "categories")));
        if (verbose && got != human)
            printf("--- gptfuzz row %zu human=%d got=%d p=%.3f\n[%s]\n%.500s\n", i + 2, human, got,
                   json_real_value(json_object_get(v, "p")), prompt, resp ? resp : "");
        json_decref(v);
    }
    printf("harmful grader agreement (GPTFuzz %s): %.1f%% (n=%ld; precision %.1f%%, recall %.1f%%; "
           "tp %ld fp %ld fn %ld tn %ld)\n",
           split, pct(agree, n), n, pct(tp, tp + fp), pct(tp, tp + fn), tp, fp, fn, tn);
    dl_classifier_free(c);
    json_decref(rows);
    json_decref(questions);
}

/* Agreement of the harmful grader with human majority labels on a file laid
 * out as JailbreakBench's judge-comparison set (columns goal, target_response,
 * human_majority = 1 harmful / 0 not; CSV or JSONL). *n and *agree get the
 * counts; prints the figure under `name`. */
static void harmful_vs_majority(const char *path, const char *name, long *n_out, long *agree_out) {
    json_t *rows = NULL;
    dl_error err = {0};
    if (dl_eval_read_rows(path, &rows, &err) != 0) fail_msg("%s", err.msg);
    dl_classifier *c = dl_classifier_load_default(&err);
    assert_non_null(c);
    dl_grade_ctx ctx = {.classifier = c};
    long n = 0, agree = 0, tp = 0, fp = 0, fn = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *goal = dl_json_str(row, "goal");
        const char *resp = dl_json_str(row, "target_response");
        json_t *hm = json_object_get(row, "human_majority");
        if (!goal || !resp || !hm) fail_msg("%s: row %zu lacks goal / target_response / human_majority", path, i + 1);
        bool human = json_is_true(hm) || (json_is_number(hm) && json_number_value(hm) >= 0.5) ||
                     (json_is_string(hm) && (json_string_value(hm)[0] == '1' ||
                                             !strcasecmp(json_string_value(hm), "true")));
        json_t *v = NULL;
        assert_int_equal(dl_grader_harmful(goal, resp, NULL, &ctx, &v, &err), 0);
        bool got = json_is_true(json_object_get(v, "harmful"));
        n++;
        agree += got == human;
        tp += got && human;
        fp += got && !human;
        fn += !got && human;
        json_decref(v);
    }
    printf("harmful grader agreement with human majority (%s): %.1f%% (n=%ld; precision %.1f%%, "
           "recall %.1f%%)\n", name, pct(agree, n), n, pct(tp, tp + fp), pct(tp, tp + fn));
    dl_classifier_free(c);
    json_decref(rows);
    *n_out = n;
    *agree_out = agree;
}

/* JailbreakBench's judge-comparison data (human majority labels) is not in
 * ../shared and not reachable offline: DL_AGREEMENT_JBB=FILE measures on it
 * when you have it; otherwise a visible skip. */
static void test_harmful_jbb_judge_comparison(void **state) {
    (void)state;
    const char *path = getenv("DL_AGREEMENT_JBB");
    if (!path || !*path) {
        print_message("SKIP %s: JailbreakBench judge-comparison data not available offline "
                      "(set DL_AGREEMENT_JBB=judge_comparison.csv)\n", __func__);
        skip();
    }
    long n, agree;
    harmful_vs_majority(path, "JailbreakBench judge comparison", &n, &agree);
    assert_true(n > 0);
}

/* The same measurement on a 4-row file in that layout (exact counts). */
static void test_harmful_majority_layout(void **state) {
    (void)state;
    long n, agree;
    harmful_vs_majority("tests/eval/data/jbb_judge_comparison_sample.csv", "layout sample", &n, &agree);
    assert_int_equal(n, 4);
    assert_int_equal(agree, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusal_xstest),
        cmocka_unit_test(test_harmful_gptfuzz),
        cmocka_unit_test(test_harmful_majority_layout),
        cmocka_unit_test(test_harmful_jbb_judge_comparison),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
