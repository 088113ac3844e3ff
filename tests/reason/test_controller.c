/* The reasoning controller over the scripted backend: effort -> budget at
 * every level, the continuation cue at high effort, majority vote and its
 * tie-break, best-of-n, summaries and who may see raw reasoning, usage. */
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "reason/reason.h"

static const dl_chat_msg question[] = {{DL_ROLE_USER, "What is 2 + 2?", NULL, NULL}};

static dl_backend *scripted(const char *const *replies, size_t n, const double *lps)
{
    dl_scripted_opts so = {replies, n, lps, 10, NULL, NULL, NULL};
    return dl_backend_scripted_new(&so);
}

static void run_ok(dl_backend *b, const dl_reason_params *p, const dl_reason_sink *sink,
                   dl_reason_result *r)
{
    dl_gen_params g = dl_gen_default_params();
    g.sampling.seed = 100;
    dl_error err = {0};
    if (dl_reason_run(b, question, 1, &g, p, sink, r, &err) != 0) fail_msg("reason: %s", err.msg);
}

static void test_effort_budgets(void **state)
{
    const char *replies[] = {"<think>w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12 w13 w14 w15 w16 w17 "
                             "w18 w19 w20 w21 w22 w23 w24 w25</think>\\boxed{7}"};
    dl_effort_budgets bu = {{0, 2, 4, 8, 16}};
    for (int e = 0; e < DL_EFFORT__COUNT; e++) {
        dl_backend *b = scripted(replies, 1, NULL);
        dl_reason_params p = dl_reason_default_params();
        p.effort = (dl_effort)e;
        p.budgets = bu;
        p.summary = DL_SUMMARY_OFF;
        dl_reason_result r;
        run_ok(b, &p, NULL, &r);
        assert_int_equal(r.budget, bu.budget[e]);
        assert_true(r.usage.reasoning_tokens <= bu.budget[e]);
        assert_int_equal(r.usage.reasoning_tokens, bu.budget[e]); /* the reply is longer than every budget */
        assert_string_equal(r.answer, "\\boxed{7}");
        assert_string_equal(r.extracted, "7");
        assert_null(r.reasoning); /* not asked for */
        assert_int_equal(r.usage.prompt_tokens, 10);
        dl_reason_result_free(&r);
        dl_backend_free(b);
    }
}

static void test_high_effort_cue(void **state)
{
    const char *replies[] = {"<think>a b</think>X"};
    dl_backend *b = scripted(replies, 1, NULL);
    dl_reason_params p = dl_reason_default_params();
    p.effort = DL_EFFORT_HIGH;
    p.budgets.budget[DL_EFFORT_HIGH] = 40;
    p.min_share = 0.5f; /* stopping before 20 reasoning tokens is too early */
    p.continue_cue = "\nWait";
    p.max_continuations = 2;
    p.summary = DL_SUMMARY_OFF;
    p.want_reasoning = p.allow_reasoning = true;
    dl_reason_result r;
    run_ok(b, &p, NULL, &r);
    assert_string_equal(r.reasoning, "a b\nWaita b\nWaita b");
    assert_string_equal(r.answer, "X");
    dl_reason_result_free(&r);
    /* below high effort the model may stop when it likes */
    p.effort = DL_EFFORT_MEDIUM;
    run_ok(b, &p, NULL, &r);
    assert_string_equal(r.reasoning, "a b");
    dl_reason_result_free(&r);
    dl_backend_free(b);
    /* a model whose GGUF says it was never taught to go on after a cue
     * (deliberate.reasoning.budget.continue = 0) is not cued at high effort */
    static const struct dl_scripted_hint hints[] = {{"continue", 0}, {NULL, 0}};
    dl_scripted_opts so = {replies, 1, NULL, 10, NULL, NULL, hints};
    b = dl_backend_scripted_new(&so);
    p.effort = DL_EFFORT_HIGH;
    run_ok(b, &p, NULL, &r);
    assert_string_equal(r.reasoning, "a b");
    assert_string_equal(r.answer, "X");
    dl_reason_result_free(&r);
    dl_backend_free(b);
}

typedef struct seen {
    dl_buf answer;
    int answer_calls;
    int progress_calls;
    int max_sample;
} seen;

