/* Forward and backward of every layer type of the trainer, in float32 with
 * the engine's conventions (RMSNorm sums of squares in double, neox RoPE
 * with angles advanced in float, 1/sqrt(head_dim) attention scale). The
 * backward functions accumulate (+=) into their outputs. Linear layers use
 * the kernels' F32 GEMM, attention their SIMD dot / mad (AVX-512, AVX2 or
 * scalar, chosen at run time). */
#include <math.h>
#include <string.h>

#include "../kernels/kernels.h"
#include "train_int.h"

/* All three products of a linear layer run on the kernels' F32 GEMM
 * (register-tiled, SIMD chosen at run time), on the calling thread. */
static void gemm(const float *w, int rows, int cols, const float *x, int n_tok, float *y) {
    /* y[t * rows + r] = w[r] . x[t]; F32 with cols > 0 cannot fail */
    int rc = dl_matmul(NULL, NULL, DL_TYPE_F32, w, rows, cols, x, n_tok, y, rows, NULL);
    (void)rc;
}

void dl_tl_linear_fwd(float *y, const float *x, const float *W, int T, int I, int O) {
    gemm(W, O, I, x, T, y);
}

size_t dl_tl_linear_scratch(int T, int I, int O) {
    return (size_t)I * O + (size_t)O * T + (size_t)I * T + (size_t)DL_MAX(T, O) * I;
}

/* dst (cols, rows) = src (rows, cols) transposed, in 32x32 tiles. */
static void transpose(float *restrict dst, const float *restrict src, int rows, int cols) {
    for (int r0 = 0; r0 < rows; r0 += 32)
        for (int c0 = 0; c0 < cols; c0 += 32)
            for (int r = r0; r < DL_MIN(r0 + 32, rows); r++)
                for (int c = c0; c < DL_MIN(c0 + 32, cols); c++) dst[(size_t)c * rows + r] = src[(size_t)r * cols + c];
}

void dl_tl_transpose(float *dst, const float *src, int rows, int cols) { transpose(dst, src, rows, cols); }

static void add_to(float *restrict y, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/* Both products as GEMMs over transposed operands: dx = dy W is
 * (W^T as the weights) x dy, and dW = dy^T x is (x^T as the weights) x
 * dy^T; the transposes are a small fraction of the work. Results go to a
 * scratch block, then are added (the backward passes accumulate). */
void dl_tl_linear_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W,
                      const float *WT, int T, int I, int O, float *scratch) {
    float *wt_buf = scratch, *dyT = wt_buf + (size_t)I * O, *xT = dyT + (size_t)O * T;
    float *tmp = xT + (size_t)I * T; /* (max(T, O), I) */
    if (dx) {
        if (!WT) {
            transpose(wt_buf, W, O, I); /* (I, O) */
            WT = wt_buf;
        }
        gemm(WT, I, O, dy, T, tmp); /* tmp[t][i] = W^T[i] . dy[t] */
        add_to(dx, tmp, (size_t)T * I);
    }
    if (dW) {
        transpose(dyT, dy, T, O);
        transpose(xT, x, T, I);
        gemm(xT, I, T, dyT, O, tmp); /* tmp[o][i] = x^T[i] . dy^T[o] */
        add_to(dW, tmp, (size_t)O * I);
    }
}

void dl_tl_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *g, int T, int n,
                       float eps) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * n;
        float *o = out + (size_t)t * n;
        double ss = 0.0;
        for (int i = 0; i < n; i++) ss += (double)(xr[i] * xr[i]);
        float r = 1.0f / sqrtf((float)(ss / (double)n) + eps);
        rstd[t] = r;
        for (int i = 0; i < n; i++) o[i] = xr[i] * r * g[i];
    }
}

void dl_tl_rmsnorm_bwd(float *dx, float *dg, const float *dy, const float *x, const float *g,
                       const float *rstd, int T, int n) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * n, *d = dy + (size_t)t * n;
        float r = rstd[t];
        double s = 0.0; /* sum_i dy_i g_i x_i */
        for (int i = 0; i < n; i++) s += (double)(d[i] * g[i] * xr[i]);
        float c = (float)(s * (double)r * (double)r * (double)r / (double)n);
        float *o = dx + (size_t)t * n;
        for (int i = 0; i < n; i++) {
            o[i] += d[i] * g[i] * r - xr[i] * c;
            dg[i] += d[i] * xr[i] * r;
        }
    }
}

void dl_tl_rope_table(float *cos_t, float *sin_t, int T, int D, float base) {
    const float theta_scale = powf(base, -2.0f / (float)D);
    for (int t = 0; t < T; t++) {
        float theta = (float)t;
        for (int i = 0; i < D / 2; i++) {
            cos_t[(size_t)t * (D / 2) + i] = cosf(theta);
            sin_t[(size_t)t * (D / 2) + i] = sinf(theta);
            theta *= theta_scale;
        }
    }
}

