/* Element-wise operations of the transformer block. Summation order and
 * precision follow the GGUF reference (sums of squares and softmax sums in
 * double, RoPE angles advanced in float) so F32 logits land within ~1e-5. */
#include <math.h>

#include "model_int.h"

void dl_op_rmsnorm(float *out, const float *x, const float *gain, int64_t n, float eps) {
    double s4[4] = {0.0, 0.0, 0.0, 0.0}; /* four partial sums: independent additions */
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) s4[k] += (double)(x[i + k] * x[i + k]);
    for (; i < n; i++) s4[0] += (double)(x[i] * x[i]);
    double ss = (s4[0] + s4[1]) + (s4[2] + s4[3]);
    float mean = (float)(ss / (double)n);
    float scale = 1.0f / sqrtf(mean + eps);
    for (i = 0; i < n; i++) out[i] = x[i] * scale * (gain ? gain[i] : 1.0f);
}

/* cos/sin for the n_rot/2 rotation pairs at one position. */
void dl_op_rope_table(float *cos_out, float *sin_out, int32_t pos, int32_t n_rot, float base,
                      float freq_scale) {
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int32_t i = 0; i < n_rot / 2; i++) {
        float t = theta * freq_scale;
        cos_out[i] = cosf(t);
        sin_out[i] = sinf(t);
        theta *= theta_scale;
    }
}

void dl_op_rope_apply(float *x, int32_t head_dim, int32_t n_rot, dl_rope_style style,
                      const float *cos_t, const float *sin_t) {
    (void)head_dim; /* dims past n_rot are left as they are */
    if (style == DL_ROPE_NEOX) {
        int32_t half = n_rot / 2;
        for (int32_t i = 0; i < half; i++) {
            float a = x[i], b = x[i + half];
            x[i] = a * cos_t[i] - b * sin_t[i];
            x[i + half] = a * sin_t[i] + b * cos_t[i];
        }
    } else {
        for (int32_t i = 0; i < n_rot / 2; i++) {
            float a = x[2 * i], b = x[2 * i + 1];
            x[2 * i] = a * cos_t[i] - b * sin_t[i];
            x[2 * i + 1] = a * sin_t[i] + b * cos_t[i];
        }
    }
}

void dl_op_softmax(float *x, int64_t n) {
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

/* gate[i] = silu(gate[i]) * up[i] */
void dl_op_swiglu(float *gate, const float *up, int64_t n) { dl_vec_silu_mul_f32(gate, up, n); }
