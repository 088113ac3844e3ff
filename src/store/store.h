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

#endif
