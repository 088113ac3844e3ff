/* store/responses: stored /v1/responses objects, each owned by one project.
 * A put is one autocommit statement: when it returns 0 the row is on disk
 * (WAL + synchronous=FULL). Reads and deletes are scoped to the caller's
 * project, and another project's response looks exactly like a missing one. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define ID_MAX 63 /* dl_stored_response.id holds 63 characters + NUL */

/* Response ids: 1-63 characters of [A-Za-z0-9_-]; 400 naming field. */
static int check_id(const char *id, const char *field, dl_error *err) {
    if (!id || !*id) return dl_error_set(err, 400, "%s: missing", field);
    size_t n = strlen(id);
    if (n > ID_MAX) return dl_error_set(err, 400, "%s: longer than %d characters", field, ID_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-'))
            return dl_error_set(err, 400, "%s: may only contain A-Z a-z 0-9 _ -", field);
    }
    return 0;
}

/* The text must be JSON of the given type (JSON_ARRAY / JSON_OBJECT). */
static int check_json(const char *text, json_type want, const char *field, dl_error *err) {
    if (!text) return dl_error_set(err, 400, "%s: missing", field);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j) return dl_error_set(err, 400, "%s: not valid JSON: %s (line %d)", field, je.text, je.line);
    bool ok = json_typeof(j) == want;
    json_decref(j);
    if (!ok) return dl_error_set(err, 400, "%s: must be a JSON %s", field, want == JSON_ARRAY ? "array" : "object");
    return 0;
}

static int check_response(const dl_stored_response *r, dl_error *err) {
    if (!r) return dl_error_set(err, 400, "response: missing");
    if (check_id(r->id, "id", err) < 0) return -1;
    if (!r->model || !*r->model) return dl_error_set(err, 400, "model: missing");
    if (r->project_id <= 0) return dl_error_set(err, 400, "project_id: must be a project id (> 0)");
    if (r->previous_id && check_id(r->previous_id, "previous_id", err) < 0) return -1;
    if (check_json(r->input_json, JSON_ARRAY, "input_json", err) < 0) return -1;
    return check_json(r->response_json, JSON_OBJECT, "response_json", err);
}

int dl_store_response_put(dl_store *s, const dl_stored_response *r, dl_error *err) {
    if (check_response(r, err) < 0) return -1;
    const char *op = "storing a response";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    /* Insert, or replace a response of the same project; an id held by
     * another project is left alone (no change: reported as a conflict). */
    sqlite3_stmt *st = dl_store_prepare(
        s,
        "INSERT INTO responses(id, project_id, model, created_at, previous_id, input_json, response_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET model = excluded.model, created_at = excluded.created_at, "
        "previous_id = excluded.previous_id, input_json = excluded.input_json, "
        "response_json = excluded.response_json "
        "WHERE responses.project_id = excluded.project_id",
        op, err);
    if (st) {
        sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, r->project_id);
        sqlite3_bind_text(st, 3, r->model, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->created_at > 0 ? r->created_at : dl_store_now());
        if (r->previous_id) sqlite3_bind_text(st, 5, r->previous_id, -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, 5);
        sqlite3_bind_text(st, 6, r->input_json, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, r->response_json, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE) {
            rc = sqlite3_changes(s->db) == 1
                     ? 0
                     : dl_error_set(err, 409, "id: response '%s' already exists in another project", r->id);
        } else if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY) {
            rc = dl_error_set(err, 400, "project_id: no project with id %lld", (long long)r->project_id);
        } else {
            rc = dl_store_sql_fail(s, op, err);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* malloc'd copy of column c (NULL column -> NULL); -1 when out of memory. */
static int dup_column(sqlite3_stmt *st, int c, char **out) {
    *out = NULL;
    const unsigned char *t = sqlite3_column_text(st, c);
    if (!t) return 0;
    size_t n = (size_t)sqlite3_column_bytes(st, c);
    *out = malloc(n + 1);
    if (!*out) return -1;
    memcpy(*out, t, n);
    (*out)[n] = '\0';
    return 0;
}

int dl_store_response_get(dl_store *s, const char *id, int64_t project_id, dl_stored_response *out,
                          dl_error *err) {
    if (!id || !*id) return dl_error_set(err, 400, "id: missing");
    const char *op = "reading a response";
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(s,
                                        "SELECT id, model, project_id, created_at, previous_id, input_json, "
                                        "response_json FROM responses WHERE id = ? AND project_id = ?",
                                        op, err);
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, project_id);
        int step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            snprintf(out->id, sizeof out->id, "%s", (const char *)sqlite3_column_text(st, 0));
            out->project_id = sqlite3_column_int64(st, 2);
            out->created_at = sqlite3_column_int64(st, 3);
            if (dup_column(st, 1, &out->model) < 0 || dup_column(st, 4, &out->previous_id) < 0 ||
                dup_column(st, 5, &out->input_json) < 0 || dup_column(st, 6, &out->response_json) < 0 ||
                !out->model || !out->input_json || !out->response_json) {
                dl_stored_response_free(out);
                rc = dl_error_set(err, 500, "%s: %s: out of memory", s->path, op);
            } else {
                rc = 0;
            }
        } else if (step == SQLITE_DONE) {
            rc = dl_error_set(err, 404, "no response with id '%.63s'", id);
        } else {
            rc = dl_store_sql_fail(s, op, err);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int dl_store_response_delete(dl_store *s, const char *id, int64_t project_id, dl_error *err) {
    if (!id || !*id) return dl_error_set(err, 400, "id: missing");
    const char *op = "deleting a response";
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dl_store_prepare(s, "DELETE FROM responses WHERE id = ? AND project_id = ?", op, err);
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, project_id);
        if (sqlite3_step(st) != SQLITE_DONE) rc = dl_store_sql_fail(s, op, err);
        else if (sqlite3_changes(s->db) == 0) rc = dl_error_set(err, 404, "no response with id '%.63s'", id);
        else rc = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int64_t dl_store_response_count(dl_store *s) {
    pthread_mutex_lock(&s->mu);
    int64_t n = -1;
    sqlite3_stmt *st = dl_store_prepare(s, "SELECT count(*) FROM responses", "counting responses", NULL);
    if (st && sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return n;
}

void dl_stored_response_free(dl_stored_response *r) {
    if (!r) return;
    free(r->model);
    free(r->previous_id);
    free(r->input_json);
    free(r->response_json);
    r->model = r->previous_id = r->input_json = r->response_json = NULL;
}
