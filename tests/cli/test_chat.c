/* End-to-end tests of `deliberate chat` ($DELIBERATE): every effort level and
 * -n 5 on the tiny random Qwen3 with the reasoning budget never exceeded,
 * --dry-run with -m and with --chat-template, --json fields, raw reasoning
 * only on request, usage errors (exit 2) and models without a known format
 * (exit 1, one clear line). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../common/testutil.h"
#include "base/base.h"

static const char *prog(void)
{
    const char *p = getenv("DELIBERATE");
    return p && *p ? p : "./deliberate";
}

/* Runs `deliberate <args>` capturing stdout and stderr; returns the exit status. */
static int run_cmd(const char *args, char **out, char **errout)
{
    char cmd[8192];
    const char *tmp = dl_test_tmpdir();
    snprintf(cmd, sizeof cmd, "%s %s >%s/chat_out.txt 2>%s/chat_err.txt </dev/null", prog(), args,
             tmp, tmp);
    int st = system(cmd);
    char path[512];
    snprintf(path, sizeof path, "%s/chat_out.txt", tmp);
    *out = dl_read_file(path, NULL, NULL);
    snprintf(path, sizeof path, "%s/chat_err.txt", tmp);
    *errout = dl_read_file(path, NULL, NULL);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* Runs a command that must succeed and print JSON; returns the parsed object. */
static json_t *run_json(const char *args)
{
    char *o, *e;
    int rc = run_cmd(args, &o, &e);
    if (rc != 0) fail_msg("'deliberate %s' exited %d: %s", args, rc, e);
    json_error_t jerr;
    json_t *j = json_loads(o, 0, &jerr);
    if (!j) fail_msg("'deliberate %s' printed no JSON (%s): %s", args, jerr.text, o);
    free(o);
    free(e);
    return j;
}

static long jint(json_t *j, const char *path1, const char *path2)
{
    json_t *v = json_object_get(j, path1);
    if (path2) v = json_object_get(v, path2);
    if (!json_is_integer(v)) fail_msg("%s.%s is not an integer", path1, path2 ? path2 : "");
    return (long)json_integer_value(v);
}

static void test_help_and_usage_errors(void **state)
{
    char *o, *e;
    assert_int_equal(run_cmd("chat --help", &o, &e), 0);
    assert_non_null(strstr(o, "usage: deliberate chat"));
    assert_non_null(strstr(o, "--effort"));
    free(o);
    free(e);
    const char *bad[] = {"chat --bogus", "chat -m x.gguf --effort extreme", "chat -m x.gguf -n 0",
                         "chat --chat-template t.jinja -p hi", "chat -m x.gguf --summary long",
                         "chat -m x.gguf --dry-run", "chat -m x.gguf --chat-format nope",
                         "chat -m x.gguf --bogus"};
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        int rc = run_cmd(bad[i], &o, &e);
        if (rc != 2) fail_msg("'deliberate %s' exited %d, expected 2", bad[i], rc);
        assert_true(strlen(e) > 0);
        free(o);
        free(e);
    }
    /* no -m: the default model; $DELIBERATE_MODEL naming a missing file is
     * a runtime error (1) that names it (tests/cli/test_default_model.sh has
     * the rest) */
    setenv("DELIBERATE_MODEL", "/nonexistent/dir/m.gguf", 1);
    int rc = run_cmd("chat -p hi", &o, &e);
    unsetenv("DELIBERATE_MODEL");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(e, "no model given (-m FILE), and DELIBERATE_MODEL is set to "
                              "/nonexistent/dir/m.gguf"));
    free(o);
    free(e);
}

