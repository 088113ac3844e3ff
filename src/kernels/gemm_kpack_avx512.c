/* Prefill of the K-quants (Q4_K, Q5_K, Q6_K) with VNNI on repacked rows.
 *
 * The tiles of gemm_avx512.c apply a sub-block's scale after every 64
 * values (vpmaddubsw + vpdpwssd, then float work per step). Here each
 * tile of rows is repacked once per call (while the first token tile runs,
 * the next rows are prefetched) so that one vpdpbusd per 64 values suffices
 * and the integer sums run over a whole super-block:
 *
 * - element e of a super-block goes to byte 64*s + 4*L + b of its packed
 *   form, with L = e / 16, s = (e % 16) / 4, b = e % 4: lane L of each of
 *   the four 64-byte steps holds four values of the 16-element group L, and
 *   every K-quant scale covers whole groups (Q4_K/Q5_K: 32 elements = lanes
 *   2j, 2j+1; Q6_K: 16 = lane L). So the four vpdpbusd of a super-block sum
 *   into int32 lanes that each belong to one scale;
 * - per super-block the packed row also holds the float scale of each lane
 *   (d * scale) and its offset coefficient (Q4_K/Q5_K: dmin * min; Q6_K:
 *   32 * d * scale, the -32 of every value), multiplied by the activations'
 *   per-16 sums (Q8_K bsums, the same groups) to subtract the offsets.
 *
 * The activations (Q8_K: signed bytes, d and bsums per 256) arrive packed
 * the same way, with d and d * bsums as floats: dl_matmul converts them once
 * per call with dl_avx512_pack_act_kpack (the ISA table's act_pack). Per (row,
 * token, super-block): 4 vpdpbusd, then int -> float, times the lane
 * scales, times d_a, minus the offsets: y = sum over super-blocks and lanes
 * of d_a * (scale * isum - coef * bsum). Integer sums are exact; the float
 * order differs from the scalar reference within the kernels' tolerance. */
#include "kquant_avx512.h"
#include "simd_avx2.h"
#include "simd_kernels.h"

#ifndef DL_KP_NR
#define DL_KP_NR 4 /* register tile: rows x tokens */
#endif
#ifndef DL_KP_NT
#define DL_KP_NT 4
#endif

/* One super-block of one packed weight row. */
typedef struct {
    uint8_t q[256];
    float sc[16]; /* per lane: d * scale */
    float mn[16]; /* per lane: the offset coefficient (see above) */
} kp_wsb;

/* One super-block of one packed activation row. */
typedef struct {
    int8_t q[256];
    float bs[16]; /* d * bsums[L] */
    float d;
    float pad[15];
} kp_asb;

static_assert(sizeof(kp_wsb) % 64 == 0 && sizeof(kp_asb) % 64 == 0, "64-byte aligned packing");

/* The four natural 64-value chunks n[c] of a super-block -> the packed
 * steps: out[s] lane L = dword 4 (L % 4) + s of n[L / 4]. First each chunk's
 * dwords are grouped by s (128-bit lane s = dwords s, 4+s, 8+s, 12+s), then
 * the 4 x 4 matrix of 128-bit lanes is transposed. */
DL_AI void kp_permute(const __m512i n[4], uint8_t *out) {
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i p0 = _mm512_permutexvar_epi32(idx, n[0]), p1 = _mm512_permutexvar_epi32(idx, n[1]);
    __m512i p2 = _mm512_permutexvar_epi32(idx, n[2]), p3 = _mm512_permutexvar_epi32(idx, n[3]);
    __m512i t0 = _mm512_shuffle_i32x4(p0, p1, 0x44), t1 = _mm512_shuffle_i32x4(p0, p1, 0xEE);
    __m512i t2 = _mm512_shuffle_i32x4(p2, p3, 0x44), t3 = _mm512_shuffle_i32x4(p2, p3, 0xEE);
    _mm512_store_si512(out, _mm512_shuffle_i32x4(t0, t2, 0x88));
    _mm512_store_si512(out + 64, _mm512_shuffle_i32x4(t0, t2, 0xDD));
    _mm512_store_si512(out + 128, _mm512_shuffle_i32x4(t1, t3, 0x88));
    _mm512_store_si512(out + 192, _mm512_shuffle_i32x4(t1, t3, 0xDD));
}

/* Packs super-block i of each of nr weight rows. */
static void kp_pack_weights(int type, int64_t nsb, const char *w, size_t ws, int64_t nr, kp_wsb *out) {
    __m512i nat[4];
    for (int64_t r = 0; r < nr; r++) {
        const char *row = w + (size_t)r * ws;
        for (int64_t i = 0; i < nsb; i++) {
            kp_wsb *o = &out[r * nsb + i];
            if (type == DL_TYPE_Q6_K) {
                const dl_block_q6_K *b = (const dl_block_q6_K *)row + i;
                DL_UNROLL for (int c = 0; c < 4; c++) nat[c] = q6k_weights(b, c);
                __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)b->scales)));
                sc = _mm512_mul_ps(sc, _mm512_set1_ps(dl_f16_to_f32_fast(dl_ld16(&b->d))));
                _mm512_store_ps(o->sc, sc);
                _mm512_store_ps(o->mn, _mm512_mul_ps(sc, _mm512_set1_ps(32.0f)));
            } else {
                const uint8_t *scales;
                uint32_t dm; /* d, dmin */
                if (type == DL_TYPE_Q4_K) {
                    const dl_block_q4_K *b = (const dl_block_q4_K *)row + i;
                    DL_UNROLL for (int c = 0; c < 4; c++) nat[c] = q4k_weights(b, c);
                    scales = b->scales;
                    memcpy(&dm, &b->d, 4);
                } else {
                    const dl_block_q5_K *b = (const dl_block_q5_K *)row + i;
                    DL_UNROLL for (int c = 0; c < 4; c++) nat[c] = q5k_weights(b, c);
                    scales = b->scales;
                    memcpy(&dm, &b->d, 4);
                }
                __m128 dmf = _mm_cvtph_ps(_mm_cvtsi32_si128((int)dm));
                __m128i sm = q4k_scales_vec(scales); /* sc0..sc7, m0..m7 */
                __m128i sc2 = _mm_unpacklo_epi8(sm, sm), mn2 = _mm_unpackhi_epi8(sm, sm); /* each twice: lane L <- L/2 */
                _mm512_store_ps(o->sc, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(sc2)),
                                                     _mm512_broadcastss_ps(dmf)));
                _mm512_store_ps(o->mn, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(mn2)),
                                                     _mm512_broadcastss_ps(_mm_movehdup_ps(dmf))));
            }
            kp_permute(nat, o->q);
        }
    }
}

