/* Built-in best-of-n verifiers: compare the extracted answer with an expected
 * one (ud is a `const char **` pointing at it). Both sides go through the
 * answer normalisation first, so "1,234" matches "1234" and "(b)" matches "B". */
#include "reason.h"
#include "extract_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Normalised answer and expected value; false when either is missing. */
static bool normalise_pair(void *ud, const char *answer, char **a, char **e)
{
    const char *expected = ud ? *(const char **)ud : NULL;
    *a = *e = NULL;
    if (!answer || !expected) return false;
    *a = dl_extract_norm_value(answer, strlen(answer), true);
    *e = dl_extract_norm_value(expected, strlen(expected), true);
    return *a && *e;
}

double dl_verify_exact(void *ud, const char *answer, const char *text)
{
    char *a, *e;
    double r = normalise_pair(ud, answer, &a, &e) && strcmp(a, e) == 0 ? 1.0 : 0.0;
    free(a);
    free(e);
    return r;
}

/* Numbers (decimals or fractions) are equal within a relative 1e-9; other
 * answers must match exactly after normalisation. */
double dl_verify_numeric(void *ud, const char *answer, const char *text)
{
    char *a, *e;
    double r = 0.0;
    if (normalise_pair(ud, answer, &a, &e)) {
        double x, y;
        if (dl_extract_number_value(a, &x) && dl_extract_number_value(e, &y))
            r = x == y || fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y)) ? 1.0 : 0.0;
        else
            r = strcmp(a, e) == 0 ? 1.0 : 0.0;
    }
    free(a);
    free(e);
    return r;
}
