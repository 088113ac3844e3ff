/* store/keys: projects and API keys. A key's secret exists only in the
 * caller's hands: the table keeps its BLAKE2b-256 hash keyed with the server
 * secret (so the database alone cannot be used to test guesses) and its
 * first 8 characters for display. No function here logs or reports a
 * secret, not even a malformed one. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define KEY_LEN (sizeof DL_STORE_KEY_PREFIX - 1 + DL_STORE_KEY_BODY) /* 44 */
#define LAST_USED_EVERY 60 /* seconds between last_used_at updates of one key */

static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static bool is_base62(char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int dl_store_check_project_name(const char *name, const char *field, dl_error *err) {
    if (!name || !*name) return dl_error_set(err, 400, "%s: missing project name", field);
    size_t n = strlen(name);
    if (n > 64) return dl_error_set(err, 400, "%s: project name longer than 64 characters", field);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!is_base62(c) && c != '_' && c != '.' && c != '-')
            return dl_error_set(err, 400, "%s: project name may only contain A-Z a-z 0-9 _ . -", field);
    }
    return 0;
}

/* A key label: at most 64 bytes of UTF-8 without control characters. */
static int check_label(const char *name, dl_error *err) {
    size_t n = strlen(name);
    if (n > 64) return dl_error_set(err, 400, "name: longer than 64 bytes");
    if (!dl_utf8_valid(name, n, NULL)) return dl_error_set(err, 400, "name: not valid UTF-8");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return dl_error_set(err, 400, "name: contains a control character");
    return 0;
}

/* Looks up project `name`; 1 found (*id set), 0 missing, -1 error. */
static int find_project(dl_store *s, const char *name, int64_t *id, dl_error *err) {
    sqlite3_stmt *st = dl_store_prepare(s, "SELECT id FROM projects WHERE name = ?", "looking up a project", err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st), ret;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        ret = 1;
    } else if (rc == SQLITE_DONE) {
        ret = 0;
    } else {
        ret = dl_store_sql_fail(s, "looking up a project", err);
    }
    sqlite3_finalize(st);
    return ret;
}

int dl_store_project_ensure_locked(dl_store *s, const char *name, int64_t *id, dl_error *err) {
    if (dl_store_check_project_name(name, "project", err) < 0) return -1;
    int found = find_project(s, name, id, err); /* the common case: a read, no write lock */
    if (found != 0) return found < 0 ? -1 : 0;
    sqlite3_stmt *st = dl_store_prepare(
        s, "INSERT INTO projects(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING", "creating a project",
        err);
    if (!st) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, dl_store_now());
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return dl_store_sql_fail(s, "creating a project", err);
    found = find_project(s, name, id, err); /* ours, or one another process inserted first */
    if (found == 0) return dl_error_set(err, 500, "%s: project '%s' vanished after creation", s->path, name);
    return found < 0 ? -1 : 0;
}

