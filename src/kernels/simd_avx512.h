/* Inline helpers for the *_avx512.c files (compiled with the AVX-512 flags). */
#ifndef DL_SIMD_AVX512_H
#define DL_SIMD_AVX512_H

#include <immintrin.h>
#include <string.h>

#include "kernels_int.h"

#define DL_AI static inline __attribute__((always_inline))
/* Loops over the rows and tokens of a register tile (at most 8 iterations)
 * run whole, so that the accumulator arrays live in registers. */
#ifdef __clang__
#define DL_UNROLL _Pragma("clang loop unroll(full)")
#else
#define DL_UNROLL _Pragma("GCC unroll 8")
#endif

DL_AI uint16_t dl_ld16(const void *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Two fp16 scales to a float vector laid out by idx (lane -> 0 or 1). */
DL_AI __m512 dl_scale2(uint16_t d0, uint16_t d1, __m512i idx) {
    __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)d0 | ((uint32_t)d1 << 16))));
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

/* Prefetches nr rows of ws bytes (nr <= 0: nothing) into L2, one hint per
 * 64-byte line: the repacking kernels fetch the next rows while they work
 * on the current ones. */
DL_AI void pack_prefetch(const char *w, size_t ws, int64_t nr) {
    for (int64_t r = 0; r < nr; r++)
        for (size_t o = 0; o < ws; o += 64) _mm_prefetch(w + (size_t)r * ws + o, _MM_HINT_T1);
}

/* Round half away from zero, exactly as roundf. */
DL_AI __m512 dl_roundf512(__m512 t) {
    __m512 r = _mm512_roundscale_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 diff = _mm512_sub_ps(t, r);
    __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(diff), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(t, _mm512_set1_ps(-0.0f)));
    return _mm512_mask_add_ps(r, up, r, one);
}

#endif
