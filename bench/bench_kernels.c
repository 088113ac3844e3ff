/* bench_kernels: matmul speed for Qwen3-0.6B-shaped matrices.
 *
 *   bench_kernels [type ...]        (default: q8_0 q4_0 q4_K q6_K f16 bf16 f32)
 *   env DL_BENCH_ISA=avx2 / DL_BENCH_THREADS=2 restrict the sweep.
 *
 * Decode: one token through 8 distinct copies of a layer's seven matrices
 * (q 2048x1024, k/v 1024x1024, o 1024x2048, gate/up 3072x1024, down
 * 1024x3072; 134 M weights, far larger than L3) plus the 151936x1024 output
 * matrix: weight GB/s streamed, and the matmul-only tokens/s of a 28-layer
 * model; the same layers with 4 and 8 tokens at once (batched decoding
 * of 4 or 8 sequences): GB/s. Prefill: 128 tokens through one layer's matrices: GFLOP/s (2 flops
 * per multiply-add) and the matmul-only prompt tokens/s for 28 layers.
 * Weights are random data quantised with the reference quantisers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kernels_int.h"

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

static void must(int rc, const dl_error *err) {
    if (rc != 0) {
        fprintf(stderr, "matmul: %s\n", err->msg);
        exit(1);
    }
}

static void bench_type(int type, const char *isa, int nth, void *layers[N_LAYER_COPIES][7],
                       void *out, const float *x, float *y) {
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
    printf("%-5s %-7s %d thr | decode %6.1f GB/s  (layers %.2f ms/copy, output %.2f ms) -> %6.1f t/s"
           " | 4/8 seq %5.1f/%5.1f GB/s | prefill %6.1f GFLOP/s -> %6.1f t/s\n",
           dl_traits(type)->name, isa, nth, gbs, best_layers / N_LAYER_COPIES, best_out, 1000.0 / tok_ms, gbsb[0], gbsb[1],
           flops / (best_pf * 1e6), N_PREFILL * 1000.0 / (best_pf * N_MODEL_LAYERS));
    fflush(stdout);
    dl_matmul_ws_free(&ws);
    dl_pool_free(pool);
}

static int type_by_name(const char *s) {
    for (int t = 0; t < DL_TYPE_COUNT; t++)
        if (dl_traits(t) && !strcmp(dl_traits(t)->name, s)) return t;
    return -1;
}

int main(int argc, char **argv) {
    const char *def[] = {"q8_0", "q4_0", "q4_K", "q6_K", "f16", "bf16", "f32"};
    const char *isas[] = {"avx512", "avx2", "scalar"};
    const char *only_isa = getenv("DL_BENCH_ISA");
    const char *only_thr = getenv("DL_BENCH_THREADS");
    int ntypes = argc > 1 ? argc - 1 : (int)DL_ARRAY_LEN(def);
    float *x = malloc(sizeof(float) * 3072 * N_PREFILL);
    float *y = malloc(sizeof(float) * (size_t)N_OUT * 4 + sizeof(float) * 3072 * N_PREFILL);
    for (int i = 0; i < 3072 * N_PREFILL; i++) x[i] = frand();
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
                bench_type(type, isas[i], nth, layers, out, x, y);
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
