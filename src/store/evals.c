/* store/evals: eval runs and their per-sample results. Every write is one
 * autocommit statement (WAL + synchronous=FULL): when a put returns 0 the
 * sample is on disk, so a run killed at any moment resumes from what was
 * acknowledged. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define RUN_COLS                                                                                 \
    "id, eval, kind, category, primary_metric, model, mitigation, effort, n, seed, lim, "       \
    "n_samples, config_json, config_hash, created_at, finished_at, complete, metrics_json"

void dl_store_eval_run_free(dl_store_eval_run *r) {
    if (!r) return;
    free(r->eval);
    free(r->kind);
    free(r->category);
    free(r->primary);
    free(r->model);
    free(r->config_json);
    free(r->metrics_json);
    memset(r, 0, sizeof *r);
}

void dl_store_eval_runs_free(dl_store_eval_run *v, size_t n) {
    for (size_t i = 0; i < n; i++) dl_store_eval_run_free(&v[i]);
    free(v);
}

void dl_store_eval_samples_free(dl_store_eval_sample *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].response);
        free(v[i].grade_json);
        free(v[i].error);
    }
    free(v);
}

void dl_store_eval_keys_free(char **keys, size_t n) {
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

/* Copy of text column c; NULL for SQL NULL. */
static char *col_dup(sqlite3_stmt *st, int c) {
    const unsigned char *t = sqlite3_column_text(st, c);
    return t ? dl_xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, c)) : NULL;
}

static void col_copy(sqlite3_stmt *st, int c, char *dst, size_t cap) {
    const unsigned char *t = sqlite3_column_text(st, c);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

/* Fills *r from a row selected with RUN_COLS. */
static void read_run(sqlite3_stmt *st, dl_store_eval_run *r) {
    memset(r, 0, sizeof *r);
    col_copy(st, 0, r->id, sizeof r->id);
    r->eval = col_dup(st, 1);
    r->kind = col_dup(st, 2);
    r->category = col_dup(st, 3);
    r->primary = col_dup(st, 4);
    r->model = col_dup(st, 5);
    col_copy(st, 6, r->mitigation, sizeof r->mitigation);
    col_copy(st, 7, r->effort, sizeof r->effort);
    r->n = sqlite3_column_int(st, 8);
    r->seed = (uint64_t)sqlite3_column_int64(st, 9);
    r->limit = sqlite3_column_int64(st, 10);
    r->n_samples = sqlite3_column_int64(st, 11);
    r->config_json = col_dup(st, 12);
    col_copy(st, 13, r->config_hash, sizeof r->config_hash);
    r->created_at = sqlite3_column_int64(st, 14);
    r->finished_at = sqlite3_column_type(st, 15) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 15);
    r->complete = sqlite3_column_int(st, 16) != 0;
    r->metrics_json = col_dup(st, 17);
}

