/* AVX-512 kernels (F/BW/VL/DQ + VNNI + BF16).
 *
 * 32-element types (Q8_0, Q4_0): a tile of NR weight rows x NT tokens walks
 * the row two blocks (64 values) at a time. The token tile's activations are
 * first repacked into a scratch table: for every step the 64 int8 values
 * (in the order the weight unpacking produces), the VNNI offset correction
 * and the expanded float scales. Weights are made unsigned (Q8_0: +128 by
 * xor; Q4_0: the raw nibbles 0..15) so one vpdpbusd computes 4-value sums;
 * the correction -k*sum(a) (k = 128 or 8) is the accumulator's start value,
 * which makes each lane's integer exact. Then int -> float, times
 * d_w * d_a, accumulated per (row, token) in float.
 *
 * K-quants (Q4_K, Q5_K, Q6_K) when decoding (up to DL_ROWS_MAX_TOK tokens):
 * per super-block of 256, 64 values per step: vpmaddubsw (u8 weights x s8
 * activations, pairs) then vpdpwssd with the sub-block scales; integer sums
 * per super-block, then the minimum / -32 offset correction from the Q8_K
 * bsums, then floats. More tokens: gemm_kpack_avx512.c.
 *
 * F16 / BF16 / F32: float FMAs (BF16 with vdpbf16ps) over a 4 x 4 tile;
 * F16 prefill (from DL_PACK_MIN_TOK tokens) on float panels instead
 * (gemm_fpack_avx512.c). F32 keeps the tile at every batch size: a row's
 * sums are then the same whatever the batch (the batched server relies on
 * it, docs/batching.md). */
#include "simd_avx512.h"
#include "simd_avx2.h"
#include "simd_drive.h"
#include "simd_kernels.h"
#include "kquant_avx512.h"

#ifndef DL_PREFETCH
#define DL_PREFETCH 8192 /* bytes ahead in each weight row when decoding (measured on Zen 5) */
#endif
#ifndef DL_ROWS_MAX_TOK
#define DL_ROWS_MAX_TOK 8 /* up to this many tokens, Q8_0/Q4_K/Q6_K walk rows one after another */
#endif
/* From this many tokens the quantised types run on repacked rows (gemm_bpack_avx512.c,
 * gemm_kpack_avx512.c) and read activations in the layout of act_pack, and F16
 * on float panels (gemm_fpack_avx512.c). */
#define DL_PACK_MIN_TOK (DL_ROWS_MAX_TOK + 1)

/* ---------------------------------------------------------------------- */
/* shared: the tile driver is in simd_drive.h                             */

/* ---------------------------------------------------------------------- */
/* 32-element types                                                        */

/* One repacked activation step (2 blocks) of one token. */
typedef struct {
    int8_t q[64];
    int32_t corr[16];
    float s[16];
} act_step;

static const int32_t k_idx_nat[16] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
static const int32_t k_idx_lohi[16] = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1};

/* Repacks nt tokens of Q8_0 activations: table[step][token]. lohi: order
 * the values as Q4_0 unpacking does (block0 0..15, block1 0..15, block0
 * 16..31, block1 16..31). k: the weight offset to correct for. */
DL_AI void *prep_q8_0_common(int64_t n, const char *a, size_t as, int nt, size_t *pstride, bool lohi,
                             int k) {
    int64_t nb = n / DL_QK, nsteps = (nb + 1) / 2;
    act_step *tab = dl_kernel_scratch((size_t)(nsteps * nt) * sizeof(act_step));
    __m512i idx = _mm512_loadu_si512(lohi ? k_idx_lohi : k_idx_nat);
    __m512i kk = _mm512_set1_epi8((char)k);
    for (int t = 0; t < nt; t++) {
        const dl_block_q8_0 *b = (const dl_block_q8_0 *)(a + (size_t)t * as);
        for (int64_t s = 0; s < nsteps; s++) {
            act_step *o = &tab[s * nt + t];
            bool two = 2 * s + 1 < nb;
            const dl_block_q8_0 *b0 = &b[2 * s], *b1 = two ? &b[2 * s + 1] : NULL;
            __m256i q0 = _mm256_loadu_si256((const __m256i *)b0->qs);
            __m256i q1 = two ? _mm256_loadu_si256((const __m256i *)b1->qs) : _mm256_setzero_si256();
            __m512i v;
            if (lohi) {
                __m256i lo = _mm256_permute2x128_si256(q0, q1, 0x20);
                __m256i hi = _mm256_permute2x128_si256(q0, q1, 0x31);
                v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            } else {
                v = _mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1);
            }
            _mm512_storeu_si512(o->q, v);
            __m512i c = _mm512_dpbusd_epi32(_mm512_setzero_si512(), kk, v);
            _mm512_storeu_si512(o->corr, _mm512_sub_epi32(_mm512_setzero_si512(), c));
            _mm512_storeu_ps(o->s, dl_scale2(b0->d, two ? b1->d : 0, idx));
        }
    }
    *pstride = sizeof(act_step); /* tokens of one step are adjacent */
    return tab;
}

static void *prep_q8_0_nat(int64_t n, const char *a, size_t as, int nt, size_t *ps) {
    return prep_q8_0_common(n, a, as, nt, ps, false, 128);
}
static void *prep_q8_0_lohi(int64_t n, const char *a, size_t as, int nt, size_t *ps) {
    return prep_q8_0_common(n, a, as, nt, ps, true, 8);
}

/* Weight step loaders: unsigned bytes in the activation order, and scales. */
DL_AI void load_w_q8_0(const char *row, int64_t s, bool two, __m512i *v, __m512 *sc, __m512i idx) {
    const dl_block_q8_0 *b = (const dl_block_q8_0 *)row + 2 * s;
    __m256i q0 = _mm256_loadu_si256((const __m256i *)b[0].qs);
    __m256i q1 = two ? _mm256_loadu_si256((const __m256i *)b[1].qs) : _mm256_setzero_si256();
    *v = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), _mm512_set1_epi8((char)0x80));
    *sc = dl_scale2(dl_ld16(&b[0].d), two ? dl_ld16(&b[1].d) : 0, idx);
}

DL_AI void load_w_q4_0(const char *row, int64_t s, bool two, __m512i *v, __m512 *sc, __m512i idx) {
    const dl_block_q4_0 *b = (const dl_block_q4_0 *)row + 2 * s;
    __m128i q0 = _mm_loadu_si128((const __m128i *)b[0].qs);
    __m128i q1 = two ? _mm_loadu_si128((const __m128i *)b[1].qs) : _mm_setzero_si128();
    __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
    __m256i m = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_and_si256(q, m), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m);
    *v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    *sc = dl_scale2(dl_ld16(&b[0].d), two ? dl_ld16(&b[1].d) : 0, idx);
}

