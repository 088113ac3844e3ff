/* Inline helpers for the *_avx512.c files (compiled with the AVX-512 flags). */
#ifndef DL_SIMD_AVX512_H
#define DL_SIMD_AVX512_H

#include <immintrin.h>
#include <string.h>

#include "kernels_int.h"

#define DL_AI static inline __attribute__((always_inline))
/* Loops over the rows and tokens of a register tile (at most 8 iterations)
 * run whole, so that the accumulator arrays live in registers (clang: whole
 * when the count is a constant, as it is in the tiles). */
#ifdef __clang__
#define DL_UNROLL _Pragma("unroll")
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

/* e^x: range reduction x = k ln2 + r (|r| <= ln2 / 2, ln2 split in two
 * constants), a degree-7 Taylor polynomial of e^r (truncation below 1e-8
 * relative) and vscalefps for the 2^k (overflow to infinity and underflow
 * to zero as expf; -inf gives 0). */
DL_AI __m512 exp512(__m512 x) {
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2_hi = _mm512_set1_ps(0.693359375f), ln2_lo = _mm512_set1_ps(-2.12194440e-4f);
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(100.0f)), _mm512_set1_ps(-110.0f)); /* beyond: inf / 0 */
    __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, ln2_hi, x);
    r = _mm512_fnmadd_ps(k, ln2_lo, r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, k);
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
