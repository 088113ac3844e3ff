/* Reference quantisers: float rows to every supported block format.
 * The 32-element formats and Q8_K follow ggml's reference quantisers
 * (quantize_row_*_ref); the K-quant weight formats use a simple per-sub-block
 * min/max fit followed by one least-squares refinement of each scale. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels_int.h"

int dl_nearest_int(float v) {
    float t = v + 12582912.f; /* 1.5 * 2^23: the mantissa holds round(v) */
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline dl_half f2h(float f) { return dl_f32_to_f16(f); }
static inline float h2f(dl_half h) { return dl_f16_to_f32(h); }

/* Value of largest magnitude (with its sign) and its magnitude. */
static float signed_absmax(const float *x, int n, float *amax_out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = fabsf(x[j]);
        if (amax < a) {
            amax = a;
            max = x[j];
        }
    }
    if (amax_out) *amax_out = amax;
    return max;
}

void dl_quantize_q4_0(const float *x, void *vy, int64_t n) {
    dl_block_q4_0 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        float max = signed_absmax(x, DL_QK, NULL);
        float d = max / -8, id = d ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        for (int j = 0; j < DL_QK / 2; j++) {
            int a = (int8_t)(x[j] * id + 8.5f), b = (int8_t)(x[j + 16] * id + 8.5f);
            a = DL_MIN(15, a);
            b = DL_MIN(15, b);
            y[i].qs[j] = (uint8_t)(a | (b << 4));
        }
    }
}

void dl_quantize_q4_1(const float *x, void *vy, int64_t n) {
    dl_block_q4_1 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        float mn = FLT_MAX, mx = -FLT_MAX;
        for (int j = 0; j < DL_QK; j++) {
            mn = DL_MIN(mn, x[j]);
            mx = DL_MAX(mx, x[j]);
        }
        float d = (mx - mn) / 15, id = d ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        y[i].m = f2h(mn);
        for (int j = 0; j < DL_QK / 2; j++) {
            int a = (int8_t)((x[j] - mn) * id + 0.5f), b = (int8_t)((x[j + 16] - mn) * id + 0.5f);
            a = DL_MIN(15, a);
            b = DL_MIN(15, b);
            y[i].qs[j] = (uint8_t)(a | (b << 4));
        }
    }
}

