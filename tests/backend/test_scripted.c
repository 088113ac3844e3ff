/* The generation loop through the scripted backend: channels, usage, budget
 * forcing, continuation cues, stop strings, max_tokens, cancelling,
 * streaming order. The scripted backend splits replies at spaces, with
 * "<think>" and "</think>" as tokens of their own. */
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "backend/backend.h"

typedef struct capture {
    dl_buf reasoning, answer;
    int switches;         /* reasoning -> answer transitions seen */
    dl_channel last;
    bool any;
    int cancel_after;     /* > 0: cancel after that many on_token calls */
    int tokens;
    int32_t max_reasoning_seen;
} capture;

static bool cap_text(void *ud, dl_channel ch, const char *t, size_t n)
{
    capture *c = ud;
    if (c->any && c->last != ch) c->switches++;
    c->last = ch;
    c->any = true;
    dl_buf_append(ch == DL_CHANNEL_REASONING ? &c->reasoning : &c->answer, t, n);
    return true;
}

static bool cap_token(void *ud, dl_channel ch, int32_t n_reasoning, int32_t n_completion)
{
    capture *c = ud;
    c->tokens++;
    if (n_reasoning > c->max_reasoning_seen) c->max_reasoning_seen = n_reasoning;
    return !(c->cancel_after > 0 && c->tokens >= c->cancel_after);
}

static void cap_free(capture *c)
{
    dl_buf_free(&c->reasoning);
    dl_buf_free(&c->answer);
}

static const char *text_of(const dl_buf *b) { return b->len ? b->data : ""; }

/* Runs one request against a one-reply scripted backend. */
static void run1(const char *reply, const dl_gen_params *g, capture *c, dl_chat_result *r)
{
    const char *replies[] = {reply};
    dl_scripted_opts so = {replies, 1, NULL, 7, NULL, NULL, NULL};
    dl_backend *b = dl_backend_scripted_new(&so);
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "What is 2 + 2?", NULL, NULL}};
    dl_chat_request req = {msgs, 1, *g};
    dl_chat_sink sink = {cap_text, cap_token, c};
    dl_error err = {0};
    int rc = dl_backend_chat(b, &req, &sink, r, &err);
    if (rc != 0) fail_msg("chat failed: %s", err.msg);
    dl_backend_free(b);
}

static void test_channels_and_usage(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    dl_chat_result r;
    run1("<think>a b c</think>The answer is 4", &g, &c, &r);
    assert_string_equal(r.reasoning, "a b c");
    assert_string_equal(r.answer, "The answer is 4");
    assert_string_equal(text_of(&c.reasoning), "a b c");
    assert_string_equal(text_of(&c.answer), "The answer is 4");
    assert_int_equal(c.switches, 1); /* all reasoning, then all answer */
    /* "<think>" | "a" " b" " c" "</think>" | "The" " answer" " is" " 4": the
     * closing marker is reasoning, the opening one is not */
    assert_int_equal(r.usage.reasoning_tokens, 4);
    assert_int_equal(r.usage.completion_tokens, 9);
    assert_int_equal(r.usage.prompt_tokens, 7);
    assert_int_equal(r.finish, DL_FINISH_STOP);
    assert_int_equal(r.n_forced_closes, 0);
    assert_int_equal(r.n_sampled, 9);
    assert_true(r.logprob_sum < -8.99 && r.logprob_sum > -9.01);
    dl_chat_result_free(&r);
    cap_free(&c);
}

static void test_budget_forcing(void **state)
{
    for (int32_t budget = 0; budget <= 6; budget++) {
        dl_gen_params g = dl_gen_default_params();
        g.reasoning_budget = budget;
        capture c = {0};
        dl_chat_result r;
        run1("<think>one two three four five six seven</think>Done.", &g, &c, &r);
        assert_true(r.usage.reasoning_tokens <= budget);
        assert_true(c.max_reasoning_seen <= budget);
        assert_string_equal(r.answer, "Done.");
        assert_int_equal(r.n_forced_closes, 1);
        /* the reasoning kept is the first `budget` words */
        static const char *expect[] = {"", "one", "one two", "one two three",
                                       "one two three four", "one two three four five",
                                       "one two three four five six"};
        assert_string_equal(r.reasoning, expect[budget]);
        dl_chat_result_free(&r);
        cap_free(&c);
    }
    /* a budget the model stays under changes nothing */
    dl_gen_params g = dl_gen_default_params();
    g.reasoning_budget = 100;
    capture c = {0};
    dl_chat_result r;
    run1("<think>short</think>Done.", &g, &c, &r);
    assert_int_equal(r.n_forced_closes, 0);
    assert_string_equal(r.reasoning, "short");
    assert_int_equal(r.usage.reasoning_tokens, 2);
    dl_chat_result_free(&r);
    cap_free(&c);
}

