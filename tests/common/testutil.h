/* Shared helpers for the cmocka test binaries.
 * Tests run from the repository root (make test does that). */
#ifndef DL_TESTUTIL_H
#define DL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Directory of the shared fixtures (../shared/fixtures, or $DL_SHARED/fixtures),
 * or NULL when absent. */
const char *dl_test_fixtures_dir(void);
/* Builds "<fixtures>/<rel>" into a static buffer (overwritten per call). */
const char *dl_test_fixture(const char *rel);
/* Temporary directory for test outputs (created once, under build/). */
const char *dl_test_tmpdir(void);

/* Writes text to path (replacing it); fails the test when it cannot. */
void dl_test_write_file(const char *path, const char *text);

/* "<tmpdir>/<name>" with the database there and its sidecar files
 * (.secret, -wal, -shm) removed: a fresh store path (static buffer). */
const char *dl_test_fresh_db(const char *name);

/* The program under test: $DELIBERATE, else ./deliberate. */
const char *dl_test_prog(void);
/* Runs "<prefix> <program> <args>" through the shell, stdout and stderr
 * captured in the tmpdir; *out and *err get their text (malloc'd, NULL when
 * unreadable). Returns the exit status, 128 + the signal when killed. */
int dl_test_run_prog(const char *prefix, const char *args, char **out, char **err);

/* Skips the current test with a visible message when ../shared is absent. */
#define DL_REQUIRE_FIXTURES()                                                          \
    do {                                                                               \
        if (!dl_test_fixtures_dir()) {                                                 \
            print_message("SKIP %s: ../shared/fixtures not found (set DL_SHARED)\n", \
                          __func__);                                                   \
            skip();                                                                    \
        }                                                                              \
    } while (0)

#endif
