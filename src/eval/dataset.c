/* eval/dataset: dataset rows (CSV or JSONL) as JSON objects, where a
 * definition's dataset paths resolve, and the sample list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_int.h"

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static int read_csv_rows(const char *path, const char *data, size_t len, json_t *rows,
                         dl_error *err) {
    dl_csv c;
    dl_csv_init(&c, data, len);
    int rc = 0;
    if (!dl_csv_next(&c)) {
        rc = dl_error_set(err, 400, "%s: empty CSV file (no header row)", path);
        goto out;
    }
    size_t ncol = c.nf;
    char **head = dl_xcalloc(ncol, sizeof *head);
    for (size_t i = 0; i < ncol; i++) {
        /* a UTF-8 byte order mark before the first column name is not part of it */
        const char *h = c.f[i];
        if (i == 0 && !strncmp(h, "\xEF\xBB\xBF", 3)) h += 3;
        head[i] = dl_xstrdup(h);
    }
    while (dl_csv_next(&c)) {
        if (c.unterminated) {
            rc = dl_error_set(err, 400, "%s: line %zu: a quoted field is never closed", path, c.line);
            break;
        }
        if (c.nf == 1 && !c.f[0][0]) continue; /* blank line */
        if (c.nf != ncol) {
            rc = dl_error_set(err, 400, "%s: line %zu: %zu fields, the header has %zu", path, c.line,
                              c.nf, ncol);
            break;
        }
        json_t *row = json_object();
        for (size_t i = 0; i < ncol; i++) json_object_set_new(row, head[i], json_string(c.f[i]));
        json_array_append_new(rows, row);
    }
    for (size_t i = 0; i < ncol; i++) free(head[i]);
    free(head);
out:
    dl_csv_free(&c);
    return rc;
}

static int read_jsonl_rows(const char *path, const char *data, size_t len, json_t *rows,
                           dl_error *err) {
    size_t line = 0;
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < le) {
            json_error_t je;
            json_t *row = json_loadb(p, (size_t)(le - p), 0, &je);
            if (!row)
                return dl_error_set(err, 400, "%s: line %zu, column %d: %s", path, line, je.column,
                                    je.text);
            if (!json_is_object(row)) {
                json_decref(row);
                return dl_error_set(err, 400, "%s: line %zu: each line must be a JSON object", path,
                                    line);
            }
            json_array_append_new(rows, row);
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int dl_eval_read_rows(const char *path, json_t **rows, dl_error *err) {
    *rows = NULL;
    size_t len;
    char *data = dl_read_file(path, &len, err);
    if (!data) return -1;
    if (!dl_utf8_valid(data, len, NULL)) {
        free(data);
        return dl_error_set(err, 400, "%s: not valid UTF-8", path);
    }
    json_t *r = json_array();
    int rc;
    if (ends_with(path, ".csv")) rc = read_csv_rows(path, data, len, r, err);
    else if (ends_with(path, ".jsonl") || ends_with(path, ".json"))
        rc = read_jsonl_rows(path, data, len, r, err);
    else rc = dl_error_set(err, 400, "%s: unknown dataset format (expected .csv or .jsonl)", path);
    free(data);
    if (rc) {
        json_decref(r);
        return -1;
    }
    *rows = r;
    return 0;
}

char *dl_eval_data_path(const dl_eval_def *d, const char *rel, const char *data_dir) {
    char buf[8192];
    if (rel[0] == '/') return dl_xstrdup(rel);
    if (!strncmp(rel, "evals:", 6)) {
        const char *dir = dl_eval_dir();
        snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "evals", rel + 6);
        return dl_xstrdup(buf);
    }
    if (!strncmp(rel, "shared:", 7)) rel += 7;
    (void)d;
    const char *root = data_dir ? data_dir : dl_datasets_root();
    snprintf(buf, sizeof buf, "%s/%s", root ? root : "../shared/datasets", rel);
    return dl_xstrdup(buf);
}

void dl_eval_samples_add(dl_eval_samples *s, const char *key, const dl_chat_msg *msgs,
                         size_t n_msgs, json_t *ref) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = dl_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    dl_eval_sample *x = &s->v[s->n++];
    x->key = dl_xstrdup(key);
    x->n_msgs = n_msgs;
    x->msgs = dl_xcalloc(n_msgs ? n_msgs : 1, sizeof *x->msgs);
    for (size_t i = 0; i < n_msgs; i++) {
        x->msgs[i] = msgs[i];
        x->msgs[i].content = dl_xstrdup(msgs[i].content ? msgs[i].content : "");
        x->msgs[i].reasoning = NULL;
        if (msgs[i].name) x->msgs[i].name = dl_xstrdup(msgs[i].name);
    }
    x->ref = ref ? ref : json_object();
}

void dl_eval_samples_truncate(dl_eval_samples *s, size_t from) {
    for (size_t i = from; i < s->n; i++) {
        dl_eval_sample *x = &s->v[i];
        free(x->key);
        for (size_t j = 0; j < x->n_msgs; j++) {
            free((char *)x->msgs[j].content);
            free((char *)x->msgs[j].name);
        }
        free(x->msgs);
        json_decref(x->ref);
    }
    if (from < s->n) s->n = from;
}

void dl_eval_samples_free(dl_eval_samples *s) {
    dl_eval_samples_truncate(s, 0);
    free(s->v);
    memset(s, 0, sizeof *s);
}
