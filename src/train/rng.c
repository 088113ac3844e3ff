/* The trainer's random draws, over the sampler's xoshiro256** (sample/rng.c). */
#include <math.h>

#include "train.h"

void dl_trng_seed(dl_trng *r, uint64_t seed) { dl_rng_seed(&r->r, seed); }

uint64_t dl_trng_next(dl_trng *r) { return dl_rng_next(&r->r); }

int64_t dl_trng_range(dl_trng *r, int64_t lo, int64_t hi) {
    uint64_t span = (uint64_t)(hi - lo) + 1;
    if (span == 0) return (int64_t)dl_trng_next(r); /* the full 64-bit range */
    /* rejection sampling: no modulo bias */
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    uint64_t x;
    do x = dl_trng_next(r);
    while (x >= limit);
    return lo + (int64_t)(x % span);
}

double dl_trng_unif(dl_trng *r) { return dl_rng_uniform(&r->r); }

double dl_trng_normal(dl_trng *r) {
    double u1 = dl_trng_unif(r), u2 = dl_trng_unif(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
