/* Prefill of the 32-element types (Q8_0, Q4_0, Q5_0) with VNNI on repacked
 * rows: the same idea as gemm_kpack_avx512.c for one scale per block of 32.
 *
 * The tiles of gemm_avx512.c scale every 64 values (two blocks) in float.
 * Here each tile of rows is repacked once per call (on the first token
 * tile, the next rows prefetched meanwhile), in groups of 16 blocks (512
 * values): step s (0..7) holds dword s (values
 * 4s..4s+3) of each of the 16 blocks, so across the eight steps an int32
 * lane always belongs to the same block and eight vpdpbusd sum whole
 * blocks before one int -> float and one scale per lane (d_w * d_a).
 *
 * The dwords are moved by a 16 x 8 transpose in three rounds of vpermt2d;
 * the lane of block b is then lane_of(b) = 8 (b & 1) + b / 2 (see
 * bp_transpose). Weights are unsigned (Q8_0: +128 by xor; Q4_0/Q5_0: the
 * raw values 0..15 / 0..31) and each activation lane starts from -k * (sum
 * of its block's activations), k the weight offset (128, 8, 16), so the
 * integer of every lane is exact. The activations arrive packed the same
 * way with those sums: dl_matmul converts them once per call with
 * dl_avx512_pack_act_bpack (the ISA table's act_pack). A group past the
 * last block is padded with zero weights, activations and scales. */
#include "simd_avx2.h"
#include "simd_avx512.h"
#include "simd_kernels.h"

#ifndef DL_BP_NR
#define DL_BP_NR 4 /* register tile: rows x tokens */
#endif
#ifndef DL_BP_NT
#define DL_BP_NT 4
#endif

#define BP_BLOCKS 16 /* blocks per group */

typedef struct {
    uint8_t q[512];
    float d[16]; /* per lane: the block's scale */
} bp_wgrp;

typedef struct {
    int8_t q[512];
    int32_t sum[16]; /* per lane: sum of the block's values (the tile subtracts k times it) */
    float d[16];
} bp_agrp;

static_assert(sizeof(bp_wgrp) % 64 == 0 && sizeof(bp_agrp) % 64 == 0, "64-byte aligned packing");

/* Index vectors of round r of the transpose (vpermt2d: 0..15 = first
 * vector, 16..31 = second): exchanging vector-index bit r with lane bit r,
 * the lower output takes the lanes with bit r clear, the upper those with
 * it set, each from the input named by the output lane's bit r. */
#define BP_FROM(r, L) ((((L) >> (r)) & 1) * 16)
#define BP_LO(r, L) (BP_FROM(r, L) + ((L) & ~(1 << (r))))
#define BP_HI(r, L) (BP_FROM(r, L) + ((L) | (1 << (r))))
#define BP_ROW(F, r)                                                                                       \
    {F(r, 0), F(r, 1), F(r, 2),  F(r, 3),  F(r, 4),  F(r, 5),  F(r, 6),  F(r, 7),                           \
     F(r, 8), F(r, 9), F(r, 10), F(r, 11), F(r, 12), F(r, 13), F(r, 14), F(r, 15)}
static const int32_t k_bp_idx[3][2][16] = {{BP_ROW(BP_LO, 0), BP_ROW(BP_HI, 0)},
                                           {BP_ROW(BP_LO, 1), BP_ROW(BP_HI, 1)},
                                           {BP_ROW(BP_LO, 2), BP_ROW(BP_HI, 2)}};

/* Round r of the transpose: exchanges vector-index bit r with lane bit r. */
DL_AI void bp_round(__m512i v[8], int r) {
    __m512i ilo = _mm512_loadu_si512(k_bp_idx[r][0]), ihi = _mm512_loadu_si512(k_bp_idx[r][1]);
    DL_UNROLL for (int x = 0; x < 8; x++) {
        if (x & (1 << r)) continue;
        int y = x | (1 << r);
        __m512i a = v[x], b = v[y];
        v[x] = _mm512_permutex2var_epi32(a, ilo, b);
        v[y] = _mm512_permutex2var_epi32(a, ihi, b);
    }
}

/* v[j] = blocks 2j (lanes 0..7) and 2j+1 (lanes 8..15), 8 dwords each ->
 * v[s] = dword s of the 16 blocks, block b in lane 8 (b & 1) + b / 2: the
 * three rounds swap the vector bits (b3 b2 b1) with the lane bits (d2 d1 d0). */
DL_AI void bp_transpose(__m512i v[8]) {
    bp_round(v, 0);
    bp_round(v, 1);
    bp_round(v, 2);
}

