/* fp16 vector helpers (F16 KV cache): SIMD against the scalar versions. */
#include <math.h>
#include <stdlib.h>

#include "../common/testutil.h"
#include "kernels/kernels.h"

static void fill(uint16_t *h, float *f, int64_t n, unsigned seed) {
    srand(seed);
    for (int64_t i = 0; i < n; i++) {
        float v = (float)rand() / (float)RAND_MAX * 4.0f - 2.0f;
        h[i] = dl_f32_to_f16(v);
        f[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    }
}

static void test_f16_helpers_match_scalar(void **state) {
    const int64_t sizes[] = {1, 7, 8, 15, 16, 17, 64, 128, 131};
    for (size_t k = 0; k < DL_ARRAY_LEN(sizes); k++) {
        int64_t n = sizes[k];
        uint16_t h[131], h_simd[131], h_ref[131];
        float f[131], y_simd[131], y_ref[131];
        fill(h, f, n, (unsigned)k + 1);
        for (int64_t i = 0; i < n; i++) y_simd[i] = y_ref[i] = f[i];

        assert_int_equal(dl_kernels_set_isa(NULL), 0);
        float dot_simd = dl_vec_dot_f16_f32(h, f, n);
        dl_vec_mad_f16(y_simd, h, 0.37f, n);
        dl_vec_f32_to_f16(h_simd, f, n);
        assert_int_equal(dl_kernels_set_isa("scalar"), 0);
        float dot_ref = dl_vec_dot_f16_f32(h, f, n);
        dl_vec_mad_f16(y_ref, h, 0.37f, n);
        dl_vec_f32_to_f16(h_ref, f, n);
        assert_int_equal(dl_kernels_set_isa(NULL), 0);

        double mag = 0;
        for (int64_t i = 0; i < n; i++) mag += fabs(dl_f16_to_f32(h[i]) * f[i]);
        assert_true(fabs(dot_simd - dot_ref) <= 1e-5 * mag + 1e-7);
        for (int64_t i = 0; i < n; i++) {
            assert_true(fabsf(y_simd[i] - y_ref[i]) <= 1e-6f);
            assert_int_equal(h_simd[i], h_ref[i]); /* rounding is exact both ways */
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_helpers_match_scalar),
    };
    return cmocka_run_group_tests_name("kernels_vec_f16", tests, NULL, NULL);
}
