#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *dl_test_fixtures_dir(void) {
    static char path[4096];
    static int done = 0;
    if (done) return path[0] ? path : NULL;
    done = 1;
    const char *env = getenv("DL_SHARED");
    if (env && *env) {
        snprintf(path, sizeof path, "%s/fixtures", env);
        if (is_dir(path)) return path;
    }
    snprintf(path, sizeof path, "../shared/fixtures");
    if (is_dir(path)) return path;
    path[0] = '\0';
    return NULL;
}

const char *dl_test_fixture(const char *rel) {
    static char buf[4096];
    const char *d = dl_test_fixtures_dir();
    snprintf(buf, sizeof buf, "%s/%s", d ? d : "../shared/fixtures", rel);
    return buf;
}

const char *dl_test_tmpdir(void) {
    static char path[256];
    if (!path[0]) {
        snprintf(path, sizeof path, "build/test-tmp-%d", (int)getpid());
        mkdir("build", 0755);
        mkdir(path, 0755);
    }
    return path;
}

const char *dl_test_prog(void) {
    const char *p = getenv("DELIBERATE");
    return p && *p ? p : "./deliberate";
}

/* Whole file as a malloc'd string, or NULL. */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = 0, cap = 4096;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (cap - n - 1 == 0) b = realloc(b, cap *= 2);
    }
    fclose(f);
    if (b) b[n] = 0;
    return b;
}

int dl_test_run_prog(const char *prefix, const char *args, char **out, char **err) {
    char cmd[8192], po[512], pe[512];
    snprintf(po, sizeof po, "%s/run_out.txt", dl_test_tmpdir());
    snprintf(pe, sizeof pe, "%s/run_err.txt", dl_test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s%s%s %s >%s 2>%s", prefix ? prefix : "", prefix ? " " : "",
             dl_test_prog(), args, po, pe);
    int st = system(cmd);
    *out = slurp(po);
    *err = slurp(pe);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

void dl_test_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) print_error("cannot write %s\n", path);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

const char *dl_test_fresh_db(const char *name) {
    static char path[600];
    char extra[700];
    snprintf(path, sizeof path, "%s/%s", dl_test_tmpdir(), name);
    static const char *const sfx[] = {"", ".secret", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
        snprintf(extra, sizeof extra, "%s%s", path, sfx[i]);
        unlink(extra);
    }
    return path;
}
