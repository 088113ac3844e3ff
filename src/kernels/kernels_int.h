/* kernels internals: GGUF block layouts, per-type traits and the per-ISA
 * kernel tables. Only src/kernels/ and tests/kernels/ include this. */
#ifndef DL_KERNELS_INT_H
#define DL_KERNELS_INT_H

#include <assert.h>

#include "kernels.h"

#define DL_QK 32    /* elements per block of the 32-element types */
#define DL_QK_K 256 /* elements per K-quant super-block */

typedef uint16_t dl_half; /* IEEE fp16 bits */

/* Block layouts, byte-for-byte those of GGUF/ggml (little-endian). */
typedef struct { dl_half d; uint8_t qs[DL_QK / 2]; } dl_block_q4_0;
typedef struct { dl_half d, m; uint8_t qs[DL_QK / 2]; } dl_block_q4_1;
typedef struct { dl_half d; uint8_t qh[4]; uint8_t qs[DL_QK / 2]; } dl_block_q5_0;
typedef struct { dl_half d, m; uint8_t qh[4]; uint8_t qs[DL_QK / 2]; } dl_block_q5_1;
typedef struct { dl_half d; int8_t qs[DL_QK]; } dl_block_q8_0;
typedef struct { dl_half d, s; int8_t qs[DL_QK]; } dl_block_q8_1; /* s = d * sum(qs) */
typedef struct {
    dl_half d, dmin;
    uint8_t scales[12]; /* 8 x (6-bit scale, 6-bit min), packed */
    uint8_t qs[DL_QK_K / 2];
} dl_block_q4_K;
typedef struct {
    dl_half d, dmin;
    uint8_t scales[12];
    uint8_t qh[DL_QK_K / 8];
    uint8_t qs[DL_QK_K / 2];
} dl_block_q5_K;
typedef struct {
    uint8_t ql[DL_QK_K / 2];     /* low 4 bits */
    uint8_t qh[DL_QK_K / 4];     /* high 2 bits */
    int8_t scales[DL_QK_K / 16]; /* one per 16 elements */
    dl_half d;
} dl_block_q6_K;
typedef struct {
    float d;
    int8_t qs[DL_QK_K];
    int16_t bsums[DL_QK_K / 16]; /* sums of qs in groups of 16 */
} dl_block_q8_K;

static_assert(sizeof(dl_block_q4_0) == 18, "q4_0 layout");
static_assert(sizeof(dl_block_q4_1) == 20, "q4_1 layout");
static_assert(sizeof(dl_block_q5_0) == 22, "q5_0 layout");
static_assert(sizeof(dl_block_q5_1) == 24, "q5_1 layout");
static_assert(sizeof(dl_block_q8_0) == 34, "q8_0 layout");
static_assert(sizeof(dl_block_q8_1) == 36, "q8_1 layout");
static_assert(sizeof(dl_block_q4_K) == 144, "q4_K layout");
static_assert(sizeof(dl_block_q5_K) == 176, "q5_K layout");
static_assert(sizeof(dl_block_q6_K) == 210, "q6_K layout");
static_assert(sizeof(dl_block_q8_K) == 292, "q8_K layout");

typedef void (*dl_dequant_fn)(const void *src, float *dst, int64_t n);
typedef void (*dl_quant_fn)(const float *src, void *dst, int64_t n);
/* Scalar dot product of one weight row (n elements) with one activation row
 * already converted to the weight type's activation format. */
typedef float (*dl_dot_fn)(int64_t n, const void *w, const void *a);
/* y[t*ldy + r] = dot(W row r, A row t) for r < nr, t < nt. Rows of W are
 * wstride bytes apart, rows of A astride bytes apart. */
typedef void (*dl_gemm_fn)(int64_t n, const void *w, size_t wstride, int64_t nr, const void *a,
                           size_t astride, int64_t nt, float *y, int64_t ldy);

typedef struct dl_type_traits {
    const char *name;
    int64_t blck;            /* elements per block (0 = unsupported) */
    int64_t bytes;           /* bytes per block */
    dl_dequant_fn dequant;
    dl_quant_fn quant;
    int act_type;            /* storage type of converted activations */
    dl_quant_fn act_quant;   /* converts float activations; NULL = use as is */
    dl_dot_fn dot;           /* scalar reference */
} dl_type_traits;

