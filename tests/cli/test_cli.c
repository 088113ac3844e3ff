/* End-to-end tests of the `deliberate` program (path in $DELIBERATE, set by
 * tests/run.sh): exit statuses, --help, the stories260K greedy continuation,
 * JSON output, and one clear line for corrupt files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../common/testutil.h"
#include "base/base.h"

static const char *prog(void) {
    const char *p = getenv("DELIBERATE");
    return p && *p ? p : "./deliberate";
}

/* Runs `deliberate <args>`; captures stdout and stderr. Returns the exit
 * status, or 128+signal when killed by a signal. */
static int run_cmd(const char *args, char **out, char **errout) {
    char cmd[8192];
    const char *tmp = dl_test_tmpdir();
    snprintf(cmd, sizeof cmd, "%s %s >%s/out.txt 2>%s/err.txt", prog(), args, tmp, tmp);
    int st = system(cmd);
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    *out = dl_read_file(path, NULL, NULL);
    snprintf(path, sizeof path, "%s/err.txt", tmp);
    *errout = dl_read_file(path, NULL, NULL);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    int rc = WEXITSTATUS(st);
    return rc; /* the shell reports a signal death of the child as 128+n too */
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_help_everywhere(void **state) {
    const char *cmds[] = {"--help", "info --help", "tokenize --help", "run --help"};
    for (size_t i = 0; i < DL_ARRAY_LEN(cmds); i++) {
        char *o, *e;
        assert_int_equal(run_cmd(cmds[i], &o, &e), 0);
        assert_non_null(strstr(o, "usage: deliberate"));
        free(o);
        free(e);
    }
}

static void test_usage_errors_exit_2(void **state) {
    const char *cmds[] = {"", "frobnicate", "info", "info --bogus x", "run -p hi", "run -m x.gguf -p hi -n abc",
                          "run -m x.gguf -p hi --temp -1", "tokenize hi"};
    for (size_t i = 0; i < DL_ARRAY_LEN(cmds); i++) {
        char *o, *e;
        int rc = run_cmd(cmds[i], &o, &e);
        if (rc != 2) fail_msg("'deliberate %s' exited %d, expected 2 (stderr: %s)", cmds[i], rc, e);
        assert_true(strlen(e) > 0);
        free(o);
        free(e);
    }
}

static void test_stories_greedy_continuation(void **state) {
    DL_REQUIRE_FIXTURES();
    char args[4096], *o, *e;
    snprintf(args, sizeof args, "run -m %s -p 'Once upon a time' -n 16 --temp 0",
             dl_test_fixture("models/stories260K.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    /* the reference's 16 greedy tokens, decoded */
    assert_string_equal(o, ", there was a little girl named Lily. She loved to play\n");
    free(o);
    free(e);
}

static void test_run_json(void **state) {
    DL_REQUIRE_FIXTURES();
    char args[4096], *o, *e;
    snprintf(args, sizeof args, "run -m %s -p 'Once upon a time' -n 4 --temp 0 --json --top-logits 3 -t 1",
             dl_test_fixture("models/stories260K.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_non_null(strstr(o, "\"prompt_ids\": [1, 403, 407, 261, 378]"));
    assert_non_null(strstr(o, "\"generated_ids\": ["));
    assert_non_null(strstr(o, "\"text\": \", there was a\""));
    assert_non_null(strstr(o, "\"prompt_tokens_per_s\""));
    assert_non_null(strstr(o, "\"gen_tokens_per_s\""));
    assert_non_null(strstr(o, "\"load_ms\""));
    assert_non_null(strstr(o, "\"last_top\": [["));
    assert_int_equal(count_lines(o), 1);
    free(o);
    free(e);
}

static void test_seeded_sampling_is_repeatable(void **state) {
    DL_REQUIRE_FIXTURES();
    char args[4096], *o1, *o2, *e;
    snprintf(args, sizeof args, "run -m %s -p 'Lily' -n 24 --temp 1.0 --seed 42 --json",
             dl_test_fixture("models/stories260K.gguf"));
    assert_int_equal(run_cmd(args, &o1, &e), 0);
    free(e);
    assert_int_equal(run_cmd(args, &o2, &e), 0);
    free(e);
    char *g1 = strstr(o1, "\"generated_ids\""), *g2 = strstr(o2, "\"generated_ids\"");
    assert_non_null(g1);
    assert_non_null(g2);
    *strchr(g1, ']') = 0;
    *strchr(g2, ']') = 0;
    assert_string_equal(g1, g2);
    free(o1);
    free(o2);
}

static void test_tokenize_json(void **state) {
    DL_REQUIRE_FIXTURES();
    char args[4096], *o, *e;
    snprintf(args, sizeof args, "tokenize -m %s --json 'Hello world'", dl_test_fixture("vocab/ggml-vocab-qwen2.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_non_null(strstr(o, "{\"ids\": [9707, 1879]"));
    free(o);
    free(e);
    snprintf(args, sizeof args, "tokenize -m %s --json --special '<|im_start|>user'",
             dl_test_fixture("vocab/ggml-vocab-qwen2.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_non_null(strstr(o, "{\"ids\": [151644, 872]"));
    free(o);
    free(e);
}

static void test_info(void **state) {
    DL_REQUIRE_FIXTURES();
    char args[4096], *o, *e;
    snprintf(args, sizeof args, "info %s", dl_test_fixture("models/tiny-qwen3-q4_k_m.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_non_null(strstr(o, "architecture:  qwen3"));
    assert_non_null(strstr(o, "q4_K"));
    assert_non_null(strstr(o, "q6_K"));
    free(o);
    free(e);
    snprintf(args, sizeof args, "info --json %s", dl_test_fixture("models/tiny-llama-q8_0.gguf"));
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_non_null(strstr(o, "\"architecture\": \"llama\""));
    assert_non_null(strstr(o, "\"tensor_types\""));
    assert_non_null(strstr(o, "\"q8_0\""));
    free(o);
    free(e);
}

/* Writes a damaged copy of a fixture and checks every command fails with
 * exit status 1 and exactly one line on stderr. */
static void check_all_commands_reject(const char *bad, const char *what) {
    char args[4096], *o, *e;
    const char *fmts[] = {"info %s", "info --json %s", "tokenize -m %s hello", "run -m %s -p hello -n 2"};
    for (size_t i = 0; i < DL_ARRAY_LEN(fmts); i++) {
        snprintf(args, sizeof args, fmts[i], bad);
        int rc = run_cmd(args, &o, &e);
        if (rc != 1) fail_msg("%s: '%s' exited %d, expected 1 (stderr: %s)", what, args, rc, e);
        if (count_lines(e) != 1) fail_msg("%s: '%s' printed %d lines on stderr: %s", what, args, count_lines(e), e);
        assert_non_null(strstr(e, "deliberate: "));
        free(o);
        free(e);
    }
}

static void test_corrupt_files_exit_1_with_one_line(void **state) {
    DL_REQUIRE_FIXTURES();
    size_t len;
    char *data = dl_read_file(dl_test_fixture("models/stories260K.gguf"), &len, NULL);
    assert_non_null(data);
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad.gguf", dl_test_tmpdir());
    size_t cuts[] = {0, 3, 10, 24, 100, 5000, len / 2, len - 1};
    for (size_t i = 0; i < DL_ARRAY_LEN(cuts); i++) {
        FILE *f = fopen(bad, "wb");
        fwrite(data, 1, cuts[i], f);
        fclose(f);
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu", cuts[i]);
        check_all_commands_reject(bad, what);
    }
    /* flipped bytes in the header area */
    size_t flips[] = {0, 4, 8, 16, 30, 60, 200};
    for (size_t i = 0; i < DL_ARRAY_LEN(flips); i++) {
        FILE *f = fopen(bad, "wb");
        data[flips[i]] ^= 0x7F;
        fwrite(data, 1, len, f);
        data[flips[i]] ^= 0x7F;
        fclose(f);
        char *o, *e, args[1024];
        snprintf(args, sizeof args, "info %s", bad);
        int rc = run_cmd(args, &o, &e);
        /* a flip may still leave a valid file; it must never kill the process */
        if (rc != 0 && rc != 1) fail_msg("flip at %zu: exit %d (stderr: %s)", flips[i], rc, e);
        free(o);
        free(e);
    }
    free(data);
    check_all_commands_reject("/nonexistent/model.gguf", "missing file");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_everywhere),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_stories_greedy_continuation),
        cmocka_unit_test(test_run_json),
        cmocka_unit_test(test_seeded_sampling_is_repeatable),
        cmocka_unit_test(test_tokenize_json),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_corrupt_files_exit_1_with_one_line),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