/* Natural-order scales of 16 blocks -> lane order. */
DL_AI __m512 bp_lane_order_ps(__m512 natural) {
    return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15), natural);
}

/* 32 unsigned weight values of block b of a row, in element order (zero
 * past the row's nb blocks), and its scale. */
DL_AI __m256i bp_block(int type, const char *row, int64_t b, int64_t nb, float *d) {
    if (b >= nb) {
        *d = 0.0f;
        return _mm256_setzero_si256();
    }
    if (type == DL_TYPE_Q8_0) {
        const dl_block_q8_0 *blk = (const dl_block_q8_0 *)row + b;
        *d = dl_f16_to_f32_fast(dl_ld16(&blk->d));
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)blk->qs), _mm256_set1_epi8((char)0x80));
    }
    __m128i q, m = _mm_set1_epi8(0x0F);
    uint32_t qh = 0;
    if (type == DL_TYPE_Q4_0) {
        const dl_block_q4_0 *blk = (const dl_block_q4_0 *)row + b;
        *d = dl_f16_to_f32_fast(dl_ld16(&blk->d));
        q = _mm_loadu_si128((const __m128i *)blk->qs);
    } else {
        const dl_block_q5_0 *blk = (const dl_block_q5_0 *)row + b;
        *d = dl_f16_to_f32_fast(dl_ld16(&blk->d));
        q = _mm_loadu_si128((const __m128i *)blk->qs);
        memcpy(&qh, blk->qh, 4);
    }
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(q, m)),
                                        _mm_and_si128(_mm_srli_epi16(q, 4), m), 1);
    return _mm256_mask_add_epi8(v, (__mmask32)qh, v, _mm256_set1_epi8(16)); /* Q5_0: bit j -> +16 */
}