/* Traits of `type`, or NULL when the engine does not support it. */
const dl_type_traits *dl_traits(int type);
/* Bytes of a row of n elements of a supported or activation type. */
size_t dl_row_size(int type, int64_t n);

/* ---- reference conversions (quant_ref.c, dequant.c) ---- */
void dl_quantize_q4_0(const float *x, void *y, int64_t n);
void dl_quantize_q4_1(const float *x, void *y, int64_t n);
void dl_quantize_q5_0(const float *x, void *y, int64_t n);
void dl_quantize_q5_1(const float *x, void *y, int64_t n);
void dl_quantize_q8_0(const float *x, void *y, int64_t n);
void dl_quantize_q8_1(const float *x, void *y, int64_t n);
void dl_quantize_q4_K(const float *x, void *y, int64_t n);
void dl_quantize_q5_K(const float *x, void *y, int64_t n);
void dl_quantize_q6_K(const float *x, void *y, int64_t n);
void dl_quantize_q8_K(const float *x, void *y, int64_t n);
void dl_quantize_f16(const float *x, void *y, int64_t n);
void dl_quantize_bf16(const float *x, void *y, int64_t n);
void dl_quantize_f32(const float *x, void *y, int64_t n);
/* Activations for F16 weights: floats rounded to fp16 precision, kept as f32. */
void dl_round_f16_f32(const float *x, void *y, int64_t n);

void dl_dequantize_q4_0(const void *x, float *y, int64_t n);
void dl_dequantize_q4_1(const void *x, float *y, int64_t n);
void dl_dequantize_q5_0(const void *x, float *y, int64_t n);
void dl_dequantize_q5_1(const void *x, float *y, int64_t n);
void dl_dequantize_q8_0(const void *x, float *y, int64_t n);
void dl_dequantize_q8_1(const void *x, float *y, int64_t n);
void dl_dequantize_q4_K(const void *x, float *y, int64_t n);
void dl_dequantize_q5_K(const void *x, float *y, int64_t n);
void dl_dequantize_q6_K(const void *x, float *y, int64_t n);
void dl_dequantize_q8_K(const void *x, float *y, int64_t n);
void dl_dequantize_f16(const void *x, float *y, int64_t n);
void dl_dequantize_bf16(const void *x, float *y, int64_t n);
void dl_dequantize_f32(const void *x, float *y, int64_t n);

/* Unpacks the 12-byte K-quant scale field into 8 scales and 8 mins (6 bit). */
void dl_kquant_scales(const uint8_t *packed, uint8_t sc[8], uint8_t mn[8]);
/* ggml's round-to-nearest (ties to even) for |v| < 2^22. */
int dl_nearest_int(float v);

/* ---- scalar dot products (dot_scalar.c) ---- */
float dl_dot_q4_0_q8_0(int64_t n, const void *w, const void *a);
float dl_dot_q4_1_q8_1(int64_t n, const void *w, const void *a);
float dl_dot_q5_0_q8_0(int64_t n, const void *w, const void *a);
float dl_dot_q5_1_q8_1(int64_t n, const void *w, const void *a);
float dl_dot_q8_0_q8_0(int64_t n, const void *w, const void *a);
float dl_dot_q4_K_q8_K(int64_t n, const void *w, const void *a);
float dl_dot_q5_K_q8_K(int64_t n, const void *w, const void *a);
float dl_dot_q6_K_q8_K(int64_t n, const void *w, const void *a);
float dl_dot_f16_f32(int64_t n, const void *w, const void *a);
float dl_dot_bf16_bf16(int64_t n, const void *w, const void *a);
float dl_dot_f32_f32(int64_t n, const void *w, const void *a);

