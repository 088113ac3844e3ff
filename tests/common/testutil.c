#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
