/* Tests of the SQLite store: migrations, projects, API keys (the secret
 * never reaches the file), responses with project isolation, error
 * messages, the secret file, threads, and durability across a SIGKILL. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "store/store.h"

static dl_store *open_ok(const char *path) {
    dl_error err = {0};
    dl_store *s = dl_store_open(path, &err);
    if (!s) fail_msg("dl_store_open(%s): %d %s", path, err.status, err.msg);
    return s;
}

/* Runs one SQL statement on the file through a separate connection. */
static void raw_sql(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* One integer from a query on a separate connection. */
static int64_t raw_int(const char *path, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void test_migrations_fresh_and_reopen(void **state) {
    const char *path = dl_test_fresh_db("migrate.db");
    dl_store *s = open_ok(path);
    assert_int_equal(dl_store_schema_version(s), 2);
    dl_error err = {0};
    assert_int_equal(dl_store_check(s, &err), 0);
    dl_store_close(s);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), 2);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                                   "('projects','api_keys','responses','schema_migrations')"),
                     4);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type='index' AND name='api_keys_hash'"),
                     1);
    for (int i = 0; i < 2; i++) { /* reopening applies nothing again */
        s = open_ok(path);
        assert_int_equal(dl_store_schema_version(s), 2);
        dl_store_close(s);
    }
    assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), 2);
}

static void test_durability_settings(void **state) {
    const char *path = dl_test_fresh_db("pragmas.db");
    dl_store *s = open_ok(path);
    dl_store_close(s);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal"); /* WAL is persistent */
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_newer_schema_refused(void **state) {
    const char *path = dl_test_fresh_db("newer.db");
    dl_store_close(open_ok(path));
    raw_sql(path, "INSERT INTO schema_migrations(version, applied_at) VALUES (99, 0)");
    dl_error err = {0};
    dl_store *s = dl_store_open(path, &err);
    assert_null(s);
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "schema version 99, newer than this program knows (2)"));
}

static void test_projects(void **state) {
    dl_store *s = open_ok(dl_test_fresh_db("projects.db"));
    dl_error err = {0};
    int64_t a = 0, a2 = 0, b = 0;
    assert_int_equal(dl_store_project_ensure(s, "acme", &a, &err), 0);
    assert_int_equal(dl_store_project_ensure(s, "acme", &a2, &err), 0);
    assert_int_equal(a, a2);
    assert_int_equal(dl_store_project_ensure(s, "beta.team_2-x", &b, &err), 0);
    assert_true(b != a && b > 0 && a > 0);
    char longest[65];
    memset(longest, 'p', 64);
    longest[64] = '\0';
    assert_int_equal(dl_store_project_ensure(s, longest, &b, &err), 0);
    char too_long[66];
    memset(too_long, 'p', 65);
    too_long[65] = '\0';
    const char *bad[] = {"", "has space", "a/b", "caf\xc3\xa9", "x;DROP", too_long, NULL};
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        dl_error_clear(&err);
        assert_int_equal(dl_store_project_ensure(s, bad[i], &b, &err), -1);
        assert_int_equal(err.status, 400);
        assert_true(strncmp(err.msg, "project: ", 9) == 0);
    }
    dl_store_close(s);
}

static bool all_base62(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z')))
            return false;
    return true;
}

