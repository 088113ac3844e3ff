/* End-to-end tests of `deliberate keys` (program path in $DELIBERATE):
 * create -> list -> revoke -> list, the printed key verifying against the
 * store, JSON output, $DELIBERATE_DB, and exit statuses of usage errors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "base/base.h"
#include "store/store.h"

static const char *prog(void) {
    const char *p = getenv("DELIBERATE");
    return p && *p ? p : "./deliberate";
}

/* Runs `<env> deliberate <args>`; captures stdout and stderr; returns the
 * exit status (128+signal when killed). */
static int run_env(const char *env, const char *args, char **out, char **errout) {
    char cmd[8192], path[512];
    const char *tmp = dl_test_tmpdir();
    snprintf(cmd, sizeof cmd, "%s %s %s >%s/out.txt 2>%s/err.txt", env, prog(), args, tmp, tmp);
    int st = system(cmd);
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    *out = dl_read_file(path, NULL, NULL);
    snprintf(path, sizeof path, "%s/err.txt", tmp);
    *errout = dl_read_file(path, NULL, NULL);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* Without an inherited $DELIBERATE_DB, so --db and the default are what count. */
static int run_cmd(const char *args, char **out, char **errout) { return run_env("env -u DELIBERATE_DB", args, out, errout); }

static const char *db_path(const char *name) {
    static char path[512];
    char p[600];
    snprintf(path, sizeof path, "%s/%s", dl_test_tmpdir(), name);
    unlink(path);
    snprintf(p, sizeof p, "%s.secret", path);
    unlink(p);
    return path;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* The line of `list` output that starts with id. */
static const char *list_row(const char *out, const char *id) {
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, id, strlen(id)) && l[strlen(id)] == ' ') return l;
    return NULL;
}

static int verify_key(const char *db, const char *key, dl_key_info *info) {
    dl_error err = {0};
    dl_store *s = dl_store_open(db, &err);
    if (!s) fail_msg("open %s: %s", db, err.msg);
    int rc = dl_store_key_verify(s, key, info, &err);
    int status = rc == 0 ? 0 : err.status;
    dl_store_close(s);
    return status;
}

static void test_help(void **state) {
    const char *cmds[] = {"keys --help", "keys -h", "keys create --help", "keys list --help", "keys revoke --help"};
    for (size_t i = 0; i < DL_ARRAY_LEN(cmds); i++) {
        char *o, *e;
        assert_int_equal(run_cmd(cmds[i], &o, &e), 0);
        assert_non_null(strstr(o, "usage: deliberate keys"));
        free(o);
        free(e);
    }
    char *o, *e;
    assert_int_equal(run_cmd("keys revoke --help", &o, &e), 0);
    assert_true(strncmp(o, "usage: deliberate keys revoke ID", 32) == 0);
    free(o);
    free(e);
    assert_int_equal(run_cmd("--help", &o, &e), 0);
    assert_non_null(strstr(o, "  keys create|list|revoke"));
    free(o);
    free(e);
}

