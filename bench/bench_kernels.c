/* bench_kernels: matmul speed for Qwen3-0.6B-shaped matrices.
 *
 *   bench_kernels [type ...]        (default: q8_0 q4_0 q4_K q6_K f16 bf16 f32)
 *   env DL_BENCH_ISA=avx2 / DL_BENCH_THREADS=2 restrict the sweep.
 *
 * Decode: one token through 8 distinct copies of a layer's seven matrices
 * (q 2048x1024, k/v 1024x1024, o 1024x2048, gate/up 3072x1024, down
 * 1024x3072; 134 M weights, far larger than L3) plus the 151936x1024 output
 * matrix: weight GB/s streamed, and the matmul-only tokens/s of a 28-layer
 * model; one token through the k matrix again and again, its weights in
 * cache ("from cache": the kernel's own rate, a ceiling for decode from
 * memory); the same layers with 4 and 8 tokens at once (batched decoding
 * of 4 or 8 sequences): GB/s. Prefill: 128 tokens through one layer's matrices: GFLOP/s (2 flops
 * per multiply-add) and the matmul-only prompt tokens/s for 28 layers.
 * Weights are random data quantised with the reference quantisers.
 *
 * First the compute peak of this CPU, measured with register-only loops (12
 * independent chains): f32 FMA, int8 dot products (vpdpbusd, 2 ops per
 * multiply-add) and BF16 dot products (vdpbf16ps) at 1 and 2 threads. Each
 * prefill figure is also given as a share of the peak its kernel runs on
 * (F16/F32: FMA, BF16: BF16 dot, quantised types: int8 dot), which is what
 * bounds prefill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_int.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

#define N_LAYER_COPIES 8
#define N_MODEL_LAYERS 28
#define N_PREFILL 128
#define N_OUT 151936

static const int64_t k_shapes[7][2] = {{2048, 1024}, {1024, 1024}, {1024, 1024}, {1024, 2048},
                                       {3072, 1024}, {3072, 1024}, {1024, 3072}};

static uint64_t g_rng = 88172645463325252ull;
static float frand(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) / 8388608.0 - 1.0);
}

/* A matrix of random weights in `type`: the first 256 rows are quantised,
 * the rest copies of them (quantising 150 M values would take a while). */
static void *make_matrix(int type, int64_t rows, int64_t cols) {
    size_t rb = dl_row_size(type, cols);
    char *w = dl_aligned_alloc(rb * (size_t)rows);
    float *tmp = malloc((size_t)cols * sizeof(float));
    if (!w || !tmp) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    int64_t uniq = rows < 256 ? rows : 256;
    for (int64_t r = 0; r < uniq; r++) {
        for (int64_t c = 0; c < cols; c++) tmp[c] = frand() * 0.05f;
        dl_quantize_row(type, tmp, w + (size_t)r * rb, cols);
    }
    for (int64_t r = uniq; r < rows; r++) memcpy(w + (size_t)r * rb, w + (size_t)(r % uniq) * rb, rb);
    free(tmp);
    return w;
}

/* ---- compute peak ---- */
enum { PEAK_FMA, PEAK_INT8, PEAK_BF16, PEAK_KINDS };
static const char *k_peak_name[PEAK_KINDS] = {"f32 FMA", "int8 dot", "bf16 dot"};
static const char *k_peak_unit[PEAK_KINDS] = {"GFLOP/s", "GOP/s", "GFLOP/s"};
#define PEAK_ITERS 20000000L
#define PEAK_CHAINS 12

#if BENCH_X86
/* 12 chains of `OP` in registers, each from its own start INIT(i) (equal
 * chains would be merged by the compiler); returns a value that depends on
 * all of them. */
#define PEAK_BODY(T, INIT, OP, RED)                                                                     \
    T a0 = INIT(0), a1 = INIT(1), a2 = INIT(2), a3 = INIT(3), a4 = INIT(4), a5 = INIT(5), a6 = INIT(6),   \
      a7 = INIT(7), a8 = INIT(8), a9 = INIT(9), a10 = INIT(10), a11 = INIT(11);                         \
    for (long k = 0; k < iters; k++) {                                                                  \
        a0 = OP(a0); a1 = OP(a1); a2 = OP(a2); a3 = OP(a3); a4 = OP(a4); a5 = OP(a5);                   \
        a6 = OP(a6); a7 = OP(a7); a8 = OP(a8); a9 = OP(a9); a10 = OP(a10); a11 = OP(a11);               \
    }                                                                                                   \
    return (double)RED(a0) + RED(a1) + RED(a2) + RED(a3) + RED(a4) + RED(a5) + RED(a6) + RED(a7) +       \
           RED(a8) + RED(a9) + RED(a10) + RED(a11);