static void test_keys(void **state) {
    dl_store *s = open_ok(dl_test_fresh_db("keys.db"));
    dl_error err = {0};
    char *k1 = NULL, *k2 = NULL;
    dl_key_info i1, i2, v;
    assert_int_equal(dl_store_key_create(s, "acme", "ci", &k1, &i1, &err), 0);
    assert_int_equal(dl_store_key_create(s, "other", NULL, &k2, &i2, &err), 0);
    assert_int_equal(strlen(k1), 44);
    assert_true(strncmp(k1, "dlk-", 4) == 0 && all_base62(k1 + 4, 40));
    assert_string_not_equal(k1, k2);
    assert_int_equal(strlen(i1.prefix), 8);
    assert_true(strncmp(i1.prefix, k1, 8) == 0);
    assert_string_equal(i1.project, "acme");
    assert_string_equal(i1.name, "ci");
    assert_string_equal(i2.name, "");
    assert_true(i1.created_at > 0 && i1.revoked_at == 0 && i1.last_used_at == 0);
    assert_true(i2.id > i1.id);

    /* verify: ok for each key, with its own identity */
    assert_int_equal(dl_store_key_verify(s, k1, &v, &err), 0);
    assert_int_equal(v.id, i1.id);
    assert_string_equal(v.project, "acme");
    assert_true(v.last_used_at >= i1.created_at);
    assert_int_equal(dl_store_key_verify(s, k2, &v, &err), 0);
    assert_string_equal(v.project, "other");

    /* wrong keys: 401, and the message never echoes what was presented */
    char wrong[45];
    memcpy(wrong, k1, 45);
    wrong[43] = wrong[43] == 'a' ? 'b' : 'a';
    const char *bad[] = {wrong, "dlk-", "hello", "", "dlk-0000000000000000000000000000000000000000",
                         "Bearer dlk-abc", NULL};
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        dl_error_clear(&err);
        assert_int_equal(dl_store_key_verify(s, bad[i], &v, &err), -1);
        assert_int_equal(err.status, 401);
        assert_string_equal(err.msg, "invalid API key");
    }
    char longer[64];
    snprintf(longer, sizeof longer, "%sX", k1);
    assert_int_equal(dl_store_key_verify(s, longer, &v, &err), -1);
    assert_int_equal(err.status, 401);

    /* list: oldest first, prefixes only */
    dl_key_info *list = NULL;
    size_t n = 0;
    assert_int_equal(dl_store_key_list(s, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, i1.id);
    assert_int_equal(list[1].id, i2.id);
    assert_string_equal(list[0].prefix, i1.prefix);
    assert_string_equal(list[0].project, "acme");
    assert_string_equal(list[0].name, "ci");
    assert_true(list[0].last_used_at > 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(list[i].prefix, k1 + 8));
        assert_null(strstr(list[i].name, k1 + 8));
    }
    free(list);

    /* revoke: 401 afterwards, twice is fine, unknown id 404 */
    assert_int_equal(dl_store_key_revoke(s, i1.id, &err), 0);
    assert_int_equal(dl_store_key_revoke(s, i1.id, &err), 0);
    dl_error_clear(&err);
    assert_int_equal(dl_store_key_verify(s, k1, &v, &err), -1);
    assert_int_equal(err.status, 401);
    assert_null(strstr(err.msg, k1));
    assert_non_null(strstr(err.msg, "revoked"));
    assert_int_equal(dl_store_key_verify(s, k2, &v, &err), 0);
    dl_error_clear(&err);
    assert_int_equal(dl_store_key_revoke(s, 9999, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(dl_store_key_list(s, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(list[0].revoked_at > 0);
    assert_int_equal(list[1].revoked_at, 0);
    free(list);

    /* bad input names the field */
    char *k3 = NULL;
    dl_error_clear(&err);
    assert_int_equal(dl_store_key_create(s, "acme", "two\nlines", &k3, NULL, &err), -1);
    assert_int_equal(err.status, 400);
    assert_true(strncmp(err.msg, "name: ", 6) == 0);
    dl_error_clear(&err);
    assert_int_equal(dl_store_key_create(s, "no spaces", "x", &k3, NULL, &err), -1);
    assert_int_equal(err.status, 400);
    assert_true(strncmp(err.msg, "project: ", 9) == 0);
    assert_null(k3);
    free(k1);
    free(k2);
    dl_store_close(s);
}

/* last_used_at moves at most once a minute. */
static void test_last_used_throttled(void **state) {
    const char *path = dl_test_fresh_db("lastused.db");
    dl_store *s = open_ok(path);
    dl_error err = {0};
    char *k = NULL;
    dl_key_info info, v;
    assert_int_equal(dl_store_key_create(s, "acme", "t", &k, &info, &err), 0);
    int64_t now = (int64_t)time(NULL);
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE api_keys SET last_used_at = %lld", (long long)(now - 30));
    raw_sql(path, sql);
    assert_int_equal(dl_store_key_verify(s, k, &v, &err), 0);
    assert_int_equal(v.last_used_at, now - 30); /* less than a minute ago: untouched */
    assert_int_equal(raw_int(path, "SELECT last_used_at FROM api_keys"), now - 30);
    snprintf(sql, sizeof sql, "UPDATE api_keys SET last_used_at = %lld", (long long)(now - 120));
    raw_sql(path, sql);
    assert_int_equal(dl_store_key_verify(s, k, &v, &err), 0);
    assert_true(v.last_used_at >= now);
    assert_true(raw_int(path, "SELECT last_used_at FROM api_keys") >= now);
    free(k);
    dl_store_close(s);
}

static bool file_contains(const char *path, const void *needle, size_t n) {
    size_t len = 0;
    char *data = dl_read_file(path, &len, NULL);
    if (!data) return false;
    bool found = memmem(data, len, needle, n) != NULL;
    free(data);
    return found;
}

/* The database files never hold a key's secret (nor the server secret). */
static void test_db_never_holds_secret(void **state) {
    const char *path = dl_test_fresh_db("nosecret.db");
    char p[600];
    dl_store *s = open_ok(path);
    dl_error err = {0};
    char *k = NULL;
    dl_key_info info;
    assert_int_equal(dl_store_key_create(s, "acme", "ci", &k, &info, &err), 0);
    /* while open (the row may still be in the WAL) and after close */
    for (int pass = 0; pass < 2; pass++) {
        const char *sfx[] = {"", "-wal"};
        for (size_t i = 0; i < DL_ARRAY_LEN(sfx); i++) {
            snprintf(p, sizeof p, "%s%s", path, sfx[i]);
            assert_false(file_contains(p, k, strlen(k)));
            assert_false(file_contains(p, k + 8, strlen(k + 8))); /* the part not shown as prefix */
        }
        if (pass == 0) dl_store_close(s);
    }
    snprintf(p, sizeof p, "%s", path);
    assert_true(file_contains(p, info.prefix, strlen(info.prefix))); /* the check can find things */
    /* the server secret is not in the database either */
    snprintf(p, sizeof p, "%s.secret", path);
    size_t slen = 0;
    char *secret = dl_read_file(p, &slen, NULL);
    assert_non_null(secret);
    assert_int_equal(slen, 32);
    assert_false(file_contains(path, secret, slen));
    free(secret);
    /* still verifies after reopening */
    s = open_ok(path);
    dl_key_info v;
    assert_int_equal(dl_store_key_verify(s, k, &v, &err), 0);
    dl_store_close(s);
    /* a lost secret file is recreated, and old keys stop verifying */
    unlink(p);
    s = open_ok(path);
    dl_error_clear(&err);
    assert_int_equal(dl_store_key_verify(s, k, &v, &err), -1);
    assert_int_equal(err.status, 401);
    dl_store_close(s);
    free(k);
}

static dl_stored_response make_resp(const char *id, int64_t project, const char *text, const char *prev) {
    dl_stored_response r = {0};
    snprintf(r.id, sizeof r.id, "%s", id);
    r.model = (char *)"tiny";
    r.project_id = project;
    r.created_at = 1700000000;
    r.previous_id = (char *)prev;
    r.input_json = (char *)"[{\"role\":\"user\",\"content\":\"hi\"}]";
    r.response_json = (char *)text;
    return r;
}

static void test_responses(void **state) {
    dl_store *s = open_ok(dl_test_fresh_db("responses.db"));
    dl_error err = {0};
    int64_t pa = 0, pb = 0;
    assert_int_equal(dl_store_project_ensure(s, "a", &pa, &err), 0);
    assert_int_equal(dl_store_project_ensure(s, "b", &pb, &err), 0);
    assert_int_equal(dl_store_response_count(s), 0);

    dl_stored_response r = make_resp("resp_1", pa, "{\"id\":\"resp_1\",\"output_text\":\"hello\"}", NULL);
    assert_int_equal(dl_store_response_put(s, &r, &err), 0);
    dl_stored_response r2 = make_resp("resp_2", pa, "{\"id\":\"resp_2\"}", "resp_1");
    assert_int_equal(dl_store_response_put(s, &r2, &err), 0);
    assert_int_equal(dl_store_response_count(s), 2);

    dl_stored_response out;
    assert_int_equal(dl_store_response_get(s, "resp_1", pa, &out, &err), 0);
    assert_string_equal(out.id, "resp_1");
    assert_string_equal(out.model, "tiny");
    assert_int_equal(out.project_id, pa);
    assert_int_equal(out.created_at, 1700000000);
    assert_null(out.previous_id);
    assert_string_equal(out.input_json, r.input_json);
    assert_string_equal(out.response_json, r.response_json);
    dl_stored_response_free(&out);
    assert_int_equal(dl_store_response_get(s, "resp_2", pa, &out, &err), 0);
    assert_string_equal(out.previous_id, "resp_1");
    dl_stored_response_free(&out);

    /* another project sees nothing, cannot delete, cannot take the id */
    dl_error_clear(&err);
    assert_int_equal(dl_store_response_get(s, "resp_1", pb, &out, &err), -1);
    assert_int_equal(err.status, 404);
    dl_error_clear(&err);
    assert_int_equal(dl_store_response_delete(s, "resp_1", pb, &err), -1);
    assert_int_equal(err.status, 404);
    dl_stored_response steal = make_resp("resp_1", pb, "{\"stolen\":true}", NULL);
    dl_error_clear(&err);
    assert_int_equal(dl_store_response_put(s, &steal, &err), -1);
    assert_int_equal(err.status, 409);
    assert_int_equal(dl_store_response_get(s, "resp_1", pa, &out, &err), 0);
    assert_string_equal(out.response_json, r.response_json);
    dl_stored_response_free(&out);

    /* replace within the project */
    dl_stored_response r1b = make_resp("resp_1", pa, "{\"id\":\"resp_1\",\"v\":2}", NULL);
    assert_int_equal(dl_store_response_put(s, &r1b, &err), 0);
    assert_int_equal(dl_store_response_get(s, "resp_1", pa, &out, &err), 0);
    assert_string_equal(out.response_json, "{\"id\":\"resp_1\",\"v\":2}");
    dl_stored_response_free(&out);
    assert_int_equal(dl_store_response_count(s), 2);

    /* bad input names the field */
    struct {
        dl_stored_response r;
        const char *field;
    } bad[] = {
        {make_resp("resp_x", pa, "{not json", NULL), "response_json: "},
        {make_resp("resp_x", pa, "[1,2]", NULL), "response_json: "},
        {make_resp("resp x", pa, "{}", NULL), "id: "},
        {make_resp("", pa, "{}", NULL), "id: "},
        {make_resp("resp_x", pa, "{}", "bad prev!"), "previous_id: "},
        {make_resp("resp_x", 9999, "{}", NULL), "project_id: "},
        {make_resp("resp_x", 0, "{}", NULL), "project_id: "},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        dl_error_clear(&err);
        assert_int_equal(dl_store_response_put(s, &bad[i].r, &err), -1);
        assert_int_equal(err.status, 400);
        if (strncmp(err.msg, bad[i].field, strlen(bad[i].field)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, err.msg, bad[i].field);
    }
    dl_stored_response noarr = make_resp("resp_x", pa, "{}", NULL);
    noarr.input_json = (char *)"{\"not\":\"an array\"}";
    assert_int_equal(dl_store_response_put(s, &noarr, &err), -1);
    assert_true(strncmp(err.msg, "input_json: ", 12) == 0);
    assert_int_equal(dl_store_response_count(s), 2);

    /* delete */
    assert_int_equal(dl_store_response_delete(s, "resp_1", pa, &err), 0);
    dl_error_clear(&err);
    assert_int_equal(dl_store_response_get(s, "resp_1", pa, &out, &err), -1);
    assert_int_equal(err.status, 404);
    dl_error_clear(&err);
    assert_int_equal(dl_store_response_delete(s, "resp_1", pa, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(dl_store_response_count(s), 1);
    assert_int_equal(dl_store_check(s, &err), 0);
    dl_store_close(s);
}

static void test_not_a_database(void **state) {
    const char *path = dl_test_fresh_db("garbage.db");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++) fputs("this is certainly not an SQLite database\n", f);
    fclose(f);
    dl_error err = {0};
    assert_null(dl_store_open(path, &err));
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "not a database"));
    char p[600];
    snprintf(p, sizeof p, "%s.secret", path);
    assert_int_equal(access(p, F_OK), -1); /* no secret file made for it */
    /* a missing directory is a clear error too */
    dl_error_clear(&err);
    assert_null(dl_store_open("/nonexistent-dir/x.db", &err));
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.db"));
}

static void test_secret_file_permissions(void **state) {
    const char *path = dl_test_fresh_db("perm.db");
    dl_store_close(open_ok(path));
    char p[600];
    snprintf(p, sizeof p, "%s.secret", path);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600); /* the database is private too */
    /* a secret readable by others is refused */
    assert_int_equal(chmod(p, 0644), 0);
    dl_error err = {0};
    assert_null(dl_store_open(path, &err));
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_int_equal(chmod(p, 0600), 0);
    dl_store_close(open_ok(path));
    /* a truncated secret is refused */
    assert_int_equal(truncate(p, 5), 0);
    dl_error_clear(&err);
    assert_null(dl_store_open(path, &err));
    assert_non_null(strstr(err.msg, "5 bytes, expected 32"));
}

/* ---- several threads on one store ---- */

typedef struct thread_arg {
    dl_store *s;
    int64_t project;
    int t, failures;
} thread_arg;

static void *thread_main(void *p) {
    thread_arg *a = p;
    for (int i = 0; i < 20; i++) {
        char id[64], json[128];
        snprintf(id, sizeof id, "resp_t%d_%d", a->t, i);
        snprintf(json, sizeof json, "{\"t\":%d,\"i\":%d}", a->t, i);
        dl_stored_response r = make_resp(id, a->project, json, NULL);
        dl_error err = {0};
        dl_stored_response out;
        if (dl_store_response_put(a->s, &r, &err) != 0) a->failures++;
        else if (dl_store_response_get(a->s, id, a->project, &out, &err) != 0) a->failures++;
        else {
            if (strcmp(out.response_json, json) != 0) a->failures++;
            dl_stored_response_free(&out);
        }
    }
    return NULL;
}

static void test_threads(void **state) {
    dl_store *s = open_ok(dl_test_fresh_db("threads.db"));
    dl_error err = {0};
    int64_t pid = 0;
    assert_int_equal(dl_store_project_ensure(s, "threads", &pid, &err), 0);
    pthread_t th[4];
    thread_arg args[4];
    for (int t = 0; t < 4; t++) {
        args[t] = (thread_arg){s, pid, t, 0};
        assert_int_equal(pthread_create(&th[t], NULL, thread_main, &args[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(args[t].failures, 0);
    }
    assert_int_equal(dl_store_response_count(s), 80);
    dl_store_close(s);
}

/* ---- durability: a put that returned 0 survives SIGKILL ---- */

#define REC 32 /* one acknowledged id per fixed-size pipe record */
#define ACK_BEFORE_KILL 40
#define FILLER 3000

static int read_full(int fd, char *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

static void response_json_for(int i, char *buf, size_t cap) {
    char filler[FILLER + 1];
    for (int k = 0; k < FILLER; k++) filler[k] = (char)('a' + (i + k) % 26);
    filler[FILLER] = '\0';
    snprintf(buf, cap, "{\"id\":\"resp_crash_%06d\",\"n\":%d,\"text\":\"%s\"}", i, i, filler);
}

/* The child: stores responses forever, acknowledging each on the pipe. */
static void crash_child(const char *path, int64_t project, int wfd) {
    dl_error err = {0};
    dl_store *s = dl_store_open(path, &err);
    if (!s) _exit(3);
    static char json[FILLER + 200];
    for (int i = 0; i < 1000000; i++) {
        char id[64];
        snprintf(id, sizeof id, "resp_crash_%06d", i);
        response_json_for(i, json, sizeof json);
        dl_stored_response r = make_resp(id, project, json, NULL);
        if (dl_store_response_put(s, &r, &err) != 0) _exit(4);
        char rec[REC] = {0};
        memcpy(rec, id, strlen(id)); /* 17 characters, NUL-padded */
        if (write(wfd, rec, REC) != REC) _exit(5);
    }
    _exit(6);
}

static void test_sigkill_keeps_acknowledged_puts(void **state) {
    const char *p = dl_test_fresh_db("crash.db");
    char path[512];
    snprintf(path, sizeof path, "%s", p);
    dl_error err = {0};
    int64_t project = 0;
    dl_store *s = open_ok(path);
    assert_int_equal(dl_store_project_ensure(s, "crash", &project, &err), 0);
    dl_store_close(s); /* no connection crosses the fork */

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        crash_child(path, project, fds[1]);
    }
    close(fds[1]);
    size_t cap = 256, n = 0;
    char(*acked)[REC] = malloc(cap * REC);
    bool killed = false;
    char rec[REC];
    int r;
    while ((r = read_full(fds[0], rec, REC)) == 1) {
        if (n == cap) acked = realloc(acked, (cap *= 2) * REC);
        memcpy(acked[n++], rec, REC);
        if (n == ACK_BEFORE_KILL && !killed) {
            kill(child, SIGKILL);
            killed = true;
        }
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
        fail_msg("child was not killed mid-way (status %d, %zu acks)", status, n);
    assert_true(n >= ACK_BEFORE_KILL);

    s = open_ok(path);
    assert_int_equal(dl_store_check(s, &err), 0);
    for (size_t i = 0; i < n; i++) {
        dl_stored_response out;
        if (dl_store_response_get(s, acked[i], project, &out, &err) != 0)
            fail_msg("acknowledged %s lost: %s", acked[i], err.msg);
        int idx = atoi(acked[i] + strlen("resp_crash_"));
        json_error_t je;
        json_t *j = json_loads(out.response_json, 0, &je);
        if (!j) fail_msg("%s: stored JSON is damaged: %s", acked[i], je.text);
        static char want[FILLER + 200];
        response_json_for(idx, want, sizeof want);
        assert_string_equal(out.response_json, want);
        assert_int_equal(json_integer_value(json_object_get(j, "n")), idx);
        json_decref(j);
        dl_stored_response_free(&out);
    }
    assert_true(dl_store_response_count(s) >= (int64_t)n);
    dl_store_close(s);
    free(acked);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_fresh_and_reopen),
        cmocka_unit_test(test_durability_settings),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_projects),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_last_used_throttled),
        cmocka_unit_test(test_db_never_holds_secret),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_not_a_database),
        cmocka_unit_test(test_secret_file_permissions),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_sigkill_keeps_acknowledged_puts),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
