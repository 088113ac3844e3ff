/* Per-thread scratch buffers for the SIMD kernels (activation repacking).
 * Each thread's buffer is kept between calls and freed when the thread
 * exits (pthread key destructor). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "simd_kernels.h"

typedef struct scratch {
    void *p;
    size_t cap;
} scratch;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *v) {
    scratch *s = v;
    dl_aligned_free(s->p);
    free(s);
}

static void make_key(void) {
    if (pthread_key_create(&g_key, scratch_free) != 0) {
        fprintf(stderr, "deliberate: pthread_key_create failed\n");
        abort();
    }
}

void *dl_kernel_scratch(size_t n) {
    pthread_once(&g_once, make_key);
    scratch *s = pthread_getspecific(g_key);
    if (!s) {
        s = dl_xcalloc(1, sizeof *s);
        pthread_setspecific(g_key, s);
    }
    if (s->cap < n) {
        dl_aligned_free(s->p);
        size_t cap = n + n / 2 + 4096;
        s->p = dl_aligned_alloc(cap);
        if (!s->p) {
            fprintf(stderr, "deliberate: out of memory (kernel scratch of %zu bytes)\n", cap);
            abort();
        }
        s->cap = cap;
    }
    return s->p;
}
