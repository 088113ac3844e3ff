/* AVX2 + FMA + F16C kernels.
 *
 * 32-element types, one block per step: u8 x s8 pair products with
 * vpmaddubsw (Q8_0: |w| x sign(a, w), whose pair sums fit int16; Q4_0: the
 * nibbles 0..15 x a, minus 8 * a via a second vpmaddubsw), vpmaddwd with ones
 * to int32, then float FMA with d_w * d_a. K-quants: vpmaddubsw then
 * vpmaddwd with the sub-block scales, integer per super-block, then the
 * min / -32 correction from the Q8_K bsums. Float types: FMA tiles.
 * Tiles: 4 rows x 1 token for decoding, 2 rows x 4 tokens otherwise (16
 * ymm registers). */
#include <string.h>

#include "simd_avx2.h"
#include "simd_drive.h"

#define AI static inline __attribute__((always_inline))
#ifndef DL_PREFETCH
#define DL_PREFETCH 8192 /* bytes ahead in each weight row when decoding (measured on Zen 5) */
#endif
#define UNROLL _Pragma("GCC unroll 8")

AI uint16_t ld16(const void *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* ---- 32-element types ---- */

AI void tile32(int type, int NR, int NT, int64_t n, const char *w, size_t ws, const char *a, size_t as,
               float *y, int64_t ldy) {
    const bool pf = NT == 1 || dl_drive_stream; /* weights stream from memory */
    int64_t nb = n / DL_QK;
    const __m256i ones = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0x0F);
    const __m256i koff = _mm256_set1_epi8(type == DL_TYPE_Q5_0 ? 16 : 8);
    /* byte k of a 32-bit mask -> byte k/8 (within each 128-bit lane), then its bit k%8 */
    const __m256i shuf_bits = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2,
                                               2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit_mask = _mm256_set1_epi64x(0x8040201008040201LL);
    __m256 acc[4][4];
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i wv[4];
        float dw[4];
        UNROLL for (int r = 0; r < NR; r++) {
            if (pf && (b & 1) == 0) /* decoding: fetch ahead in each weight row */
                _mm_prefetch(w + (size_t)r * ws + (size_t)b * (type == DL_TYPE_Q8_0 ? 34 : type == DL_TYPE_Q5_0 ? 22 : 18) + DL_PREFETCH,
                             _MM_HINT_T0);
            if (type == DL_TYPE_Q8_0) {
                const dl_block_q8_0 *blk = (const dl_block_q8_0 *)(w + (size_t)r * ws) + b;
                wv[r] = _mm256_loadu_si256((const __m256i *)blk->qs);
                dw[r] = _cvtsh_ss(ld16(&blk->d));
            } else if (type == DL_TYPE_Q4_0) {
                const dl_block_q4_0 *blk = (const dl_block_q4_0 *)(w + (size_t)r * ws) + b;
                __m128i q = _mm_loadu_si128((const __m128i *)blk->qs);
                __m256i qq = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
                wv[r] = _mm256_and_si256(qq, m4);
                dw[r] = _cvtsh_ss(ld16(&blk->d));
            } else { /* Q5_0: nibbles plus bit j of qh as 16 */
                const dl_block_q5_0 *blk = (const dl_block_q5_0 *)(w + (size_t)r * ws) + b;
                __m128i q = _mm_loadu_si128((const __m128i *)blk->qs);
                __m256i qq = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
                uint32_t qh;
                memcpy(&qh, blk->qh, 4);
                __m256i hb = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), shuf_bits);
                hb = _mm256_cmpeq_epi8(_mm256_and_si256(hb, bit_mask), bit_mask);
                wv[r] = _mm256_or_si256(_mm256_and_si256(qq, m4), _mm256_and_si256(hb, _mm256_set1_epi8(16)));
                dw[r] = _cvtsh_ss(ld16(&blk->d));
            }
        }
        UNROLL for (int t = 0; t < NT; t++) {
            const dl_block_q8_0 *ab = (const dl_block_q8_0 *)(a + (size_t)t * as) + b;
            __m256i av = _mm256_loadu_si256((const __m256i *)ab->qs);
            float da = _cvtsh_ss(ld16(&ab->d));
            __m256i corr = type != DL_TYPE_Q8_0 ? _mm256_maddubs_epi16(koff, av) : _mm256_setzero_si256();
            UNROLL for (int r = 0; r < NR; r++) {
                __m256i p;
                if (type == DL_TYPE_Q8_0)
                    p = _mm256_maddubs_epi16(_mm256_sign_epi8(wv[r], wv[r]), _mm256_sign_epi8(av, wv[r]));
                else
                    p = _mm256_sub_epi16(_mm256_maddubs_epi16(wv[r], av), corr);
                __m256i i32 = _mm256_madd_epi16(p, ones);
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i32), _mm256_set1_ps(dw[r] * da), acc[r][t]);
            }
        }
    }
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) y[t * ldy + r] = dl_hsum256(acc[r][t]);
}