DL_AI void load_w_q5_0(const char *row, int64_t s, bool two, __m512i *v, __m512 *sc, __m512i idx) {
    const dl_block_q5_0 *b = (const dl_block_q5_0 *)row + 2 * s;
    __m128i q0 = _mm_loadu_si128((const __m128i *)b[0].qs);
    __m128i q1 = two ? _mm_loadu_si128((const __m128i *)b[1].qs) : _mm_setzero_si128();
    __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
    __m256i m = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_and_si256(q, m), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m);
    uint32_t h0, h1 = 0;
    memcpy(&h0, b[0].qh, 4);
    if (two) memcpy(&h1, b[1].qh, 4);
    /* byte k of the lo/hi layout takes bit: b0 0..15, b1 0..15, b0 16..31, b1 16..31 */
    __mmask64 hm = (__mmask64)((uint64_t)(h0 & 0xFFFF) | ((uint64_t)(h1 & 0xFFFF) << 16) |
                               ((uint64_t)(h0 >> 16) << 32) | ((uint64_t)(h1 >> 16) << 48));
    __m512i v4 = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    *v = _mm512_mask_add_epi8(v4, hm, v4, _mm512_set1_epi8(16));
    *sc = dl_scale2(dl_ld16(&b[0].d), two ? dl_ld16(&b[1].d) : 0, idx);
}

/* One NR x NT tile over a whole row for a 32-element type. */
DL_AI void tile32(int type, int NR, int NT, int64_t n, const char *w, size_t ws, const void *ap,
                  float *y, int64_t ldy) {
    const act_step *tab = ap;
    const bool pf = NT == 1 || dl_drive_stream; /* weights stream from memory */
    int64_t nb = n / DL_QK, nsteps = (nb + 1) / 2;
    __m512i idx = _mm512_loadu_si512(type == DL_TYPE_Q8_0 ? k_idx_nat : k_idx_lohi);
    __m512 acc[4][4];
    DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsteps; s++) {
        bool two = 2 * s + 1 < nb;
        __m512i wv[4];
        __m512 wsc[4];
        DL_UNROLL for (int r = 0; r < NR; r++) {
            /* decoding streams the weights once: fetch ahead */
            if (pf)
                _mm_prefetch(w + (size_t)r * ws +
                                 (size_t)s * (type == DL_TYPE_Q8_0 ? 68 : type == DL_TYPE_Q5_0 ? 44 : 36) + DL_PREFETCH,
                             _MM_HINT_T0);
            if (type == DL_TYPE_Q4_0) load_w_q4_0(w + (size_t)r * ws, s, two, &wv[r], &wsc[r], idx);
            else if (type == DL_TYPE_Q5_0) load_w_q5_0(w + (size_t)r * ws, s, two, &wv[r], &wsc[r], idx);
            else load_w_q8_0(w + (size_t)r * ws, s, two, &wv[r], &wsc[r], idx);
        }
        const act_step *st = &tab[s * NT];
        DL_UNROLL for (int t = 0; t < NT; t++) {
            __m512i av = _mm512_load_si512(st[t].q);
            __m512i cv = _mm512_load_si512(st[t].corr);
            __m512 sv = _mm512_load_ps(st[t].s);
            DL_UNROLL for (int r = 0; r < NR; r++) {
                __m512i is = _mm512_dpbusd_epi32(cv, wv[r], av);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(wsc[r], sv), acc[r][t]);
            }
        }
    }
    DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++)
        y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        tile32(DL_TYPE_Q4_0, R, T, n, w, ws, a, y, ldy);                                          \
    }
DL_TILES(q4_0)
#undef DL_TILE
#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        tile32(DL_TYPE_Q5_0, R, T, n, w, ws, a, y, ldy);                                          \
    }
DL_TILES(q5_0)
#undef DL_TILE

/* One step (two blocks) of a Q8_0 row against the repacked activations:
 * acc += (int dot) * d_w * d_a per lane. */
DL_AI __m512 q8_0_step(const char *row, const act_step *st, int64_t s, bool two, __m512i idx, __m512 acc) {
    __m512i wv;
    __m512 wsc;
    load_w_q8_0(row, s, two, &wv, &wsc, idx);
    __m512i is = _mm512_dpbusd_epi32(_mm512_load_si512(st->corr), wv, _mm512_load_si512(st->q));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(wsc, _mm512_load_ps(st->s)), acc);
}

/* Decoding (one token): the rows one after another, so the thread reads one
 * ascending stream (the hardware prefetcher follows it; tiles of several
 * rows interleave streams within a page and read ~30 % slower), with four
 * accumulators over the steps and a software prefetch DL_PREFETCH ahead. */
static void gemv_q8_0(int64_t n, const char *w, size_t ws, int64_t nr, const char *a, size_t as, float *y) {
    size_t ps;
    const act_step *tab = prep_q8_0_nat(n, a, as, 1, &ps);
    int64_t nb = n / DL_QK, nfull = nb / 2, nsteps = (nb + 1) / 2;
    __m512i idx = _mm512_loadu_si512(k_idx_nat);
    for (int64_t r = 0; r < nr; r++) {
        const char *row = w + (size_t)r * ws;
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int64_t s = 0;
        for (; s + 4 <= nfull; s += 4) {
            const char *p = row + (size_t)s * 68 + DL_PREFETCH;
            DL_UNROLL for (int k = 0; k < 5; k++) _mm_prefetch(p + 64 * k, _MM_HINT_T0);
            acc0 = q8_0_step(row, &tab[s], s, true, idx, acc0);
            acc1 = q8_0_step(row, &tab[s + 1], s + 1, true, idx, acc1);
            acc2 = q8_0_step(row, &tab[s + 2], s + 2, true, idx, acc2);
            acc3 = q8_0_step(row, &tab[s + 3], s + 3, true, idx, acc3);
        }
        for (; s < nsteps; s++) {
            _mm_prefetch(row + (size_t)s * 68 + DL_PREFETCH, _MM_HINT_T0);
            acc0 = q8_0_step(row, &tab[s], s, 2 * s + 1 < nb, idx, acc0);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
    }
}

/* Batched decoding (2..8 tokens): like gemv_q8_0, the rows one after
 * another, each step of the row loaded once and dotted against every
 * token's repacked activations (table[step][token]); one accumulator per
 * token, in the order of the tiles' (acc[r][t] over the steps). */
DL_AI void gemvn_q8_0(int NT, int64_t n, const char *w, size_t ws, int64_t nr, const act_step *tab, float *y,
                      int64_t ldy) {
    int64_t nb = n / DL_QK, nsteps = (nb + 1) / 2;
    __m512i idx = _mm512_loadu_si512(k_idx_nat);
    for (int64_t r = 0; r < nr; r++) {
        const char *row = w + (size_t)r * ws;
        __m512 acc[8];
        DL_UNROLL for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        for (int64_t s = 0; s < nsteps; s++) {
            if ((s & 1) == 0) {
                _mm_prefetch(row + (size_t)s * 68 + DL_PREFETCH, _MM_HINT_T0);
                _mm_prefetch(row + (size_t)s * 68 + DL_PREFETCH + 64, _MM_HINT_T0);
                _mm_prefetch(row + (size_t)s * 68 + DL_PREFETCH + 128, _MM_HINT_T0);
            }
            __m512i wv;
            __m512 wsc;
            load_w_q8_0(row, s, 2 * s + 1 < nb, &wv, &wsc, idx);
            const act_step *st = &tab[s * NT];
            DL_UNROLL for (int t = 0; t < NT; t++) {
                __m512i is = _mm512_dpbusd_epi32(_mm512_load_si512(st[t].corr), wv, _mm512_load_si512(st[t].q));
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(wsc, _mm512_load_ps(st[t].s)), acc[t]);
            }
        }
        DL_UNROLL for (int t = 0; t < NT; t++) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
    }
}

