/* fp16 vector helpers for the F16 KV cache: the scalar versions, and the
 * public entry points, which dispatch through the instruction-set table like
 * every other kernel (the avx2 and avx512 tables use vec_f16_avx2.c). */
#include "kernels_int.h"

float dl_scalar_dot_f16(const uint16_t *a, const float *b, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += dl_f16_to_f32(a[i]) * b[i];
    return sum;
}

void dl_scalar_mad_f16(float *y, const uint16_t *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * dl_f16_to_f32(x[i]);
}

void dl_scalar_cvt_f16(uint16_t *dst, const float *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = dl_f32_to_f16(src[i]);
}

void dl_scalar_f16_to_f32(float *dst, const uint16_t *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = dl_f16_to_f32(src[i]);
}

float dl_vec_dot_f16_f32(const uint16_t *a, const float *b, int64_t n) { return dl_isa()->dot_f16(a, b, n); }
void dl_vec_mad_f16(float *y, const uint16_t *x, float a, int64_t n) { dl_isa()->mad_f16(y, x, a, n); }
void dl_vec_f32_to_f16(uint16_t *dst, const float *src, int64_t n) { dl_isa()->cvt_f16(dst, src, n); }
void dl_vec_f16_to_f32(float *dst, const uint16_t *src, int64_t n) { dl_isa()->f16_to_f32(dst, src, n); }