size_t dl_avx512_kpack_act_row(int64_t n) { return (size_t)(n / DL_QK_K) * sizeof(kp_asb); }

/* One activation row: quantised to Q8_K exactly as the other kernels' activations (in
 * thread scratch), then packed like the weights. */
void dl_avx512_pack_act_kpack(const float *x, void *dst, int64_t n) {
    int64_t nsb = n / DL_QK_K;
    dl_block_q8_K *qa = dl_kernel_scratch((size_t)nsb * sizeof(dl_block_q8_K));
    dl_avx512_quant_q8_K(x, qa, n);
    for (int64_t i = 0; i < nsb; i++) {
        kp_asb *o = (kp_asb *)dst + i;
        __m512i nat[4];
        DL_UNROLL for (int c = 0; c < 4; c++) nat[c] = _mm512_loadu_si512(qa[i].qs + 64 * c);
        kp_permute(nat, (uint8_t *)o->q);
        __m512 bs = _mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)qa[i].bsums)));
        _mm512_store_ps(o->bs, _mm512_mul_ps(bs, _mm512_set1_ps(qa[i].d)));
        o->d = qa[i].d;
    }
}

/* One DL_KP_NR x DL_KP_NT tile: rows wp[0..nrr) (packed, nsb apart) x packed
 * activation rows a (as bytes apart, ntt valid). Missing rows / tokens
 * repeat the last one and are not stored. */
static void kp_tile(int64_t nsb, const kp_wsb *wp, int nrr, const char *a, size_t as, int ntt, float *y, int64_t ldy) {
    const kp_wsb *wr[DL_KP_NR];
    const kp_asb *ar[DL_KP_NT];
    DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) wr[r] = wp + (r < nrr ? r : nrr - 1) * nsb;
    DL_UNROLL for (int t = 0; t < DL_KP_NT; t++) ar[t] = (const kp_asb *)(const void *)(a + (size_t)(t < ntt ? t : ntt - 1) * as);
    __m512 acc[DL_KP_NR][DL_KP_NT];
    DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) DL_UNROLL for (int t = 0; t < DL_KP_NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nsb; i++) {
        __m512i isum[DL_KP_NR][DL_KP_NT];
        DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) DL_UNROLL for (int t = 0; t < DL_KP_NT; t++) isum[r][t] = _mm512_setzero_si512();
        DL_UNROLL for (int s = 0; s < 4; s++) {
            __m512i wv[DL_KP_NR];
            DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) wv[r] = _mm512_load_si512(wr[r][i].q + 64 * s);
            DL_UNROLL for (int t = 0; t < DL_KP_NT; t++) {
                __m512i av = _mm512_load_si512(ar[t][i].q + 64 * s);
                DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) isum[r][t] = _mm512_dpbusd_epi32(isum[r][t], wv[r], av);
            }
        }
        DL_UNROLL for (int t = 0; t < DL_KP_NT; t++) {
            __m512 da = _mm512_set1_ps(ar[t][i].d), bs = _mm512_load_ps(ar[t][i].bs);
            DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) {
                __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(isum[r][t]), _mm512_load_ps(wr[r][i].sc));
                acc[r][t] = _mm512_fnmadd_ps(_mm512_load_ps(wr[r][i].mn), bs, _mm512_fmadd_ps(f, da, acc[r][t]));
            }
        }
    }
    DL_UNROLL for (int r = 0; r < DL_KP_NR; r++) DL_UNROLL for (int t = 0; t < DL_KP_NT; t++)
        if (r < nrr && t < ntt) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

void dl_avx512_gemm_kpack(int type, int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                          int64_t nt, float *y, int64_t ldy) {
    int64_t nsb = n / DL_QK_K;
    kp_wsb *wp = dl_kernel_scratch((size_t)(nr * nsb) * sizeof(kp_wsb));
    for (int64_t t0 = 0; t0 < nt; t0 += DL_KP_NT) {
        int ntt = (int)DL_MIN(DL_KP_NT, nt - t0);
        for (int64_t r0 = 0; r0 < nr; r0 += DL_KP_NR) {
            int nrr = (int)DL_MIN(DL_KP_NR, nr - r0);
            if (t0 == 0) { /* first pass: pack these rows, fetch the next ones meanwhile */
                pack_prefetch((const char *)w + (size_t)(r0 + DL_KP_NR) * ws, ws, DL_MIN(DL_KP_NR, nr - r0 - DL_KP_NR));
                kp_pack_weights(type, nsb, (const char *)w + (size_t)r0 * ws, ws, nrr, wp + r0 * nsb);
            }
            kp_tile(nsb, wp + r0 * nsb, nrr, (const char *)a + (size_t)t0 * as, as, ntt, y + t0 * ldy + r0, ldy);
        }
    }
}