static void gemv_multi_q8_0(int64_t n, const char *w, size_t ws, int64_t nr, const char *a, size_t as, int64_t nt,
                            float *y, int64_t ldy) {
    size_t ps;
    const act_step *tab = prep_q8_0_nat(n, a, as, (int)nt, &ps);
    switch (nt) {
    case 2: gemvn_q8_0(2, n, w, ws, nr, tab, y, ldy); break;
    case 3: gemvn_q8_0(3, n, w, ws, nr, tab, y, ldy); break;
    case 4: gemvn_q8_0(4, n, w, ws, nr, tab, y, ldy); break;
    case 5: gemvn_q8_0(5, n, w, ws, nr, tab, y, ldy); break;
    case 6: gemvn_q8_0(6, n, w, ws, nr, tab, y, ldy); break;
    case 7: gemvn_q8_0(7, n, w, ws, nr, tab, y, ldy); break;
    default: gemvn_q8_0(8, n, w, ws, nr, tab, y, ldy); break;
    }
}

static void gemm_q8_0(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    if (nt == 1) gemv_q8_0(n, w, ws, nr, a, as, y);
    else if (nt <= DL_ROWS_MAX_TOK) gemv_multi_q8_0(n, w, ws, nr, a, as, nt, y, ldy);
    else dl_avx512_gemm_bpack(DL_TYPE_Q8_0, n, w, ws, nr, a, as, nt, y, ldy);
}
static void *prep_q8_0_lohi16(int64_t n, const char *a, size_t as, int nt, size_t *ps) {
    return prep_q8_0_common(n, a, as, nt, ps, true, 16);
}
static void gemm_q5_0(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    if (nt >= DL_PACK_MIN_TOK) dl_avx512_gemm_bpack(DL_TYPE_Q5_0, n, w, ws, nr, a, as, nt, y, ldy);
    else drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 4, q5_0_tiles, prep_q8_0_lohi16);
}
static void gemm_q4_0(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    if (nt >= DL_PACK_MIN_TOK) dl_avx512_gemm_bpack(DL_TYPE_Q4_0, n, w, ws, nr, a, as, nt, y, ldy);
    else drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 4, q4_0_tiles, prep_q8_0_lohi);
}

/* ---------------------------------------------------------------------- */
/* K-quants x Q8_K                                                         */

/* Q4_K scales and mins of one super-block: 8 six-bit values each. */
DL_AI void q4k_scales(const uint8_t *q, __m512i *sc16, __m256i *mn16dup) {
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    uint32_t sl = a & 0x3f3f3f3f, ml = b & 0x3f3f3f3f;
    uint32_t sh = (c & 0x0f0f0f0f) | (((a >> 6) & 0x03030303) << 4);
    uint32_t mh = ((c >> 4) & 0x0f0f0f0f) | (((b >> 6) & 0x03030303) << 4);
    __m128i s8 = _mm_cvtsi64_si128((long long)((uint64_t)sl | ((uint64_t)sh << 32)));
    __m128i m8 = _mm_cvtsi64_si128((long long)((uint64_t)ml | ((uint64_t)mh << 32)));
    *sc16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(s8));
    *mn16dup = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8)); /* m0 m0 m1 m1 ... */
}

/* Lane c of the step index tables: int16 lanes 0..15 -> entry 2c, 16..31 -> 2c+1. */
DL_AI __m512i q4k_scale_idx(int c) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(2 * c))),
                              _mm256_set1_epi16((short)(2 * c + 1)), 1);
}

/* Q6_K: int16 lanes 0..7 -> group 4c, 8..15 -> 4c+1, ... */
DL_AI __m512i q6k_scale_idx(int c) {
    return _mm512_set_epi16(4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 3, 4 * c + 3,
                            4 * c + 2, 4 * c + 2, 4 * c + 2, 4 * c + 2, 4 * c + 2, 4 * c + 2, 4 * c + 2, 4 * c + 2,
                            4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c + 1, 4 * c + 1,
                            4 * c, 4 * c, 4 * c, 4 * c, 4 * c, 4 * c, 4 * c, 4 * c);
}

#ifndef DL_KU_ROWS
#define DL_KU_ROWS 2 /* register tile of the K-quant prefill: rows x tokens */
#endif
#ifndef DL_KU_TOKS
#define DL_KU_TOKS 4
#endif

/* One NR x NT tile of a K-quant type over a whole row (prefill of the
 * K-quants goes to gemm_kpack_avx512.c; this serves Q5_K up to
 * DL_ROWS_MAX_TOK tokens). */
DL_AI void tileK(int type, int NR, int NT, int64_t n, const char *w, size_t ws, const void *ap,
                 size_t as, float *y, int64_t ldy) {
    int64_t nsb = n / DL_QK_K;
    const bool pf = NT == 1 || dl_drive_stream; /* weights stream from memory */
    size_t bsz = type == DL_TYPE_Q4_K ? sizeof(dl_block_q4_K)
                 : type == DL_TYPE_Q5_K ? sizeof(dl_block_q5_K)
                                        : sizeof(dl_block_q6_K);
    const char *a = ap;
    __m512 acc[4][4];
    DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nsb; i++) {
        __m512i sc16[4];
        __m256i cor16[4]; /* Q4_K: mins (dup per 16); Q6_K: scales per 16 */
        __m512 dr[4], dmr[4];
        DL_UNROLL for (int r = 0; r < NR; r++) {
            const char *blk = w + (size_t)r * ws + (size_t)i * bsz;
            if (pf)
                for (size_t o = 0; o < bsz; o += 64) _mm_prefetch(blk + DL_PREFETCH + o, _MM_HINT_T0);
            if (type == DL_TYPE_Q4_K) {
                const dl_block_q4_K *b = (const dl_block_q4_K *)blk;
                q4k_scales(b->scales, &sc16[r], &cor16[r]);
                dr[r] = _mm512_set1_ps(dl_f16_to_f32_fast(dl_ld16(&b->d)));
                dmr[r] = _mm512_set1_ps(dl_f16_to_f32_fast(dl_ld16(&b->dmin)));
            } else if (type == DL_TYPE_Q5_K) {
                const dl_block_q5_K *b = (const dl_block_q5_K *)blk;
                q4k_scales(b->scales, &sc16[r], &cor16[r]);
                dr[r] = _mm512_set1_ps(dl_f16_to_f32_fast(dl_ld16(&b->d)));
                dmr[r] = _mm512_set1_ps(dl_f16_to_f32_fast(dl_ld16(&b->dmin)));
            } else {
                const dl_block_q6_K *b = (const dl_block_q6_K *)blk;
                cor16[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
                sc16[r] = _mm512_castsi256_si512(cor16[r]);
                dr[r] = _mm512_set1_ps(dl_f16_to_f32_fast(dl_ld16(&b->d)));
            }
        }
        __m512i isum[4][4];
        DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++) isum[r][t] = _mm512_setzero_si512();
        DL_UNROLL for (int c = 0; c < 4; c++) {
            __m512i idx = type == DL_TYPE_Q6_K ? q6k_scale_idx(c) : q4k_scale_idx(c);
            __m512i wv[4], scv[4];
            DL_UNROLL for (int r = 0; r < NR; r++) {
                const char *blk = w + (size_t)r * ws + (size_t)i * bsz;
                wv[r] = type == DL_TYPE_Q4_K   ? q4k_weights((const dl_block_q4_K *)blk, c)
                        : type == DL_TYPE_Q5_K ? q5k_weights((const dl_block_q5_K *)blk, c)
                                               : q6k_weights((const dl_block_q6_K *)blk, c);
                scv[r] = _mm512_permutexvar_epi16(idx, sc16[r]);
            }
            DL_UNROLL for (int t = 0; t < NT; t++) {
                const dl_block_q8_K *qa = (const dl_block_q8_K *)(a + (size_t)t * as) + i;
                __m512i av = _mm512_loadu_si512(qa->qs + 64 * c);
                DL_UNROLL for (int r = 0; r < NR; r++)
                    isum[r][t] = _mm512_dpwssd_epi32(isum[r][t], _mm512_maddubs_epi16(wv[r], av), scv[r]);
            }
        }
        DL_UNROLL for (int t = 0; t < NT; t++) {
            const dl_block_q8_K *qa = (const dl_block_q8_K *)(a + (size_t)t * as) + i;
            __m256i bs = _mm256_loadu_si256((const __m256i *)qa->bsums);
            __m512 da = _mm512_set1_ps(qa->d);
            DL_UNROLL for (int r = 0; r < NR; r++) {
                __m512i corr = _mm512_zextsi256_si512(_mm256_madd_epi16(cor16[r], bs));
                __m512 f;
                if (type != DL_TYPE_Q6_K) {
                    f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[r][t]), dr[r]);
                    f = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(corr), dmr[r], f);
                } else {
                    __m512i is = _mm512_sub_epi32(isum[r][t], _mm512_slli_epi32(corr, 5));
                    f = _mm512_mul_ps(_mm512_cvtepi32_ps(is), dr[r]);
                }
                acc[r][t] = _mm512_fmadd_ps(f, da, acc[r][t]);
            }
        }
    }
    DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++)
        y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