void dl_quantize_q5_0(const float *x, void *vy, int64_t n) {
    dl_block_q5_0 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        float max = signed_absmax(x, DL_QK, NULL);
        float d = max / -16, id = d ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        uint32_t qh = 0;
        for (int j = 0; j < DL_QK / 2; j++) {
            int a = (int8_t)(x[j] * id + 16.5f), b = (int8_t)(x[j + 16] * id + 16.5f);
            a = DL_MIN(31, a);
            b = DL_MIN(31, b);
            y[i].qs[j] = (uint8_t)((a & 15) | ((b & 15) << 4));
            qh |= (uint32_t)((a >> 4) & 1) << j;
            qh |= (uint32_t)((b >> 4) & 1) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

void dl_quantize_q5_1(const float *x, void *vy, int64_t n) {
    dl_block_q5_1 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        float mn = FLT_MAX, mx = -FLT_MAX;
        for (int j = 0; j < DL_QK; j++) {
            mn = DL_MIN(mn, x[j]);
            mx = DL_MAX(mx, x[j]);
        }
        float d = (mx - mn) / 31, id = d ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        y[i].m = f2h(mn);
        uint32_t qh = 0;
        for (int j = 0; j < DL_QK / 2; j++) {
            int a = (int)((x[j] - mn) * id + 0.5f), b = (int)((x[j + 16] - mn) * id + 0.5f);
            a = DL_MAX(0, DL_MIN(31, a));
            b = DL_MAX(0, DL_MIN(31, b));
            y[i].qs[j] = (uint8_t)((a & 15) | ((b & 15) << 4));
            qh |= (uint32_t)((a >> 4) & 1) << j;
            qh |= (uint32_t)((b >> 4) & 1) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

/* Q8_0 as ggml's reference: d = amax/127 (fp16), q = roundf(x / d). */
void dl_quantize_q8_0(const float *x, void *vy, int64_t n) {
    dl_block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        float amax;
        signed_absmax(x, DL_QK, &amax);
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = f2h(d);
        for (int j = 0; j < DL_QK; j++) y[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/* Q8_1: as Q8_0 plus s = d * sum(q) (fp16). */
void dl_quantize_q8_1(const float *x, void *vy, int64_t n) {
    dl_block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / DL_QK; i++, x += DL_QK) {
        float amax;
        signed_absmax(x, DL_QK, &amax);
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < DL_QK; j++) {
            y[i].qs[j] = (int8_t)roundf(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].d = f2h(d);
        y[i].s = f2h((float)sum * d);
    }
}

/* Q8_K as ggml's quantize_row_q8_K_ref: float d = max / -127 of the signed
 * absmax, q = nearest(-127/max * x) capped at 127, bsums per 16. */
void dl_quantize_q8_K(const float *x, void *vy, int64_t n) {
    dl_block_q8_K *y = vy;
    for (int64_t i = 0; i < n / DL_QK_K; i++, x += DL_QK_K) {
        float amax, max = signed_absmax(x, DL_QK_K, &amax);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float iscale = -127.f / max;
        for (int j = 0; j < DL_QK_K; j++) {
            int v = dl_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)DL_MIN(127, v);
        }
        for (int g = 0; g < DL_QK_K / 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y[i].qs[g * 16 + j];
            y[i].bsums[g] = (int16_t)s;
        }
        y[i].d = 1 / iscale;
    }
}

/* Fits x[0..32) ~ scale * q - min with q in [0, nmax], min >= 0: min/max
 * start, then one least-squares pass for scale and min with q fixed. */
static void fit_min_scale(const float *x, int nmax, float *scale, float *min) {
    float mn = 0.0f, mx = 0.0f;
    for (int j = 0; j < 32; j++) {
        mn = DL_MIN(mn, x[j]);
        mx = DL_MAX(mx, x[j]);
    }
    if (mx <= mn) {
        *scale = 0.0f;
        *min = -mn;
        return;
    }
    float s = (mx - mn) / nmax, is = 1.0f / s;
    float sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (int j = 0; j < 32; j++) {
        int q = dl_nearest_int((x[j] - mn) * is);
        q = DL_MAX(0, DL_MIN(nmax, q));
        sq += q;
        sqq += (float)q * q;
        sx += x[j];
        sqx += q * x[j];
    }
    float det = 32 * sqq - sq * sq;
    if (det > 0) {
        float ls = (32 * sqx - sq * sx) / det, lb = (sqq * sx - sq * sqx) / det;
        if (ls > 0 && lb <= 0) {
            s = ls;
            mn = lb;
        }
    }
    *scale = s;
    *min = -mn;
}

/* Packs 8 six-bit scales and mins into the 12-byte K-quant field. */
static void pack_scales(const uint8_t sc[8], const uint8_t mn[8], uint8_t out[12]) {
    for (int j = 0; j < 4; j++) {
        out[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = (uint8_t)((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
        out[j + 8] = (uint8_t)((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
    }
}

/* Shared body of Q4_K / Q5_K: fills d, dmin, scales and the q values. */
static void kquant_fit(const float *x, int nmax, dl_half *d_out, dl_half *dmin_out,
                       uint8_t packed[12], uint8_t q[DL_QK_K]) {
    float scale[8], min[8], maxs = 0, maxm = 0;
    for (int j = 0; j < 8; j++) {
        fit_min_scale(x + 32 * j, nmax, &scale[j], &min[j]);
        maxs = DL_MAX(maxs, scale[j]);
        maxm = DL_MAX(maxm, min[j]);
    }
    float d = maxs / 63, dmin = maxm / 63;
    *d_out = f2h(d);
    *dmin_out = f2h(dmin);
    d = h2f(*d_out);
    dmin = h2f(*dmin_out);
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; j++) {
        sc[j] = (uint8_t)(d ? DL_MIN(63, dl_nearest_int(scale[j] / d)) : 0);
        mn[j] = (uint8_t)(dmin ? DL_MIN(63, dl_nearest_int(min[j] / dmin)) : 0);
    }
    pack_scales(sc, mn, packed);
    for (int j = 0; j < 8; j++) {
        float ds = d * sc[j], dm = dmin * mn[j];
        for (int l = 0; l < 32; l++) {
            int v = ds ? dl_nearest_int((x[32 * j + l] + dm) / ds) : 0;
            q[32 * j + l] = (uint8_t)DL_MAX(0, DL_MIN(nmax, v));
        }
    }
}

void dl_quantize_q4_K(const float *x, void *vy, int64_t n) {
    dl_block_q4_K *y = vy;
    uint8_t q[DL_QK_K];
    for (int64_t i = 0; i < n / DL_QK_K; i++, x += DL_QK_K) {
        kquant_fit(x, 15, &y[i].d, &y[i].dmin, y[i].scales, q);
        for (int c = 0; c < 4; c++) /* 64 elements per 32 bytes: low then high nibbles */
            for (int l = 0; l < 32; l++)
                y[i].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
}

void dl_quantize_q5_K(const float *x, void *vy, int64_t n) {
    dl_block_q5_K *y = vy;
    uint8_t q[DL_QK_K];
    for (int64_t i = 0; i < n / DL_QK_K; i++, x += DL_QK_K) {
        kquant_fit(x, 31, &y[i].d, &y[i].dmin, y[i].scales, q);
        memset(y[i].qh, 0, sizeof y[i].qh);
        for (int c = 0; c < 4; c++) {
            for (int l = 0; l < 32; l++) {
                int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
                y[i].qs[32 * c + l] = (uint8_t)((lo & 15) | ((hi & 15) << 4));
                y[i].qh[l] |= (uint8_t)(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
            }
        }
    }
}

void dl_quantize_q6_K(const float *x, void *vy, int64_t n) {
    dl_block_q6_K *y = vy;
    for (int64_t i = 0; i < n / DL_QK_K; i++, x += DL_QK_K) {
        float scale[16], maxs = 0, amaxs = 0;
        for (int g = 0; g < 16; g++) {
            scale[g] = signed_absmax(x + 16 * g, 16, NULL) / -32;
            if (fabsf(scale[g]) > amaxs) {
                amaxs = fabsf(scale[g]);
                maxs = scale[g];
            }
        }
        uint8_t q[DL_QK_K];
        if (!amaxs) {
            memset(y[i].scales, 0, sizeof y[i].scales);
            y[i].d = f2h(0.0f);
            memset(q, 32, sizeof q);
        } else {
            float iscale = -128.f / maxs;
            y[i].d = f2h(1 / iscale);
            float d = h2f(y[i].d);
            for (int g = 0; g < 16; g++) {
                int s = DL_MAX(-128, DL_MIN(127, dl_nearest_int(iscale * scale[g])));
                y[i].scales[g] = (int8_t)s;
                float ds = d * s;
                for (int l = 0; l < 16; l++) {
                    int v = ds ? dl_nearest_int(x[16 * g + l] / ds) : 0;
                    q[16 * g + l] = (uint8_t)(DL_MAX(-32, DL_MIN(31, v)) + 32);
                }
            }
        }
        for (int h = 0; h < 2; h++) {
            uint8_t *ql = y[i].ql + 64 * h, *qh = y[i].qh + 32 * h;
            const uint8_t *qq = q + 128 * h;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((qq[l] & 15) | ((qq[l + 64] & 15) << 4));
                ql[l + 32] = (uint8_t)((qq[l + 32] & 15) | ((qq[l + 96] & 15) << 4));
                qh[l] = (uint8_t)((qq[l] >> 4) | ((qq[l + 32] >> 4) << 2) | ((qq[l + 64] >> 4) << 4) |
                                  ((qq[l + 96] >> 4) << 6));
            }
        }
    }
}

void dl_quantize_f16(const float *x, void *vy, int64_t n) {
    dl_half *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = f2h(x[i]);
}

void dl_quantize_bf16(const float *x, void *vy, int64_t n) {
    uint16_t *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = dl_f32_to_bf16(x[i]);
}

void dl_quantize_f32(const float *x, void *vy, int64_t n) { memcpy(vy, x, (size_t)n * sizeof(float)); }

void dl_round_f16_f32(const float *x, void *vy, int64_t n) {
    float *y = vy;
    for (int64_t i = 0; i < n; i++) y[i] = h2f(f2h(x[i]));
}