/* Packs every group of nr weight rows: out[r * ngrp + g]. */
static void bp_pack_weights(int type, int64_t nb, const char *w, size_t ws, int64_t nr, bp_wgrp *out) {
    int64_t ngrp = (nb + BP_BLOCKS - 1) / BP_BLOCKS;
    for (int64_t r = 0; r < nr; r++) {
        const char *row = w + (size_t)r * ws;
        for (int64_t g = 0; g < ngrp; g++) {
            bp_wgrp *o = &out[r * ngrp + g];
            __m512i v[8];
            _Alignas(64) float d[16];
            for (int j = 0; j < 8; j++) {
                int64_t b = g * BP_BLOCKS + 2 * j;
                __m256i lo = bp_block(type, row, b, nb, &d[2 * j]);
                __m256i hi = bp_block(type, row, b + 1, nb, &d[2 * j + 1]);
                v[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            }
            bp_transpose(v);
            for (int s = 0; s < 8; s++) _mm512_store_si512(o->q + 64 * s, v[s]);
            _mm512_store_ps(o->d, bp_lane_order_ps(_mm512_load_ps(d)));
        }
    }
}

size_t dl_avx512_bpack_act_row(int64_t n) { return (size_t)((n / DL_QK + BP_BLOCKS - 1) / BP_BLOCKS) * sizeof(bp_agrp); }

/* One activation row: quantised to Q8_0 exactly as the other kernels' activations (in
 * thread scratch), then packed in groups like the weights. */
void dl_avx512_pack_act_bpack(const float *x, void *dst, int64_t n) {
    int64_t nb = n / DL_QK, ngrp = (nb + BP_BLOCKS - 1) / BP_BLOCKS;
    dl_block_q8_0 *qa = dl_kernel_scratch((size_t)nb * sizeof(dl_block_q8_0));
    dl_avx512_quant_q8_0(x, qa, n);
    const __m512i ones = _mm512_set1_epi8(1);
    for (int64_t g = 0; g < ngrp; g++) {
        bp_agrp *o = (bp_agrp *)dst + g;
        __m512i v[8];
        _Alignas(64) float d[16];
        for (int j = 0; j < 16; j++) {
            int64_t b = g * BP_BLOCKS + j;
            d[j] = b < nb ? dl_f16_to_f32_fast(dl_ld16(&qa[b].d)) : 0.0f;
        }
        for (int j = 0; j < 8; j++) {
            int64_t b = g * BP_BLOCKS + 2 * j;
            __m256i lo = b < nb ? _mm256_loadu_si256((const __m256i *)qa[b].qs) : _mm256_setzero_si256();
            __m256i hi = b + 1 < nb ? _mm256_loadu_si256((const __m256i *)qa[b + 1].qs) : _mm256_setzero_si256();
            v[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        }
        bp_transpose(v);
        __m512i sum = _mm512_setzero_si512();
        for (int s = 0; s < 8; s++) {
            _mm512_store_si512(o->q + 64 * s, v[s]);
            sum = _mm512_dpbusd_epi32(sum, ones, v[s]);
        }
        _mm512_store_si512(o->sum, sum);
        _mm512_store_ps(o->d, bp_lane_order_ps(_mm512_load_ps(d)));
    }
}

/* One DL_BP_NR x DL_BP_NT tile: rows wp[0..nrr) (packed, ngrp apart) x
 * packed activation rows a (as bytes apart, ntt valid); the weight offset
 * is k = 1 << kshift. Missing rows / tokens repeat the last one and are not
 * stored. */
static void bp_tile(int64_t ngrp, const bp_wgrp *wp, int nrr, const char *a, size_t as, int ntt, int kshift,
                    float *y, int64_t ldy) {
    const bp_wgrp *wr[DL_BP_NR];
    const bp_agrp *ar[DL_BP_NT];
    DL_UNROLL for (int r = 0; r < DL_BP_NR; r++) wr[r] = wp + (r < nrr ? r : nrr - 1) * ngrp;
    DL_UNROLL for (int t = 0; t < DL_BP_NT; t++) ar[t] = (const bp_agrp *)(const void *)(a + (size_t)(t < ntt ? t : ntt - 1) * as);
    __m512 acc[DL_BP_NR][DL_BP_NT];
    DL_UNROLL for (int r = 0; r < DL_BP_NR; r++) DL_UNROLL for (int t = 0; t < DL_BP_NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t g = 0; g < ngrp; g++) {
        __m512i isum[DL_BP_NR][DL_BP_NT];
        DL_UNROLL for (int t = 0; t < DL_BP_NT; t++) {
            __m512i c = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_load_si512(ar[t][g].sum), kshift));
            DL_UNROLL for (int r = 0; r < DL_BP_NR; r++) isum[r][t] = c;
        }
        DL_UNROLL for (int s = 0; s < 8; s++) {
            __m512i wv[DL_BP_NR];
            DL_UNROLL for (int r = 0; r < DL_BP_NR; r++) wv[r] = _mm512_load_si512(wr[r][g].q + 64 * s);
            DL_UNROLL for (int t = 0; t < DL_BP_NT; t++) {
                __m512i av = _mm512_load_si512(ar[t][g].q + 64 * s);
                DL_UNROLL for (int r = 0; r < DL_BP_NR; r++) isum[r][t] = _mm512_dpbusd_epi32(isum[r][t], wv[r], av);
            }
        }
        DL_UNROLL for (int t = 0; t < DL_BP_NT; t++) {
            __m512 da = _mm512_load_ps(ar[t][g].d);
            DL_UNROLL for (int r = 0; r < DL_BP_NR; r++)
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[r][t]), _mm512_mul_ps(_mm512_load_ps(wr[r][g].d), da),
                                            acc[r][t]);
        }
    }
    DL_UNROLL for (int r = 0; r < DL_BP_NR; r++) DL_UNROLL for (int t = 0; t < DL_BP_NT; t++)
        if (r < nrr && t < ntt) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

void dl_avx512_gemm_bpack(int type, int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                          int64_t nt, float *y, int64_t ldy) {
    int64_t nb = n / DL_QK, ngrp = (nb + BP_BLOCKS - 1) / BP_BLOCKS;
    int kshift = type == DL_TYPE_Q8_0 ? 7 : type == DL_TYPE_Q4_0 ? 3 : 4; /* k = 128, 8, 16 */
    bp_wgrp *wp = dl_kernel_scratch((size_t)(nr * ngrp) * sizeof(bp_wgrp));
    for (int64_t t0 = 0; t0 < nt; t0 += DL_BP_NT) {
        int ntt = (int)DL_MIN(DL_BP_NT, nt - t0);
        for (int64_t r0 = 0; r0 < nr; r0 += DL_BP_NR) {
            int nrr = (int)DL_MIN(DL_BP_NR, nr - r0);
            if (t0 == 0) { /* first pass: pack these rows, fetch the next ones meanwhile */
                pack_prefetch((const char *)w + (size_t)(r0 + DL_BP_NR) * ws, ws, DL_MIN(DL_BP_NR, nr - r0 - DL_BP_NR));
                bp_pack_weights(type, nb, (const char *)w + (size_t)r0 * ws, ws, nrr, wp + r0 * ngrp);
            }
            bp_tile(ngrp, wp + r0 * ngrp, nrr, (const char *)a + (size_t)t0 * as, as, ntt, kshift, y + t0 * ldy + r0, ldy);
        }
    }
}