/* K-quant tiles keep NR*NT <= DL_KU_ROWS*DL_KU_TOKS (integer and float accumulators live
 * in registers); the drivers below never ask for larger ones, which are
 * instantiated only to fill the table, as single-token tiles. */
#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        tileK(DL_TYPE_Q5_K, R, (R * T > DL_KU_ROWS * DL_KU_TOKS ? 1 : T), n, w, ws, a, as, y, ldy);  \
    }
DL_TILES(q5_K)
#undef DL_TILE


static void gemm_q5_K(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    if (nt >= DL_PACK_MIN_TOK) dl_avx512_gemm_kpack(DL_TYPE_Q5_K, n, w, ws, nr, a, as, nt, y, ldy);
    else if (nt == 1) drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 1, q5_K_tiles, NULL);
    else drive(n, w, ws, nr, a, as, nt, y, ldy, 2, 4, q5_K_tiles, NULL);
}

/* Decoding Q6_K (one token): rows one after another (see gemv_q8_0); per
 * super-block two integer sums (even and odd steps), two float
 * accumulators (even and odd super-blocks) for ILP. */
static void gemv_q6_K(int64_t n, const char *w, size_t ws, int64_t nr, const char *a, float *y) {
    const dl_block_q8_K *qa = (const dl_block_q8_K *)a;
    int64_t nsb = n / DL_QK_K;
    for (int64_t r = 0; r < nr; r++) {
        const dl_block_q6_K *b = (const dl_block_q6_K *)(w + (size_t)r * ws);
        __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
        for (int64_t i = 0; i < nsb; i++) {
            const char *blk = (const char *)&b[i];
            for (size_t o = 0; o < sizeof *b; o += 64) _mm_prefetch(blk + DL_PREFETCH + o, _MM_HINT_T0);
            __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b[i].scales));
            __m512i sc16 = _mm512_castsi256_si512(sc);
            float dd = dl_f16_to_f32_fast(dl_ld16(&b[i].d)) * qa[i].d;
            __m512i isum[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()};
            DL_UNROLL for (int c = 0; c < 4; c++) {
                __m512i av = _mm512_loadu_si512(qa[i].qs + 64 * c);
                isum[c & 1] = _mm512_dpwssd_epi32(isum[c & 1], _mm512_maddubs_epi16(q6k_weights(&b[i], c), av),
                                                  _mm512_permutexvar_epi16(q6k_scale_idx(c), sc16));
            }
            /* the -32 offset of every value: 32 * sum of scale x bsum */
            __m256i corr = _mm256_madd_epi16(sc, _mm256_loadu_si256((const __m256i *)qa[i].bsums));
            __m512i is = _mm512_sub_epi32(_mm512_add_epi32(isum[0], isum[1]),
                                          _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
            acc[i & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(dd), acc[i & 1]);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc[0], acc[1]));
    }
}

/* Q4_K decoding works on activations repacked once per call: per
 * super-block the 256 int8 values in the order of the weight unpacking
 * (sub-blocks 0|2, 1|3, 4|6, 5|7: a 64-byte load of qs gives the low
 * nibbles of two sub-blocks and the high nibbles of two others), the bsums
 * of each 32-value sub-block, and d. */
typedef struct {
    int8_t q[256];
    int16_t bs32[8];
    float d;
    char pad[44];
} q4k_act;
static_assert(sizeof(q4k_act) % 64 == 0, "q4k_act keeps 64-byte alignment");

/* Batched decoding of Q4_K, per super-block the terms shared by the
 * tokens: bs32[t] (token t's sub-block sums, tokens side by side, so one
 * 512-bit multiply-add does the mins term of four tokens) and dx4[t][*]
 * (token t's d four times, the scale of those four lanes). */
typedef struct {
    int16_t bs32[8][8];
    float dx4[8][4];
} q4k_sbx;
static_assert(sizeof(q4k_sbx) % 64 == 0, "q4k_sbx keeps 64-byte alignment");

/* Fills table[i][t] for nt tokens whose Q8_K rows are `as` bytes apart;
 * with sbx (batched decoding) also their q4k_sbx table, after the
 * activations in the same scratch. */
static q4k_act *prep_q4k_act(int64_t n, const char *a, size_t as, int nt, const q4k_sbx **sbx) {
    int64_t nsb = n / DL_QK_K;
    size_t act = (size_t)(nsb * nt) * sizeof(q4k_act);
    char *buf = dl_kernel_scratch(act + (sbx ? (size_t)nsb * sizeof(q4k_sbx) : 0));
    q4k_act *tab = (q4k_act *)buf;
    q4k_sbx *x = sbx ? (q4k_sbx *)(buf + act) : NULL;
    static const int order[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    if (x) memset(x, 0, (size_t)nsb * sizeof(q4k_sbx));
    for (int tok = 0; tok < nt; tok++) {
        const dl_block_q8_K *qa = (const dl_block_q8_K *)(a + (size_t)tok * as);
        for (int64_t i = 0; i < nsb; i++) {
            q4k_act *t = &tab[i * nt + tok];
            for (int k = 0; k < 8; k++)
                _mm256_store_si256((__m256i *)(t->q + 32 * k), _mm256_loadu_si256((const __m256i *)(qa[i].qs + 32 * order[k])));
            for (int j = 0; j < 8; j++) t->bs32[j] = (int16_t)(qa[i].bsums[2 * j] + qa[i].bsums[2 * j + 1]);
            t->d = qa[i].d;
            if (!x) continue;
            memcpy(x[i].bs32[tok], t->bs32, sizeof t->bs32);
            for (int j = 0; j < 4; j++) x[i].dx4[tok][j] = qa[i].d;
        }
    }
    if (sbx) *sbx = x;
    return tab;
}

/* pshufb control: int16 lanes 0..15 take byte a (zero-extended), 16..31 byte b. */
DL_AI __m512i q4k_scale_shuf(int a, int b) {
    __m128i ca = _mm_set1_epi16((short)(0xFF00 | a)), cb = _mm_set1_epi16((short)(0xFF00 | b));
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(ca, ca)), _mm256_set_m128i(cb, cb), 1);
}

