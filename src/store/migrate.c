/* store/migrate: versioned schema. Each migration is constant SQL applied
 * once, in order; schema_migrations records which ones a database has.
 * Pending migrations run inside one IMMEDIATE transaction, so a database is
 * never left half-migrated and two processes opening it at once do not both
 * migrate. Append new migrations to the table; never edit a released one. */
#include <stdio.h>

#include "store_int.h"

typedef struct migration {
    int version;
    const char *sql;
} migration;

static const migration MIGRATIONS[] = {
    {1,
     "CREATE TABLE projects ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  created_at INTEGER NOT NULL"
     ");"
     "CREATE TABLE api_keys ("
     "  id INTEGER PRIMARY KEY,"
     "  project_id INTEGER NOT NULL REFERENCES projects(id),"
     "  hash BLOB NOT NULL,"         /* BLAKE2b-256 of the secret keyed with the server secret */
     "  prefix TEXT NOT NULL,"       /* first 8 characters of the secret, for display */
     "  name TEXT NOT NULL DEFAULT '',"
     "  created_at INTEGER NOT NULL,"
     "  revoked_at INTEGER,"         /* NULL while active */
     "  last_used_at INTEGER"        /* NULL until first use */
     ");"
     "CREATE UNIQUE INDEX api_keys_hash ON api_keys(hash);"
     "CREATE INDEX api_keys_project ON api_keys(project_id);"
     "CREATE TABLE responses ("
     "  id TEXT PRIMARY KEY,"
     "  project_id INTEGER NOT NULL REFERENCES projects(id),"
     "  model TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  previous_id TEXT,"
     "  input_json TEXT NOT NULL,"
     "  response_json TEXT NOT NULL"
     ");"
     "CREATE INDEX responses_project ON responses(project_id, created_at);"},
    {2,
     /* eval runs (`deliberate eval run`): one eval x one model x one
      * configuration; samples are stored as they are graded so a run resumes */
     "CREATE TABLE eval_runs ("
     "  id TEXT PRIMARY KEY,"
     "  eval TEXT NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  category TEXT NOT NULL,"
     "  primary_metric TEXT NOT NULL,"
     "  model TEXT NOT NULL,"
     "  mitigation TEXT NOT NULL,"    /* 'pre' | 'post' */
     "  effort TEXT NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  seed INTEGER NOT NULL,"       /* uint64 stored as its two's-complement int64 */
     "  lim INTEGER NOT NULL,"        /* 0 = all samples */
     "  n_samples INTEGER NOT NULL,"
     "  config_json TEXT NOT NULL,"
     "  config_hash TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  finished_at INTEGER,"         /* NULL until complete */
     "  complete INTEGER NOT NULL DEFAULT 0,"
     "  metrics_json TEXT"            /* NULL until metrics were computed */
     ");"
     "CREATE INDEX eval_runs_hash ON eval_runs(config_hash, complete, created_at);"
     "CREATE INDEX eval_runs_model ON eval_runs(model, eval, created_at);"
     "CREATE TABLE eval_samples ("
     "  run_id TEXT NOT NULL REFERENCES eval_runs(id) ON DELETE CASCADE,"
     "  key TEXT NOT NULL,"
     "  response TEXT,"               /* NULL when the sample failed */
     "  grade_json TEXT,"
     "  score REAL,"
     "  attempts INTEGER NOT NULL,"
     "  error TEXT,"                  /* NULL = graded */
     "  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
     "  completion_tokens INTEGER NOT NULL DEFAULT 0,"
     "  reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
     "  created_at INTEGER NOT NULL,"
     "  PRIMARY KEY (run_id, key)"
     ");"},
};

_Static_assert(sizeof MIGRATIONS / sizeof MIGRATIONS[0] == DL_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* Reads the highest applied version into *v (0 for a fresh database). */
static int applied_version(dl_store *s, int *v, dl_error *err) {
    sqlite3_stmt *st = dl_store_prepare(s, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                                        "reading the schema version", err);
    if (!st) return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *v = sqlite3_column_int(st, 0);
    else dl_store_sql_fail(s, "reading the schema version", err);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

static int record_version(dl_store *s, int version, dl_error *err) {
    sqlite3_stmt *st = dl_store_prepare(s, "INSERT INTO schema_migrations(version, applied_at) VALUES (?, ?)",
                                        "recording a migration", err);
    if (!st) return -1;
    sqlite3_bind_int(st, 1, version);
    sqlite3_bind_int64(st, 2, dl_store_now());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dl_store_sql_fail(s, "recording a migration", err);
    sqlite3_finalize(st);
    return rc;
}

int dl_store_migrate(dl_store *s, dl_error *err) {
    if (dl_store_begin(s, "starting the schema migration", err) < 0) return -1;
    if (dl_store_exec(s,
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      "  version INTEGER PRIMARY KEY,"
                      "  applied_at INTEGER NOT NULL)",
                      "creating schema_migrations", err) < 0)
        goto fail;
    int v = 0;
    if (applied_version(s, &v, err) < 0) goto fail;
    if (v > DL_STORE_SCHEMA_VERSION) {
        dl_error_set(err, 500,
                     "%s: the database has schema version %d, newer than this program knows (%d); "
                     "use a newer deliberate",
                     s->path, v, DL_STORE_SCHEMA_VERSION);
        goto fail;
    }
    for (size_t i = 0; i < sizeof MIGRATIONS / sizeof MIGRATIONS[0]; i++) {
        const migration *m = &MIGRATIONS[i];
        if (m->version <= v) continue;
        char op[64];
        snprintf(op, sizeof op, "applying schema migration %d", m->version);
        if (dl_store_exec(s, m->sql, op, err) < 0 || record_version(s, m->version, err) < 0) goto fail;
        dl_log(DL_LOG_INFO, "%s: applied schema migration %d", s->path, m->version);
        v = m->version;
    }
    if (dl_store_commit(s, "committing the schema migration", err) < 0) return -1;
    s->version = v;
    return 0;

fail:
    dl_store_rollback(s);
    return -1;
}
