/* eval/def: eval definitions (evals/<name>.json) — reading, finding by name,
 * listing. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval_int.h"

const char *dl_json_str(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *dl_eval_dir(void) {
    static char found[4200];
    const char *env = getenv("DELIBERATE_EVALS");
    if (env && *env && access(env, R_OK) == 0) return env;
    if (dl_find_beside_exe("evals", found, sizeof found)) return found;
    if (access("evals", R_OK) == 0) return "evals";
    return NULL;
}

void dl_eval_def_free(dl_eval_def *d) {
    free(d->name);
    free(d->kind);
    free(d->category);
    free(d->description);
    free(d->primary);
    free(d->path);
    json_decref(d->json);
    memset(d, 0, sizeof *d);
}

/* Copies required string field `key` of the definition; 400 naming it. */
static int take_str(const json_t *j, const char *path, const char *key, bool required, char **out,
                    dl_error *err) {
    json_t *v = json_object_get(j, key);
    if (!v) {
        if (!required) {
            *out = dl_xstrdup("");
            return 0;
        }
        return dl_error_set(err, 400, "%s: missing field '%s'", path, key);
    }
    if (!json_is_string(v)) return dl_error_set(err, 400, "%s: field '%s' must be a string", path, key);
    *out = dl_xstrdup(json_string_value(v));
    return 0;
}

int dl_eval_def_load(const char *path, dl_eval_def *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (access(path, R_OK) != 0) return dl_error_set(err, 404, "%s: cannot read the file", path);
        return dl_error_set(err, 400, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return dl_error_set(err, 400, "%s: an eval definition must be a JSON object", path);
    }
    out->json = j;
    out->path = dl_xstrdup(path);
    if (take_str(j, path, "name", true, &out->name, err) ||
        take_str(j, path, "kind", true, &out->kind, err) ||
        take_str(j, path, "category", true, &out->category, err) ||
        take_str(j, path, "primary", true, &out->primary, err) ||
        take_str(j, path, "description", false, &out->description, err))
        goto fail;
    if (!dl_eval_kind_find(out->kind)) {
        dl_buf names = {0};
        for (const dl_eval_kind *const *k = dl_eval_kinds(); *k; k++)
            dl_buf_printf(&names, "%s%s", names.len ? ", " : "", (*k)->name);
        dl_error_set(err, 400, "%s: unknown kind '%s' (known: %s)", path, out->kind,
                     names.data ? names.data : "none");
        dl_buf_free(&names);
        goto fail;
    }
    return 0;
fail:
    dl_eval_def_free(out);
    return -1;
}

static bool ends_json(const char *s) {
    size_t n = strlen(s);
    return n > 5 && !strcmp(s + n - 5, ".json");
}

static int cmp_def(const void *a, const void *b) {
    return strcmp(((const dl_eval_def *)a)->name, ((const dl_eval_def *)b)->name);
}

int dl_eval_def_list(dl_eval_def **out, size_t *n, dl_error *err) {
    *out = NULL;
    *n = 0;
    const char *dir = dl_eval_dir();
    if (!dir) return dl_error_set(err, 404, "no evals/ directory found (set DELIBERATE_EVALS)");
    DIR *dh = opendir(dir);
    if (!dh) return dl_error_set(err, 404, "%s: cannot open the directory", dir);
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.' || !ends_json(e->d_name)) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        dl_eval_def d;
        if (dl_eval_def_load(path, &d, err) != 0) {
            closedir(dh);
            for (size_t i = 0; i < *n; i++) dl_eval_def_free(&(*out)[i]);
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *out = dl_xrealloc(*out, cap * sizeof **out);
        }
        (*out)[(*n)++] = d;
    }
    closedir(dh);
    if (*n) qsort(*out, *n, sizeof **out, cmp_def);
    return 0;
}

int dl_eval_def_find(const char *name_or_path, dl_eval_def *out, dl_error *err) {
    if (strchr(name_or_path, '/') || ends_json(name_or_path))
        return dl_eval_def_load(name_or_path, out, err);
    dl_eval_def *all;
    size_t n;
    if (dl_eval_def_list(&all, &n, err) != 0) return -1;
    int rc = -1;
    dl_buf names = {0};
    for (size_t i = 0; i < n; i++) {
        if (rc != 0 && !strcmp(all[i].name, name_or_path)) {
            *out = all[i];
            memset(&all[i], 0, sizeof all[i]);
            rc = 0;
        } else {
            dl_buf_printf(&names, "%s%s", names.len ? ", " : "", all[i].name);
        }
    }
    if (rc != 0)
        dl_error_set(err, 404, "no eval named '%s' (known: %s)", name_or_path,
                     names.data ? names.data : "none");
    for (size_t i = 0; i < n; i++)
        if (all[i].json) dl_eval_def_free(&all[i]);
    free(all);
    dl_buf_free(&names);
    return rc;
}