/* Decoding Q4_K (one token): rows one after another (see gemv_q8_0). */
static void gemv_q4_K(int64_t n, const char *w, size_t ws, int64_t nr, const char *a, float *y) {
    int64_t nsb = n / DL_QK_K;
    const q4k_act *qa = prep_q4k_act(n, a, 0, 1, NULL);
    /* byte shuffles of the broadcast scale bytes: int16 lanes 0..15 <- scale a, 16..31 <- scale b */
    const __m512i i0 = q4k_scale_shuf(0, 2), i1 = q4k_scale_shuf(1, 3), i2 = q4k_scale_shuf(4, 6), i3 = q4k_scale_shuf(5, 7);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t r = 0; r < nr; r++) {
        const dl_block_q4_K *b = (const dl_block_q4_K *)(w + (size_t)r * ws);
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
        __m128 accm = _mm_setzero_ps();
        for (int64_t i = 0; i < nsb; i++) {
            const char *blk = (const char *)&b[i];
            _mm_prefetch(blk + DL_PREFETCH, _MM_HINT_T0);
            _mm_prefetch(blk + DL_PREFETCH + 64, _MM_HINT_T0);
            _mm_prefetch(blk + DL_PREFETCH + 128, _MM_HINT_T0);
            __m128i sm = q4k_scales_vec(b[i].scales);
            /* scales as int32 lanes holding the int16 scale twice, so a dword permute expands them */
            __m512i sc16 = _mm512_broadcast_i32x4(sm);
            __m512i q0 = _mm512_loadu_si512(b[i].qs), q1 = _mm512_loadu_si512(b[i].qs + 64);
            __m512i w0 = _mm512_and_si512(q0, m4), w1 = _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4);
            __m512i w2 = _mm512_and_si512(q1, m4), w3 = _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4);
            const int8_t *aq = qa[i].q;
            __m512i s0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w0, _mm512_load_si512(aq)),
                                             _mm512_shuffle_epi8(sc16, i0));
            __m512i s1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w1, _mm512_load_si512(aq + 64)),
                                             _mm512_shuffle_epi8(sc16, i1));
            s0 = _mm512_dpwssd_epi32(s0, _mm512_maddubs_epi16(w2, _mm512_load_si512(aq + 128)), _mm512_shuffle_epi8(sc16, i2));
            s1 = _mm512_dpwssd_epi32(s1, _mm512_maddubs_epi16(w3, _mm512_load_si512(aq + 192)), _mm512_shuffle_epi8(sc16, i3));
            __m128i corr = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)), _mm_loadu_si128((const __m128i *)qa[i].bs32));
            uint32_t dd;
            memcpy(&dd, &b[i].d, 4); /* d, dmin */
            __m128 dm = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)dd)), _mm_set1_ps(qa[i].d));
            __m512 f = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
            if (i & 1) acc1 = _mm512_fmadd_ps(f, _mm512_broadcastss_ps(dm), acc1);
            else acc0 = _mm512_fmadd_ps(f, _mm512_broadcastss_ps(dm), acc0);
            accm = _mm_fmadd_ps(_mm_cvtepi32_ps(corr), _mm_permute_ps(dm, 0x55), accm);
        }
        __m128 m = _mm_add_ps(accm, _mm_movehl_ps(accm, accm));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) - _mm_cvtss_f32(m);
    }
}

/* Batched decoding of Q4_K (2..8 tokens): as gemv_q4_K, the rows one after
 * another; each super-block's weights and scales are unpacked once and
 * dotted against every token (activations repacked per token, table[i][t]).
 * The mins term runs for four tokens at a time: lanes 4t..4t+3 of one
 * accumulator are token t's four partial sums, each with the arithmetic it
 * had in a 128-bit accumulator of its own (the results kept their bits). */
DL_AI void gemvn_q4_K(int NT, int64_t n, const char *w, size_t ws, int64_t nr, const q4k_act *qa,
                      const q4k_sbx *sbx, float *y, int64_t ldy) {
    int64_t nsb = n / DL_QK_K;
    const __m512i i0 = q4k_scale_shuf(0, 2), i1 = q4k_scale_shuf(1, 3), i2 = q4k_scale_shuf(4, 6), i3 = q4k_scale_shuf(5, 7);
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const int NQ = (NT + 3) / 4; /* groups of four tokens */
    for (int64_t r = 0; r < nr; r++) {
        const dl_block_q4_K *b = (const dl_block_q4_K *)(w + (size_t)r * ws);
        __m512 acc[8], accm[2];
        DL_UNROLL for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        DL_UNROLL for (int g = 0; g < NQ; g++) accm[g] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nsb; i++) {
            const char *blk = (const char *)&b[i];
            _mm_prefetch(blk + DL_PREFETCH, _MM_HINT_T0);
            _mm_prefetch(blk + DL_PREFETCH + 64, _MM_HINT_T0);
            _mm_prefetch(blk + DL_PREFETCH + 128, _MM_HINT_T0);
            __m128i sm = q4k_scales_vec(b[i].scales);
            __m512i sc16 = _mm512_broadcast_i32x4(sm);
            __m512i s0v = _mm512_shuffle_epi8(sc16, i0), s1v = _mm512_shuffle_epi8(sc16, i1);
            __m512i s2v = _mm512_shuffle_epi8(sc16, i2), s3v = _mm512_shuffle_epi8(sc16, i3);
            __m512i q0 = _mm512_loadu_si512(b[i].qs), q1 = _mm512_loadu_si512(b[i].qs + 64);
            __m512i w0 = _mm512_and_si512(q0, m4), w1 = _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4);
            __m512i w2 = _mm512_and_si512(q1, m4), w3 = _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4);
            __m512i mins = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(_mm_srli_si128(sm, 8)));
            float d = dl_f16_to_f32_fast(dl_ld16(&b[i].d)), dmin = dl_f16_to_f32_fast(dl_ld16(&b[i].dmin));
            const q4k_act *at = &qa[i * NT];
            DL_UNROLL for (int t = 0; t < NT; t++) {
                const int8_t *aq = at[t].q;
                __m512i s0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w0, _mm512_load_si512(aq)), s0v);
                __m512i s1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w1, _mm512_load_si512(aq + 64)), s1v);
                s0 = _mm512_dpwssd_epi32(s0, _mm512_maddubs_epi16(w2, _mm512_load_si512(aq + 128)), s2v);
                s1 = _mm512_dpwssd_epi32(s1, _mm512_maddubs_epi16(w3, _mm512_load_si512(aq + 192)), s3v);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_set1_ps(d * at[t].d), acc[t]);
            }
            DL_UNROLL for (int g = 0; g < NQ; g++) { /* tokens 4g..4g+3 (rows past NT are zero) */
                __m512i corr = _mm512_madd_epi16(mins, _mm512_load_si512(sbx[i].bs32[4 * g]));
                __m512 dm = _mm512_mul_ps(_mm512_set1_ps(dmin), _mm512_load_ps(sbx[i].dx4[4 * g]));
                accm[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(corr), dm, accm[g]);
            }
        }
        _Alignas(64) float mt[2][16];
        DL_UNROLL for (int g = 0; g < NQ; g++) _mm512_store_ps(mt[g], accm[g]);
        DL_UNROLL for (int t = 0; t < NT; t++) {
            __m128 am = _mm_load_ps(&mt[t / 4][4 * (t % 4)]);
            __m128 m = _mm_add_ps(am, _mm_movehl_ps(am, am));
            m = _mm_add_ss(m, _mm_movehdup_ps(m));
            y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]) - _mm_cvtss_f32(m);
        }
    }
}