int dl_store_eval_run_create(dl_store *s, dl_store_eval_run *r, dl_error *err) {
    if (!r->eval || !*r->eval || !r->kind || !r->model || !*r->model || !r->config_json ||
        !r->config_hash[0])
        return dl_error_set(err, 400, "eval run: eval, kind, model and configuration are required");
    if (strcmp(r->mitigation, "pre") && strcmp(r->mitigation, "post"))
        return dl_error_set(err, 400, "eval run: mitigation must be 'pre' or 'post'");
    unsigned char rnd[12];
    randombytes_buf(rnd, sizeof rnd);
    char hex[2 * sizeof rnd + 1];
    sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
    snprintf(r->id, sizeof r->id, "run_%s", hex);
    r->created_at = dl_store_now();
    const char *op = "creating an eval run";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(
        s,
        "INSERT INTO eval_runs(id, eval, kind, category, primary_metric, model, mitigation, effort, "
        "n, seed, lim, n_samples, config_json, config_hash, created_at, complete) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
        op, err);
    if (st) {
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, r->eval, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->category ? r->category : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, r->primary ? r->primary : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, r->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, r->mitigation, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, r->effort, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, r->n);
        sqlite3_bind_int64(st, 10, (int64_t)r->seed);
        sqlite3_bind_int64(st, 11, r->limit);
        sqlite3_bind_int64(st, 12, r->n_samples);
        sqlite3_bind_text(st, 13, r->config_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 14, r->config_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 15, r->created_at);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dl_store_sql_fail(s, op, err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Runs a one-row run query with one text parameter; 404 (msg) when none. */
static int get_one_run(dl_store *s, const char *sql, const char *param, const char *op,
                       const char *missing, dl_store_eval_run *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(s, sql, op, err);
    if (st) {
        sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            read_run(st, out);
            rc = 0;
        } else if (step == SQLITE_DONE) {
            rc = dl_error_set(err, 404, "%s", missing);
        } else {
            rc = dl_store_sql_fail(s, op, err);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int dl_store_eval_run_get(dl_store *s, const char *id, dl_store_eval_run *out, dl_error *err) {
    char msg[160];
    snprintf(msg, sizeof msg, "no eval run with id '%.63s'", id ? id : "");
    if (!id || !*id) {
        memset(out, 0, sizeof *out);
        return dl_error_set(err, 400, "eval run id: missing");
    }
    return get_one_run(s, "SELECT " RUN_COLS " FROM eval_runs WHERE id = ?", id,
                       "reading an eval run", msg, out, err);
}

int dl_store_eval_run_find_unfinished(dl_store *s, const char *config_hash, dl_store_eval_run *out,
                                      dl_error *err) {
    return get_one_run(s,
                       "SELECT " RUN_COLS " FROM eval_runs WHERE config_hash = ? AND complete = 0 "
                       "ORDER BY created_at DESC, rowid DESC LIMIT 1",
                       config_hash ? config_hash : "", "finding an unfinished eval run",
                       "no unfinished run with this configuration", out, err);
}

int dl_store_eval_sample_put(dl_store *s, const char *run_id, const dl_store_eval_sample *x,
                             dl_error *err) {
    if (!run_id || !*run_id || !x || !x->key) return dl_error_set(err, 400, "eval sample: run id and key are required");
    const char *op = "storing an eval sample";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(
        s,
        "INSERT OR REPLACE INTO eval_samples(run_id, key, response, grade_json, score, attempts, "
        "error, prompt_tokens, completion_tokens, reasoning_tokens, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        op, err);
    if (st) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, x->key, -1, SQLITE_STATIC);
        if (x->response) sqlite3_bind_text(st, 3, x->response, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 3);
        if (x->grade_json) sqlite3_bind_text(st, 4, x->grade_json, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 4);
        if (x->error) sqlite3_bind_null(st, 5);
        else sqlite3_bind_double(st, 5, x->score);
        sqlite3_bind_int(st, 6, x->attempts);
        if (x->error) sqlite3_bind_text(st, 7, x->error, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 7);
        sqlite3_bind_int(st, 8, x->prompt_tokens);
        sqlite3_bind_int(st, 9, x->completion_tokens);
        sqlite3_bind_int(st, 10, x->reasoning_tokens);
        sqlite3_bind_int64(st, 11, x->created_at > 0 ? x->created_at : dl_store_now());
        if (sqlite3_step(st) == SQLITE_DONE) rc = 0;
        else if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = dl_error_set(err, 404, "no eval run with id '%.63s'", run_id);
        else rc = dl_store_sql_fail(s, op, err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int dl_store_eval_done_keys(dl_store *s, const char *run_id, char ***keys, size_t *n,
                            dl_error *err) {
    *keys = NULL;
    *n = 0;
    const char *op = "listing the graded samples of an eval run";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(
        s, "SELECT key FROM eval_samples WHERE run_id = ? AND error IS NULL ORDER BY key", op, err);
    if (st) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                *keys = dl_xrealloc(*keys, cap * sizeof **keys);
            }
            (*keys)[(*n)++] = col_dup(st, 0);
        }
        rc = step == SQLITE_DONE ? 0 : dl_store_sql_fail(s, op, err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        dl_store_eval_keys_free(*keys, *n);
        *keys = NULL;
        *n = 0;
    }
    return rc;
}

int dl_store_eval_samples_load(dl_store *s, const char *run_id, dl_store_eval_sample **out,
                               size_t *n, dl_error *err) {
    *out = NULL;
    *n = 0;
    const char *op = "reading the samples of an eval run";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(
        s,
        "SELECT key, response, grade_json, score, attempts, error, prompt_tokens, "
        "completion_tokens, reasoning_tokens, created_at FROM eval_samples WHERE run_id = ? "
        "ORDER BY key",
        op, err);
    if (st) {
        sqlite3_bind_text(st, 1, run_id, -1, SQLITE_STATIC);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 64;
                *out = dl_xrealloc(*out, cap * sizeof **out);
            }
            dl_store_eval_sample *x = &(*out)[(*n)++];
            x->key = col_dup(st, 0);
            x->response = col_dup(st, 1);
            x->grade_json = col_dup(st, 2);
            x->score = sqlite3_column_double(st, 3);
            x->attempts = sqlite3_column_int(st, 4);
            x->error = col_dup(st, 5);
            x->prompt_tokens = sqlite3_column_int(st, 6);
            x->completion_tokens = sqlite3_column_int(st, 7);
            x->reasoning_tokens = sqlite3_column_int(st, 8);
            x->created_at = sqlite3_column_int64(st, 9);
        }
        rc = step == SQLITE_DONE ? 0 : dl_store_sql_fail(s, op, err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        dl_store_eval_samples_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int dl_store_eval_run_finish(dl_store *s, const char *run_id, const char *metrics_json,
                             bool complete, dl_error *err) {
    const char *op = "finishing an eval run";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(
        s, "UPDATE eval_runs SET metrics_json = ?, complete = ?, finished_at = ? WHERE id = ?", op,
        err);
    if (st) {
        if (metrics_json) sqlite3_bind_text(st, 1, metrics_json, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 1);
        sqlite3_bind_int(st, 2, complete ? 1 : 0);
        if (complete) sqlite3_bind_int64(st, 3, dl_store_now());
        else sqlite3_bind_null(st, 3);
        sqlite3_bind_text(st, 4, run_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = dl_store_sql_fail(s, op, err);
        else if (sqlite3_changes(s->db) == 0)
            rc = dl_error_set(err, 404, "no eval run with id '%.63s'", run_id);
        else rc = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* True when id is one of the comma-separated ids (spaces around them ignored). */
static bool in_list(const char *list, const char *id) {
    size_t n = strlen(id);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > p && t[-1] == ' ') t--;
        if ((size_t)(t - p) == n && !memcmp(p, id, n)) return true;
        p = e;
    }
    return false;
}

int dl_store_eval_runs_list(dl_store *s, const char *ids, const char *model, const char *eval,
                            dl_store_eval_run **out, size_t *n, dl_error *err) {
    *out = NULL;
    *n = 0;
    const char *op = "listing eval runs";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(s,
                                        "SELECT " RUN_COLS " FROM eval_runs "
                                        "WHERE (?1 IS NULL OR model = ?1) AND (?2 IS NULL OR eval = ?2) "
                                        "ORDER BY created_at DESC, rowid DESC",
                                        op, err);
    if (st) {
        if (model) sqlite3_bind_text(st, 1, model, -1, SQLITE_STATIC);
        if (eval) sqlite3_bind_text(st, 2, eval, -1, SQLITE_STATIC);
        size_t cap = 0;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            if (ids && !in_list(ids, id ? id : "")) continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                *out = dl_xrealloc(*out, cap * sizeof **out);
            }
            read_run(st, &(*out)[(*n)++]);
        }
        rc = step == SQLITE_DONE ? 0 : dl_store_sql_fail(s, op, err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        dl_store_eval_runs_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}
