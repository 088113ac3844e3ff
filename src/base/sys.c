/* Files, time, CPU count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

char *dl_read_file(const char *path, size_t *len, dl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        dl_error_set(err, 400, "%s: %s", path, strerror(errno));
        return NULL;
    }
    dl_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) dl_buf_append(&b, chunk, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        dl_buf_free(&b);
        dl_error_set(err, 400, "%s: read error", path);
        return NULL;
    }
    if (!b.data) dl_buf_append(&b, "", 0);
    if (len) *len = b.len;
    return b.data;
}

double dl_time_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int dl_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

const char *dl_datasets_root(void) {
    const char *env = getenv("DL_DATASETS");
    if (env && access(env, R_OK) == 0) return env;
    if (access("../shared/datasets", R_OK) == 0) return "../shared/datasets";
    static char from_shared[4096];
    const char *shared = getenv("DL_SHARED");
    if (shared && *shared) {
        snprintf(from_shared, sizeof from_shared, "%s/datasets", shared);
        if (access(from_shared, R_OK) == 0) return from_shared;
    }
    /* beside the source tree the program was built in: <repo>/../shared/datasets
     * (the program is <repo>/build/<dir>/deliberate or the <repo>/deliberate link) */
    static char from_exe[4200];
    return dl_find_beside_exe("../shared/datasets", from_exe, sizeof from_exe);
}

const char *dl_find_beside_exe(const char *rel, char *out, size_t size) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) break;
        *slash = 0;
        snprintf(out, size, "%s/%s", exe, rel);
        if (access(out, R_OK) == 0) return out;
    }
    return NULL;
}

const char *dl_default_model_path(char *out, size_t size, dl_error *err) {
    const char *env = getenv("DELIBERATE_MODEL");
    if (env && *env) {
        if (strlen(env) >= size) {
            dl_error_set(err, 400, "DELIBERATE_MODEL: the path is too long (%zu bytes)", strlen(env));
            return NULL;
        }
        if (access(env, R_OK) != 0) {
            dl_error_set(err, 404, "DELIBERATE_MODEL is set to %s: %s (point it at a GGUF file, "
                                   "or unset it to use the built-in %s)",
                         env, strerror(errno), DL_DEFAULT_MODEL);
            return NULL;
        }
        memcpy(out, env, strlen(env) + 1);
        return out;
    }
    if (dl_find_beside_exe(DL_DEFAULT_MODEL, out, size)) return out;
    if (access(DL_DEFAULT_MODEL, R_OK) == 0) {
        snprintf(out, size, "%s", DL_DEFAULT_MODEL);
        return out;
    }
    dl_error_set(err, 404, "the built-in model %s was not found beside the program or in the "
                           "current directory (it is in the git repository: run deliberate from a "
                           "clone of it, or set DELIBERATE_MODEL=FILE.gguf)",
                 DL_DEFAULT_MODEL);
    return NULL;
}
