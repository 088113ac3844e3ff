/* Helpers shared by the trainer's gradient tests (header only: each test
 * binary is one .c file). */
#ifndef DL_TEST_GRAD_UTIL_H
#define DL_TEST_GRAD_UTIL_H

#include <math.h>
#include <stdlib.h>

#include "train/train_int.h"

/* n floats drawn from N(0, sd^2); malloc'd. */
static inline float *randv(dl_trng *r, size_t n, double sd) {
    float *v = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = (float)(sd * dl_trng_normal(r));
    return v;
}

/* |a - b| / max(|a|, |b|) over n values (0 when both are zero). */
static inline double rel_err(const double *a, const double *b, size_t n) {
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double den = fmax(sqrt(na), sqrt(nb));
    return den > 0 ? sqrt(d) / den : 0.0;
}

#endif
