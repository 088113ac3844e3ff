/* K-quant weight unpacking shared by the AVX-512 kernel files: the
 * unsigned quantised values of 64 consecutive elements of a super-block. */
#ifndef DL_KQUANT_AVX512_H
#define DL_KQUANT_AVX512_H

#include "simd_avx512.h"

/* Unsigned weight bytes of step c (values 64c .. 64c+63) of a super-block. */
DL_AI __m512i q4k_weights(const dl_block_q4_K *b, int c) {
    __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * c));
    __m256i m = _mm256_set1_epi8(0x0F);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m)),
                              _mm256_and_si256(_mm256_srli_epi16(q, 4), m), 1);
}

DL_AI __m512i q5k_weights(const dl_block_q5_K *b, int c) {
    __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * c));
    __m256i qh = _mm256_loadu_si256((const __m256i *)b->qh);
    __m256i m = _mm256_set1_epi8(0x0F);
    __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m)),
                                    _mm256_and_si256(_mm256_srli_epi16(q, 4), m), 1);
    __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(qh, 2 * c)),
                                   _mm256_srli_epi16(qh, 2 * c + 1), 1);
    h = _mm512_and_si512(h, _mm512_set1_epi8(1));
    return _mm512_or_si512(lo, _mm512_slli_epi16(h, 4));
}

DL_AI __m512i q6k_weights(const dl_block_q6_K *b, int c) {
    int h = c >> 1, odd = c & 1;
    __m512i ql = _mm512_loadu_si512(b->ql + 64 * h);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
    __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(0x03);
    __m512i lo = odd ? _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4) : _mm512_and_si512(ql, m4);
    __m256i h0 = odd ? _mm256_srli_epi16(qh, 4) : qh;
    __m256i h1 = _mm256_srli_epi16(h0, 2);
    __m512i hz = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(h0), h1, 1), m2);
    return _mm512_or_si512(lo, _mm512_slli_epi16(hz, 4));
}


/* The 8 scales and 8 mins of a Q4_K super-block (6 bits each, packed in 12
 * bytes) as bytes [sc0..sc7, m0..m7], in vector registers. */
DL_AI __m128i q4k_scales_vec(const uint8_t *q) {
    __m128i v = _mm_loadu_si128((const __m128i *)q); /* 12 scale bytes + 4 bytes of qs */
    /* A = [q0-3, q8-11, q4-7, q8-11], B = [0, q0-3, 0, q4-7] */
    __m128i A = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    __m128i B = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
    __m128i lo = _mm_and_si128(A, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
    __m128i hi4 = _mm_and_si128(_mm_srli_epi16(A, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
    __m128i top = _mm_and_si128(_mm_srli_epi16(B, 2), _mm_set1_epi8(0x30)); /* bits 6-7 -> 4-5 */
    return _mm_or_si128(_mm_or_si128(lo, hi4), top);
}

#endif