static void gemv_multi_q4_K(int64_t n, const char *w, size_t ws, int64_t nr, const char *a, size_t as, int64_t nt,
                            float *y, int64_t ldy) {
    const q4k_sbx *sbx;
    const q4k_act *qa = prep_q4k_act(n, a, as, (int)nt, &sbx);
    switch (nt) {
    case 2: gemvn_q4_K(2, n, w, ws, nr, qa, sbx, y, ldy); break;
    case 3: gemvn_q4_K(3, n, w, ws, nr, qa, sbx, y, ldy); break;
    case 4: gemvn_q4_K(4, n, w, ws, nr, qa, sbx, y, ldy); break;
    case 5: gemvn_q4_K(5, n, w, ws, nr, qa, sbx, y, ldy); break;
    case 6: gemvn_q4_K(6, n, w, ws, nr, qa, sbx, y, ldy); break;
    case 7: gemvn_q4_K(7, n, w, ws, nr, qa, sbx, y, ldy); break;
    default: gemvn_q4_K(8, n, w, ws, nr, qa, sbx, y, ldy); break;
    }
}

/* Batched decoding of Q6_K (2..8 tokens): as gemv_q6_K, the rows one after
 * another, each super-block's weights and scales unpacked once. */
DL_AI void gemvn_q6_K(int NT, int64_t n, const char *w, size_t ws, int64_t nr, const char *a, size_t as, float *y,
                      int64_t ldy) {
    int64_t nsb = n / DL_QK_K;
    for (int64_t r = 0; r < nr; r++) {
        const dl_block_q6_K *b = (const dl_block_q6_K *)(w + (size_t)r * ws);
        __m512 acc[8];
        DL_UNROLL for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
        for (int64_t i = 0; i < nsb; i++) {
            const char *blk = (const char *)&b[i];
            for (size_t o = 0; o < sizeof *b; o += 64) _mm_prefetch(blk + DL_PREFETCH + o, _MM_HINT_T0);
            __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b[i].scales));
            __m512i sc16 = _mm512_castsi256_si512(sc);
            float d = dl_f16_to_f32_fast(dl_ld16(&b[i].d));
            __m512i wv[4], scv[4];
            DL_UNROLL for (int c = 0; c < 4; c++) {
                wv[c] = q6k_weights(&b[i], c);
                scv[c] = _mm512_permutexvar_epi16(q6k_scale_idx(c), sc16);
            }
            DL_UNROLL for (int t = 0; t < NT; t++) {
                const dl_block_q8_K *qa = (const dl_block_q8_K *)(a + (size_t)t * as) + i;
                __m512i is0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(wv[0], _mm512_loadu_si512(qa->qs)), scv[0]);
                __m512i is1 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(wv[1], _mm512_loadu_si512(qa->qs + 64)), scv[1]);
                is0 = _mm512_dpwssd_epi32(is0, _mm512_maddubs_epi16(wv[2], _mm512_loadu_si512(qa->qs + 128)), scv[2]);
                is1 = _mm512_dpwssd_epi32(is1, _mm512_maddubs_epi16(wv[3], _mm512_loadu_si512(qa->qs + 192)), scv[3]);
                __m256i corr = _mm256_madd_epi16(sc, _mm256_loadu_si256((const __m256i *)qa->bsums));
                __m512i is = _mm512_sub_epi32(_mm512_add_epi32(is0, is1), _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(d * qa->d), acc[t]);
            }
        }
        DL_UNROLL for (int t = 0; t < NT; t++) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
    }
}

static void gemv_multi_q6_K(int64_t n, const char *w, size_t ws, int64_t nr, const char *a, size_t as, int64_t nt,
                            float *y, int64_t ldy) {
    switch (nt) {
    case 2: gemvn_q6_K(2, n, w, ws, nr, a, as, y, ldy); break;
    case 3: gemvn_q6_K(3, n, w, ws, nr, a, as, y, ldy); break;
    case 4: gemvn_q6_K(4, n, w, ws, nr, a, as, y, ldy); break;
    case 5: gemvn_q6_K(5, n, w, ws, nr, a, as, y, ldy); break;
    case 6: gemvn_q6_K(6, n, w, ws, nr, a, as, y, ldy); break;
    case 7: gemvn_q6_K(7, n, w, ws, nr, a, as, y, ldy); break;
    default: gemvn_q6_K(8, n, w, ws, nr, a, as, y, ldy); break;
    }
}

static void gemm_q4_K(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    if (nt == 1) gemv_q4_K(n, w, ws, nr, a, y);
    else if (nt <= DL_ROWS_MAX_TOK) gemv_multi_q4_K(n, w, ws, nr, a, as, nt, y, ldy);
    else dl_avx512_gemm_kpack(DL_TYPE_Q4_K, n, w, ws, nr, a, as, nt, y, ldy);
}
static void gemm_q6_K(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    if (nt == 1) gemv_q6_K(n, w, ws, nr, a, y);
    else if (nt <= DL_ROWS_MAX_TOK) gemv_multi_q6_K(n, w, ws, nr, a, as, nt, y, ldy);
    else dl_avx512_gemm_kpack(DL_TYPE_Q6_K, n, w, ws, nr, a, as, nt, y, ldy);
}

/* ---------------------------------------------------------------------- */
/* float types                                                             */

