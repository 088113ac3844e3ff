/* AVX2 activation conversions and float vector helpers; the conversions are
 * bit-identical to the scalar reference quantisers (tests check this). */
#include <string.h>

#include "simd_avx2.h"

/* Round half away from zero, exactly as roundf. */
static inline __m256 roundf256(__m256 t) {
    __m256 r = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 diff = _mm256_sub_ps(t, r);
    __m256 absd = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), diff);
    __m256 up = _mm256_cmp_ps(absd, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(t, _mm256_set1_ps(-0.0f)));
    return _mm256_add_ps(r, _mm256_and_ps(up, one));
}

static inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* 8 int32 (within int8 range) to 8 int8 stored at dst. */
static inline void store8_epi8(int8_t *dst, __m256i q) {
    __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    __m128i p8 = _mm_packs_epi16(p16, p16);
    _mm_storel_epi64((__m128i *)dst, p8);
}

void dl_avx2_quant_q8_0(const float *x, void *vy, int64_t n) {
    dl_block_q8_0 *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        __m256 v[4], m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
        }
        float amax = hmax256(m);
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = dl_f32_to_f16(d);
        __m256 vid = _mm256_set1_ps(id);
        for (int k = 0; k < 4; k++)
            store8_epi8(y[i].qs + 8 * k, _mm256_cvttps_epi32(roundf256(_mm256_mul_ps(v[k], vid))));
    }
}

void dl_avx2_quant_q8_K(const float *x, void *vy, int64_t n) {
    dl_block_q8_K *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / DL_QK_K; i++, x += DL_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < DL_QK_K; j += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        float amax = hmax256(m), max = 0;
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        max = dl_first_with_magnitude(x, DL_QK_K, amax);
        float iscale = -127.f / max;
        __m256 vis = _mm256_set1_ps(iscale);
        for (int j = 0; j < DL_QK_K; j += 16) {
            __m256i q0 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j))), _mm256_set1_epi32(127));
            __m256i q1 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(vis, _mm256_loadu_ps(x + j + 8))), _mm256_set1_epi32(127));
            store8_epi8(y[i].qs + j, q0);
            store8_epi8(y[i].qs + j + 8, q1);
            __m256i s = _mm256_add_epi32(q0, q1);
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            s4 = _mm_hadd_epi32(s4, s4);
            s4 = _mm_hadd_epi32(s4, s4);
            y[i].bsums[j / 16] = (int16_t)_mm_cvtsi128_si32(s4);
        }
        y[i].d = 1 / iscale;
    }
}

void dl_avx2_round_f16(const float *x, void *vy, int64_t n) {
    float *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
    for (; i < n; i++) y[i] = dl_f16_to_f32(dl_f32_to_f16(x[i]));
}

void dl_avx2_quant_bf16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 f = _mm256_loadu_ps(x + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(f, f, _CMP_UNORD_Q))) break; /* NaN: scalar path */
        __m256i u = _mm256_castps_si256(f);
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
        __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7FFF))), 16);
        __m128i p = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
        _mm_storeu_si128((__m128i *)(y + i), p);
    }
    for (; i < n; i++) y[i] = dl_f32_to_bf16(x[i]);
}

float dl_avx2_dot_f32(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = dl_hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void dl_avx2_mad_f32(float *y, const float *x, float a, int64_t n) {
    __m256 va = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