/* ---- per-ISA kernel tables ---- */
typedef struct dl_isa_table {
    const char *name;
    dl_gemm_fn gemm[DL_TYPE_COUNT]; /* NULL: use the scalar gemm of the type */
    /* Activation conversion for weights of each type, bit-identical to the
     * type's scalar act_quant; NULL: use the scalar one. */
    dl_quant_fn act_quant[DL_TYPE_COUNT];
    /* From pack_min_tok tokens on, the gemm of a type with act_pack set reads
     * activation rows converted by act_pack (act_pack_row(n) bytes each, the
     * layout the kernel repacks its weights to) instead of act_quant's. */
    dl_quant_fn act_pack[DL_TYPE_COUNT];
    size_t (*act_pack_row[DL_TYPE_COUNT])(int64_t n);
    int64_t pack_min_tok;
    /* From pack_min_tok tokens on, a type with panel_rows set is multiplied
     * panel by panel (panel_rows rows converted into a cache-resident panel
     * that all tokens reuse; the kernel prefetches the next panel itself), so
     * prefill chunks are whole panels and need not fit L2. 0: L2 blocks. */
    int64_t panel_rows[DL_TYPE_COUNT];
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*mad_f32)(float *y, const float *x, float a, int64_t n);
    /* several rows at once, identical to repeated dot_f32 / mad_f32 (NULL: loop over those) */
    void (*dot_rows_f32)(float *out, const float *a, const float *x, size_t stride, int64_t nr, int64_t n);
    void (*mad_rows_f32)(float *y, const float *x, size_t stride, const float *w, int64_t nr, int64_t n);
    /* na rows at once, identical to dot_rows_f32 per row (NULL: loop over that) */
    void (*dot_rows_multi_f32)(float *out, int64_t ldo, const float *a, int64_t na, const float *x, size_t stride,
                               int64_t nr, int64_t n);
    /* fp16 vectors (F16 KV cache), see vec_f16.c */
    float (*dot_f16)(const uint16_t *a, const float *b, int64_t n);
    void (*mad_f16)(float *y, const uint16_t *x, float a, int64_t n);
    void (*cvt_f16)(uint16_t *dst, const float *src, int64_t n);
    void (*f16_to_f32)(float *dst, const uint16_t *src, int64_t n);
    void (*silu_mul_f32)(float *gate, const float *up, int64_t n); /* NULL: scalar */
    float (*max_f32)(const float *x, int64_t n);                    /* NULL: scalar */
    float (*exp_sub_f32)(float *x, float m, int64_t n);             /* NULL: scalar */
} dl_isa_table;

extern const dl_isa_table dl_isa_scalar;
extern const dl_isa_table dl_isa_avx2;
extern const dl_isa_table dl_isa_avx512;

/* The table in use (chosen on first call). */
const dl_isa_table *dl_isa(void);
/* gemm of `type` for the table in use (scalar fallback when the ISA lacks one). */
dl_gemm_fn dl_gemm_for(const dl_isa_table *isa, int type);

/* Q8_K activation scale: the first of x[0..n) whose magnitude is amax (its
 * sign matters: the reference scales by -127/max). The SIMD quantisers find
 * amax with vector maxima, then call this. */
static inline float dl_first_with_magnitude(const float *x, int n, float amax) {
    for (int j = 0; j < n; j++)
        if (x[j] == amax || x[j] == -amax) return x[j];
    return 0.0f;
}

/* fp16 vector helpers: scalar (vec_f16.c) and F16C/AVX2 (vec_f16_avx2.c,
 * used by the avx2 and avx512 tables). */
float dl_scalar_dot_f16(const uint16_t *a, const float *b, int64_t n);
void dl_scalar_mad_f16(float *y, const uint16_t *x, float a, int64_t n);
void dl_scalar_cvt_f16(uint16_t *dst, const float *src, int64_t n);
void dl_scalar_f16_to_f32(float *dst, const uint16_t *src, int64_t n);
float dl_avx2_dot_f16(const uint16_t *a, const float *b, int64_t n);
void dl_avx2_mad_f16(float *y, const uint16_t *x, float a, int64_t n);
void dl_avx2_cvt_f16(uint16_t *dst, const float *src, int64_t n);
void dl_avx2_f16_to_f32(float *dst, const uint16_t *src, int64_t n);

#endif
