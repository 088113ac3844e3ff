/* kernels: tensor types (dequantise / quantise) and the matrix products the
 * model needs, with a portable scalar reference beside every SIMD path.
 *
 * The instruction set is chosen once, at first use, from what the CPU
 * supports (AVX-512 VNNI/BF16 > AVX2+FMA > scalar); tests force "scalar" to
 * use it as the oracle. Quantised weights are multiplied the way the GGUF
 * reference does it: activations are first quantised to the weight type's
 * "vec_dot" type (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the
 * K-quants), F16 weights multiply F16-rounded activations, BF16 weights
 * BF16-rounded activations. Block layouts are bit-identical to GGUF. */
#ifndef DL_KERNELS_H
#define DL_KERNELS_H

#include "../base/base.h"
#include "../gguf/gguf.h"

/* True when the engine can multiply and dequantise tensors of this type. */
bool dl_type_supported(int type);

/* Row conversions. n must be a multiple of the type's block size.
 * dequantize: exact, bit-identical to the reference format definition.
 * quantize: a reference quantiser for every supported type (used by the
 * random-weight writer and for activations); returns -1 for unsupported
 * types or bad n. */
int dl_dequantize_row(int type, const void *src, float *dst, int64_t n);
int dl_quantize_row(int type, const float *src, void *dst, int64_t n);

/* Instruction set in use: "avx512", "avx2" or "scalar". */
const char *dl_kernels_isa(void);
/* Forces an instruction set ("scalar", "avx2", "avx512", or NULL = best
 * available). Returns -1 if the CPU lacks it. Not thread-safe: call before
 * starting work (tests, benchmarks, `--isa`). */
int dl_kernels_set_isa(const char *name);

/* Scratch memory for matmuls (quantised activations). Owned by the caller
 * (one per model context), grown on demand, so the steady-state decode loop
 * does not allocate. Zero-initialise, free with dl_matmul_ws_free. */
typedef struct dl_matmul_ws {
    void *buf;
    size_t cap;
} dl_matmul_ws;
void dl_matmul_ws_free(dl_matmul_ws *ws);

/* y[t*ldy + r] = sum_c W[r][c] * x[t*cols + c]
 *   for r in [0, rows), t in [0, n_tok).
 * W is row-major in `type`: row r starts at (char *)w + r * row_bytes(type, cols).
 * Work is split across the pool's threads by rows. Returns -1 (err set) for
 * unsupported types or cols not a multiple of the block size. */
int dl_matmul(dl_pool *pool, dl_matmul_ws *ws, int type, const void *w, int64_t rows,
              int64_t cols, const float *x, int64_t n_tok, float *y, int64_t ldy,
              dl_error *err);

/* One product of a dl_matmul_multi call: y[t*ldy + r] = sum_c W[r][c] * x[t*cols + c]
 * for r in [0, rows), W in `type` as for dl_matmul. */
typedef struct dl_matmul_op {
    int type;
    const void *w;
    int64_t rows;
    float *y;
    int64_t ldy;
} dl_matmul_op;
#define DL_MATMUL_MAX_OPS 4

/* Several products of the same input x (n_tok rows of cols floats), e.g. the
 * q, k and v projections, in one pass of the pool: one synchronisation
 * instead of n_ops, the threads sharing all the rows (claimed in chunks
 * sized by bytes of weights, so they finish together). Activations are
 * converted once per distinct format. Errors as dl_matmul; 400 when n_ops
 * is outside 1..DL_MATMUL_MAX_OPS. Results equal n_ops dl_matmul calls. */
int dl_matmul_multi(dl_pool *pool, dl_matmul_ws *ws, const dl_matmul_op *ops, int n_ops, int64_t cols,
                    const float *x, int64_t n_tok, dl_error *err);

/* Copies row `row` of a matrix in `type` to floats (embedding lookup). */
int dl_get_row(int type, const void *w, int64_t cols, int64_t row, float *dst);

/* Small float vector helpers used by the model (SIMD where it matters). */
float dl_vec_dot_f32(const float *a, const float *b, int64_t n);
void dl_vec_mad_f32(float *y, const float *x, float a, int64_t n); /* y += a*x */
/* The same over nr rows x_j of n floats, `stride` bytes apart (attention over
 * an F32 KV cache): out[j] = dot(a, x_j); y += w[j] * x_j for j in order.
 * Results are identical to nr calls of the one-row functions. */
void dl_vec_dot_rows_f32(float *out, const float *a, const float *x, size_t stride, int64_t nr, int64_t n);
void dl_vec_mad_rows_f32(float *y, const float *x, size_t stride, const float *w, int64_t nr, int64_t n);
/* dl_vec_dot_rows_f32 for na vectors a_r (n floats each, contiguous) at
 * once: out[r * ldo + j] = dot(a_r, x_j), identical to na calls of it; each
 * x_j is read once for all of them (attention scores of a block of queries). */
void dl_vec_dot_rows_multi_f32(float *out, int64_t ldo, const float *a, int64_t na, const float *x, size_t stride,
                               int64_t nr, int64_t n);
/* The same over IEEE fp16 vectors (an F16 KV cache): a and x are fp16,
 * accumulation in float. dl_vec_f32_to_f16 rounds to nearest even. */
float dl_vec_dot_f16_f32(const uint16_t *a, const float *b, int64_t n);
void dl_vec_mad_f16(float *y, const uint16_t *x, float a, int64_t n); /* y += a*x */
void dl_vec_f32_to_f16(uint16_t *dst, const float *src, int64_t n);
void dl_vec_f16_to_f32(float *dst, const uint16_t *src, int64_t n); /* exact */
/* SwiGLU: gate[i] = silu(gate[i]) * up[i] (silu(g) = g / (1 + e^-g); the
 * SIMD versions are within a few float ulps of the scalar one). */
void dl_vec_silu_mul_f32(float *gate, const float *up, int64_t n);
/* Softmax pieces (attention). dl_vec_max_f32: the largest of x[0..n), n >= 1
 * (-inf when all are). dl_vec_exp_sub_f32: x[i] = e^(x[i] - m), returns
 * their sum; the SIMD versions are within a few float ulps of expf. */
float dl_vec_max_f32(const float *x, int64_t n);
float dl_vec_exp_sub_f32(float *x, float m, int64_t n);

#endif
