/* Prototypes of the per-ISA kernels (defined in *_avx2.c / *_avx512.c; only
 * reached through the dl_isa_table of a CPU that has the instructions). */
#ifndef DL_SIMD_KERNELS_H
#define DL_SIMD_KERNELS_H

#include "kernels_int.h"

float dl_avx2_dot_f32(const float *a, const float *b, int64_t n);
void dl_avx2_mad_f32(float *y, const float *x, float a, int64_t n);
void dl_avx2_quant_q8_0(const float *x, void *y, int64_t n);
void dl_avx2_quant_q8_K(const float *x, void *y, int64_t n);
void dl_avx2_round_f16(const float *x, void *y, int64_t n);
void dl_avx2_quant_bf16(const float *x, void *y, int64_t n);

float dl_avx512_dot_f32(const float *a, const float *b, int64_t n);
void dl_avx512_mad_f32(float *y, const float *x, float a, int64_t n);
void dl_avx512_quant_q8_0(const float *x, void *y, int64_t n);
void dl_avx512_quant_q8_K(const float *x, void *y, int64_t n);
void dl_avx512_round_f16(const float *x, void *y, int64_t n);
void dl_avx512_quant_bf16(const float *x, void *y, int64_t n);
void dl_avx512_silu_mul(float *gate, const float *up, int64_t n);
float dl_avx512_max_f32(const float *x, int64_t n);
float dl_avx512_exp_sub_f32(float *x, float m, int64_t n);
/* Prefill gemm (dl_gemm_fn contract) of Q4_K, Q5_K or Q6_K weights on rows
 * repacked for VNNI (gemm_kpack_avx512.c); the activation rows come from
 * dl_avx512_pack_act_kpack (dl_avx512_kpack_act_row(n) bytes each). */
void dl_avx512_gemm_kpack(int type, int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                          int64_t nt, float *y, int64_t ldy);
void dl_avx512_pack_act_kpack(const float *x, void *dst, int64_t n);
size_t dl_avx512_kpack_act_row(int64_t n);
/* The same for Q8_0, Q4_0 or Q5_0 weights (gemm_bpack_avx512.c), activation
 * rows from dl_avx512_pack_act_bpack. */
void dl_avx512_gemm_bpack(int type, int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                          int64_t nt, float *y, int64_t ldy);
void dl_avx512_pack_act_bpack(const float *x, void *dst, int64_t n);
size_t dl_avx512_bpack_act_row(int64_t n);
/* Prefill gemm (dl_gemm_fn contract) of F16 weights (gemm_fpack_avx512.c)
 * on rows converted to float panels of DL_FPACK_ROWS rows; activations are
 * float rows as usual. */
#define DL_FPACK_ROWS 48
void dl_avx512_gemm_fpack(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                          int64_t nt, float *y, int64_t ldy);

/* Thread-local scratch of at least n bytes, 64-byte aligned, kept between
 * calls (aborts on out-of-memory like dl_xmalloc). */
void *dl_kernel_scratch(size_t n);

#endif
