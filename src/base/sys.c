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
