/* Prefill of F16 weights: an outer-product tile on rows repacked into
 * float panels.
 *
 * The 4 x 4 dot-product tiles of gemm_avx512.c load a 16-value piece of a
 * weight row and of an activation row for every 16 multiply-adds per
 * register pair, convert the fp16 weights on every token tile and end with
 * a horizontal sum per output; they reach about three quarters of the FMA
 * peak. Here every group of FP_ROWS rows is converted to float and
 * transposed once per call into a panel p[k][row] (while the previous
 * panel's products run, the next rows are prefetched), so that one vector
 * of the panel holds 16 rows at one k. A register tile of FP_ROWS rows x
 * FP_TOK tokens then costs, per k, FP_ROWS/16 panel loads and FP_TOK
 * broadcasts of single activations for FP_ROWS/16 * FP_TOK multiply-adds,
 * and the sums land as whole vectors of y (rows are contiguous in y).
 *
 * Each output is one chain of multiply-adds in k order (the scalar reference
 * sums in blocks), which stays within the kernels' tolerance; it does not
 * match the tiles' order, so results differ in the last bits between short
 * and long batches (F32 weights keep the tiles for every batch size, see
 * gemm_avx512.c). Activations are float rows rounded to fp16 by the ISA's
 * act_quant. */
#include "simd_avx512.h"
#include "simd_kernels.h"

#define FP_VECS (DL_FPACK_ROWS / 16) /* row vectors per panel */
#define FP_TOK 8 /* tokens per register tile */
#define FP_ROWS DL_FPACK_ROWS
static_assert(FP_ROWS % 16 == 0, "panels hold whole vectors of rows");
#ifdef __clang__
#define FP_UNROLL _Pragma("clang loop unroll(full)") /* loops over tokens and 16 rows run whole */
#else
#define FP_UNROLL _Pragma("GCC unroll 16")
#endif

/* Transposes the 16 x 16 floats in m (m[i] = row i) in place. */
DL_AI void fp_transpose16(__m512 m[16]) {
    __m512 t[16];
    FP_UNROLL for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(m[2 * i], m[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(m[2 * i], m[2 * i + 1]);
    }
    /* c[j][q]: lane L holds column 4L + j of rows 4q .. 4q+3 */
    __m512 c[4][4];
    FP_UNROLL for (int q = 0; q < 4; q++) {
        __m512d a0 = _mm512_castps_pd(t[4 * q]), b0 = _mm512_castps_pd(t[4 * q + 1]);
        __m512d a1 = _mm512_castps_pd(t[4 * q + 2]), b1 = _mm512_castps_pd(t[4 * q + 3]);
        c[0][q] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a1));
        c[1][q] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a1));
        c[2][q] = _mm512_castpd_ps(_mm512_unpacklo_pd(b0, b1));
        c[3][q] = _mm512_castpd_ps(_mm512_unpackhi_pd(b0, b1));
    }
    /* column 4L + j: lane q from c[j][q] lane L (a 4 x 4 transpose of 128-bit lanes) */
    FP_UNROLL for (int j = 0; j < 4; j++) {
        __m512 s0 = _mm512_shuffle_f32x4(c[j][0], c[j][1], 0x44), s1 = _mm512_shuffle_f32x4(c[j][0], c[j][1], 0xEE);
        __m512 s2 = _mm512_shuffle_f32x4(c[j][2], c[j][3], 0x44), s3 = _mm512_shuffle_f32x4(c[j][2], c[j][3], 0xEE);
        m[j] = _mm512_shuffle_f32x4(s0, s2, 0x88);
        m[4 + j] = _mm512_shuffle_f32x4(s0, s2, 0xDD);
        m[8 + j] = _mm512_shuffle_f32x4(s1, s3, 0x88);
        m[12 + j] = _mm512_shuffle_f32x4(s1, s3, 0xDD);
    }
}

/* Packs F16 rows w[0..nr) (nr <= 16, ws bytes apart) into column block v of
 * the panel p: p[k * FP_ROWS + 16 v + i] = w[i][k] as float, zero for i >= nr. */
static void fp_pack16(int64_t n, const char *w, size_t ws, int nr, float *p) {
    const uint16_t *row[16];
    FP_UNROLL for (int i = 0; i < 16; i++) row[i] = (const uint16_t *)(const void *)(w + (size_t)(i < nr ? i : 0) * ws);
    __mmask16 live = (__mmask16)((1u << nr) - 1); /* rows past nr read as 0 */
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 m[16];
        FP_UNROLL for (int i = 0; i < 16; i++) m[i] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row[i] + k)));
        fp_transpose16(m);
        FP_UNROLL for (int j = 0; j < 16; j++) _mm512_store_ps(p + (k + j) * FP_ROWS, _mm512_maskz_mov_ps(live, m[j]));
    }
    for (; k < n; k++)
        for (int i = 0; i < 16; i++) p[k * FP_ROWS + i] = i < nr ? dl_f16_to_f32(row[i][k]) : 0.0f;
}

