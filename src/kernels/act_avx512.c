/* AVX-512 activation conversions, bit-identical to the scalar reference
 * quantisers in quant_ref.c (tests check this). */
#include "simd_avx512.h"
#include "simd_kernels.h"

void dl_avx512_quant_q8_0(const float *x, void *vy, int64_t n) {
    dl_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = dl_f32_to_f16(d);
        __m512 vid = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvttps_epi32(dl_roundf512(_mm512_mul_ps(v0, vid)));
        __m512i q1 = _mm512_cvttps_epi32(dl_roundf512(_mm512_mul_ps(v1, vid)));
        _mm_storeu_si128((__m128i *)y[i].qs, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(y[i].qs + 16), _mm512_cvtepi32_epi8(q1));
    }
}

void dl_avx512_quant_q8_K(const float *x, void *vy, int64_t n) {
    dl_block_q8_K *y = vy;
    for (int64_t i = 0; i < n / DL_QK_K; i++, x += DL_QK_K) {
        /* signed value of largest magnitude (first one on ties, as the scalar loop) */
        float amax = 0, max = 0;
        __m512 va = _mm512_setzero_ps();
        for (int j = 0; j < DL_QK_K; j += 16) va = _mm512_max_ps(va, _mm512_abs_ps(_mm512_loadu_ps(x + j)));
        amax = _mm512_reduce_max_ps(va);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        max = dl_first_with_magnitude(x, DL_QK_K, amax);
        float iscale = -127.f / max;
        __m512 vis = _mm512_set1_ps(iscale);
        for (int j = 0; j < DL_QK_K; j += 16) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(vis, _mm512_loadu_ps(x + j)));
            q = _mm512_min_epi32(q, _mm512_set1_epi32(127));
            _mm_storeu_si128((__m128i *)(y[i].qs + j), _mm512_cvtepi32_epi8(q));
            y[i].bsums[j / 16] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        y[i].d = 1 / iscale;
    }
}

void dl_avx512_round_f16(const float *x, void *vy, int64_t n) {
    float *y = vy;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm512_storeu_ps(y + i, _mm512_cvtph_ps(h));
    }
    for (; i < n; i++) y[i] = dl_f16_to_f32(dl_f32_to_f16(x[i]));
}

void dl_avx512_quant_bf16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i u = _mm512_castps_si512(_mm512_loadu_ps(x + i));
        __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF))), 16);
        __mmask16 nan = _mm512_cmp_ps_mask(_mm512_castsi512_ps(u), _mm512_castsi512_ps(u), _CMP_UNORD_Q);
        if (nan) break; /* rare: let the scalar code handle NaN payloads */
        _mm256_storeu_si256((__m256i *)(y + i), _mm512_cvtepi32_epi16(r));
    }
    for (; i < n; i++) y[i] = dl_f32_to_bf16(x[i]);
}
