/* Dequantisation: block formats to floats, bit-identical to the reference
 * (ggml's dequantize_row_*: same formulas, same float operation order). */
#include <string.h>

#include "kernels_int.h"

static inline float h2f(dl_half h) { return dl_f16_to_f32(h); }

void dl_kquant_scales(const uint8_t *q, uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 4; j++) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = (uint8_t)((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
    }
}

void dl_dequantize_q4_0(const void *vx, float *y, int64_t n) {
    const dl_block_q4_0 *x = vx;
    for (int64_t i = 0; i < n / DL_QK; i++, y += DL_QK) {
        float d = h2f(x[i].d);
        for (int j = 0; j < DL_QK / 2; j++) {
            y[j] = (float)((x[i].qs[j] & 0xF) - 8) * d;
            y[j + 16] = (float)((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dl_dequantize_q4_1(const void *vx, float *y, int64_t n) {
    const dl_block_q4_1 *x = vx;
    for (int64_t i = 0; i < n / DL_QK; i++, y += DL_QK) {
        float d = h2f(x[i].d), m = h2f(x[i].m);
        for (int j = 0; j < DL_QK / 2; j++) {
            y[j] = (float)(x[i].qs[j] & 0xF) * d + m;
            y[j + 16] = (float)(x[i].qs[j] >> 4) * d + m;
        }
    }
}

void dl_dequantize_q5_0(const void *vx, float *y, int64_t n) {
    const dl_block_q5_0 *x = vx;
    for (int64_t i = 0; i < n / DL_QK; i++, y += DL_QK) {
        float d = h2f(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < DL_QK / 2; j++) {
            int h0 = (int)((qh >> j) << 4) & 0x10, h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = (float)(((x[i].qs[j] & 0xF) | h0) - 16) * d;
            y[j + 16] = (float)(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dl_dequantize_q5_1(const void *vx, float *y, int64_t n) {
    const dl_block_q5_1 *x = vx;
    for (int64_t i = 0; i < n / DL_QK; i++, y += DL_QK) {
        float d = h2f(x[i].d), m = h2f(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < DL_QK / 2; j++) {
            int h0 = (int)((qh >> j) << 4) & 0x10, h1 = (int)(qh >> (j + 12)) & 0x10;
            y[j] = (float)((x[i].qs[j] & 0xF) | h0) * d + m;
            y[j + 16] = (float)((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void dl_dequantize_q8_0(const void *vx, float *y, int64_t n) {
    const dl_block_q8_0 *x = vx;
    for (int64_t i = 0; i < n / DL_QK; i++, y += DL_QK) {
        float d = h2f(x[i].d);
        for (int j = 0; j < DL_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

void dl_dequantize_q8_1(const void *vx, float *y, int64_t n) {
    const dl_block_q8_1 *x = vx;
    for (int64_t i = 0; i < n / DL_QK; i++, y += DL_QK) {
        float d = h2f(x[i].d);
        for (int j = 0; j < DL_QK; j++) y[j] = (float)x[i].qs[j] * d;
    }
}

void dl_dequantize_q4_K(const void *vx, float *y, int64_t n) {
    const dl_block_q4_K *x = vx;
    for (int64_t i = 0; i < n / DL_QK_K; i++) {
        float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        uint8_t sc[8], mn[8];
        dl_kquant_scales(x[i].scales, sc, mn);
        const uint8_t *q = x[i].qs;
        for (int c = 0; c < 4; c++, q += 32) {
            float d1 = d * sc[2 * c], m1 = dmin * mn[2 * c];
            float d2 = d * sc[2 * c + 1], m2 = dmin * mn[2 * c + 1];
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void dl_dequantize_q5_K(const void *vx, float *y, int64_t n) {
    const dl_block_q5_K *x = vx;
    for (int64_t i = 0; i < n / DL_QK_K; i++) {
        float d = h2f(x[i].d), dmin = h2f(x[i].dmin);
        uint8_t sc[8], mn[8];
        dl_kquant_scales(x[i].scales, sc, mn);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        for (int c = 0; c < 4; c++, ql += 32) {
            uint8_t u1 = (uint8_t)(1u << (2 * c)), u2 = (uint8_t)(2u << (2 * c));
            float d1 = d * sc[2 * c], m1 = dmin * mn[2 * c];
            float d2 = d * sc[2 * c + 1], m2 = dmin * mn[2 * c + 1];
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void dl_dequantize_q6_K(const void *vx, float *y, int64_t n) {
    const dl_block_q6_K *x = vx;
    for (int64_t i = 0; i < n / DL_QK_K; i++) {
        float d = h2f(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int h = 0; h < 2; h++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

void dl_dequantize_q8_K(const void *vx, float *y, int64_t n) {
    const dl_block_q8_K *x = vx;
    for (int64_t i = 0; i < n / DL_QK_K; i++, y += DL_QK_K)
        for (int j = 0; j < DL_QK_K; j++) y[j] = x[i].d * (float)x[i].qs[j];
}

void dl_dequantize_f16(const void *vx, float *y, int64_t n) {
    const dl_half *x = vx;
    for (int64_t i = 0; i < n; i++) y[i] = h2f(x[i]);
}

void dl_dequantize_bf16(const void *vx, float *y, int64_t n) {
    const uint16_t *x = vx;
    for (int64_t i = 0; i < n; i++) y[i] = dl_bf16_to_f32(x[i]);
}

void dl_dequantize_f32(const void *vx, float *y, int64_t n) { memcpy(y, vx, (size_t)n * sizeof(float)); }