/* y[t][0..nrr) = sum over k of p[k][r] * a[t][k] for NT tokens (as bytes
 * apart) and NV vectors of rows of the panel (nrr <= 16 NV; rows past nrr
 * are not stored). */
DL_AI void fp_tile(int NV, int NT, int64_t n, const float *p, const char *a, size_t as, float *y, int64_t ldy,
                   int nrr) {
    __m512 acc[FP_TOK][FP_VECS];
    const float *ar[FP_TOK];
    FP_UNROLL for (int t = 0; t < NT; t++) {
        ar[t] = (const float *)(const void *)(a + (size_t)t * as);
        FP_UNROLL for (int v = 0; v < NV; v++) acc[t][v] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < n; k++) {
        __m512 wv[FP_VECS];
        FP_UNROLL for (int v = 0; v < NV; v++) wv[v] = _mm512_load_ps(p + k * FP_ROWS + 16 * v);
        FP_UNROLL for (int t = 0; t < NT; t++) {
            __m512 b = _mm512_set1_ps(ar[t][k]);
            FP_UNROLL for (int v = 0; v < NV; v++) acc[t][v] = _mm512_fmadd_ps(wv[v], b, acc[t][v]);
        }
    }
    FP_UNROLL for (int t = 0; t < NT; t++) FP_UNROLL for (int v = 0; v < NV; v++) {
        int left = nrr - 16 * v;
        if (left >= 16) _mm512_storeu_ps(y + t * ldy + 16 * v, acc[t][v]);
        else if (left > 0) _mm512_mask_storeu_ps(y + t * ldy + 16 * v, (__mmask16)((1u << left) - 1), acc[t][v]);
    }
}

/* fp_tile with NV (1..FP_VECS) and NT (1..FP_TOK) compile-time constants. */
#define FP_CASE(NV, NT) \
    case NT: fp_tile(NV, NT, n, p, a, as, y, ldy, nrr); break;
#define FP_SWITCH(NV)                                                                                  \
    static void fp_tile_##NV(int nt, int64_t n, const float *p, const char *a, size_t as, float *y,   \
                             int64_t ldy, int nrr) {                                                  \
        switch (nt) {                                                                                 \
            FP_CASE(NV, 1) FP_CASE(NV, 2) FP_CASE(NV, 3) FP_CASE(NV, 4)                               \
            FP_CASE(NV, 5) FP_CASE(NV, 6) FP_CASE(NV, 7) FP_CASE(NV, 8)                               \
            default: break;                                                                           \
        }                                                                                             \
    }
static_assert(FP_TOK == 8 && FP_VECS == 3, "FP_SWITCH lists 8 token counts, fp_tiles 3 vector counts");
FP_SWITCH(1)
FP_SWITCH(2)
FP_SWITCH(3)
static void (*const fp_tiles[FP_VECS])(int, int64_t, const float *, const char *, size_t, float *, int64_t, int) = {
    fp_tile_1, fp_tile_2, fp_tile_3};

void dl_avx512_gemm_fpack(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                          int64_t nt, float *y, int64_t ldy) {
    float *p = dl_kernel_scratch((size_t)n * FP_ROWS * sizeof(float));
    int64_t n_tiles = (nt + FP_TOK - 1) / FP_TOK;
    for (int64_t r0 = 0; r0 < nr; r0 += FP_ROWS) {
        int nrr = (int)DL_MIN(FP_ROWS, nr - r0), nv = (nrr + 15) / 16;
        const char *wr = (const char *)w + (size_t)r0 * ws;
        for (int v = 0; v < nv; v++)
            fp_pack16(n, wr + (size_t)(16 * v) * ws, ws, DL_MIN(16, nrr - 16 * v), p + 16 * v);
        /* the next panel's rows (contiguous), fetched a slice per token tile */
        const char *next = wr + (size_t)nrr * ws;
        size_t next_bytes = (size_t)DL_MIN(FP_ROWS, nr - r0 - nrr) * ws;
        size_t slice = (next_bytes / (size_t)n_tiles + 63) & ~(size_t)63;
        for (int64_t t0 = 0, ti = 0; t0 < nt; t0 += FP_TOK, ti++) {
            for (size_t o = (size_t)ti * slice; o < DL_MIN(next_bytes, (size_t)(ti + 1) * slice); o += 64)
                _mm_prefetch(next + o, _MM_HINT_T1);
            int ntt = (int)DL_MIN(FP_TOK, nt - t0);
            fp_tiles[nv - 1](ntt, n, p, (const char *)a + (size_t)t0 * as, as, y + t0 * ldy + r0, ldy, nrr);
        }
    }
}