/* F16 weights x f32 (fp16-rounded) activations; BF16 x BF16; F32 x F32. */
DL_AI void tileF(int type, int NR, int NT, int64_t n, const char *w, size_t ws, const void *ap,
                 size_t as, float *y, int64_t ldy) {
    const char *a = ap;
    const bool pf = NT == 1 || dl_drive_stream; /* weights stream from memory */
    __m512 acc[4][4];
    DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    int64_t step = type == DL_TYPE_BF16 ? 32 : 16, i = 0;
    size_t esz = type == DL_TYPE_F32 ? 4 : 2;
    for (; i + step <= n; i += step) {
        if (pf && (esz == 4 || (i & 31) == 0)) /* decoding: one prefetch per 64-byte line */
            DL_UNROLL for (int r = 0; r < NR; r++)
                _mm_prefetch(w + (size_t)r * ws + (size_t)i * esz + DL_PREFETCH, _MM_HINT_T0);

        if (type == DL_TYPE_BF16) {
            __m512i wv[4];
            DL_UNROLL for (int r = 0; r < NR; r++) wv[r] = _mm512_loadu_si512(w + (size_t)r * ws + 2 * i);
            DL_UNROLL for (int t = 0; t < NT; t++) {
                __m512i av = _mm512_loadu_si512(a + (size_t)t * as + 2 * i);
                DL_UNROLL for (int r = 0; r < NR; r++)
                    acc[r][t] = _mm512_dpbf16_ps(acc[r][t], (__m512bh)wv[r], (__m512bh)av);
            }
        } else {
            __m512 wv[4];
            DL_UNROLL for (int r = 0; r < NR; r++) {
                if (type == DL_TYPE_F16)
                    wv[r] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w + (size_t)r * ws + 2 * i)));
                else
                    wv[r] = _mm512_loadu_ps((const float *)(w + (size_t)r * ws) + i);
            }
            DL_UNROLL for (int t = 0; t < NT; t++) {
                __m512 av = _mm512_loadu_ps((const float *)(a + (size_t)t * as) + i);
                DL_UNROLL for (int r = 0; r < NR; r++) acc[r][t] = _mm512_fmadd_ps(wv[r], av, acc[r][t]);
            }
        }
    }
    DL_UNROLL for (int r = 0; r < NR; r++) DL_UNROLL for (int t = 0; t < NT; t++) {
        float s = _mm512_reduce_add_ps(acc[r][t]);
        const char *wr = w + (size_t)r * ws, *at = a + (size_t)t * as;
        for (int64_t k = i; k < n; k++) {
            float wf = type == DL_TYPE_F32 ? ((const float *)wr)[k]
                       : type == DL_TYPE_F16 ? dl_f16_to_f32(((const uint16_t *)wr)[k])
                                             : dl_bf16_to_f32(((const uint16_t *)wr)[k]);
            float af = type == DL_TYPE_BF16 ? dl_bf16_to_f32(((const uint16_t *)at)[k]) : ((const float *)at)[k];
            s += wf * af;
        }
        y[t * ldy + r] = s;
    }
}

#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        tileF(DL_TYPE_F16, R, T, n, w, ws, a, as, y, ldy);                                        \
    }
DL_TILES(f16)
#undef DL_TILE
#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        tileF(DL_TYPE_BF16, R, T, n, w, ws, a, as, y, ldy);                                       \
    }
DL_TILES(bf16)
#undef DL_TILE
#define DL_TILE(PREFIX, R, T)                                                                     \
    static void PREFIX##_##R##_##T(int64_t n, const char *w, size_t ws, const void *a, size_t as, \
                                   float *y, int64_t ldy) {                                       \
        tileF(DL_TYPE_F32, R, T, n, w, ws, a, as, y, ldy);                                        \
    }
DL_TILES(f32)
#undef DL_TILE

/* Decoding F16 (one token): rows one after another (see gemv_q8_0), 64
 * values per step in four accumulators, then 16 at a time, then scalars. */
static void gemv_f16(int64_t n, const char *w, size_t ws, int64_t nr, const float *a, float *y) {
    for (int64_t r = 0; r < nr; r++) {
        const uint16_t *row = (const uint16_t *)(w + (size_t)r * ws);
        __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int64_t i = 0;
        for (; i + 64 <= n; i += 64) {
            _mm_prefetch((const char *)(row + i) + DL_PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(row + i) + DL_PREFETCH + 64, _MM_HINT_T0);
            acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + i))), _mm512_loadu_ps(a + i), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + i + 16))), _mm512_loadu_ps(a + i + 16), acc1);
            acc2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + i + 32))), _mm512_loadu_ps(a + i + 32), acc2);
            acc3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + i + 48))), _mm512_loadu_ps(a + i + 48), acc3);
        }
        for (; i + 16 <= n; i += 16)
            acc0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + i))), _mm512_loadu_ps(a + i), acc0);
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
        for (; i < n; i++) s += dl_f16_to_f32(row[i]) * a[i];
        y[r] = s;
    }
}

static void gemm_f16(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                     int64_t nt, float *y, int64_t ldy) {
    if (nt == 1) gemv_f16(n, w, ws, nr, a, y);
    else if (nt >= DL_PACK_MIN_TOK) dl_avx512_gemm_fpack(n, w, ws, nr, a, as, nt, y, ldy);
    else drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 4, f16_tiles, NULL);
}
static void gemm_bf16(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                      int64_t nt, float *y, int64_t ldy) {
    drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 4, bf16_tiles, NULL);
}
static void gemm_f32(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                     int64_t nt, float *y, int64_t ldy) {
    drive(n, w, ws, nr, a, as, nt, y, ldy, 4, 4, f32_tiles, NULL);
}

/* ---------------------------------------------------------------------- */

float dl_avx512_dot_f32(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void dl_avx512_mad_f32(float *y, const float *x, float a, int64_t n) {
    __m512 va = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

/* Rows versions for attention: the vector a (or y) stays in registers for
 * n a multiple of 32 up to 256 (head sizes); the per-row arithmetic is that
 * of dl_avx512_dot_f32 / dl_avx512_mad_f32, so results are identical. The
 * dot products sum 16-value chunks in two chains (even and odd chunks), then
 * add the two and reduce the vector with hsum512's tree. */
#define ROWS_MAX 256

/* Sum of the 16 lanes: halves of 256, of 128, then [0]+[2], [1]+[3], and
 * those two (written out, so that the order is the same for every
 * compiler, and the same as hsum512_x16's). */
DL_AI float hsum512(__m512 v) {
    __m256 t = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
    __m128 q = _mm_add_ps(_mm256_extractf128_ps(t, 1), _mm256_castps256_ps128(t));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

/* Lane j = hsum512(v[j]), bit for bit, for 16 vectors at once: each step of
 * hsum512's tree done for two (then four, eight, sixteen) vectors with one
 * add, the lanes regrouped by shuffles; a 4 x 4 transpose puts the sums in
 * order. About 3 instructions per sum instead of 8. */
DL_AI __m512 hsum512_x16(const __m512 v[16]) {
    __m512 u[8], w[4], z[2];
    DL_UNROLL for (int i = 0; i < 8; i++)
        u[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    DL_UNROLL for (int i = 0; i < 4; i++)
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(u[2 * i], u[2 * i + 1], 0xDD));
    DL_UNROLL for (int i = 0; i < 2; i++) {
        __m512d a = _mm512_castps_pd(w[2 * i]), b = _mm512_castps_pd(w[2 * i + 1]);
        z[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    __m512 r = _mm512_add_ps(_mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1)));
    /* lane k now holds the sum of v[(k % 4) * 4 + k / 4] */
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), r);
}

/* The two chains of one dot product (see above), before the reduction. */
DL_AI __m512 dot_chains(int nv, const __m512 *av, const float *xr) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    DL_UNROLL for (int v = 0; v < nv; v += 2) {
        s0 = _mm512_fmadd_ps(av[v], _mm512_loadu_ps(xr + 16 * v), s0);
        s1 = _mm512_fmadd_ps(av[v + 1], _mm512_loadu_ps(xr + 16 * v + 16), s1);
    }
    return _mm512_add_ps(s0, s1);
}