/* ---- K-quants ---- */

AI void q4k_scales(const uint8_t *q, uint8_t sc[8], __m256i *mn16dup) {
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    uint32_t s[2] = {a & 0x3f3f3f3f, (c & 0x0f0f0f0f) | (((a >> 6) & 0x03030303) << 4)};
    uint32_t ml = b & 0x3f3f3f3f, mh = ((c >> 4) & 0x0f0f0f0f) | (((b >> 6) & 0x03030303) << 4);
    memcpy(sc, s, 8);
    __m128i m8 = _mm_cvtsi64_si128((long long)((uint64_t)ml | ((uint64_t)mh << 32)));
    *mn16dup = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
}

AI void tileK(int type, int NR, int NT, int64_t n, const char *w, size_t ws, const char *a, size_t as,
              float *y, int64_t ldy) {
    const bool pf = NT == 1 || dl_drive_stream; /* weights stream from memory */
    int64_t nsb = n / DL_QK_K;
    size_t bsz = type == DL_TYPE_Q4_K   ? sizeof(dl_block_q4_K)
                 : type == DL_TYPE_Q5_K ? sizeof(dl_block_q5_K)
                                        : sizeof(dl_block_q6_K);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
    __m256 acc[4][4];
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nsb; i++) {
        __m256i isum[4][4];
        UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) isum[r][t] = _mm256_setzero_si256();
        uint8_t sc4[4][8];
        int8_t sc6[4][16];
        if (pf)
            UNROLL for (int r = 0; r < NR; r++) {
                const char *blk = w + (size_t)r * ws + (size_t)i * bsz;
                for (size_t o = 0; o < bsz; o += 64) _mm_prefetch(blk + DL_PREFETCH + o, _MM_HINT_T0);
            }
        /* 8 steps of 32 values: Q4_K sub-block j; Q6_K quarter j of the halves */
        UNROLL for (int j = 0; j < 8; j++) {
            __m256i wv[4], scv[4];
            UNROLL for (int r = 0; r < NR; r++) {
                const char *blk = w + (size_t)r * ws + (size_t)i * bsz;
                if (type == DL_TYPE_Q4_K) {
                    const dl_block_q4_K *b = (const dl_block_q4_K *)blk;
                    if (j == 0) {
                        __m256i dummy;
                        q4k_scales(b->scales, sc4[r], &dummy);
                    }
                    __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * (j >> 1)));
                    wv[r] = (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
                    scv[r] = _mm256_set1_epi16(sc4[r][j]);
                } else if (type == DL_TYPE_Q5_K) {
                    const dl_block_q5_K *b = (const dl_block_q5_K *)blk;
                    if (j == 0) {
                        __m256i dummy;
                        q4k_scales(b->scales, sc4[r], &dummy);
                    }
                    __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * (j >> 1)));
                    __m256i lo = (j & 1) ? _mm256_and_si256(_mm256_srli_epi16(q, 4), m4) : _mm256_and_si256(q, m4);
                    __m256i qh = _mm256_loadu_si256((const __m256i *)b->qh);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, j), _mm256_set1_epi8(1));
                    wv[r] = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                    scv[r] = _mm256_set1_epi16(sc4[r][j]);
                } else {
                    const dl_block_q6_K *b = (const dl_block_q6_K *)blk;
                    if (j == 0) memcpy(sc6[r], b->scales, 16);
                    int h = j >> 2, qd = j & 3; /* half, quarter */
                    __m256i ql = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32 * (qd & 1)));
                    __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
                    __m256i lo = (qd >> 1) ? _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4) : _mm256_and_si256(ql, m4);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * qd), m2);
                    wv[r] = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
                    int g = 8 * h + 2 * qd; /* groups of 16: g, g+1 */
                    scv[r] = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(sc6[r][g])),
                                                     _mm_set1_epi16(sc6[r][g + 1]), 1);
                }
            }
            UNROLL for (int t = 0; t < NT; t++) {
                const dl_block_q8_K *qa = (const dl_block_q8_K *)(a + (size_t)t * as) + i;
                __m256i av = _mm256_loadu_si256((const __m256i *)(qa->qs + 32 * j));
                UNROLL for (int r = 0; r < NR; r++)
                    isum[r][t] = _mm256_add_epi32(isum[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(wv[r], av), scv[r]));
            }
        }
        UNROLL for (int r = 0; r < NR; r++) {
            const char *blk = w + (size_t)r * ws + (size_t)i * bsz;
            __m256i cor;
            float d, dmin = 0;
            if (type == DL_TYPE_Q4_K) {
                const dl_block_q4_K *b = (const dl_block_q4_K *)blk;
                uint8_t dummy[8];
                q4k_scales(b->scales, dummy, &cor);
                d = _cvtsh_ss(ld16(&b->d));
                dmin = _cvtsh_ss(ld16(&b->dmin));
            } else if (type == DL_TYPE_Q5_K) {
                const dl_block_q5_K *b = (const dl_block_q5_K *)blk;
                uint8_t dummy[8];
                q4k_scales(b->scales, dummy, &cor);
                d = _cvtsh_ss(ld16(&b->d));
                dmin = _cvtsh_ss(ld16(&b->dmin));
            } else {
                const dl_block_q6_K *b = (const dl_block_q6_K *)blk;
                cor = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
                d = _cvtsh_ss(ld16(&b->d));
            }
            UNROLL for (int t = 0; t < NT; t++) {
                const dl_block_q8_K *qa = (const dl_block_q8_K *)(a + (size_t)t * as) + i;
                __m256i c = _mm256_madd_epi16(cor, _mm256_loadu_si256((const __m256i *)qa->bsums));
                __m256 f;
                if (type != DL_TYPE_Q6_K) {
                    f = _mm256_mul_ps(_mm256_cvtepi32_ps(isum[r][t]), _mm256_set1_ps(d));
                    f = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(c), _mm256_set1_ps(dmin), f);
                } else {
                    f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[r][t], _mm256_slli_epi32(c, 5))),
                                      _mm256_set1_ps(d));
                }
                acc[r][t] = _mm256_fmadd_ps(f, _mm256_set1_ps(qa->d), acc[r][t]);
            }
        }
    }
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) y[t * ldy + r] = dl_hsum256(acc[r][t]);
}

