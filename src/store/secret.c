/* store/secret: the server secret, 32 random bytes in "<db>.secret" beside
 * the database, readable by its owner only. It keys the hash of API keys,
 * so a copy of the database alone does not let anyone test guesses. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

/* Reads exactly n bytes; -1 on error or early end of file. */
static int read_full(int fd, unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Checks the open secret file (regular, owner-only, 32 bytes) and reads it. */
static int read_secret(int fd, const char *path, unsigned char key[DL_STORE_SECRET_BYTES], dl_error *err) {
    struct stat st;
    if (fstat(fd, &st) != 0) return dl_error_set(err, 500, "%s: cannot stat the secret file: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return dl_error_set(err, 500, "%s: the secret file is not a regular file", path);
    if (st.st_mode & 077)
        return dl_error_set(err, 500,
                            "%s: the secret file has mode %04o and may be read by group or others; "
                            "refusing to use it (run: chmod 600 %s)",
                            path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_uid != geteuid())
        dl_log(DL_LOG_WARN, "%s: the secret file belongs to another user (uid %u)", path, (unsigned)st.st_uid);
    if (st.st_size != DL_STORE_SECRET_BYTES)
        return dl_error_set(err, 500, "%s: the secret file has %lld bytes, expected %d", path, (long long)st.st_size,
                            DL_STORE_SECRET_BYTES);
    if (read_full(fd, key, DL_STORE_SECRET_BYTES) != 0)
        return dl_error_set(err, 500, "%s: cannot read the secret file: %s", path,
                            errno ? strerror(errno) : "short read");
    return 0;
}

/* fsyncs the directory holding path, so a new name in it is durable. */
static void sync_dir(const char *path) {
    char *copy = dl_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Creates the secret file atomically: a private temporary file (O_EXCL,
 * 0600) is filled, synced and hard-linked to its name, so readers never see
 * a partial file. Returns 0 when this call created it, 1 when another
 * process did meanwhile, -1 on error. */
static int create_secret(const char *path, dl_error *err) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return dl_error_set(err, 500, "%s: path too long", path);
    unlink(tmp); /* left over by a crashed process with our pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return dl_error_set(err, 500, "%s: cannot create the secret file: %s", tmp, strerror(errno));
    unsigned char key[DL_STORE_SECRET_BYTES];
    randombytes_buf(key, sizeof key);
    int ok = fchmod(fd, 0600) == 0 && write_full(fd, key, sizeof key) == 0 && fsync(fd) == 0;
    int saved = errno;
    sodium_memzero(key, sizeof key);
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        return dl_error_set(err, 500, "%s: cannot write the secret file: %s", tmp, strerror(saved));
    }
    int rc = link(tmp, path);
    saved = errno;
    unlink(tmp);
    if (rc != 0) {
        if (saved == EEXIST) return 1;
        return dl_error_set(err, 500, "%s: cannot create the secret file: %s", path, strerror(saved));
    }
    sync_dir(path);
    return 0;
}

int dl_store_secret_load(const char *db_path, unsigned char key[DL_STORE_SECRET_BYTES], bool *created,
                         dl_error *err) {
    char path[PATH_MAX];
    *created = false;
    if (snprintf(path, sizeof path, "%s.secret", db_path) >= (int)sizeof path)
        return dl_error_set(err, 500, "%s: path too long", db_path);
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            int rc = read_secret(fd, path, key, err);
            close(fd);
            return rc;
        }
        if (errno != ENOENT) return dl_error_set(err, 500, "%s: cannot open the secret file: %s", path, strerror(errno));
        int rc = create_secret(path, err);
        if (rc < 0) return -1;
        if (rc == 0) *created = true;
        /* read back what is on disk (ours, or the one another process made) */
    }
    return dl_error_set(err, 500, "%s: the secret file keeps disappearing", path);
}
