/* Top-k selection with a bounded heap: O(n log k), no allocation. */
#include <math.h>

#include "sample.h"

/* True when element a ranks before element b: larger value first, lower
 * index on ties; NaN ranks after everything. */
static inline bool ranks_before(const float *x, int32_t a, int32_t b) {
    float va = x[a], vb = x[b];
    if (isnan(va)) return isnan(vb) && a < b;
    if (isnan(vb)) return true;
    return va > vb || (va == vb && a < b);
}

/* Sift down in a heap whose root is the element ranking last. */
static void sift_down(const float *x, int32_t *h, int32_t n, int32_t i) {
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && ranks_before(x, h[w], h[l])) w = l;
        if (r < n && ranks_before(x, h[w], h[r])) w = r;
        if (w == i) return;
        int32_t t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

void dl_top_k_indices(const float *x, int32_t n, int32_t k, int32_t *out) {
    if (n <= 0 || k <= 0) return;
    if (k > n) k = n;
    /* out[0..k) is a heap with the worst kept element at the root */
    for (int32_t i = 0; i < k; i++) out[i] = i;
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(x, out, k, i);
    for (int32_t i = k; i < n; i++) {
        if (ranks_before(x, i, out[0])) {
            out[0] = i;
            sift_down(x, out, k, 0);
        }
    }
    /* heap sort: move the worst to the end repeatedly -> best first */
    for (int32_t m = k - 1; m > 0; m--) {
        int32_t t = out[0];
        out[0] = out[m];
        out[m] = t;
        sift_down(x, out, m, 0);
    }
}
