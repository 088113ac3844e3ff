/* base: errors, logging, allocation, UTF-8, timing, thread pool.
 *
 * The lowest module: everything may call it, it calls nothing of ours.
 * Naming: dl_<thing>_<verb>. Functions that can fail return int (0 = ok,
 * -1 = failed, with *err filled) or a pointer (NULL = failed, *err filled). */
#ifndef DL_BASE_H
#define DL_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------ */

/* One error type for the whole program. `status` follows HTTP (400 bad
 * input, 404 not found, 413 too large, 500 internal, 501 unsupported) so the
 * server can return it unchanged; `type` is an OpenAI-style error type. */
typedef struct dl_error {
    int status;        /* 0 = no error */
    const char *type;  /* static string, e.g. "invalid_request_error" */
    const char *code;  /* static OpenAI error code ("context_length_exceeded") or NULL */
    char msg[512];     /* one line, no trailing newline */
} dl_error;

/* Fills *err (if not NULL) and returns -1, so callers can write
 * `return dl_error_set(err, 400, "bad thing: %s", x);` */
int dl_error_set(dl_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void dl_error_clear(dl_error *err);

/* ---- logging ----------------------------------------------------------- */

typedef enum dl_log_level {
    DL_LOG_ERROR = 0,
    DL_LOG_WARN = 1,
    DL_LOG_INFO = 2,
    DL_LOG_DEBUG = 3,
} dl_log_level;

void dl_log_set_level(dl_log_level level);
void dl_log(dl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- allocation -------------------------------------------------------- */

/* Abort-on-OOM allocators for small bookkeeping. Large buffers whose size
 * comes from input must use plain malloc and report failure as an error. */
void *dl_xmalloc(size_t n);
void *dl_xcalloc(size_t count, size_t size);
void *dl_xrealloc(void *p, size_t n);
char *dl_xstrdup(const char *s);
char *dl_xstrndup(const char *s, size_t n);
/* 64-byte aligned allocation (for SIMD buffers); free with dl_aligned_free. */
void *dl_aligned_alloc(size_t n);
void dl_aligned_free(void *p);

/* Growable byte buffer with a hard maximum (0 = no maximum). */
typedef struct dl_buf {
    char *data;
    size_t len, cap, max;
} dl_buf;
int dl_buf_append(dl_buf *b, const void *data, size_t n); /* -1 when max exceeded */
int dl_buf_printf(dl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dl_buf_free(dl_buf *b);

/* CSV reader (RFC 4180). Usage: dl_csv_init over a buffer the caller keeps
 * alive, then while (dl_csv_next(&c)) use c.f[0..c.nf) (owned by the reader,
 * valid until the next call); dl_csv_free at the end. `line` is the line the
 * current row ends on; `unterminated` is set when a quoted field runs to the
 * end of the data (a malformed file). */
typedef struct dl_csv {
    const char *p, *end;
    char **f;
    size_t nf, capf;
    dl_buf cell;
    size_t line, lines_in_row;
    bool unterminated;
} dl_csv;
void dl_csv_init(dl_csv *c, const char *data, size_t len);
bool dl_csv_next(dl_csv *c);
int dl_csv_col(const dl_csv *c, const char *name); /* column index of a header name, -1 */
void dl_csv_free(dl_csv *c);

/* ---- UTF-8 ------------------------------------------------------------- */

/* Length in bytes of the UTF-8 sequence that starts with byte c (1..4), or 0
 * if c cannot start a sequence. */
int dl_utf8_seq_len(unsigned char c);
/* Decodes one code point at s (n bytes available). Returns the number of
 * bytes consumed (1..4) and sets *cp, or 0 for an invalid/truncated sequence
 * (overlongs, surrogates and > U+10FFFF are invalid). */
int dl_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Encodes cp into out (>= 4 bytes); returns bytes written (0 if invalid). */
int dl_utf8_encode(uint32_t cp, char *out);
/* True when s[0..n) is entirely valid UTF-8. If not, *bad_offset (may be
 * NULL) receives the offset of the first bad byte. */
bool dl_utf8_valid(const char *s, size_t n, size_t *bad_offset);
/* Number of bytes at the end of s[0..n) that form an incomplete (but so far
 * valid) UTF-8 sequence: 0..3. Used by streaming decoders. */
size_t dl_utf8_incomplete_tail(const char *s, size_t n);

/* ---- files and time ---------------------------------------------------- */

/* Reads a whole file into a NUL-terminated malloc'd buffer (caller frees). */
char *dl_read_file(const char *path, size_t *len, dl_error *err);
/* The shared public datasets folder: $DL_DATASETS, ../shared/datasets,
 * $DL_SHARED/datasets, or ../shared/datasets beside the source tree the
 * program was built in; NULL when none exists. */
const char *dl_datasets_root(void);
/* The first readable "<dir>/<rel>", dir being the program's directory or one
 * of the three above it (build/rel/deliberate -> the repository), written
 * into out[size]; NULL when there is none. */
const char *dl_find_beside_exe(const char *rel, char *out, size_t size);
/* The built-in default model: the project's own small model, shipped in the
 * git repository at DL_DEFAULT_MODEL and served as DL_DEFAULT_MODEL_NAME. */
#define DL_DEFAULT_MODEL "models/deliberate-mini.gguf"
#define DL_DEFAULT_MODEL_NAME "deliberate-mini"
/* The model to use when none is given: $DELIBERATE_MODEL when set and not
 * empty (a readable file, else an error naming the variable and the path;
 * nothing else is tried), otherwise DL_DEFAULT_MODEL beside the program
 * (dl_find_beside_exe) or in the current directory. Writes the path into
 * out[size] and returns out; NULL with *err (404) saying what was looked
 * for and how to get the model. */
const char *dl_default_model_path(char *out, size_t size, dl_error *err);
double dl_time_ms(void); /* monotonic milliseconds */
int dl_cpu_count(void);  /* online logical CPUs, >= 1 */

/* ---- thread pool ------------------------------------------------------- */

/* A fork-join pool: dl_pool_run calls fn(ctx, ith, nth) once for every ith in
 * 0..nth-1, the calling thread doing ith = 0, and returns when all are done.
 * Workers spin briefly between jobs, then sleep, so back-to-back small jobs
 * (one per matmul in decoding) are cheap. Not reentrant: one run at a time. */
typedef struct dl_pool dl_pool;
typedef void (*dl_pool_fn)(void *ctx, int ith, int nth);

dl_pool *dl_pool_create(int n_threads); /* n_threads >= 1 (1 = no workers) */
void dl_pool_free(dl_pool *pool);
int dl_pool_size(const dl_pool *pool);
void dl_pool_run(dl_pool *pool, dl_pool_fn fn, void *ctx);
/* Splits [0, n) into nth near-equal contiguous ranges; range ith is
 * [*begin, *end). `align` rounds boundaries to multiples of align. */
void dl_split_range(int64_t n, int ith, int nth, int64_t align, int64_t *begin, int64_t *end);

/* ---- half precision ---------------------------------------------------- */

/* IEEE fp16 and bfloat16 <-> float conversions, exact (round to nearest
 * even when narrowing; bf16 narrowing keeps NaN a NaN). */
float dl_f16_to_f32(uint16_t h);
uint16_t dl_f32_to_f16(float f);
float dl_bf16_to_f32(uint16_t h);
uint16_t dl_f32_to_bf16(float f);

#define DL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DL_MAX(a, b) ((a) > (b) ? (a) : (b))
#define DL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
