/* store/sqlite: opening and closing the SQLite database, its durability
 * settings, and the small SQL helpers the other files share. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_int.h"

#define BUSY_TIMEOUT_MS 5000 /* another process (e.g. `deliberate keys`) holding the write lock */

int dl_store_sql_fail(dl_store *s, const char *op, dl_error *err) {
    return dl_error_set(err, 500, "%s: %s: %s", s->path, op, sqlite3_errmsg(s->db));
}

sqlite3_stmt *dl_store_prepare(dl_store *s, const char *sql, const char *op, dl_error *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dl_store_sql_fail(s, op, err);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

int dl_store_exec(dl_store *s, const char *sql, const char *op, dl_error *err) {
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return dl_store_sql_fail(s, op, err);
    return 0;
}

int dl_store_begin(dl_store *s, const char *op, dl_error *err) {
    return dl_store_exec(s, "BEGIN IMMEDIATE", op, err);
}

int dl_store_commit(dl_store *s, const char *op, dl_error *err) {
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        dl_store_sql_fail(s, op, err);
        dl_store_rollback(s);
        return -1;
    }
    return 0;
}

void dl_store_rollback(dl_store *s) {
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t dl_store_now(void) { return (int64_t)time(NULL); }

/* Sets journal_mode=WAL and checks that SQLite accepted it (it refuses on
 * some filesystems, and this is the first statement that reads the file, so
 * "not a database" shows up here). */
static int set_wal(dl_store *s, dl_error *err) {
    sqlite3_stmt *st = dl_store_prepare(s, "PRAGMA journal_mode=WAL", "cannot open the database", err);
    if (!st) return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        dl_store_sql_fail(s, "cannot open the database", err);
        sqlite3_finalize(st);
        return -1;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal") != 0)
        dl_log(DL_LOG_WARN, "%s: SQLite kept journal mode '%s' instead of WAL", s->path, mode ? mode : "?");
    sqlite3_finalize(st);
    return 0;
}

/* Counts rows of api_keys (-1 on error). */
static int64_t count_keys(dl_store *s) {
    sqlite3_stmt *st = dl_store_prepare(s, "SELECT count(*) FROM api_keys", "counting keys", NULL);
    if (!st) return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}

dl_store *dl_store_open(const char *path, dl_error *err) {
    if (!path || !*path) {
        dl_error_set(err, 400, "database path is empty");
        return NULL;
    }
    if (sodium_init() < 0) {
        dl_error_set(err, 500, "%s: cannot initialise libsodium", path);
        return NULL;
    }
    /* Create the file ourselves so it is private (mode 0600): it holds
     * stored conversations. SQLite gives its -wal and -shm files the same
     * mode. An existing file keeps its mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        dl_error_set(err, 500, "%s: cannot open the database: %s", path, strerror(errno));
        return NULL;
    }
    close(fd);

    dl_store *s = dl_xcalloc(1, sizeof *s);
    s->path = dl_xstrdup(path);
    pthread_mutex_init(&s->mu, NULL);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        if (s->db) dl_store_sql_fail(s, "cannot open the database", err);
        else dl_error_set(err, 500, "%s: cannot open the database: out of memory", path);
        goto fail;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if (set_wal(s, err) < 0) goto fail;
    if (dl_store_exec(s, "PRAGMA synchronous=FULL", "setting synchronous=FULL", err) < 0) goto fail;
    if (dl_store_exec(s, "PRAGMA foreign_keys=ON", "enabling foreign keys", err) < 0) goto fail;
    /* deleted responses are overwritten, not left in free pages */
    if (dl_store_exec(s, "PRAGMA secure_delete=ON", "enabling secure_delete", err) < 0) goto fail;
    if (dl_store_migrate(s, err) < 0) goto fail;

    bool created = false;
    if (dl_store_secret_load(path, s->secret, &created, err) < 0) goto fail;
    if (created) {
        int64_t n = count_keys(s);
        if (n > 0)
            dl_log(DL_LOG_WARN,
                   "%s.secret was missing and has been created anew: the %lld existing API keys of %s "
                   "no longer verify (create new ones)",
                   path, (long long)n, path);
    }
    return s;

fail:
    dl_store_close(s);
    return NULL;
}

void dl_store_close(dl_store *s) {
    if (!s) return;
    if (s->db) {
        /* the last connection to close checkpoints the WAL into the file */
        if (sqlite3_close(s->db) != SQLITE_OK)
            dl_log(DL_LOG_WARN, "%s: closing the database: %s", s->path, sqlite3_errmsg(s->db));
    }
    sodium_memzero(s->secret, sizeof s->secret);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

int dl_store_schema_version(dl_store *s) {
    pthread_mutex_lock(&s->mu);
    int v = s->version;
    sqlite3_stmt *st = dl_store_prepare(s, "SELECT max(version) FROM schema_migrations", "reading the schema version",
                                        NULL);
    if (st && sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Runs a check pragma whose healthy answer is `ok_row` (NULL: no rows). */
static int run_check(dl_store *s, const char *sql, const char *ok_row, const char *what, dl_error *err) {
    sqlite3_stmt *st = dl_store_prepare(s, sql, what, err);
    if (!st) return -1;
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        const char *first = (const char *)sqlite3_column_text(st, 0);
        if (!ok_row || !first || strcmp(first, ok_row) != 0)
            ret = dl_error_set(err, 500, "%s: %s failed: %s", s->path, what, first ? first : "(row)");
    } else if (rc != SQLITE_DONE) {
        ret = dl_store_sql_fail(s, what, err);
    } else if (ok_row) {
        ret = dl_error_set(err, 500, "%s: %s returned nothing", s->path, what);
    }
    sqlite3_finalize(st);
    return ret;
}

int dl_store_check(dl_store *s, dl_error *err) {
    pthread_mutex_lock(&s->mu);
    int rc = run_check(s, "PRAGMA integrity_check", "ok", "integrity check", err);
    if (rc == 0) rc = run_check(s, "PRAGMA foreign_key_check", NULL, "foreign key check", err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