/* ---- float types ---- */

AI __m256 load_bf16x8(const void *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

AI void tileF(int type, int NR, int NT, int64_t n, const char *w, size_t ws, const char *a, size_t as,
              float *y, int64_t ldy) {
    const bool pf = NT == 1 || dl_drive_stream; /* weights stream from memory */
    __m256 acc[4][4];
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    size_t esz = type == DL_TYPE_F32 ? 4 : 2;
    for (; i + 8 <= n; i += 8) {
        if (pf && (i & (esz == 4 ? 15 : 31)) == 0) /* decoding: one prefetch per 64-byte line */
            UNROLL for (int r = 0; r < NR; r++)
                _mm_prefetch(w + (size_t)r * ws + (size_t)i * esz + DL_PREFETCH, _MM_HINT_T0);
        __m256 wv[4];
        UNROLL for (int r = 0; r < NR; r++) {
            const char *wr = w + (size_t)r * ws;
            wv[r] = type == DL_TYPE_F16    ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(wr + 2 * i)))
                    : type == DL_TYPE_BF16 ? load_bf16x8(wr + 2 * i)
                                           : _mm256_loadu_ps((const float *)wr + i);
        }
        UNROLL for (int t = 0; t < NT; t++) {
            const char *at = a + (size_t)t * as;
            __m256 av = type == DL_TYPE_BF16 ? load_bf16x8(at + 2 * i) : _mm256_loadu_ps((const float *)at + i);
            UNROLL for (int r = 0; r < NR; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], av, acc[r][t]);
        }
    }
    UNROLL for (int r = 0; r < NR; r++) UNROLL for (int t = 0; t < NT; t++) {
        float s = dl_hsum256(acc[r][t]);
        const char *wr = w + (size_t)r * ws, *at = a + (size_t)t * as;
        for (int64_t k = i; k < n; k++) {
            float wf = type == DL_TYPE_F32   ? ((const float *)wr)[k]
                       : type == DL_TYPE_F16 ? dl_f16_to_f32(((const uint16_t *)wr)[k])
                                             : dl_bf16_to_f32(((const uint16_t *)wr)[k]);
            float af = type == DL_TYPE_BF16 ? dl_bf16_to_f32(((const uint16_t *)at)[k]) : ((const float *)at)[k];
            s += wf * af;
        }
        y[t * ldy + r] = s;
    }
}