static bool s_answer(void *ud, const char *t, size_t n)
{
    seen *s = ud;
    s->answer_calls++;
    dl_buf_append(&s->answer, t, n);
    return true;
}

static bool s_progress(void *ud, int sample, dl_channel ch, int32_t n_reasoning)
{
    seen *s = ud;
    s->progress_calls++;
    if (sample > s->max_sample) s->max_sample = sample;
    return true;
}

static void test_majority_vote(void **state)
{
    const char *replies[] = {"<think>a</think>\\boxed{4}", "<think>b</think>The answer is 5",
                             "<think>c</think>\\boxed{4}", "<think>d</think>5",
                             "<think>e</think>So it is \\boxed{4}"};
    const double lps[] = {-1.0, -0.5, -0.8, -0.2, -0.9};
    dl_backend *b = scripted(replies, 5, lps);
    dl_reason_params p = dl_reason_default_params();
    p.n = 5;
    p.summary = DL_SUMMARY_OFF;
    seen s = {0};
    dl_reason_sink sink = {s_progress, s_answer, NULL, NULL, &s};
    dl_reason_result r;
    run_ok(b, &p, &sink, &r);
    assert_int_equal(r.n_samples, 5);
    assert_string_equal(r.extracted, "4");
    assert_int_equal(r.votes, 3);
    assert_int_equal(r.chosen, 2); /* the most likely of the three "4" samples */
    assert_string_equal(r.answer, "\\boxed{4}");
    assert_string_equal(r.samples[1].extracted, "5");
    /* with n > 1 the chosen answer is passed on once, after the vote */
    assert_int_equal(s.answer_calls, 1);
    assert_string_equal(s.answer.data, "\\boxed{4}");
    assert_int_equal(s.max_sample, 4);
    /* usage is summed over the samples: each has 2 reasoning tokens */
    assert_int_equal(r.usage.reasoning_tokens, 10);
    assert_int_equal(r.usage.prompt_tokens, 50);
    dl_reason_result_free(&r);
    dl_buf_free(&s.answer);
    dl_backend_free(b);
}

static void test_vote_tie_break(void **state)
{
    const char *replies[] = {"4", "5", "4", "5"};
    const double lps[] = {-1.0, -0.3, -0.9, -2.0};
    dl_backend *b = scripted(replies, 4, lps);
    dl_reason_params p = dl_reason_default_params();
    p.n = 4;
    p.summary = DL_SUMMARY_OFF;
    dl_reason_result r;
    run_ok(b, &p, NULL, &r);
    /* 2 votes each; the best "5" (-0.3) beats the best "4" (-0.9) */
    assert_string_equal(r.extracted, "5");
    assert_int_equal(r.chosen, 1);
    assert_int_equal(r.votes, 2);
    dl_reason_result_free(&r);
    dl_backend_free(b);
}

static void test_best_of_n(void **state)
{
    const char *replies[] = {"11", "12", "12", "13"};
    const double lps[] = {-0.1, -3.0, -2.0, -0.2};
    dl_backend *b = scripted(replies, 4, lps);
    dl_reason_params p = dl_reason_default_params();
    p.n = 4;
    p.summary = DL_SUMMARY_OFF;
    p.strategy = DL_STRATEGY_BEST_OF_N;
    const char *expected = "12";
    p.verifier = dl_verify_exact;
    p.verifier_ud = &expected;
    dl_reason_result r;
    run_ok(b, &p, NULL, &r);
    assert_int_equal(r.chosen, 2); /* verified, and the likelier of the two */
    dl_reason_result_free(&r);
    /* without a verifier: the most likely sample */
    p.verifier = NULL;
    run_ok(b, &p, NULL, &r);
    assert_int_equal(r.chosen, 0);
    dl_reason_result_free(&r);
    dl_backend_free(b);
}

/* A model whose GGUF says it writes no summaries: an extract of its
 * reasoning, no second call. */
static void test_summary_extract(void **state)
{
    (void)state;
    static const struct dl_scripted_hint hints[] = {{"summary", 0}, {NULL, 0}};
    const char *replies[] = {"<think>\n48 + 76, by columns:\n8 + 6 = 14\n4 + 7 + 1 = 12\n124\n</think>\n\n124"};
    dl_scripted_opts so = {replies, 1, NULL, 10, NULL, NULL, hints};
    dl_backend *b = dl_backend_scripted_new(&so);
    dl_reason_params p = dl_reason_default_params();
    dl_reason_result r;
    run_ok(b, &p, NULL, &r);
    assert_string_equal(r.answer, "124");
    assert_string_equal(r.summary, "48 + 76, by columns: ... 124 (4 steps)");
    assert_int_equal(dl_backend_scripted_calls(b), 1);
    assert_int_equal(r.summary_usage.completion_tokens, 0);
    dl_reason_result_free(&r);
    dl_backend_free(b);
}

