/* Scalar reference dot products (weight row x converted activation row) and
 * the scalar kernel table. Integer parts are computed exactly per block;
 * floats are accumulated in order, one block at a time. */
#include <string.h>

#include "kernels_int.h"

static inline float h2f(dl_half h) { return dl_f16_to_f32(h); }

float dl_dot_q4_0_q8_0(int64_t n, const void *vw, const void *va) {
    const dl_block_q4_0 *w = vw;
    const dl_block_q8_0 *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += ((w[i].qs[j] & 0xF) - 8) * a[i].qs[j] + ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
        sum += (float)s * (h2f(w[i].d) * h2f(a[i].d));
    }
    return sum;
}

float dl_dot_q4_1_q8_1(int64_t n, const void *vw, const void *va) {
    const dl_block_q4_1 *w = vw;
    const dl_block_q8_1 *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += (w[i].qs[j] & 0xF) * a[i].qs[j] + (w[i].qs[j] >> 4) * a[i].qs[j + 16];
        sum += (float)s * (h2f(w[i].d) * h2f(a[i].d)) + h2f(w[i].m) * h2f(a[i].s);
    }
    return sum;
}

float dl_dot_q5_0_q8_0(int64_t n, const void *vw, const void *va) {
    const dl_block_q5_0 *w = vw;
    const dl_block_q8_0 *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK; i++) {
        uint32_t qh;
        memcpy(&qh, w[i].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = ((w[i].qs[j] & 0xF) | (int)(((qh >> j) << 4) & 0x10)) - 16;
            int q1 = ((w[i].qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - 16;
            s += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
        }
        sum += (float)s * (h2f(w[i].d) * h2f(a[i].d));
    }
    return sum;
}

float dl_dot_q5_1_q8_1(int64_t n, const void *vw, const void *va) {
    const dl_block_q5_1 *w = vw;
    const dl_block_q8_1 *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK; i++) {
        uint32_t qh;
        memcpy(&qh, w[i].qh, 4);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (w[i].qs[j] & 0xF) | (int)(((qh >> j) << 4) & 0x10);
            int q1 = (w[i].qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            s += q0 * a[i].qs[j] + q1 * a[i].qs[j + 16];
        }
        sum += (float)s * (h2f(w[i].d) * h2f(a[i].d)) + h2f(w[i].m) * h2f(a[i].s);
    }
    return sum;
}

float dl_dot_q8_0_q8_0(int64_t n, const void *vw, const void *va) {
    const dl_block_q8_0 *w = vw;
    const dl_block_q8_0 *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK; i++) {
        int s = 0;
        for (int j = 0; j < DL_QK; j++) s += w[i].qs[j] * a[i].qs[j];
        sum += (float)s * (h2f(w[i].d) * h2f(a[i].d));
    }
    return sum;
}

/* Q4_K: per super-block, isum = sum_j sc_j * dot_j and imin = sum_j mn_j *
 * (sum of the sub-block's activations, from bsums); the block contributes
 * d*ad*isum - dmin*ad*imin. */
float dl_dot_q4_K_q8_K(int64_t n, const void *vw, const void *va) {
    const dl_block_q4_K *w = vw;
    const dl_block_q8_K *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK_K; i++) {
        uint8_t sc[8], mn[8];
        dl_kquant_scales(w[i].scales, sc, mn);
        int32_t isum = 0, imin = 0;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = w[i].qs + 32 * c;
            const int8_t *y = a[i].qs + 64 * c;
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += (q[l] & 0xF) * y[l];
                s2 += (q[l] >> 4) * y[l + 32];
            }
            isum += sc[2 * c] * s1 + sc[2 * c + 1] * s2;
        }
        for (int j = 0; j < 8; j++) imin += mn[j] * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        sum += h2f(w[i].d) * a[i].d * (float)isum - h2f(w[i].dmin) * a[i].d * (float)imin;
    }
    return sum;
}

float dl_dot_q5_K_q8_K(int64_t n, const void *vw, const void *va) {
    const dl_block_q5_K *w = vw;
    const dl_block_q8_K *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK_K; i++) {
        uint8_t sc[8], mn[8];
        dl_kquant_scales(w[i].scales, sc, mn);
        int32_t isum = 0, imin = 0;
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = w[i].qs + 32 * c, *qh = w[i].qh;
            const int8_t *y = a[i].qs + 64 * c;
            int s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += ((q[l] & 0xF) | (((qh[l] >> (2 * c)) & 1) << 4)) * y[l];
                s2 += ((q[l] >> 4) | (((qh[l] >> (2 * c + 1)) & 1) << 4)) * y[l + 32];
            }
            isum += sc[2 * c] * s1 + sc[2 * c + 1] * s2;
        }
        for (int j = 0; j < 8; j++) imin += mn[j] * (a[i].bsums[2 * j] + a[i].bsums[2 * j + 1]);
        sum += h2f(w[i].d) * a[i].d * (float)isum - h2f(w[i].dmin) * a[i].d * (float)imin;
    }
    return sum;
}