/* Tiles: NR*NT <= 8 are used (4x1 and 2x4 and their remainders); larger
 * entries of the table are never requested and compute single tokens. */
#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        TILE_BODY(R, (R * T > 8 ? 1 : T), n, w, ws, (const char *)a, as, y, ldy);                  \
    }
#define TILE_BODY(R, T, ...) tile32(DL_TYPE_Q8_0, R, T, __VA_ARGS__)
DL_TILES(q8_0)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tile32(DL_TYPE_Q4_0, R, T, __VA_ARGS__)
DL_TILES(q4_0)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tile32(DL_TYPE_Q5_0, R, T, __VA_ARGS__)
DL_TILES(q5_0)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tileK(DL_TYPE_Q4_K, R, T, __VA_ARGS__)
DL_TILES(q4_K)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tileK(DL_TYPE_Q5_K, R, T, __VA_ARGS__)
DL_TILES(q5_K)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tileK(DL_TYPE_Q6_K, R, T, __VA_ARGS__)
DL_TILES(q6_K)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tileF(DL_TYPE_F16, R, T, __VA_ARGS__)
DL_TILES(f16)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tileF(DL_TYPE_BF16, R, T, __VA_ARGS__)
DL_TILES(bf16)
#undef TILE_BODY
#define TILE_BODY(R, T, ...) tileF(DL_TYPE_F32, R, T, __VA_ARGS__)
DL_TILES(f32)
#undef TILE_BODY

#define DEF_GEMM(NAME)                                                                                 \
    static void gemm_##NAME(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as, \
                            int64_t nt, float *y, int64_t ldy) {                                       \
        if (nt == 1) drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 1, NAME##_tiles, NULL);                 \
        else drive(n, w, ws, nr, a, as, nt, y, ldy, 2, 4, NAME##_tiles, NULL);                         \
    }
DEF_GEMM(q8_0)
DEF_GEMM(q4_0)
DEF_GEMM(q5_0)
DEF_GEMM(q4_K)
DEF_GEMM(q5_K)
DEF_GEMM(q6_K)
DEF_GEMM(f16)
DEF_GEMM(bf16)
DEF_GEMM(f32)

const dl_isa_table dl_isa_avx2 = {
    .name = "avx2",
    .gemm = {
        [DL_TYPE_Q8_0] = gemm_q8_0,
        [DL_TYPE_Q4_0] = gemm_q4_0,
        [DL_TYPE_Q5_0] = gemm_q5_0,
        [DL_TYPE_Q4_K] = gemm_q4_K,
        [DL_TYPE_Q5_K] = gemm_q5_K,
        [DL_TYPE_Q6_K] = gemm_q6_K,
        [DL_TYPE_F16] = gemm_f16,
        [DL_TYPE_BF16] = gemm_bf16,
        [DL_TYPE_F32] = gemm_f32,
    },
    .act_quant = {
        [DL_TYPE_Q8_0] = dl_avx2_quant_q8_0,
        [DL_TYPE_Q4_0] = dl_avx2_quant_q8_0,
        [DL_TYPE_Q5_0] = dl_avx2_quant_q8_0,
        [DL_TYPE_Q4_K] = dl_avx2_quant_q8_K,
        [DL_TYPE_Q5_K] = dl_avx2_quant_q8_K,
        [DL_TYPE_Q6_K] = dl_avx2_quant_q8_K,
        [DL_TYPE_F16] = dl_avx2_round_f16,
        [DL_TYPE_BF16] = dl_avx2_quant_bf16,
    },
    .dot_f32 = dl_avx2_dot_f32,
    .mad_f32 = dl_avx2_mad_f32,
    .dot_f16 = dl_avx2_dot_f16,
    .mad_f16 = dl_avx2_mad_f16,
    .cvt_f16 = dl_avx2_cvt_f16,
    .f16_to_f32 = dl_avx2_f16_to_f32,
};