void dl_tl_rope(float *x, const float *cos_t, const float *sin_t, int T, int n_heads, int D,
                bool inverse) {
    const int half = D / 2;
    for (int t = 0; t < T; t++) {
        const float *c = cos_t + (size_t)t * half, *s = sin_t + (size_t)t * half;
        for (int h = 0; h < n_heads; h++) {
            float *v = x + ((size_t)t * n_heads + h) * D;
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half], sn = inverse ? -s[i] : s[i];
                v[i] = a * c[i] - b * sn;
                v[i + half] = a * sn + b * c[i];
            }
        }
    }
}

void dl_tl_attn_fwd(float *out, float *probs, const float *q, const float *k, const float *v, int T,
                    int H, int Hk, int D) {
    const int group = H / Hk, QD = H * D, KVD = Hk * D;
    const float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < H; h++) {
        const int kh = h / group;
        for (int t = 0; t < T; t++) {
            float *p = probs + ((size_t)h * T + t) * T;
            const float *qt = q + (size_t)t * QD + (size_t)h * D;
            float mx = -INFINITY;
            for (int j = 0; j <= t; j++) {
                p[j] = dl_vec_dot_f32(qt, k + (size_t)j * KVD + (size_t)kh * D, D) * scale;
                if (p[j] > mx) mx = p[j];
            }
            double sum = 0.0;
            for (int j = 0; j <= t; j++) {
                p[j] = expf(p[j] - mx);
                sum += (double)p[j];
            }
            float inv = (float)(1.0 / sum);
            float *o = out + (size_t)t * QD + (size_t)h * D;
            memset(o, 0, (size_t)D * sizeof(float));
            for (int j = 0; j <= t; j++) {
                p[j] *= inv;
                dl_vec_mad_f32(o, v + (size_t)j * KVD + (size_t)kh * D, p[j], D);
            }
        }
    }
}

void dl_tl_attn_bwd(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                    const float *q, const float *k, const float *v, int T, int H, int Hk, int D) {
    const int group = H / Hk, QD = H * D, KVD = Hk * D;
    const float scale = 1.0f / sqrtf((float)D);
    for (int h = 0; h < H; h++) {
        const int kh = h / group;
        for (int t = 0; t < T; t++) {
            const float *p = probs + ((size_t)h * T + t) * T;
            const float *dot_ = dout + (size_t)t * QD + (size_t)h * D;
            const float *qt = q + (size_t)t * QD + (size_t)h * D;
            float *dqt = dq + (size_t)t * QD + (size_t)h * D;
            /* dp_j = dout . v_j ; ds_j = p_j (dp_j - sum p dp) */
            double pdp = 0.0;
            for (int j = 0; j <= t; j++) pdp += (double)p[j] * (double)dl_vec_dot_f32(dot_, v + (size_t)j * KVD + (size_t)kh * D, D);
            for (int j = 0; j <= t; j++) {
                const float *vj = v + (size_t)j * KVD + (size_t)kh * D;
                float dp = dl_vec_dot_f32(dot_, vj, D);
                float ds = p[j] * (dp - (float)pdp) * scale;
                dl_vec_mad_f32(dv + (size_t)j * KVD + (size_t)kh * D, dot_, p[j], D);
                dl_vec_mad_f32(dqt, k + (size_t)j * KVD + (size_t)kh * D, ds, D);
                dl_vec_mad_f32(dk + (size_t)j * KVD + (size_t)kh * D, qt, ds, D);
            }
        }
    }
}

void dl_tl_swiglu_fwd(float *h, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        h[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void dl_tl_swiglu_bwd(float *dgate, float *dup, const float *dh, const float *gate, const float *up,
                      int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i], sg = 1.0f / (1.0f + expf(-g));
        dup[i] += dh[i] * g * sg;
        dgate[i] += dh[i] * up[i] * sg * (1.0f + g * (1.0f - sg));
    }
}

double dl_tl_xent(float *dlogits, const float *logits, const int32_t *targets, const uint8_t *mask,
                  const float *weight, int T, int V, float scale) {
    double loss = 0.0;
    for (int t = 0; t < T; t++) {
        const float *l = logits + (size_t)t * V;
        float *d = dlogits ? dlogits + (size_t)t * V : NULL;
        if (!mask[t]) {
            if (d) memset(d, 0, (size_t)V * sizeof(float));
            continue;
        }
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx) mx = l[i];
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)(l[i] - mx));
        double lse = (double)mx + log(sum);
        double w = weight ? (double)weight[t] : 1.0;
        loss += w * (lse - (double)l[targets[t]]);
        if (d) {
            float ws = (float)(w * (double)scale);
            for (int i = 0; i < V; i++) d[i] = (float)(exp((double)l[i] - lse) * (double)ws);
            d[targets[t]] -= ws;
        }
    }
    return loss;
}

void dl_tl_logprobs(float *out, const float *logits, const int32_t *targets, int T, int V) {
    for (int t = 0; t < T; t++) {
        const float *l = logits + (size_t)t * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx) mx = l[i];
        double sum = 0.0;
        for (int i = 0; i < V; i++) sum += exp((double)(l[i] - mx));
        out[t] = (float)((double)l[targets[t]] - (double)mx - log(sum));
    }
}