static void test_continuation_cue(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    g.reasoning_budget = 100;
    g.min_reasoning = 10;
    g.continue_cue = "\nWait";
    g.max_continuations = 2;
    capture c = {0};
    dl_chat_result r;
    run1("<think>a b</think>X", &g, &c, &r);
    /* closed after 4 tokens (< 10): the cue replaces "</think>" twice, then
     * the third close is accepted */
    assert_int_equal(r.n_continuations, 2);
    assert_string_equal(r.reasoning, "a b\nWaita b\nWaita b");
    assert_string_equal(text_of(&c.reasoning), "a b\nWaita b\nWaita b");
    assert_string_equal(r.answer, "X");
    /* a " b" cue a " b" cue a " b" "</think>" = 9 reasoning tokens, + "<think>" + "X" */
    assert_int_equal(r.usage.reasoning_tokens, 9);
    assert_int_equal(r.usage.completion_tokens, 11);
    dl_chat_result_free(&r);
    cap_free(&c);

    /* the cue never pushes reasoning past the budget */
    g.reasoning_budget = 6;
    capture c2 = {0};
    run1("<think>a b</think>X", &g, &c2, &r);
    assert_true(r.usage.reasoning_tokens <= 6);
    assert_string_equal(r.answer, "X");
    dl_chat_result_free(&r);
    cap_free(&c2);
}

static void test_stop_strings_and_length(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    const char *stops[] = {"zzz", " is"};
    g.stop = stops;
    g.n_stop = 2;
    capture c = {0};
    dl_chat_result r;
    run1("<think>x</think>The answer is 4", &g, &c, &r);
    assert_string_equal(r.answer, "The answer");
    assert_string_equal(text_of(&c.answer), "The answer");
    assert_int_equal(r.finish, DL_FINISH_STOP);
    dl_chat_result_free(&r);
    cap_free(&c);

    dl_gen_params g2 = dl_gen_default_params();
    g2.max_tokens = 4;
    capture c2 = {0};
    run1("<think>x</think>The answer is 4", &g2, &c2, &r);
    assert_int_equal(r.finish, DL_FINISH_LENGTH);
    assert_int_equal(r.usage.completion_tokens, 4);
    assert_string_equal(r.answer, "The");
    dl_chat_result_free(&r);
    cap_free(&c2);

    /* budget forcing never makes the output exceed max_tokens */
    dl_gen_params g3 = dl_gen_default_params();
    g3.max_tokens = 5;
    g3.reasoning_budget = 4;
    capture c3 = {0};
    run1("<think>a b c d e f</think>Yes", &g3, &c3, &r);
    assert_true(r.usage.completion_tokens <= 5);
    assert_int_equal(r.finish, DL_FINISH_LENGTH);
    dl_chat_result_free(&r);
    cap_free(&c3);
}

static void test_cancel_and_thinking_off(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    c.cancel_after = 3;
    dl_chat_result r;
    run1("<think>a b c d</think>Yes", &g, &c, &r);
    assert_int_equal(r.finish, DL_FINISH_CANCELLED);
    assert_int_equal(r.usage.completion_tokens, 3);
    dl_chat_result_free(&r);
    cap_free(&c);

    g.thinking = false;
    capture c2 = {0};
    run1("<think>a b c d</think>Yes", &g, &c2, &r);
    assert_string_equal(r.reasoning, "");
    assert_string_equal(r.answer, "Yes");
    assert_int_equal(r.usage.reasoning_tokens, 0);
    dl_chat_result_free(&r);
    cap_free(&c2);

    /* an unterminated reasoning block stays reasoning */
    dl_gen_params g3 = dl_gen_default_params();
    capture c3 = {0};
    run1("<think>never done", &g3, &c3, &r);
    assert_string_equal(r.reasoning, "never done");
    assert_string_equal(r.answer, "");
    dl_chat_result_free(&r);
    cap_free(&c3);
}

static void test_scripted_bookkeeping(void **state)
{
    const char *replies[] = {"A", "B"};
    dl_scripted_opts so = {replies, 2, NULL, 0, NULL, NULL, NULL};
    dl_backend *b = dl_backend_scripted_new(&so);
    dl_chat_msg msgs[] = {{DL_ROLE_SYSTEM, "Be brief.", NULL, NULL},
                          {DL_ROLE_USER, "Hi", NULL, NULL}};
    dl_chat_request req = {msgs, 2, dl_gen_default_params()};
    dl_error err = {0};
    const char *want[] = {"A", "B", "A"};
    for (int i = 0; i < 3; i++) {
        dl_chat_result r;
        assert_int_equal(dl_backend_chat(b, &req, NULL, &r, &err), 0);
        assert_string_equal(r.answer, want[i]);
        dl_chat_result_free(&r);
    }
    assert_int_equal(dl_backend_scripted_calls(b), 3);
    assert_string_equal(dl_backend_scripted_last_prompt(b),
                        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                        "<|im_start|>assistant\n");
    /* bad requests are errors */
    dl_chat_result r;
    dl_chat_request empty = {msgs, 0, dl_gen_default_params()};
    assert_int_equal(dl_backend_chat(b, &empty, NULL, &r, &err), -1);
    assert_int_equal(err.status, 400);
    dl_backend_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channels_and_usage),
        cmocka_unit_test(test_budget_forcing),
        cmocka_unit_test(test_continuation_cue),
        cmocka_unit_test(test_stop_strings_and_length),
        cmocka_unit_test(test_cancel_and_thinking_off),
        cmocka_unit_test(test_scripted_bookkeeping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