__attribute__((target("avx512f,fma"))) static double peak_fma(long iters) {
    const __m512 x = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-5f);
#define OPF(a) _mm512_fmadd_ps(a, x, c)
#define INITF(i) _mm512_set1_ps(0.5f + (float)(i))
    PEAK_BODY(__m512, INITF, OPF, _mm512_reduce_add_ps)
#undef OPF
}
__attribute__((target("avx512f,avx512vnni"))) static double peak_int8(long iters) {
    const __m512i u = _mm512_set1_epi8(3), v = _mm512_set1_epi8(-5);
#define OPI(a) _mm512_dpbusd_epi32(a, u, v)
#define INITI(i) _mm512_set1_epi32(i)
    PEAK_BODY(__m512i, INITI, OPI, _mm512_reduce_add_epi32)
#undef OPI
}
__attribute__((target("avx512f,avx512bf16"))) static double peak_bf16(long iters) {
    const __m512bh u = (__m512bh)_mm512_set1_epi16(0x3f80), v = (__m512bh)_mm512_set1_epi16(0x3800); /* 1, 2^-15 */
#define OPB(a) _mm512_dpbf16_ps(a, u, v)
    PEAK_BODY(__m512, INITF, OPB, _mm512_reduce_add_ps)
#undef OPB
}
#endif

typedef struct peak_job {
    int kind;
    double sink[8];
} peak_job;

static void peak_task(void *ctx, int ith, int nth) {
    (void)nth;
    peak_job *j = ctx;
#if BENCH_X86
    double r = j->kind == PEAK_FMA ? peak_fma(PEAK_ITERS) : j->kind == PEAK_INT8 ? peak_int8(PEAK_ITERS) : peak_bf16(PEAK_ITERS);
    if (ith < 8) j->sink[ith] = r;
#else
    (void)j;
    (void)ith;
#endif
}

/* peak[kind][nth-1] in G(FL)OP/s; 0 where the CPU lacks the instructions. */
static void measure_peaks(double peak[PEAK_KINDS][2]) {
    memset(peak, 0, sizeof(double) * PEAK_KINDS * 2);
#if BENCH_X86
    __builtin_cpu_init();
    bool have[PEAK_KINDS] = {__builtin_cpu_supports("avx512f") != 0, __builtin_cpu_supports("avx512vnni") != 0,
                             __builtin_cpu_supports("avx512bf16") != 0};
    const double per_instr[PEAK_KINDS] = {32.0, 128.0, 64.0}; /* flops or ops per 512-bit instruction */
    for (int nth = 1; nth <= 2; nth++) {
        dl_pool *pool = dl_pool_create(nth);
        for (int k = 0; k < PEAK_KINDS; k++) {
            if (!have[k]) continue;
            peak_job j = {.kind = k};
            double best = 1e30;
            for (int rep = 0; rep < 3; rep++) {
                double t0 = dl_time_ms();
                dl_pool_run(pool, peak_task, &j);
                double t = dl_time_ms() - t0;
                if (t < best) best = t;
            }
            peak[k][nth - 1] = nth * (double)PEAK_ITERS * PEAK_CHAINS * per_instr[k] / (best * 1e6);
        }
        dl_pool_free(pool);
    }
#endif
}

static void must(int rc, const dl_error *err) {
    if (rc != 0) {
        fprintf(stderr, "matmul: %s\n", err->msg);
        exit(1);
    }
}