static void test_summary_flow(void **state)
{
    const char *replies[] = {"<think>I add 2 and 2 to get 4.</think>4",
                             "<think>not used</think>\n  They added the two numbers.  \n"};
    dl_backend *b = scripted(replies, 2, NULL);
    dl_reason_params p = dl_reason_default_params();
    p.summary = DL_SUMMARY_CONCISE;
    seen s = {0};
    dl_reason_sink sink = {s_progress, s_answer, NULL, NULL, &s};
    dl_reason_result r;
    run_ok(b, &p, &sink, &r);
    assert_string_equal(r.answer, "4");
    assert_string_equal(s.answer.data, "4"); /* streamed, n == 1 */
    assert_string_equal(r.summary, "They added the two numbers.");
    assert_null(r.reasoning);
    assert_int_equal(dl_backend_scripted_calls(b), 2);
    /* the summariser saw the reasoning, with thinking off */
    const char *sp = dl_backend_scripted_last_prompt(b);
    assert_non_null(strstr(sp, "I add 2 and 2 to get 4."));
    assert_non_null(strstr(sp, "one or two sentences"));
    assert_non_null(strstr(sp, "<think>\n\n</think>"));
    assert_true(r.summary_usage.completion_tokens > 0);
    assert_int_equal(r.summary_usage.reasoning_tokens, 0);
    /* the sample's usage does not include the summary's */
    assert_int_equal(r.usage.completion_tokens, 1 + 9 + 1);
    dl_reason_result_free(&r);

    /* raw reasoning only when asked for AND allowed */
    dl_backend_free(b);
    b = scripted(replies, 1, NULL);
    p.summary = DL_SUMMARY_OFF;
    p.want_reasoning = true;
    p.allow_reasoning = false;
    run_ok(b, &p, NULL, &r);
    assert_null(r.reasoning);
    dl_reason_result_free(&r);
    p.allow_reasoning = true;
    run_ok(b, &p, NULL, &r);
    assert_string_equal(r.reasoning, "I add 2 and 2 to get 4.");
    dl_reason_result_free(&r);
    /* no reasoning, no summary call */
    size_t calls = dl_backend_scripted_calls(b);
    p.effort = DL_EFFORT_NONE;
    p.summary = DL_SUMMARY_AUTO;
    run_ok(b, &p, NULL, &r);
    assert_null(r.summary);
    assert_int_equal(dl_backend_scripted_calls(b), calls + 1);
    dl_reason_result_free(&r);
    dl_buf_free(&s.answer);
    dl_backend_free(b);
}

static void test_errors(void **state)
{
    const char *replies[] = {"x"};
    dl_backend *b = scripted(replies, 1, NULL);
    dl_reason_params p = dl_reason_default_params();
    dl_gen_params g = dl_gen_default_params();
    dl_reason_result r;
    dl_error err = {0};
    p.n = 0;
    assert_int_equal(dl_reason_run(b, question, 1, &g, &p, NULL, &r, &err), -1);
    assert_int_equal(err.status, 400);
    p.n = 1;
    p.budgets.budget[DL_EFFORT_LOW] = -5;
    p.effort = DL_EFFORT_LOW;
    assert_int_equal(dl_reason_run(b, question, 1, &g, &p, NULL, &r, &err), -1);
    assert_int_equal(err.status, 400);
    p = dl_reason_default_params();
    assert_int_equal(dl_reason_run(b, question, 0, &g, &p, NULL, &r, &err), -1);
    assert_int_equal(err.status, 400);
    dl_backend_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_effort_budgets),  cmocka_unit_test(test_high_effort_cue),
        cmocka_unit_test(test_majority_vote),   cmocka_unit_test(test_vote_tie_break),
        cmocka_unit_test(test_best_of_n),       cmocka_unit_test(test_summary_flow),
        cmocka_unit_test(test_summary_extract),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
