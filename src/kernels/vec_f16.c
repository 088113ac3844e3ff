/* fp16 vector helpers for the F16 KV cache: scalar versions, and the choice
 * of the F16C/AVX2 versions (vec_f16_avx2.c) when the kernels' instruction
 * set is not forced to "scalar". */
#include "kernels.h"
#include "vec_f16_int.h"

static bool use_simd(void) { return dl_kernels_isa()[0] != 's'; }

float dl_vec_dot_f16_f32(const uint16_t *a, const float *b, int64_t n) {
    if (use_simd()) return dl_vec_dot_f16_f32_avx2(a, b, n);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += dl_f16_to_f32(a[i]) * b[i];
    return sum;
}

void dl_vec_mad_f16(float *y, const uint16_t *x, float a, int64_t n) {
    if (use_simd()) {
        dl_vec_mad_f16_avx2(y, x, a, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) y[i] += a * dl_f16_to_f32(x[i]);
}

void dl_vec_f32_to_f16(uint16_t *dst, const float *src, int64_t n) {
    if (use_simd()) {
        dl_vec_f32_to_f16_avx2(dst, src, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) dst[i] = dl_f32_to_f16(src[i]);
}