static void test_every_effort_within_budget(void **state)
{
    DL_REQUIRE_FIXTURES();
    static const char *efforts[] = {"none", "minimal", "low", "medium", "high"};
    static const long budgets[] = {0, 4, 8, 16, 32};
    /* qwen3 (recognised from the GGUF) and qwq (its prompt opens the think
     * block, so the random model reasons until the budget stops it) */
    static const char *formats[] = {"", "--chat-format qwq"};
    for (size_t f = 0; f < 2; f++) {
        for (size_t i = 0; i < 5; i++) {
            char args[1024];
            snprintf(args, sizeof args,
                     "chat -m %s -p 'What is 17 * 23?' --effort %s --budget "
                     "minimal=4,low=8,medium=16,high=32 --max-tokens 64 --seed 3 --json %s",
                     dl_test_fixture("models/tiny-qwen3-f32.gguf"), efforts[i], formats[f]);
            json_t *j = run_json(args);
            json_t *det = json_object_get(json_object_get(j, "usage"), "completion_tokens_details");
            long reasoning = (long)json_integer_value(json_object_get(det, "reasoning_tokens"));
            assert_int_equal(jint(j, "reasoning_budget", NULL), budgets[i]);
            if (reasoning > budgets[i])
                fail_msg("effort %s: %ld reasoning tokens > budget %ld", efforts[i], reasoning,
                         budgets[i]);
            if (f == 1) assert_int_equal(reasoning, budgets[i]); /* forced at exactly the budget */
            assert_true(jint(j, "usage", "completion_tokens") <= 64);
            assert_true(jint(j, "usage", "prompt_tokens") > 5);
            assert_true(json_is_string(json_object_get(j, "answer")));
            assert_null(json_object_get(j, "reasoning")); /* hidden unless asked */
            assert_int_equal(json_array_size(json_object_get(j, "samples")), 1);
            json_decref(j);
        }
    }
}

static void test_five_samples_vote(void **state)
{
    DL_REQUIRE_FIXTURES();
    char args[1024];
    snprintf(args, sizeof args,
             "chat -m %s -p 'What is 2 + 2?' -n 5 --effort low --budget low=6 --chat-format qwq "
             "--max-tokens 24 --temp 1 --seed 9 --json --show-reasoning",
             dl_test_fixture("models/tiny-qwen3-f32.gguf"));
    json_t *j = run_json(args);
    json_t *samples = json_object_get(j, "samples");
    assert_int_equal(json_array_size(samples), 5);
    long total_reasoning = 0;
    for (size_t i = 0; i < 5; i++) {
        long r = (long)json_integer_value(json_object_get(json_array_get(samples, i), "reasoning_tokens"));
        assert_true(r <= 6);
        total_reasoning += r;
    }
    json_t *det = json_object_get(json_object_get(j, "usage"), "completion_tokens_details");
    assert_int_equal((long)json_integer_value(json_object_get(det, "reasoning_tokens")), total_reasoning);
    long chosen = jint(j, "chosen", NULL), votes = jint(j, "votes", NULL);
    assert_true(chosen >= 0 && chosen < 5);
    assert_true(votes >= 1 && votes <= 5);
    assert_string_equal(json_string_value(json_object_get(j, "answer")),
                        json_string_value(json_object_get(json_array_get(samples, (size_t)chosen), "answer")));
    assert_true(json_is_string(json_object_get(j, "reasoning"))); /* --show-reasoning */
    json_decref(j);
}

