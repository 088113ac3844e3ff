/* store internals: the connection struct, SQL helpers shared by the files of
 * the SQLite implementation, migrations and the server secret.
 *
 * Locking: every public dl_store_* function takes s->mu for its whole
 * duration; the helpers here and the *_locked functions expect it held. */
#ifndef DL_STORE_INT_H
#define DL_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

#define DL_STORE_SECRET_BYTES 32 /* server secret: BLAKE2b key */
#define DL_STORE_HASH_BYTES 32   /* keyed hash of an API key secret */
#define DL_STORE_KEY_BODY 40     /* base62 characters after "dlk-" */
#define DL_STORE_KEY_PREFIX "dlk-"
#define DL_STORE_PREFIX_LEN 8    /* characters of the secret kept for display */

struct dl_store {
    sqlite3 *db;
    pthread_mutex_t mu; /* serialises every call on db */
    char *path;         /* database file, for messages */
    unsigned char secret[DL_STORE_SECRET_BYTES];
    int version;        /* schema version after migration */
};

/* ---- sqlite.c: SQL helpers ---- */

/* Fills *err with 500 "<path>: <op>: <sqlite3_errmsg>" and returns -1. */
int dl_store_sql_fail(dl_store *s, const char *op, dl_error *err);
/* Prepares constant SQL; NULL + 500 naming op on failure. */
sqlite3_stmt *dl_store_prepare(dl_store *s, const char *sql, const char *op, dl_error *err);
/* Runs constant SQL with no parameters and no result rows wanted. */
int dl_store_exec(dl_store *s, const char *sql, const char *op, dl_error *err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback never fails visibly. */
int dl_store_begin(dl_store *s, const char *op, dl_error *err);
int dl_store_commit(dl_store *s, const char *op, dl_error *err);
void dl_store_rollback(dl_store *s);
int64_t dl_store_now(void); /* unix seconds */

/* ---- migrate.c ---- */

/* Latest schema version this program knows. */
#define DL_STORE_SCHEMA_VERSION 2
/* Creates schema_migrations if needed and applies every pending migration
 * in one transaction; sets s->version. 500 when the database is newer than
 * DL_STORE_SCHEMA_VERSION or a migration fails. */
int dl_store_migrate(dl_store *s, dl_error *err);

/* ---- secret.c ---- */

/* Loads the server secret from "<db_path>.secret" into key, creating it
 * (32 random bytes, mode 0600, atomically) when missing; *created says
 * which. 500 when it cannot be read, has the wrong size, or is accessible
 * by group or others. */
int dl_store_secret_load(const char *db_path, unsigned char key[DL_STORE_SECRET_BYTES], bool *created,
                         dl_error *err);

/* ---- projects (keys.c) ---- */

/* 1-64 characters of [A-Za-z0-9_.-]; 400 naming `field` otherwise. */
int dl_store_check_project_name(const char *name, const char *field, dl_error *err);
/* dl_store_project_ensure without locking (callers hold s->mu). */
int dl_store_project_ensure_locked(dl_store *s, const char *name, int64_t *id, dl_error *err);

#endif