int dl_store_project_ensure(dl_store *s, const char *name, int64_t *id, dl_error *err) {
    pthread_mutex_lock(&s->mu);
    int rc = dl_store_project_ensure_locked(s, name, id, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- keys ---- */

/* Fills out with "dlk-" + 40 uniformly drawn base62 characters + NUL. */
static void generate_secret(char out[KEY_LEN + 1]) {
    unsigned char rnd[64];
    size_t n = 0, pre = sizeof DL_STORE_KEY_PREFIX - 1;
    memcpy(out, DL_STORE_KEY_PREFIX, pre);
    while (n < DL_STORE_KEY_BODY) {
        randombytes_buf(rnd, sizeof rnd);
        for (size_t i = 0; i < sizeof rnd && n < DL_STORE_KEY_BODY; i++)
            if (rnd[i] < 248) out[pre + n++] = BASE62[rnd[i] % 62]; /* 248 = 4*62: no modulo bias */
    }
    out[KEY_LEN] = '\0';
    sodium_memzero(rnd, sizeof rnd);
}

static void hash_secret(dl_store *s, const char *secret, unsigned char h[DL_STORE_HASH_BYTES]) {
    crypto_generichash(h, DL_STORE_HASH_BYTES, (const unsigned char *)secret, KEY_LEN, s->secret, sizeof s->secret);
}

static void copy_text(char *dst, size_t cap, const unsigned char *src) {
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

#define KEY_COLUMNS "k.id, p.name, k.prefix, k.name, k.created_at, k.revoked_at, k.last_used_at"

/* Reads the KEY_COLUMNS of the current row, starting at column c0. */
static void read_key_row(sqlite3_stmt *st, int c0, dl_key_info *info) {
    memset(info, 0, sizeof *info);
    info->id = sqlite3_column_int64(st, c0);
    copy_text(info->project, sizeof info->project, sqlite3_column_text(st, c0 + 1));
    copy_text(info->prefix, sizeof info->prefix, sqlite3_column_text(st, c0 + 2));
    copy_text(info->name, sizeof info->name, sqlite3_column_text(st, c0 + 3));
    info->created_at = sqlite3_column_int64(st, c0 + 4);
    info->revoked_at = sqlite3_column_int64(st, c0 + 5);   /* NULL reads as 0 */
    info->last_used_at = sqlite3_column_int64(st, c0 + 6); /* NULL reads as 0 */
}

/* Inserts the key row inside the caller's transaction; *id gets its id. */
static int insert_key(dl_store *s, int64_t project_id, const unsigned char h[DL_STORE_HASH_BYTES], const char *prefix,
                      const char *name, int64_t now, int64_t *id, dl_error *err) {
    sqlite3_stmt *st = dl_store_prepare(
        s, "INSERT INTO api_keys(project_id, hash, prefix, name, created_at) VALUES (?, ?, ?, ?, ?)", "creating a key",
        err);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, project_id);
    sqlite3_bind_blob(st, 2, h, DL_STORE_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dl_store_sql_fail(s, "creating a key", err);
    sqlite3_finalize(st);
    if (rc == 0) *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int dl_store_key_create(dl_store *s, const char *project, const char *name, char **secret, dl_key_info *info,
                        dl_error *err) {
    if (!name) name = "";
    if (dl_store_check_project_name(project, "project", err) < 0 || check_label(name, err) < 0) return -1;
    char key[KEY_LEN + 1], prefix[DL_STORE_PREFIX_LEN + 1];
    unsigned char h[DL_STORE_HASH_BYTES];
    generate_secret(key);
    memcpy(prefix, key, DL_STORE_PREFIX_LEN);
    prefix[DL_STORE_PREFIX_LEN] = '\0';

    pthread_mutex_lock(&s->mu);
    hash_secret(s, key, h);
    int64_t project_id = 0, id = 0, now = dl_store_now();
    int rc = dl_store_begin(s, "creating a key", err);
    if (rc == 0) {
        if (dl_store_project_ensure_locked(s, project, &project_id, err) < 0 ||
            insert_key(s, project_id, h, prefix, name, now, &id, err) < 0) {
            dl_store_rollback(s);
            rc = -1;
        } else {
            rc = dl_store_commit(s, "creating a key", err);
        }
    }
    pthread_mutex_unlock(&s->mu);

    if (rc == 0) {
        *secret = dl_xstrdup(key);
        if (info) {
            memset(info, 0, sizeof *info);
            info->id = id;
            snprintf(info->project, sizeof info->project, "%s", project);
            snprintf(info->prefix, sizeof info->prefix, "%s", prefix);
            snprintf(info->name, sizeof info->name, "%s", name);
            info->created_at = now;
        }
    }
    sodium_memzero(key, sizeof key);
    return rc;
}

int dl_store_key_list(dl_store *s, dl_key_info **out, size_t *n, dl_error *err) {
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = dl_store_prepare(
        s, "SELECT " KEY_COLUMNS " FROM api_keys k JOIN projects p ON p.id = k.project_id ORDER BY k.id",
        "listing keys", err);
    int rc = st ? 0 : -1, step = SQLITE_DONE;
    size_t cap = 0;
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = dl_xrealloc(*out, cap * sizeof **out);
        }
        read_key_row(st, 0, &(*out)[(*n)++]);
    }
    if (st && step != SQLITE_DONE) {
        rc = dl_store_sql_fail(s, "listing keys", err);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int dl_store_key_revoke(dl_store *s, int64_t id, dl_error *err) {
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(s, "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                                        "revoking a key", err);
    if (st) {
        sqlite3_bind_int64(st, 1, dl_store_now());
        sqlite3_bind_int64(st, 2, id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = dl_store_sql_fail(s, "revoking a key", err);
        else if (sqlite3_changes(s->db) == 0) rc = dl_error_set(err, 404, "no API key with id %lld", (long long)id);
        else rc = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* "dlk-" followed by exactly 40 base62 characters. */
static bool well_formed(const char *k) {
    size_t pre = sizeof DL_STORE_KEY_PREFIX - 1;
    if (strncmp(k, DL_STORE_KEY_PREFIX, pre) != 0) return false;
    for (size_t i = pre; i < KEY_LEN; i++)
        if (!is_base62(k[i])) return false; /* also stops at a NUL */
    return k[KEY_LEN] == '\0';
}

/* Records a use of key id; 0 when recorded. Bookkeeping only: a failure is
 * logged, and the key still verifies. */
static int touch_key(dl_store *s, int64_t id, int64_t now) {
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(s, "UPDATE api_keys SET last_used_at = ? WHERE id = ?", "recording key use",
                                        NULL);
    if (st) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, id);
        if (sqlite3_step(st) == SQLITE_DONE) rc = 0;
        else dl_log(DL_LOG_WARN, "%s: recording the use of key %lld: %s", s->path, (long long)id, sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    return rc;
}

int dl_store_key_verify(dl_store *s, const char *presented, dl_key_info *info, dl_error *err) {
    if (!presented || !well_formed(presented)) return dl_error_set(err, 401, "invalid API key");
    unsigned char h[DL_STORE_HASH_BYTES];
    dl_key_info k = {0};
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    hash_secret(s, presented, h);
    sqlite3_stmt *st = dl_store_prepare(
        s, "SELECT k.hash, " KEY_COLUMNS " FROM api_keys k JOIN projects p ON p.id = k.project_id WHERE k.hash = ?",
        "verifying a key", err);
    if (st) {
        sqlite3_bind_blob(st, 1, h, sizeof h, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            const void *stored = sqlite3_column_blob(st, 0);
            int stored_len = sqlite3_column_bytes(st, 0);
            read_key_row(st, 1, &k);
            if (!stored || stored_len != DL_STORE_HASH_BYTES || sodium_memcmp(stored, h, sizeof h) != 0)
                rc = dl_error_set(err, 401, "invalid API key");
            else if (k.revoked_at != 0)
                rc = dl_error_set(err, 401, "this API key has been revoked");
            else
                rc = 0;
        } else if (step == SQLITE_DONE) {
            rc = dl_error_set(err, 401, "invalid API key");
        } else {
            rc = dl_store_sql_fail(s, "verifying a key", err);
        }
        sqlite3_finalize(st);
    }
    if (rc == 0) {
        int64_t now = dl_store_now();
        if (k.last_used_at == 0 || now - k.last_used_at >= LAST_USED_EVERY || now < k.last_used_at) {
            if (touch_key(s, k.id, now) == 0) k.last_used_at = now;
        }
        if (info) *info = k;
    }
    pthread_mutex_unlock(&s->mu);
    sodium_memzero(h, sizeof h);
    return rc;
}
