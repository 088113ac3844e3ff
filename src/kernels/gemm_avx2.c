/* AVX2+FMA kernel table. */
#include <immintrin.h>

#include "kernels_int.h"
#include "simd_avx2.h"

const dl_isa_table dl_isa_avx2 = {
    .name = "avx2",
    .dot_f32 = dl_avx2_dot_f32,
    .mad_f32 = dl_avx2_mad_f32,
};
