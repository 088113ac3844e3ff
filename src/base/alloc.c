/* Allocation helpers and the bounded growable buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static void oom(size_t n) {
    fprintf(stderr, "deliberate: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *dl_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *dl_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size);
    return p;
}

void *dl_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *dl_xstrdup(const char *s) { return dl_xstrndup(s, strlen(s)); }

char *dl_xstrndup(const char *s, size_t n) {
    char *p = dl_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *dl_aligned_alloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0) return NULL;
    return p;
}

void dl_aligned_free(void *p) { free(p); }

int dl_buf_append(dl_buf *b, const void *data, size_t n) {
    if (b->max && b->len + n > b->max) return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        b->data = dl_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int dl_buf_printf(dl_buf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return dl_buf_append(b, small, (size_t)n);
    char *big = dl_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = dl_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void dl_buf_free(dl_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