DL_AI void dot_rows_nv(int nv, float *out, const float *a, const float *x, size_t stride, int64_t nr) {
    __m512 av[ROWS_MAX / 16];
    for (int v = 0; v < nv; v++) av[v] = _mm512_loadu_ps(a + 16 * v);
    for (int64_t j = 0; j < nr; j++)
        out[j] = hsum512(dot_chains(nv, av, (const float *)((const char *)x + (size_t)j * stride)));
}

static void dot_rows_f32(float *out, const float *a, const float *x, size_t stride, int64_t nr, int64_t n) {
    if (n == 128) dot_rows_nv(8, out, a, x, stride, nr); /* the usual head size: unrolled */
    else if (n % 32 == 0 && n <= ROWS_MAX) dot_rows_nv((int)(n / 16), out, a, x, stride, nr);
    else
        for (int64_t j = 0; j < nr; j++) out[j] = dl_avx512_dot_f32(a, (const float *)((const char *)x + (size_t)j * stride), n);
}

/* na rows a_r (16 nv floats each, contiguous) against nr rows x_j: blocks of
 * 16 x rows, each read once per a row from L1, reduced 16 at a time. */
DL_AI void dot_rows_multi_nv(int nv, float *out, int64_t ldo, const float *a, int64_t na, const float *x,
                             size_t stride, int64_t nr) {
    int64_t j0 = 0;
    for (; j0 + 16 <= nr; j0 += 16) {
        const float *xb = (const float *)((const char *)x + (size_t)j0 * stride);
        for (int64_t r = 0; r < na; r++) {
            __m512 av[ROWS_MAX / 16], sv[16];
            for (int v = 0; v < nv; v++) av[v] = _mm512_loadu_ps(a + r * 16 * nv + 16 * v);
            _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++)
                sv[j] = dot_chains(nv, av, (const float *)((const char *)xb + (size_t)j * stride));
            _mm512_storeu_ps(out + r * ldo + j0, hsum512_x16(sv));
        }
    }
    if (j0 < nr)
        for (int64_t r = 0; r < na; r++)
            dot_rows_nv(nv, out + r * ldo + j0, a + r * 16 * nv, (const float *)((const char *)x + (size_t)j0 * stride),
                        stride, nr - j0);
}

static void dot_rows_multi_f32(float *out, int64_t ldo, const float *a, int64_t na, const float *x, size_t stride,
                               int64_t nr, int64_t n) {
    if (n == 128) dot_rows_multi_nv(8, out, ldo, a, na, x, stride, nr);
    else if (n % 32 == 0 && n <= ROWS_MAX) dot_rows_multi_nv((int)(n / 16), out, ldo, a, na, x, stride, nr);
    else
        for (int64_t r = 0; r < na; r++)
            for (int64_t j = 0; j < nr; j++)
                out[r * ldo + j] = dl_avx512_dot_f32(a + r * n, (const float *)((const char *)x + (size_t)j * stride), n);
}

DL_AI void mad_rows_nv(int nv, float *y, const float *x, size_t stride, const float *w, int64_t nr) {
    __m512 yv[ROWS_MAX / 16];
    for (int v = 0; v < nv; v++) yv[v] = _mm512_loadu_ps(y + 16 * v);
    for (int64_t j = 0; j < nr; j++) {
        const float *xr = (const float *)((const char *)x + (size_t)j * stride);
        __m512 wj = _mm512_set1_ps(w[j]);
        DL_UNROLL for (int v = 0; v < nv; v++) yv[v] = _mm512_fmadd_ps(wj, _mm512_loadu_ps(xr + 16 * v), yv[v]);
    }
    for (int v = 0; v < nv; v++) _mm512_storeu_ps(y + 16 * v, yv[v]);
}

static void mad_rows_f32(float *y, const float *x, size_t stride, const float *w, int64_t nr, int64_t n) {
    if (n == 128) mad_rows_nv(8, y, x, stride, w, nr);
    else if (n % 32 == 0 && n <= ROWS_MAX) mad_rows_nv((int)(n / 16), y, x, stride, w, nr);
    else
        for (int64_t j = 0; j < nr; j++) dl_avx512_mad_f32(y, (const float *)((const char *)x + (size_t)j * stride), w[j], n);
}

const dl_isa_table dl_isa_avx512 = {
    .name = "avx512",
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
    .act_pack = {
        [DL_TYPE_Q8_0] = dl_avx512_pack_act_bpack,
        [DL_TYPE_Q4_0] = dl_avx512_pack_act_bpack,
        [DL_TYPE_Q5_0] = dl_avx512_pack_act_bpack,
        [DL_TYPE_Q4_K] = dl_avx512_pack_act_kpack,
        [DL_TYPE_Q5_K] = dl_avx512_pack_act_kpack,
        [DL_TYPE_Q6_K] = dl_avx512_pack_act_kpack,
    },
    .act_pack_row = {
        [DL_TYPE_Q8_0] = dl_avx512_bpack_act_row,
        [DL_TYPE_Q4_0] = dl_avx512_bpack_act_row,
        [DL_TYPE_Q5_0] = dl_avx512_bpack_act_row,
        [DL_TYPE_Q4_K] = dl_avx512_kpack_act_row,
        [DL_TYPE_Q5_K] = dl_avx512_kpack_act_row,
        [DL_TYPE_Q6_K] = dl_avx512_kpack_act_row,
    },
    .pack_min_tok = DL_PACK_MIN_TOK,
    .panel_rows = {[DL_TYPE_F16] = DL_FPACK_ROWS},
    .act_quant = {
        [DL_TYPE_Q8_0] = dl_avx512_quant_q8_0,
        [DL_TYPE_Q4_0] = dl_avx512_quant_q8_0,
        [DL_TYPE_Q5_0] = dl_avx512_quant_q8_0,
        [DL_TYPE_Q4_K] = dl_avx512_quant_q8_K,
        [DL_TYPE_Q5_K] = dl_avx512_quant_q8_K,
        [DL_TYPE_Q6_K] = dl_avx512_quant_q8_K,
        [DL_TYPE_F16] = dl_avx512_round_f16,
        [DL_TYPE_BF16] = dl_avx512_quant_bf16,
    },
    .dot_f32 = dl_avx512_dot_f32,
    .mad_f32 = dl_avx512_mad_f32,
    .dot_rows_f32 = dot_rows_f32,
    .dot_rows_multi_f32 = dot_rows_multi_f32,
    .mad_rows_f32 = mad_rows_f32,
    .dot_f16 = dl_avx2_dot_f16,
    .mad_f16 = dl_avx2_mad_f16,
    .cvt_f16 = dl_avx2_cvt_f16,
    .f16_to_f32 = dl_avx2_f16_to_f32,
    .silu_mul_f32 = dl_avx512_silu_mul,
    .max_f32 = dl_avx512_max_f32,
    .exp_sub_f32 = dl_avx512_exp_sub_f32,
};
