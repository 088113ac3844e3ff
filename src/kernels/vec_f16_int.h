/* Private: AVX2 + F16C versions of the fp16 vector helpers (vec_f16_avx2.c).
 * Only called when the CPU has AVX2, FMA and F16C (every CPU the avx2 and
 * avx512 instruction sets of kernels/ are chosen on). */
#ifndef DL_VEC_F16_INT_H
#define DL_VEC_F16_INT_H

#include <stdint.h>

float dl_vec_dot_f16_f32_avx2(const uint16_t *a, const float *b, int64_t n);
void dl_vec_mad_f16_avx2(float *y, const uint16_t *x, float a, int64_t n);
void dl_vec_f32_to_f16_avx2(uint16_t *dst, const float *src, int64_t n);

#endif
