/* Binary min-heap of merge candidates (see dl_bigram in tok_int.h). */
#include <stdlib.h>

#include "tok_int.h"

static bool before(const dl_bigram *a, const dl_bigram *b) {
    if (a->key != b->key) return a->key < b->key;
    return a->left < b->left;
}

void dl_bheap_push(dl_bheap *h, dl_bigram b) {
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = dl_xrealloc(h->v, h->cap * sizeof *h->v);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&b, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = b;
}

bool dl_bheap_pop(dl_bheap *h, dl_bigram *out) {
    if (h->n == 0) return false;
    *out = h->v[0];
    dl_bigram last = h->v[--h->n];
    size_t i = 0, n = h->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (n > 0) h->v[i] = last;
    return true;
}
