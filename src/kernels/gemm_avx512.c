/* AVX-512 (F/BW/VL/DQ + VNNI + BF16) kernel table. */
#include <immintrin.h>

#include "kernels_int.h"
#include "simd_avx2.h"

const dl_isa_table dl_isa_avx512 = {
    .name = "avx512",
    .dot_f32 = dl_avx2_dot_f32,
    .mad_f32 = dl_avx2_mad_f32,
};
