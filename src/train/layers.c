/* Forward and backward of every layer type of the trainer, in float32 with
 * the engine's conventions (RMSNorm sums of squares in double, neox RoPE
 * with angles advanced in float, 1/sqrt(head_dim) attention scale). The
 * backward functions accumulate (+=) into their outputs. */
#include <math.h>
#include <string.h>

#include "train_int.h"

/* Dot product with 8 independent partial sums (the compiler vectorises it). */
static inline float dot(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Loops in fixed chunks of 8 over restrict pointers: GCC's -O2 cost model
 * vectorises only loops whose trip count is a known multiple of the vector
 * width, and only without aliasing checks. */
static inline void axpy(float *restrict y, const float *restrict x, float a, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) y[i + j] += a * x[i + j];
    for (; i < n; i++) y[i] += a * x[i];
}

/* d_k += g_k * w for four rows d_0..d_3. */
static inline void axpy4(float *restrict d0, float *restrict d1, float *restrict d2,
                         float *restrict d3, const float *restrict w, float g0, float g1, float g2,
                         float g3, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float wi = w[i + j];
            d0[i + j] += g0 * wi;
            d1[i + j] += g1 * wi;
            d2[i + j] += g2 * wi;
            d3[i + j] += g3 * wi;
        }
    for (; i < n; i++) {
        float wi = w[i];
        d0[i] += g0 * wi;
        d1[i] += g1 * wi;
        d2[i] += g2 * wi;
        d3[i] += g3 * wi;
    }
}

void dl_tl_linear_fwd(float *y, const float *x, const float *W, int T, int I, int O) {
    for (int t = 0; t < T; t++)
        for (int o = 0; o < O; o++) y[(size_t)t * O + o] = dot(x + (size_t)t * I, W + (size_t)o * I, I);
}

/* Both products are blocked by 4 so that each row loaded from memory serves
 * four accumulations (the plain loops stream W once per token). */
void dl_tl_linear_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int T,
                      int I, int O) {
    if (dx) {
        int t = 0;
        for (; t + 4 <= T; t += 4) {
            float *d0 = dx + (size_t)t * I, *d1 = d0 + I, *d2 = d1 + I, *d3 = d2 + I;
            const float *g = dy + (size_t)t * O;
            for (int o = 0; o < O; o++) {
                const float *w = W + (size_t)o * I;
                float g0 = g[o], g1 = g[O + o], g2 = g[2 * O + o], g3 = g[3 * O + o];
                if (g0 == 0.0f && g1 == 0.0f && g2 == 0.0f && g3 == 0.0f) continue;
                axpy4(d0, d1, d2, d3, w, g0, g1, g2, g3, I);
            }
        }
        for (; t < T; t++)
            for (int o = 0; o < O; o++) {
                float g = dy[(size_t)t * O + o];
                if (g != 0.0f) axpy(dx + (size_t)t * I, W + (size_t)o * I, g, I);
            }
    }
    if (dW) {
        int o = 0;
        for (; o + 4 <= O; o += 4) {
            float *w0 = dW + (size_t)o * I, *w1 = w0 + I, *w2 = w1 + I, *w3 = w2 + I;
            for (int t = 0; t < T; t++) {
                const float *g = dy + (size_t)t * O + o, *xt = x + (size_t)t * I;
                float g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
                if (g0 == 0.0f && g1 == 0.0f && g2 == 0.0f && g3 == 0.0f) continue;
                axpy4(w0, w1, w2, w3, xt, g0, g1, g2, g3, I);
            }
        }
        for (; o < O; o++)
            for (int t = 0; t < T; t++) {
                float g = dy[(size_t)t * O + o];
                if (g != 0.0f) axpy(dW + (size_t)o * I, x + (size_t)t * I, g, I);
            }
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
                p[j] = dot(qt, k + (size_t)j * KVD + (size_t)kh * D, D) * scale;
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
                axpy(o, v + (size_t)j * KVD + (size_t)kh * D, p[j], D);
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
            for (int j = 0; j <= t; j++) pdp += (double)p[j] * (double)dot(dot_, v + (size_t)j * KVD + (size_t)kh * D, D);
            for (int j = 0; j <= t; j++) {
                const float *vj = v + (size_t)j * KVD + (size_t)kh * D;
                float dp = dot(dot_, vj, D);
                float ds = p[j] * (dp - (float)pdp) * scale;
                axpy(dv + (size_t)j * KVD + (size_t)kh * D, dot_, p[j], D);
                axpy(dqt, k + (size_t)j * KVD + (size_t)kh * D, ds, D);
                axpy(dk + (size_t)j * KVD + (size_t)kh * D, qt, ds, D);
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
