/* Small file helpers shared by the SFT and RL runs (sft.c, rl.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train_int.h"

bool dl_tfile_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

void dl_tpath_in(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

int dl_tparams_file(const char *path, const char *sig, bool resuming, bool *same, dl_error *err) {
    *same = true;
    if (resuming) {
        char *old = dl_read_file(path, NULL, NULL);
        *same = old && strcmp(old, sig) == 0;
        free(old);
        return 0;
    }
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(sig, f) >= 0;
    if (f && fclose(f) != 0) ok = false;
    return ok ? 0 : dl_error_set(err, 500, "cannot write %s", path);
}
