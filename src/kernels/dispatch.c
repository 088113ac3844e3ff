/* Instruction-set selection: chosen once from the CPU's features, or forced
 * by dl_kernels_set_isa. */
#include <cpuid.h>
#include <math.h>
#include <string.h>

#include "kernels_int.h"

static const dl_isa_table *g_isa;

/* CPUID leaf 7 / 1 bits, checked together with the OS saving the vector
 * state (XGETBV), so a kernel never runs where its registers are unusable. */
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static bool cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool fma = c & (1u << 12), osxsave = c & (1u << 27), avx = c & (1u << 28), f16c = c & (1u << 29);
    if (!(fma && osxsave && avx && f16c)) return false;
    if ((xgetbv0() & 6) != 6) return false; /* XMM + YMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return b & (1u << 5);
}

static bool cpu_has_avx512(void) {
    unsigned a, b, c, d;
    if (!cpu_has_avx2()) return false;
    if ((xgetbv0() & 0xE6) != 0xE6) return false; /* + opmask, ZMM state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    bool vnni = c & (1u << 11);
    if (!(f && dq && bw && vl && vnni)) return false;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
    return a & (1u << 5); /* AVX512_BF16 */
}

static const dl_isa_table *best_isa(void) {
    if (cpu_has_avx512()) return &dl_isa_avx512;
    if (cpu_has_avx2()) return &dl_isa_avx2;
    return &dl_isa_scalar;
}

const dl_isa_table *dl_isa(void) {
    const dl_isa_table *t = __atomic_load_n(&g_isa, __ATOMIC_ACQUIRE);
    if (!t) {
        t = best_isa();
        __atomic_store_n(&g_isa, t, __ATOMIC_RELEASE);
    }
    return t;
}

const char *dl_kernels_isa(void) { return dl_isa()->name; }

int dl_kernels_set_isa(const char *name) {
    const dl_isa_table *t;
    if (!name) t = best_isa();
    else if (!strcmp(name, "scalar")) t = &dl_isa_scalar;
    else if (!strcmp(name, "avx2")) t = cpu_has_avx2() ? &dl_isa_avx2 : NULL;
    else if (!strcmp(name, "avx512")) t = cpu_has_avx512() ? &dl_isa_avx512 : NULL;
    else t = NULL;
    if (!t) return -1;
    __atomic_store_n(&g_isa, t, __ATOMIC_RELEASE);
    return 0;
}

dl_gemm_fn dl_gemm_for(const dl_isa_table *isa, int type) {
    if (type < 0 || type >= DL_TYPE_COUNT) return NULL;
    return isa->gemm[type] ? isa->gemm[type] : dl_isa_scalar.gemm[type];
}

float dl_vec_dot_f32(const float *a, const float *b, int64_t n) { return dl_isa()->dot_f32(a, b, n); }

void dl_vec_silu_mul_f32(float *gate, const float *up, int64_t n) {
    const dl_isa_table *isa = dl_isa();
    if (isa->silu_mul_f32) {
        isa->silu_mul_f32(gate, up, n);
        return;
    }
    for (int64_t i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

float dl_vec_max_f32(const float *x, int64_t n) {
    const dl_isa_table *isa = dl_isa();
    if (isa->max_f32) return isa->max_f32(x, n);
    float m = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > m) m = x[i];
    return m;
}

float dl_vec_exp_sub_f32(float *x, float m, int64_t n) {
    const dl_isa_table *isa = dl_isa();
    if (isa->exp_sub_f32) return isa->exp_sub_f32(x, m, n);
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += x[i] = expf(x[i] - m);
    return s;
}

void dl_vec_mad_f32(float *y, const float *x, float a, int64_t n) { dl_isa()->mad_f32(y, x, a, n); }
void dl_vec_dot_rows_f32(float *out, const float *a, const float *x, size_t stride, int64_t nr, int64_t n) {
    const dl_isa_table *isa = dl_isa();
    if (isa->dot_rows_f32) {
        isa->dot_rows_f32(out, a, x, stride, nr, n);
        return;
    }
    for (int64_t j = 0; j < nr; j++) out[j] = isa->dot_f32(a, (const float *)((const char *)x + (size_t)j * stride), n);
}
void dl_vec_dot_rows_multi_f32(float *out, int64_t ldo, const float *a, int64_t na, const float *x, size_t stride,
                               int64_t nr, int64_t n) {
    const dl_isa_table *isa = dl_isa();
    if (isa->dot_rows_multi_f32) {
        isa->dot_rows_multi_f32(out, ldo, a, na, x, stride, nr, n);
        return;
    }
    for (int64_t r = 0; r < na; r++) dl_vec_dot_rows_f32(out + r * ldo, a + r * n, x, stride, nr, n);
}
void dl_vec_mad_rows_f32(float *y, const float *x, size_t stride, const float *w, int64_t nr, int64_t n) {
    const dl_isa_table *isa = dl_isa();
    if (isa->mad_rows_f32) {
        isa->mad_rows_f32(y, x, stride, w, nr, n);
        return;
    }
    for (int64_t j = 0; j < nr; j++) isa->mad_f32(y, (const float *)((const char *)x + (size_t)j * stride), w[j], n);
}