static void test_dry_run_with_model(void **state)
{
    DL_REQUIRE_FIXTURES();
    char args[1024];
    snprintf(args, sizeof args,
             "chat -m %s --system 'Be careful.' -p 'Hi there' --dry-run --json --effort none",
             dl_test_fixture("models/tiny-qwen3-f32.gguf"));
    json_t *j = run_json(args);
    assert_string_equal(json_string_value(json_object_get(j, "chat_format")), "qwen3");
    assert_string_equal(json_string_value(json_object_get(j, "prompt")),
                        "<|im_start|>system\nBe careful.<|im_end|>\n<|im_start|>user\nHi there"
                        "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
    json_decref(j);
}

static void test_dry_run_with_templates(void **state)
{
    DL_REQUIRE_FIXTURES();
    static const struct {
        const char *file, *format;
    } cases[] = {
        {"Qwen-Qwen3-0.6B.jinja", "qwen3"},
        {"Qwen-Qwen2.5-7B-Instruct.jinja", "chatml"},
        {"Qwen-QwQ-32B.jinja", "qwq"},
        {"upstream/Qwen-QwQ-32B.jinja", "qwq"},
        {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-r1"},
        {"upstream/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek-r1"},
        {"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3"},
        {"openai-gpt-oss-120b.jinja", "gpt-oss"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        char path[512], args[1024];
        snprintf(path, sizeof path, "%s", dl_test_fixture("chat_templates/"));
        snprintf(args, sizeof args, "chat --chat-template %s%s -p 'What is 17 * 23?' --dry-run --json",
                 path, cases[i].file);
        json_t *j = run_json(args);
        assert_string_equal(json_string_value(json_object_get(j, "chat_format")), cases[i].format);
        assert_non_null(strstr(json_string_value(json_object_get(j, "prompt")), "What is 17 * 23?"));
        json_decref(j);
    }
    /* the plain text form names the format on stderr and prints the prompt */
    char *o, *e, args[1024];
    snprintf(args, sizeof args, "chat --chat-template %s -p 'Hi' --dry-run",
             dl_test_fixture("chat_templates/Qwen-Qwen3-0.6B.jinja"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_non_null(strstr(e, "qwen3"));
    assert_string_equal(o, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    free(o);
    free(e);
}

static void test_unknown_format_is_one_clear_line(void **state)
{
    DL_REQUIRE_FIXTURES();
    char *o, *e, args[1024];
    snprintf(args, sizeof args, "chat -m %s -p hi", dl_test_fixture("models/stories260K.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 1);
    assert_non_null(strstr(e, "--chat-format"));
    free(o);
    free(e);
    const char *tmp = dl_test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/unknown.jinja", tmp);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{{ messages }}", f);
    fclose(f);
    snprintf(args, sizeof args, "chat --chat-template %s -p hi --dry-run", path);
    assert_int_equal(run_cmd(args, &o, &e), 1);
    assert_non_null(strstr(e, "--chat-format"));
    free(o);
    free(e);
}

static void test_safety_refuses_before_running(void **state)
{
    DL_REQUIRE_FIXTURES();
    char args[1024];
    snprintf(args, sizeof args, "chat -m %s -p 'I want to kill myself tonight' --safety --json",
             dl_test_fixture("models/tiny-qwen3-f32.gguf"));
    json_t *j = run_json(args);
    assert_non_null(strstr(json_string_value(json_object_get(j, "answer")), "988"));
    assert_int_equal(jint(j, "usage", "completion_tokens"), 0);
    json_decref(j);
    char args2[1100];
    snprintf(args2, sizeof args2, "env LANG=en_GB.UTF-8 %s %s", prog(), args);
    /* the locale comes from LANG: run through env */
    char *o;
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "%s >%s/chat_out.txt 2>/dev/null", args2, dl_test_tmpdir());
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/chat_out.txt", dl_test_tmpdir());
    o = dl_read_file(cmd, NULL, NULL);
    assert_non_null(o);
    assert_non_null(strstr(o, "116 123"));
    free(o);
    /* a benign question runs the model */
    snprintf(args, sizeof args, "chat -m %s -p 'What is 2 + 2?' --safety --max-tokens 8 --json",
             dl_test_fixture("models/tiny-qwen3-f32.gguf"));
    j = run_json(args);
    assert_true(jint(j, "usage", "completion_tokens") > 0);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_usage_errors),
        cmocka_unit_test(test_every_effort_within_budget),
        cmocka_unit_test(test_five_samples_vote),
        cmocka_unit_test(test_dry_run_with_model),
        cmocka_unit_test(test_dry_run_with_templates),
        cmocka_unit_test(test_unknown_format_is_one_clear_line),
        cmocka_unit_test(test_safety_refuses_before_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