static void bench_type(int type, const char *isa, int nth, void *layers[N_LAYER_COPIES][7],
                       void *out, const float *x, float *y, double peak[PEAK_KINDS][2]) {
    dl_pool *pool = dl_pool_create(nth);
    dl_matmul_ws ws = {0};
    dl_error err = {0};
    /* decode */
    double layer_bytes = 0;
    for (int m = 0; m < 7; m++) layer_bytes += (double)dl_row_size(type, k_shapes[m][1]) * k_shapes[m][0];
    double out_bytes = (double)dl_row_size(type, 1024) * N_OUT;
    double best_layers = 1e30, best_out = 1e30;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = dl_time_ms();
        for (int l = 0; l < N_LAYER_COPIES; l++)
            for (int m = 0; m < 7; m++)
                must(dl_matmul(pool, &ws, type, layers[l][m], k_shapes[m][0], k_shapes[m][1], x, 1, y,
                               k_shapes[m][0], &err), &err);
        double t1 = dl_time_ms();
        must(dl_matmul(pool, &ws, type, out, N_OUT, 1024, x, 1, y, N_OUT, &err), &err);
        double t2 = dl_time_ms();
        if (t1 - t0 < best_layers) best_layers = t1 - t0;
        if (t2 - t1 < best_out) best_out = t2 - t1;
    }
    double gbs = (layer_bytes * N_LAYER_COPIES + out_bytes) / ((best_layers + best_out) * 1e6);
    /* decode from cache: the k matrix (1024 x 1024) again and again, so its weights come from
     * L2/L3: the kernel's own rate, which decode from memory cannot exceed */
    enum { HOT_REPS = 200 };
    double hot_bytes = (double)dl_row_size(type, k_shapes[1][1]) * k_shapes[1][0], best_hot = 1e30;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = dl_time_ms();
        for (int i = 0; i < HOT_REPS; i++)
            must(dl_matmul(pool, &ws, type, layers[0][1], k_shapes[1][0], k_shapes[1][1], x, 1, y, k_shapes[1][0], &err),
                 &err);
        double t = dl_time_ms() - t0;
        if (t < best_hot) best_hot = t;
    }
    double hot_gbs = hot_bytes * HOT_REPS / (best_hot * 1e6);
    double tok_ms = best_layers / N_LAYER_COPIES * N_MODEL_LAYERS + best_out;
    /* batched decode: 4 and 8 tokens (sequences) per pass over the weights */
    double gbsb[2];
    for (int k = 0; k < 2; k++) {
        double best_b = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = dl_time_ms();
            for (int l = 0; l < N_LAYER_COPIES; l++)
                for (int m = 0; m < 7; m++)
                    must(dl_matmul(pool, &ws, type, layers[l][m], k_shapes[m][0], k_shapes[m][1], x, 4 << k,
                                   y, k_shapes[m][0], &err), &err);
            double t = dl_time_ms() - t0;
            if (t < best_b) best_b = t;
        }
        gbsb[k] = layer_bytes * N_LAYER_COPIES / (best_b * 1e6);
    }
    /* prefill */
    double flops = 0, best_pf = 1e30;
    for (int m = 0; m < 7; m++) flops += 2.0 * (double)k_shapes[m][0] * k_shapes[m][1] * N_PREFILL;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = dl_time_ms();
        for (int m = 0; m < 7; m++)
            must(dl_matmul(pool, &ws, type, layers[rep % N_LAYER_COPIES][m], k_shapes[m][0],
                           k_shapes[m][1], x, N_PREFILL, y, k_shapes[m][0], &err), &err);
        double t = dl_time_ms() - t0;
        if (t < best_pf) best_pf = t;
    }
    int kind = type == DL_TYPE_F16 || type == DL_TYPE_F32 ? PEAK_FMA : type == DL_TYPE_BF16 ? PEAK_BF16 : PEAK_INT8;
    double gf = flops / (best_pf * 1e6), pk = peak[kind][nth - 1];
    /* the int8 peak counts 2 ops per multiply-add like GFLOP/s; the kernels' share of it */
    char share[48] = "";
    if (pk > 0 && !strcmp(isa, "avx512")) snprintf(share, sizeof share, " (%.0f%% of %s peak)", 100.0 * gf / pk, k_peak_name[kind]);
    printf("%-5s %-7s %d thr | decode %6.1f GB/s  (layers %.2f ms/copy, output %.2f ms) -> %6.1f t/s"
           " | from cache %5.1f GB/s | 4/8 seq %5.1f/%5.1f GB/s | prefill %6.1f GFLOP/s%s -> %6.1f t/s\n",
           dl_traits(type)->name, isa, nth, gbs, best_layers / N_LAYER_COPIES, best_out, 1000.0 / tok_ms, hot_gbs,
           gbsb[0], gbsb[1], gf, share, N_PREFILL * 1000.0 / (best_pf * N_MODEL_LAYERS));
    fflush(stdout);
    dl_matmul_ws_free(&ws);
    dl_pool_free(pool);
}

