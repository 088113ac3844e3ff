/* Inline helpers shared by the *_avx2.c and *_avx512.c files (need AVX2). */
#ifndef DL_SIMD_AVX2_H
#define DL_SIMD_AVX2_H

#include <immintrin.h>

static inline float dl_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

float dl_avx2_dot_f32(const float *a, const float *b, int64_t n);
void dl_avx2_mad_f32(float *y, const float *x, float a, int64_t n);

#endif
