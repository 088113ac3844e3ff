/* dl_default_model_path: $DELIBERATE_MODEL first (a missing file is an error
 * naming the variable, with no fallback), then models/deliberate-mini.gguf
 * beside the program or in the current directory. The test binary lives in
 * build/<cfg>/tests/base/, so "beside the program" (that folder and the three
 * above) never reaches the repository; the cases run in a fresh folder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "base/base.h"

static char g_cwd[4096];

/* A fresh empty folder under the test tmpdir, made the current directory. */
static int enter_fresh_dir(void **state) {
    (void)state;
    if (!getcwd(g_cwd, sizeof g_cwd)) return -1;
    static int n;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/defmodel-%d", dl_test_tmpdir(), n++);
    mkdir(dir, 0755);
    if (chdir(dir) != 0) return -1;
    unsetenv("DELIBERATE_MODEL");
    return 0;
}

static int leave_dir(void **state) {
    (void)state;
    unsetenv("DELIBERATE_MODEL");
    return chdir(g_cwd);
}

static void test_env_names_the_file(void **state) {
    (void)state;
    dl_test_write_file("my.gguf", "x");
    setenv("DELIBERATE_MODEL", "my.gguf", 1);
    char out[256];
    dl_error err = {0};
    const char *p = dl_default_model_path(out, sizeof out, &err);
    assert_ptr_equal(p, out);
    assert_string_equal(out, "my.gguf");
    assert_int_equal(err.status, 0);
}

static void test_env_missing_is_an_error_without_fallback(void **state) {
    (void)state;
    /* a built-in model in the current directory must not be used instead */
    mkdir("models", 0755);
    dl_test_write_file(DL_DEFAULT_MODEL, "x");
    setenv("DELIBERATE_MODEL", "/nonexistent/dir/m.gguf", 1);
    char out[256];
    dl_error err = {0};
    assert_null(dl_default_model_path(out, sizeof out, &err));
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, "DELIBERATE_MODEL"));
    assert_non_null(strstr(err.msg, "/nonexistent/dir/m.gguf"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
}

static void test_env_too_long(void **state) {
    (void)state;
    setenv("DELIBERATE_MODEL", "0123456789abcdef", 1);
    char out[8];
    dl_error err = {0};
    assert_null(dl_default_model_path(out, sizeof out, &err));
    assert_non_null(strstr(err.msg, "DELIBERATE_MODEL"));
    assert_non_null(strstr(err.msg, "too long"));
}

static void test_nothing_found_says_how_to_get_it(void **state) {
    (void)state;
    setenv("DELIBERATE_MODEL", "", 1); /* empty = unset */
    char out[256];
    dl_error err = {0};
    assert_null(dl_default_model_path(out, sizeof out, &err));
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, "models/deliberate-mini.gguf was not found"));
    assert_non_null(strstr(err.msg, "git repository"));
    assert_non_null(strstr(err.msg, "DELIBERATE_MODEL"));
}

static void test_builtin_in_current_dir(void **state) {
    (void)state;
    mkdir("models", 0755);
    dl_test_write_file(DL_DEFAULT_MODEL, "x");
    char out[256];
    dl_error err = {0};
    assert_ptr_equal(dl_default_model_path(out, sizeof out, &err), out);
    assert_string_equal(out, "models/deliberate-mini.gguf");
    assert_string_equal(DL_DEFAULT_MODEL_NAME, "deliberate-mini");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env_names_the_file, enter_fresh_dir, leave_dir),
        cmocka_unit_test_setup_teardown(test_env_missing_is_an_error_without_fallback,
                                        enter_fresh_dir, leave_dir),
        cmocka_unit_test_setup_teardown(test_env_too_long, enter_fresh_dir, leave_dir),
        cmocka_unit_test_setup_teardown(test_nothing_found_says_how_to_get_it, enter_fresh_dir,
                                        leave_dir),
        cmocka_unit_test_setup_teardown(test_builtin_in_current_dir, enter_fresh_dir, leave_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