static int type_by_name(const char *s) {
    for (int t = 0; t < DL_TYPE_COUNT; t++)
        if (dl_traits(t) && !strcmp(dl_traits(t)->name, s)) return t;
    return -1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_kernels [TYPE ...]   (default: q8_0 q4_0 q4_K q6_K f16 bf16 f32)\n"
            "Matrix-product speed for Qwen3-0.6B-shaped matrices, per type, ISA and thread count:\n"
            "the compute peak of this CPU, decode (one token) from memory and from cache, 4 and 8\n"
            "tokens at once, and a 128-token prefill with its share of the peak.\n"
            "  DL_BENCH_ISA=avx512|avx2|scalar   only that ISA\n"
            "  DL_BENCH_THREADS=1|2              only that thread count\n"
            "  -h, --help                        this text\n");
}

int main(int argc, char **argv) {
    for (int k = 1; k < argc; k++)
        if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
            usage(stdout);
            return 0;
        }
    /* types are checked before anything is measured */
    for (int k = 1; k < argc; k++)
        if (type_by_name(argv[k]) < 0) {
            fprintf(stderr, "bench_kernels: unknown type '%s'\n", argv[k]);
            usage(stderr);
            return 2;
        }
    const char *def[] = {"q8_0", "q4_0", "q4_K", "q6_K", "f16", "bf16", "f32"};
    const char *isas[] = {"avx512", "avx2", "scalar"};
    const char *only_isa = getenv("DL_BENCH_ISA");
    const char *only_thr = getenv("DL_BENCH_THREADS");
    int ntypes = argc > 1 ? argc - 1 : (int)DL_ARRAY_LEN(def);
    float *x = malloc(sizeof(float) * 3072 * N_PREFILL);
    float *y = malloc(sizeof(float) * (size_t)N_OUT * 4 + sizeof(float) * 3072 * N_PREFILL);
    for (int i = 0; i < 3072 * N_PREFILL; i++) x[i] = frand();
    double peak[PEAK_KINDS][2];
    measure_peaks(peak);
    printf("compute peak (register-only loops, %d chains):", PEAK_CHAINS);
    for (int k = 0; k < PEAK_KINDS; k++)
        if (peak[k][0] > 0)
            printf("  %s %.0f / %.0f %s", k_peak_name[k], peak[k][0], peak[k][1], k_peak_unit[k]);
    printf("  (1 / 2 threads)\n");
    for (int k = 0; k < ntypes; k++) {
        const char *name = argc > 1 ? argv[k + 1] : def[k];
        int type = type_by_name(name);
        if (type < 0) {
            fprintf(stderr, "unknown type %s\n", name);
            return 1;
        }
        static void *layers[N_LAYER_COPIES][7];
        for (int l = 0; l < N_LAYER_COPIES; l++)
            for (int m = 0; m < 7; m++)
                layers[l][m] = l == 0 ? make_matrix(type, k_shapes[m][0], k_shapes[m][1]) : NULL;
        for (int l = 1; l < N_LAYER_COPIES; l++)
            for (int m = 0; m < 7; m++) {
                size_t sz = dl_row_size(type, k_shapes[m][1]) * (size_t)k_shapes[m][0];
                layers[l][m] = dl_aligned_alloc(sz);
                memcpy(layers[l][m], layers[0][m], sz);
            }
        void *out = make_matrix(type, N_OUT, 1024);
        for (size_t i = 0; i < DL_ARRAY_LEN(isas); i++) {
            if (only_isa && strcmp(only_isa, isas[i])) continue;
            if (!only_isa && !strcmp(isas[i], "scalar")) continue; /* slow; ask for it */
            if (dl_kernels_set_isa(isas[i]) != 0) continue;
            for (int nth = 1; nth <= 2; nth++) {
                if (only_thr && atoi(only_thr) != nth) continue;
                bench_type(type, isas[i], nth, layers, out, x, y, peak);
            }
        }
        for (int l = 0; l < N_LAYER_COPIES; l++)
            for (int m = 0; m < 7; m++) dl_aligned_free(layers[l][m]);
        dl_aligned_free(out);
    }
    free(x);
    free(y);
    return 0;
}