static void test_create_list_revoke(void **state) {
    const char *db = db_path("keys_cli.db");
    char args[1024], *o, *e;

    /* create: the key alone on stdout, the notice on stderr */
    snprintf(args, sizeof args, "keys create --project acme --name ci --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_int_equal(strlen(o), 45);
    assert_int_equal(o[44], '\n');
    assert_true(strncmp(o, "dlk-", 4) == 0);
    assert_non_null(strstr(e, "Created API key 1 in project 'acme' (name 'ci')."));
    assert_non_null(strstr(e, "will not be shown again"));
    char key[45];
    memcpy(key, o, 44);
    key[44] = '\0';
    free(o);
    free(e);
    dl_key_info info;
    assert_int_equal(verify_key(db, key, &info), 0);
    assert_int_equal(info.id, 1);
    assert_string_equal(info.project, "acme");

    /* a second key, as JSON */
    snprintf(args, sizeof args, "keys create --project other --db %s --json", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    json_error_t je;
    json_t *j = json_loads(o, 0, &je);
    if (!j) fail_msg("create --json: %s in %s", je.text, o);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 2);
    assert_string_equal(json_string_value(json_object_get(j, "project")), "other");
    assert_string_equal(json_string_value(json_object_get(j, "name")), "");
    const char *key2 = json_string_value(json_object_get(j, "key"));
    assert_non_null(key2);
    assert_int_equal(verify_key(db, key2, &info), 0);
    assert_int_equal(info.id, 2);
    json_decref(j);
    free(o);
    free(e);

    /* list: both, with prefix, never the key */
    snprintf(args, sizeof args, "keys list --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_int_equal(count_lines(o), 3);
    assert_true(strncmp(o, "ID ", 3) == 0);
    const char *row = list_row(o, "1");
    assert_non_null(row);
    char prefix[9];
    memcpy(prefix, key, 8);
    prefix[8] = '\0';
    assert_non_null(strstr(row, prefix));
    assert_non_null(strstr(row, "acme"));
    assert_non_null(strstr(row, " ci "));
    assert_non_null(strstr(o, "other"));
    assert_null(strstr(o, key + 8));
    row = list_row(o, "1");
    assert_true(row[strcspn(row, "\n") - 1] == '-'); /* not revoked */
    free(o);
    free(e);

    /* revoke 1: it stops verifying; list shows it revoked, 2 still active */
    snprintf(args, sizeof args, "keys revoke 1 --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    assert_string_equal(o, "Revoked API key 1.\n");
    free(o);
    free(e);
    assert_int_equal(verify_key(db, key, &info), 401);
    snprintf(args, sizeof args, "keys list --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    row = list_row(o, "1");
    assert_non_null(row);
    assert_true(row[strcspn(row, "\n") - 1] == 'Z'); /* a revocation time */
    row = list_row(o, "2");
    assert_non_null(row);
    assert_true(row[strcspn(row, "\n") - 1] == '-');
    free(o);
    free(e);
    snprintf(args, sizeof args, "keys list --json --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    j = json_loads(o, 0, &je);
    if (!j) fail_msg("list --json: %s in %s", je.text, o);
    assert_int_equal(json_array_size(j), 2);
    json_t *k1 = json_array_get(j, 0), *k2 = json_array_get(j, 1);
    assert_true(json_is_true(json_object_get(k1, "revoked")));
    assert_true(json_is_integer(json_object_get(k1, "revoked_at")));
    assert_true(json_is_integer(json_object_get(k1, "last_used_at"))); /* verified above */
    assert_true(json_is_false(json_object_get(k2, "revoked")));
    assert_true(json_is_null(json_object_get(k2, "revoked_at")));
    assert_string_equal(json_string_value(json_object_get(k1, "prefix")), prefix);
    assert_null(json_object_get(k1, "key"));
    json_decref(j);
    assert_null(strstr(o, key + 8));
    free(o);
    free(e);

    /* revoking twice is fine; an unknown id is a runtime error */
    snprintf(args, sizeof args, "keys revoke 1 --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 0);
    free(o);
    free(e);
    snprintf(args, sizeof args, "keys revoke 99 --db %s", db);
    assert_int_equal(run_cmd(args, &o, &e), 1);
    assert_string_equal(e, "deliberate: no API key with id 99\n");
    free(o);
    free(e);

    /* the database file never holds the key */
    size_t len = 0;
    char *data = dl_read_file(db, &len, NULL);
    assert_non_null(data);
    assert_null(memmem(data, len, key + 4, 40));
    free(data);
}

static void test_db_from_environment(void **state) {
    const char *db = db_path("keys_env.db");
    char env[700], *o, *e;
    snprintf(env, sizeof env, "DELIBERATE_DB=%s", db);
    assert_int_equal(run_env(env, "keys create --project envproj", &o, &e), 0);
    free(o);
    free(e);
    assert_int_equal(access(db, F_OK), 0);
    assert_int_equal(run_env(env, "keys list", &o, &e), 0);
    assert_non_null(strstr(o, "envproj"));
    free(o);
    free(e);
    /* --db wins over the environment */
    char args[700];
    snprintf(args, sizeof args, "keys list --db %s/absent.db", dl_test_tmpdir());
    assert_int_equal(run_env(env, args, &o, &e), 1);
    assert_non_null(strstr(e, "absent.db: no such database"));
    free(o);
    free(e);
}

static void test_usage_errors_exit_2(void **state) {
    const char *cmds[] = {"keys",
                          "keys frobnicate",
                          "keys create",
                          "keys create --name x",
                          "keys create --project",
                          "keys create --project a extra",
                          "keys list --project a",
                          "keys list --name a",
                          "keys list extra",
                          "keys revoke",
                          "keys revoke abc",
                          "keys revoke 0",
                          "keys revoke -5",
                          "keys revoke 1 2",
                          "keys revoke 1 --json",
                          "keys --bogus",
                          "keys list --db"};
    for (size_t i = 0; i < DL_ARRAY_LEN(cmds); i++) {
        char *o, *e;
        int rc = run_cmd(cmds[i], &o, &e);
        if (rc != 2) fail_msg("'deliberate %s' exited %d, expected 2 (stderr: %s)", cmds[i], rc, e);
        if (strncmp(e, "deliberate keys: ", 17) != 0 || !strstr(e, "\nTry 'deliberate keys --help'.\n"))
            fail_msg("'deliberate %s': stderr is '%s'", cmds[i], e);
        assert_int_equal(count_lines(e), 2);
        assert_string_equal(o, "");
        free(o);
        free(e);
    }
}

static void test_runtime_errors_exit_1(void **state) {
    char args[1024], *o, *e;
    /* list and revoke never create a database */
    const char *missing = db_path("never_created.db");
    snprintf(args, sizeof args, "keys list --db %s", missing);
    assert_int_equal(run_cmd(args, &o, &e), 1);
    assert_int_equal(count_lines(e), 1);
    assert_non_null(strstr(e, "no such database"));
    assert_int_equal(access(missing, F_OK), -1);
    free(o);
    free(e);
    /* not a database */
    const char *bad = db_path("not_sqlite.db");
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    for (int i = 0; i < 100; i++) fputs("plain text, not SQLite\n", f);
    fclose(f);
    snprintf(args, sizeof args, "keys list --db %s", bad);
    assert_int_equal(run_cmd(args, &o, &e), 1);
    assert_int_equal(count_lines(e), 1);
    assert_non_null(strstr(e, "file is not a database"));
    free(o);
    free(e);
    /* an invalid project name is reported naming the field */
    snprintf(args, sizeof args, "keys create --project 'no spaces' --db %s", db_path("badproj.db"));
    int rc = run_cmd(args, &o, &e);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(e, "project: "));
    free(o);
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_create_list_revoke),
        cmocka_unit_test(test_db_from_environment),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_runtime_errors_exit_1),
    };
    return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