/* Q6_K: isum = sum_g sc_g * sum_{16} (q - 32) * a; block adds d*ad*isum. */
float dl_dot_q6_K_q8_K(int64_t n, const void *vw, const void *va) {
    const dl_block_q6_K *w = vw;
    const dl_block_q8_K *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / DL_QK_K; i++) {
        int8_t q[DL_QK_K];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[i].ql + 64 * h, *qh = w[i].qh + 32 * h;
            int8_t *o = q + 128 * h;
            for (int l = 0; l < 32; l++) {
                o[l] = (int8_t)(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int32_t isum = 0;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += q[16 * g + l] * a[i].qs[16 * g + l];
            isum += w[i].scales[g] * s;
        }
        sum += h2f(w[i].d) * a[i].d * (float)isum;
    }
    return sum;
}

float dl_dot_f16_f32(int64_t n, const void *vw, const void *va) {
    const dl_half *w = vw;
    const float *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += h2f(w[i]) * a[i];
    return sum;
}

float dl_dot_bf16_bf16(int64_t n, const void *vw, const void *va) {
    const uint16_t *w = vw, *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += dl_bf16_to_f32(w[i]) * dl_bf16_to_f32(a[i]);
    return sum;
}

float dl_dot_f32_f32(int64_t n, const void *vw, const void *va) {
    const float *w = vw, *a = va;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += w[i] * a[i];
    return sum;
}

#define DL_SCALAR_GEMM(NAME, DOT)                                                             \
    static void NAME(int64_t n, const void *w, size_t ws, int64_t nr, const void *a,          \
                     size_t as, int64_t nt, float *y, int64_t ldy) {                          \
        for (int64_t r = 0; r < nr; r++)                                                      \
            for (int64_t t = 0; t < nt; t++)                                                  \
                y[t * ldy + r] = DOT(n, (const char *)w + r * ws, (const char *)a + t * as);  \
    }
DL_SCALAR_GEMM(gemm_q4_0, dl_dot_q4_0_q8_0)
DL_SCALAR_GEMM(gemm_q4_1, dl_dot_q4_1_q8_1)
DL_SCALAR_GEMM(gemm_q5_0, dl_dot_q5_0_q8_0)
DL_SCALAR_GEMM(gemm_q5_1, dl_dot_q5_1_q8_1)
DL_SCALAR_GEMM(gemm_q8_0, dl_dot_q8_0_q8_0)
DL_SCALAR_GEMM(gemm_q4_K, dl_dot_q4_K_q8_K)
DL_SCALAR_GEMM(gemm_q5_K, dl_dot_q5_K_q8_K)
DL_SCALAR_GEMM(gemm_q6_K, dl_dot_q6_K_q8_K)
DL_SCALAR_GEMM(gemm_f16, dl_dot_f16_f32)
DL_SCALAR_GEMM(gemm_bf16, dl_dot_bf16_bf16)
DL_SCALAR_GEMM(gemm_f32, dl_dot_f32_f32)

static float dot_f32(const float *a, const float *b, int64_t n) { return dl_dot_f32_f32(n, a, b); }

static void mad_f32(float *y, const float *x, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

const dl_isa_table dl_isa_scalar = {
    .name = "scalar",
    .gemm = {
        [DL_TYPE_F32] = gemm_f32,
        [DL_TYPE_F16] = gemm_f16,
        [DL_TYPE_BF16] = gemm_bf16,
        [DL_TYPE_Q4_0] = gemm_q4_0,
        [DL_TYPE_Q4_1] = gemm_q4_1,
        [DL_TYPE_Q5_0] = gemm_q5_0,
        [DL_TYPE_Q5_1] = gemm_q5_1,
        [DL_TYPE_Q8_0] = gemm_q8_0,
        [DL_TYPE_Q4_K] = gemm_q4_K,
        [DL_TYPE_Q5_K] = gemm_q5_K,
        [DL_TYPE_Q6_K] = gemm_q6_K,
    },
    .dot_f32 = dot_f32,
    .mad_f32 = mad_f32,
    .dot_f16 = dl_scalar_dot_f16,
    .mad_f16 = dl_scalar_mad_f16,
    .cvt_f16 = dl_scalar_cvt_f16,
    .f16_to_f32 = dl_scalar_f16_to_f32,
};
