/* Inline helpers shared by the *_avx2.c and *_avx512.c files (need AVX2). */
#ifndef DL_SIMD_AVX2_H
#define DL_SIMD_AVX2_H

#include <immintrin.h>

#include "simd_kernels.h"

static inline float dl_f16_to_f32_fast(uint16_t h) { return _cvtsh_ss(h); }

static inline float dl_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#endif
