/* store: persistence behind one interface — projects, API keys, stored
 * responses. One implementation today: SQLite (one file, WAL, schema
 * versioned with migrations). Used by server/ and the `keys` command.
 *
 * Durability: a call that returns 0 has committed (synchronous=FULL), so a
 * stored response acknowledged to a client survives a SIGKILL of the process.
 * Thread safety: one dl_store may be used from several threads at once
 * (calls are serialised inside).
 *
 * API keys: the secret is shown once, at creation ("dlk-" + 40 base62
 * characters); the store keeps only a keyed hash of it (BLAKE2b keyed with
 * the store's server secret, a random 32-byte value kept in the database's
 * `secret` file beside it, mode 0600) and a short display prefix. Lookups
 * hash the presented key and compare in constant time. Key secrets are never
 * logged. */
#ifndef DL_STORE_H
#define DL_STORE_H

#include "../base/base.h"

typedef struct dl_store dl_store;

/* Opens (creating if needed) the SQLite database at path and migrates its
 * schema to the current version. The server secret lives in "<path>.secret"
 * (created with mode 0600 if missing). NULL + err (500: cannot open / not a
 * database / newer schema than this program knows, naming the file). */
dl_store *dl_store_open(const char *path, dl_error *err);
void dl_store_close(dl_store *s);
int dl_store_schema_version(dl_store *s); /* current schema version number */
/* Runs SQLite's integrity check; 0 when the database is consistent. */
int dl_store_check(dl_store *s, dl_error *err);

/* ---- projects ---- */

/* Creates the project `name` if it does not exist (1-64 chars of
 * [A-Za-z0-9_.-]; 400 otherwise); *id gets its id either way. */
int dl_store_project_ensure(dl_store *s, const char *name, int64_t *id, dl_error *err);

/* ---- API keys ---- */

typedef struct dl_key_info {
    int64_t id;
    char project[65];
    char prefix[16];     /* first characters of the secret, for display ("dlk-AbC1") */
    char name[65];       /* optional label ("" if none) */
    int64_t created_at;  /* unix seconds */
    int64_t revoked_at;  /* 0 = active */
    int64_t last_used_at;/* 0 = never */
} dl_key_info;

/* Creates a key in project (created if missing). *secret (malloc'd) is the
 * only copy of the key; *info describes it. */
int dl_store_key_create(dl_store *s, const char *project, const char *name, char **secret,
                        dl_key_info *info, dl_error *err);
/* Lists keys (active and revoked), oldest first. *out malloc'd. */
int dl_store_key_list(dl_store *s, dl_key_info **out, size_t *n, dl_error *err);
/* Revokes key id; 404 if there is no such key. Revoking twice is fine. */
int dl_store_key_revoke(dl_store *s, int64_t id, dl_error *err);
/* Checks a presented key: 0 and *info when it is an active key (its
 * last_used_at is updated at most once a minute); 401 when unknown or
 * revoked (the message never contains the key). */
int dl_store_key_verify(dl_store *s, const char *presented, dl_key_info *info, dl_error *err);

/* ---- stored responses (/v1/responses with store=true) ---- */

typedef struct dl_stored_response {
    char id[64];              /* "resp_..." */
    char *model;              /* owned */
    int64_t project_id;       /* owner; other projects cannot read it */
    int64_t created_at;
    char *previous_id;        /* owned, NULL if none */
    char *input_json;         /* the conversation items this response answered (JSON array), owned */
    char *response_json;      /* the full response object as returned to the client, owned */
} dl_stored_response;
void dl_stored_response_free(dl_stored_response *r);

/* Stores (insert or replace) a response; returns after the commit. */
int dl_store_response_put(dl_store *s, const dl_stored_response *r, dl_error *err);
/* Reads response id of project; 404 if missing or owned by another project. */
int dl_store_response_get(dl_store *s, const char *id, int64_t project_id,
                          dl_stored_response *out, dl_error *err);
/* Deletes response id of project; 404 if missing. */
int dl_store_response_delete(dl_store *s, const char *id, int64_t project_id, dl_error *err);
/* Number of stored responses (all projects). */
int64_t dl_store_response_count(dl_store *s);

/* ---- eval runs and their samples (`deliberate eval`) ----
 * A run is one eval x one model x one configuration; its samples are stored
 * one by one as they are graded (each put has committed when it returns), so
 * a run interrupted at any point resumes from what is stored. */

typedef struct dl_store_eval_run {
    char id[64];              /* "run_" + 24 hex characters */
    char *eval, *kind, *category, *primary, *model; /* owned */
    char mitigation[8];       /* "pre" | "post" */
    char effort[16];
    int n;
    uint64_t seed;
    int64_t limit;            /* 0 = all */
    int64_t n_samples;        /* samples the run has (after the limit) */
    char *config_json;        /* owned: the configuration the hash covers */
    char config_hash[72];
    int64_t created_at;
    int64_t finished_at;      /* 0 = not complete */
    bool complete;
    char *metrics_json;       /* owned, NULL until metrics were computed */
} dl_store_eval_run;
void dl_store_eval_run_free(dl_store_eval_run *r);
void dl_store_eval_runs_free(dl_store_eval_run *v, size_t n);

typedef struct dl_store_eval_sample {
    char *key;                /* owned */
    char *response;           /* owned, NULL when failed */
    char *grade_json;         /* owned, NULL when failed */
    double score;
    int attempts;
    char *error;              /* owned, NULL = graded */
    int32_t prompt_tokens, completion_tokens, reasoning_tokens;
    int64_t created_at;
} dl_store_eval_sample;
void dl_store_eval_samples_free(dl_store_eval_sample *v, size_t n);

/* Creates a run from *r's fields (id and created_at are set here and written
 * back to *r; complete/finished_at/metrics are ignored). 400 on a missing
 * field. */
int dl_store_eval_run_create(dl_store *s, dl_store_eval_run *r, dl_error *err);
/* Reads run id; 404 when there is none. */
int dl_store_eval_run_get(dl_store *s, const char *id, dl_store_eval_run *out, dl_error *err);
/* The latest run with config_hash that is not complete; 404 when none. */
int dl_store_eval_run_find_unfinished(dl_store *s, const char *config_hash, dl_store_eval_run *out,
                                      dl_error *err);
/* Stores one sample's result (insert or replace on (run_id, key)); returns
 * after the commit. 404 when the run does not exist. */
int dl_store_eval_sample_put(dl_store *s, const char *run_id, const dl_store_eval_sample *x,
                             dl_error *err);
/* Keys of the samples of a run that were graded (no error), sorted (strcmp).
 * *keys malloc'd (each key too). */
int dl_store_eval_done_keys(dl_store *s, const char *run_id, char ***keys, size_t *n,
                            dl_error *err);
void dl_store_eval_keys_free(char **keys, size_t n);
/* Every stored sample of a run (graded and failed), sorted by key. */
int dl_store_eval_samples_load(dl_store *s, const char *run_id, dl_store_eval_sample **out,
                               size_t *n, dl_error *err);
/* Records a run's metrics (a JSON object) and whether it is complete
 * (finished_at = now when complete, NULL otherwise). 404 when no such run. */
int dl_store_eval_run_finish(dl_store *s, const char *run_id, const char *metrics_json,
                             bool complete, dl_error *err);
/* Runs, latest first (created_at, then insertion order). Filters, NULL =
 * any: ids (comma-separated list), model, eval. *out malloc'd. */
int dl_store_eval_runs_list(dl_store *s, const char *ids, const char *model, const char *eval,
                            dl_store_eval_run **out, size_t *n, dl_error *err);

#endif
