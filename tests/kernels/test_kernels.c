/* Tests for src/kernels: block formats against hand-built blocks, quantiser
 * round trips, the scalar dot products against a float64 reference, every
 * SIMD path against the scalar one, and argument checking. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "kernels/kernels_int.h"

static const int k_types[] = {DL_TYPE_F32,  DL_TYPE_F16,  DL_TYPE_BF16, DL_TYPE_Q4_0,
                              DL_TYPE_Q4_1, DL_TYPE_Q5_0, DL_TYPE_Q5_1, DL_TYPE_Q8_0,
                              DL_TYPE_Q4_K, DL_TYPE_Q5_K, DL_TYPE_Q6_K};

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) / 8388608.0 - 1.0);
}
static void fill(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = frand() * scale;
}

/* ---- hand-built blocks: dequantisation must give exactly these values ---- */

static void test_dequant_q4_0_q4_1_q8_0(void **state) {
    float y[32];
    dl_block_q4_0 b0 = {.d = 0x3800}; /* 0.5 */
    for (int j = 0; j < 16; j++) b0.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q4_0, &b0, y, 32), 0);
    for (int j = 0; j < 16; j++) {
        assert_true(y[j] == (float)(j - 8) * 0.5f);
        assert_true(y[j + 16] == (float)(7 - j) * 0.5f);
    }
    dl_block_q4_1 b1 = {.d = 0x3400, .m = 0xBC00}; /* 0.25, -1 */
    memcpy(b1.qs, b0.qs, 16);
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q4_1, &b1, y, 32), 0);
    for (int j = 0; j < 16; j++) {
        assert_true(y[j] == (float)j * 0.25f - 1.0f);
        assert_true(y[j + 16] == (float)(15 - j) * 0.25f - 1.0f);
    }
    dl_block_q8_0 b8 = {.d = 0x4000}; /* 2 */
    for (int j = 0; j < 32; j++) b8.qs[j] = (int8_t)(j * 8 - 128);
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q8_0, &b8, y, 32), 0);
    for (int j = 0; j < 32; j++) assert_true(y[j] == 2.0f * (float)(j * 8 - 128));
    dl_block_q8_1 b81 = {.d = 0x3800, .s = 0};
    memcpy(b81.qs, b8.qs, 32);
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q8_1, &b81, y, 32), 0);
    for (int j = 0; j < 32; j++) assert_true(y[j] == 0.5f * (float)(j * 8 - 128));
}

static void test_dequant_q5(void **state) {
    float y[32];
    dl_block_q5_0 b = {.d = 0x3C00, .qh = {0x55, 0x55, 0xAA, 0xAA}}; /* qh = 0xAAAA5555 */
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    uint32_t qh = 0xAAAA5555u;
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q5_0, &b, y, 32), 0);
    for (int j = 0; j < 16; j++) {
        int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
        assert_true(y[j] == (float)((j | (h0 << 4)) - 16));
        assert_true(y[j + 16] == (float)(((15 - j) | (h1 << 4)) - 16));
    }
    dl_block_q5_1 b1 = {.d = 0x3800, .m = 0x3C00, .qh = {0x55, 0x55, 0xAA, 0xAA}};
    memcpy(b1.qs, b.qs, 16);
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q5_1, &b1, y, 32), 0);
    for (int j = 0; j < 16; j++) {
        int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
        assert_true(y[j] == (float)(j | (h0 << 4)) * 0.5f + 1.0f);
        assert_true(y[j + 16] == (float)((15 - j) | (h1 << 4)) * 0.5f + 1.0f);
    }
}

/* Scale bytes: sc = {1,1,1,1,19,19,19,19}, mins = {2,2,2,2,37,37,37,37}. */
static const uint8_t k_kscales[12] = {0x41, 0x41, 0x41, 0x41, 0x82, 0x82, 0x82, 0x82,
                                      0x53, 0x53, 0x53, 0x53};
static const int k_sc[8] = {1, 1, 1, 1, 19, 19, 19, 19}, k_mn[8] = {2, 2, 2, 2, 37, 37, 37, 37};

static void test_dequant_q4_K_q5_K(void **state) {
    static float y[256];
    static dl_block_q4_K b;
    b.d = 0x3C00;    /* 1 */
    b.dmin = 0x3800; /* 0.5 */
    memcpy(b.scales, k_kscales, 12);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) b.qs[32 * c + l] = (uint8_t)((1 + c + (l & 1)) | ((2 + c) << 4));
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q4_K, &b, y, 256), 0);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            assert_true(y[64 * c + l] == (float)(k_sc[2 * c] * (1 + c + (l & 1))) - 0.5f * (float)k_mn[2 * c]);
            assert_true(y[64 * c + 32 + l] == (float)(k_sc[2 * c + 1] * (2 + c)) - 0.5f * (float)k_mn[2 * c + 1]);
        }
    static dl_block_q5_K b5;
    b5.d = 0x3C00;
    b5.dmin = 0x3800;
    memcpy(b5.scales, k_kscales, 12);
    memcpy(b5.qs, b.qs, 128);
    memset(b5.qh, 0xA5, 32); /* bits 0,2 (c=0,1 low) and 5,7 (c=2,3 high) */
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q5_K, &b5, y, 256), 0);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            int lo = 1 + c + (l & 1) + (c < 2 ? 16 : 0), hi = 2 + c + (c >= 2 ? 16 : 0);
            assert_true(y[64 * c + l] == (float)(k_sc[2 * c] * lo) - 0.5f * (float)k_mn[2 * c]);
            assert_true(y[64 * c + 32 + l] == (float)(k_sc[2 * c + 1] * hi) - 0.5f * (float)k_mn[2 * c + 1]);
        }
}

static void test_dequant_q6_K_q8_K(void **state) {
    static float y[256];
    static dl_block_q6_K b;
    b.d = 0x3800; /* 0.5 */
    for (int g = 0; g < 16; g++) b.scales[g] = (int8_t)(g - 8);
    memset(b.ql, 0x21, 64);
    memset(b.ql + 64, 0x43, 64);
    memset(b.qh, 0xE4, 32);      /* quarters: hi bits 0,1,2,3 */
    memset(b.qh + 32, 0x1B, 32); /* quarters: hi bits 3,2,1,0 */
    const int qv[2][4] = {{1 - 32, 17 - 32, 34 - 32, 50 - 32}, {51 - 32, 35 - 32, 20 - 32, 4 - 32}};
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q6_K, &b, y, 256), 0);
    for (int e = 0; e < 256; e++) {
        float want = 0.5f * (float)(e / 16 - 8) * (float)qv[e / 128][(e % 128) / 32];
        assert_true(y[e] == want);
    }
    static dl_block_q8_K k;
    k.d = 0.25f;
    for (int j = 0; j < 256; j++) k.qs[j] = (int8_t)(j - 128);
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q8_K, &k, y, 256), 0);
    for (int j = 0; j < 256; j++) assert_true(y[j] == 0.25f * (float)(j - 128));
}

static void test_dequant_half(void **state) {
    uint16_t h[4] = {0x3C00, 0xC000, 0x0000, 0x7BFF};
    float y[4];
    assert_int_equal(dl_dequantize_row(DL_TYPE_F16, h, y, 4), 0);
    assert_true(y[0] == 1.0f && y[1] == -2.0f && y[2] == 0.0f && y[3] == 65504.0f);
    uint16_t b[3] = {0x3F80, 0xC040, 0x4049};
    assert_int_equal(dl_dequantize_row(DL_TYPE_BF16, b, y, 3), 0);
    assert_true(y[0] == 1.0f && y[1] == -3.0f && y[2] == 3.140625f);
    /* get_row picks the right row */
    float m[2][4] = {{1, 2, 3, 4}, {5, 6, 7, 8}};
    assert_int_equal(dl_get_row(DL_TYPE_F32, m, 4, 1, y), 0);
    assert_true(y[0] == 5.0f && y[3] == 8.0f);
}

/* ---- activation quantisers: the ggml definitions ---- */

static void test_act_quant_definitions(void **state) {
    float x[256];
    for (int i = 0; i < 256; i++) x[i] = (float)(i - 100) / 50.0f; /* max |x| = 3.1 at i=255 */
    dl_block_q8_0 q[8];
    dl_quantize_q8_0(x, q, 256);
    float d = 2.0f / 127; /* block 0: x in [-2, -1.38], amax 2 */
    assert_int_equal(q[0].d, dl_f32_to_f16(d));
    assert_int_equal(q[0].qs[0], -127);
    assert_int_equal(q[0].qs[31], (int)roundf(x[31] / d));
    dl_block_q8_K k;
    dl_quantize_q8_K(x, &k, 256);
    float iscale = -127.f / x[255];
    assert_true(k.d == 1 / iscale);
    int s = 0;
    for (int j = 0; j < 16; j++) s += k.qs[j];
    assert_int_equal(k.bsums[0], s);
    assert_int_equal(k.qs[255], -127);
    assert_int_equal(k.qs[100], 0);
    assert_int_equal(dl_nearest_int(2.5f), 2);
    assert_int_equal(dl_nearest_int(3.5f), 4);
    assert_int_equal(dl_nearest_int(-2.5f), -2);
    dl_block_q8_1 q1;
    dl_quantize_q8_1(x, &q1, 32);
    int sum = 0;
    for (int j = 0; j < 32; j++) sum += q1.qs[j];
    assert_int_equal(q1.s, dl_f32_to_f16((float)sum * (2.0f / 127))); /* unrounded d */
}

/* ---- round trip: quantise -> dequantise relative RMS error bound ---- */

static void test_roundtrip(void **state) {
    struct { int type; double rms_bound; } cases[] = {
        {DL_TYPE_F32, 0.0},     {DL_TYPE_F16, 4e-4},    {DL_TYPE_BF16, 3e-3},
        {DL_TYPE_Q8_0, 0.006},  {DL_TYPE_Q4_0, 0.08},   {DL_TYPE_Q4_1, 0.08},
        {DL_TYPE_Q5_0, 0.04},   {DL_TYPE_Q5_1, 0.04},   {DL_TYPE_Q4_K, 0.09},
        {DL_TYPE_Q5_K, 0.045},  {DL_TYPE_Q6_K, 0.022},  {DL_TYPE_Q8_1, 0.006},
        {DL_TYPE_Q8_K, 0.006},
    };
    enum { N = 4096 };
    static float x[N], y[N];
    static uint8_t buf[N * 4];
    for (size_t c = 0; c < DL_ARRAY_LEN(cases); c++) {
        for (int i = 0; i < N; i++) x[i] = frand() * (1.0f + (float)(i / 256)); /* varying range */
        assert_int_equal(dl_quantize_row(cases[c].type, x, buf, N), 0);
        assert_int_equal(dl_dequantize_row(cases[c].type, buf, y, N), 0);
        double e2 = 0, x2 = 0;
        for (int i = 0; i < N; i++) {
            e2 += (double)(x[i] - y[i]) * (x[i] - y[i]);
            x2 += (double)x[i] * x[i];
        }
        double rel = sqrt(e2 / x2);
        if (rel > cases[c].rms_bound)
            fail_msg("type %d: relative RMS error %.5f > %.5f", cases[c].type, rel, cases[c].rms_bound);
        /* quantising the dequantised values again must be stable-ish too */
        assert_int_equal(dl_quantize_row(cases[c].type, y, buf, N), 0);
    }
    /* zeros quantise to zeros */
    memset(x, 0, sizeof x);
    for (size_t c = 0; c < DL_ARRAY_LEN(cases); c++) {
        assert_int_equal(dl_quantize_row(cases[c].type, x, buf, 512), 0);
        assert_int_equal(dl_dequantize_row(cases[c].type, buf, y, 512), 0);
        for (int i = 0; i < 512; i++) assert_true(y[i] == 0.0f);
    }
}

/* ---- matmul ---- */

typedef struct mm_case {
    int type;
    int64_t rows, cols, n_tok;
    void *w;
    float *x;
} mm_case;

static void mm_setup(mm_case *m, int type, int64_t rows, int64_t cols, int64_t n_tok) {
    m->type = type;
    m->rows = rows;
    m->cols = cols;
    m->n_tok = n_tok;
    size_t rb = dl_row_size(type, cols);
    m->w = malloc(rb * (size_t)rows);
    float *tmp = malloc((size_t)cols * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        fill(tmp, cols, 0.5f + (float)(r % 5));
        assert_int_equal(dl_quantize_row(type, tmp, (char *)m->w + (size_t)r * rb, cols), 0);
    }
    free(tmp);
    m->x = malloc((size_t)(cols * n_tok) * sizeof(float));
    fill(m->x, cols * n_tok, 2.0f);
}

static void mm_free(mm_case *m) {
    free(m->w);
    free(m->x);
}

/* Float64 reference from the dequantised weights and activations; also
 * returns sum |w*a| per output (the scale for tolerances). */
static void mm_reference(const mm_case *m, double *ref, double *mag) {
    const dl_type_traits *tt = dl_traits(m->type);
    size_t rb = dl_row_size(m->type, m->cols);
    float *wr = malloc((size_t)m->cols * sizeof(float)), *ar = malloc((size_t)m->cols * sizeof(float));
    void *q = malloc(dl_row_size(tt->act_type, m->cols) + 64);
    for (int64_t t = 0; t < m->n_tok; t++) {
        const float *xt = m->x + t * m->cols;
        if (tt->act_quant) {
            tt->act_quant(xt, q, m->cols);
            assert_int_equal(dl_dequantize_row(tt->act_type, q, ar, m->cols), 0);
        } else {
            memcpy(ar, xt, (size_t)m->cols * sizeof(float));
        }
        for (int64_t r = 0; r < m->rows; r++) {
            assert_int_equal(dl_dequantize_row(m->type, (char *)m->w + (size_t)r * rb, wr, m->cols), 0);
            double s = 0, a = 0;
            for (int64_t c = 0; c < m->cols; c++) {
                s += (double)wr[c] * ar[c];
                a += fabs((double)wr[c] * ar[c]);
            }
            ref[t * m->rows + r] = s;
            mag[t * m->rows + r] = a;
        }
    }
    free(wr);
    free(ar);
    free(q);
}

static void mm_run(const mm_case *m, dl_pool *pool, dl_matmul_ws *ws, float *y) {
    dl_error err = {0};
    int rc = dl_matmul(pool, ws, m->type, m->w, m->rows, m->cols, m->x, m->n_tok, y, m->rows, &err);
    if (rc != 0) fail_msg("matmul failed: %s", err.msg);
}

static void test_matmul_scalar_vs_float64(void **state) {
    assert_int_equal(dl_kernels_set_isa("scalar"), 0);
    dl_matmul_ws ws = {0};
    for (size_t k = 0; k < DL_ARRAY_LEN(k_types); k++) {
        mm_case m;
        mm_setup(&m, k_types[k], 7, 512, 3);
        double *ref = malloc(sizeof(double) * 21), *mag = malloc(sizeof(double) * 21);
        float *y = malloc(sizeof(float) * 21);
        mm_reference(&m, ref, mag);
        mm_run(&m, NULL, &ws, y);
        /* Q8_1 stores s = d*sum(q) as fp16 by format: its rounding (2^-11
         * relative) enters the result through the weight minimum. */
        double tol = dl_traits(m.type)->act_type == DL_TYPE_Q8_1 ? 1e-3 : 1e-5;
        for (int i = 0; i < 21; i++)
            if (fabs(y[i] - ref[i]) > tol * mag[i] + 1e-6)
                fail_msg("%s: y[%d] = %.7g, float64 reference %.7g", dl_traits(m.type)->name, i, y[i], ref[i]);
        free(ref);
        free(mag);
        free(y);
        mm_free(&m);
    }
    dl_matmul_ws_free(&ws);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
}

/* Every ISA the CPU has against the scalar path, many shapes and threads. */
static void test_matmul_isa_vs_scalar(void **state) {
    const char *isas[] = {"avx2", "avx512"};
    /* 2..8: the batched-decoding rows kernels; 16 and more: prefill tiles, with partial token tiles */
    const int64_t toks[] = {1, 2, 3, 4, 5, 6, 7, 8, 16, 19, 37};
    const int64_t rowsv[] = {1, 5, 67, 128};
    dl_pool *pools[3] = {dl_pool_create(1), dl_pool_create(2), dl_pool_create(3)};
    dl_matmul_ws ws = {0};
    int tested = 0;
    for (size_t k = 0; k < DL_ARRAY_LEN(k_types); k++) {
        for (size_t ri = 0; ri < DL_ARRAY_LEN(rowsv); ri++) {
            /* odd shapes: 17 blocks for the 32-element types (odd pairs), 523
             * values for the float types (vector tails) */
            int64_t blck = dl_traits(k_types[k])->blck;
            int64_t cols = (ri & 1) ? (blck == 256 ? 768 : blck == 32 ? 544 : 523) : 512;
            mm_case m;
            mm_setup(&m, k_types[k], rowsv[ri], cols, 37);
            size_t ny = (size_t)(m.rows * 37);
            float *ys = malloc(ny * sizeof(float)), *yi = malloc(ny * sizeof(float));
            double *mag = malloc(ny * sizeof(double)), *ref = malloc(ny * sizeof(double));
            mm_reference(&m, ref, mag);
            for (size_t ti = 0; ti < DL_ARRAY_LEN(toks); ti++) {
                m.n_tok = toks[ti];
                assert_int_equal(dl_kernels_set_isa("scalar"), 0);
                mm_run(&m, pools[0], &ws, ys);
                for (size_t ii = 0; ii < DL_ARRAY_LEN(isas); ii++) {
                    if (dl_kernels_set_isa(isas[ii]) != 0) continue;
                    for (int p = 0; p < 3; p++) {
                        for (size_t i = 0; i < ny; i++) yi[i] = NAN;
                        mm_run(&m, pools[p], &ws, yi);
                        for (int64_t i = 0; i < m.rows * m.n_tok; i++)
                            if (!(fabs(yi[i] - ys[i]) <= 2e-5 * mag[i] + 1e-6))
                                fail_msg("%s %s rows %lld cols %lld n_tok %lld threads %d: y[%lld] = %.7g, scalar %.7g",
                                         isas[ii], dl_traits(m.type)->name, (long long)m.rows,
                                         (long long)cols, (long long)m.n_tok, p + 1, (long long)i,
                                         yi[i], ys[i]);
                        tested++;
                    }
                }
            }
            free(ys);
            free(yi);
            free(mag);
            free(ref);
            mm_free(&m);
        }
    }
    print_message("compared %d ISA/shape/thread combinations with the scalar path\n", tested);
    dl_matmul_ws_free(&ws);
    for (int p = 0; p < 3; p++) dl_pool_free(pools[p]);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
}

/* Batched decoding of Q4_K (2..8 tokens, AVX-512; the kernel does the
 * mins term of four tokens in one vector): a token's outputs are the same
 * bits whatever the batch size, so no lane of a group of four leaks into
 * another token, and they agree with the token decoded alone (one-token
 * kernel, another summation order) to float rounding. */
static void test_q4_K_rows_batched_equal_alone(void **state) {
    if (dl_kernels_set_isa("avx512") != 0) {
        print_message("skipped: no AVX-512 on this CPU\n");
        return;
    }
    dl_matmul_ws ws = {0};
    const int64_t rows = 67, cols = 768;
    mm_case m;
    mm_setup(&m, DL_TYPE_Q4_K, rows, cols, 8);
    float *alone = malloc((size_t)(rows * 8) * sizeof(float)), *batch = malloc((size_t)(rows * 8) * sizeof(float));
    float *all8 = malloc((size_t)(rows * 8) * sizeof(float));
    dl_error err = {0};
    for (int64_t t = 0; t < 8; t++)
        assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_Q4_K, m.w, rows, cols, m.x + t * cols, 1, alone + t * rows,
                                   rows, &err), 0);
    assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_Q4_K, m.w, rows, cols, m.x, 8, all8, rows, &err), 0);
    float big = 0.0f; /* cancellation: the tolerance scales with the outputs' size */
    for (int64_t i = 0; i < rows * 8; i++) big = fmaxf(big, fabsf(alone[i]));
    for (int64_t nt = 2; nt <= 8; nt++) {
        for (int64_t i = 0; i < rows * 8; i++) batch[i] = NAN;
        assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_Q4_K, m.w, rows, cols, m.x, nt, batch, rows, &err), 0);
        for (int64_t i = 0; i < rows * nt; i++) {
            if (memcmp(&batch[i], &all8[i], sizeof(float)) != 0)
                fail_msg("%lld tokens: y[%lld] = %.9g, in a batch of 8 %.9g", (long long)nt, (long long)i, batch[i],
                         all8[i]);
            if (!(fabsf(batch[i] - alone[i]) <= 1e-5f * big))
                fail_msg("%lld tokens: y[%lld] = %.9g, alone %.9g", (long long)nt, (long long)i, batch[i], alone[i]);
        }
    }
    free(alone);
    free(all8);
    free(batch);
    mm_free(&m);
    dl_matmul_ws_free(&ws);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
}

/* dl_matmul_multi gives, bit for bit, the results of separate dl_matmul
 * calls: mixed types (Q4_K and Q6_K share one activation conversion),
 * matrices large enough to be cut into several chunks, 1-3 threads, every
 * ISA, decoding and several tokens. */
static void test_matmul_multi_equals_single(void **state) {
    const char *isas[] = {"scalar", "avx2", "avx512"};
    const int types[4] = {DL_TYPE_Q4_K, DL_TYPE_Q6_K, DL_TYPE_F16, DL_TYPE_Q8_0};
    const int64_t rows[4] = {300, 37, 64, 1000}; /* Q8_0: 544 KB, several decode chunks */
    const int64_t cols = 512, toks[] = {1, 5};
    dl_pool *pools[3] = {dl_pool_create(1), dl_pool_create(2), dl_pool_create(3)};
    dl_matmul_ws ws = {0};
    mm_case m[4];
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        mm_setup(&m[i], types[i], rows[i], cols, 5);
        total += rows[i];
    }
    float *x = m[0].x; /* one input for all */
    float *ya = malloc((size_t)(total * 5) * sizeof(float)), *yb = malloc((size_t)(total * 5) * sizeof(float));
    int compared = 0;
    for (size_t ii = 0; ii < DL_ARRAY_LEN(isas); ii++) {
        if (dl_kernels_set_isa(isas[ii]) != 0) continue;
        for (int p = 0; p < 3; p++)
            for (size_t ti = 0; ti < DL_ARRAY_LEN(toks); ti++) {
                dl_matmul_op ops[4];
                int64_t off = 0;
                dl_error err = {0};
                for (int i = 0; i < 4; i++) {
                    /* y of op i: n_tok rows of ldy = rows[i], after those of ops 0..i-1 */
                    ops[i] = (dl_matmul_op){.type = types[i], .w = m[i].w, .rows = rows[i],
                                            .y = yb + off * toks[ti], .ldy = rows[i]};
                    assert_int_equal(dl_matmul(pools[p], &ws, types[i], m[i].w, rows[i], cols, x, toks[ti],
                                               ya + off * toks[ti], rows[i], &err), 0);
                    off += rows[i];
                }
                for (int64_t i = 0; i < total * toks[ti]; i++) yb[i] = NAN;
                assert_int_equal(dl_matmul_multi(pools[p], &ws, ops, 4, cols, x, toks[ti], &err), 0);
                if (memcmp(ya, yb, (size_t)(total * toks[ti]) * sizeof(float)) != 0)
                    fail_msg("%s threads %d n_tok %lld: multi differs from single products", isas[ii], p + 1,
                             (long long)toks[ti]);
                /* a subset (q/k/v-like: 3 products) too */
                assert_int_equal(dl_matmul_multi(pools[p], &ws, ops + 1, 3, cols, x, toks[ti], &err), 0);
                if (memcmp(ya + rows[0] * toks[ti], yb + rows[0] * toks[ti],
                           (size_t)((total - rows[0]) * toks[ti]) * sizeof(float)) != 0)
                    fail_msg("%s threads %d: 3-product multi differs", isas[ii], p + 1);
                compared++;
            }
    }
    assert_true(compared >= 6);
    dl_error err = {0};
    assert_int_equal(dl_matmul_multi(NULL, &ws, NULL, 0, cols, x, 1, &err), -1);
    assert_int_equal(err.status, 400);
    dl_error_clear(&err);
    dl_matmul_op five[5] = {{0}};
    assert_int_equal(dl_matmul_multi(NULL, &ws, five, 5, cols, x, 1, &err), -1);
    assert_int_equal(err.status, 400);
    free(ya);
    free(yb);
    for (int i = 0; i < 4; i++) mm_free(&m[i]);
    dl_matmul_ws_free(&ws);
    for (int p = 0; p < 3; p++) dl_pool_free(pools[p]);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
}

static void test_matmul_rejects_bad_input(void **state) {
    dl_matmul_ws ws = {0};
    float x[64] = {0}, y[4];
    uint8_t w[1024] = {0};
    dl_error err = {0};
    assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_Q8_0, w, 2, 48, x, 1, y, 2, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "48"));
    dl_error_clear(&err);
    assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_Q4_K, w, 2, 128, x, 1, y, 2, &err), -1);
    assert_int_equal(err.status, 400);
    dl_error_clear(&err);
    assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_Q2_K, w, 2, 256, x, 1, y, 2, &err), -1);
    assert_int_equal(err.status, 501);
    dl_error_clear(&err);
    assert_int_equal(dl_matmul(NULL, &ws, 77, w, 2, 256, x, 1, y, 2, &err), -1);
    assert_int_equal(dl_matmul(NULL, &ws, DL_TYPE_F32, w, 2, 0, x, 1, y, 2, &err), -1);
    assert_int_equal(dl_quantize_row(DL_TYPE_Q4_0, x, w, 33), -1);
    assert_int_equal(dl_dequantize_row(DL_TYPE_Q6_K, w, y, 100), -1);
    assert_int_equal(dl_quantize_row(DL_TYPE_Q2_K, x, w, 256), -1);
    assert_int_equal(dl_get_row(DL_TYPE_Q8_0, w, 31, 0, y), -1);
    assert_false(dl_type_supported(DL_TYPE_Q2_K));
    assert_true(dl_type_supported(DL_TYPE_Q6_K));
    assert_int_equal(dl_kernels_set_isa("neon"), -1);
    dl_matmul_ws_free(&ws);
}

/* Each ISA's activation conversion must equal the scalar one bit for bit
 * (ties, huge and tiny values, exact zeros included). */
static void test_act_quant_isa_identical(void **state) {
    const char *isas[] = {"avx2", "avx512"};
    const int wtypes[] = {DL_TYPE_Q8_0, DL_TYPE_Q4_0, DL_TYPE_Q4_K, DL_TYPE_Q6_K, DL_TYPE_F16, DL_TYPE_BF16};
    enum { N = 2048 };
    static float x[N];
    static uint8_t a[N * 4 + 64], b[N * 4 + 64];
    int compared = 0;
    for (int rep = 0; rep < 4; rep++) {
        for (int i = 0; i < N; i++) x[i] = frand() * (rep == 3 ? 1e-30f : 3.0f);
        if (rep == 1) /* exact ties of x/d: multiples of d/2 with amax 127 */
            for (int i = 0; i < N; i++) x[i] = (float)((int)(frand() * 254)) * 0.5f;
        if (rep == 2) {
            memset(x, 0, 256 * sizeof(float)); /* all-zero blocks */
            x[300] = 1e30f;
            x[301] = -65519.0f;
            x[302] = 65520.0f; /* rounds to fp16 infinity */
        }
        for (size_t k = 0; k < DL_ARRAY_LEN(wtypes); k++) {
            const dl_type_traits *tt = dl_traits(wtypes[k]);
            size_t sz = dl_row_size(tt->act_type, N);
            memset(a, 0, sizeof a);
            tt->act_quant(x, a, N);
            for (size_t ii = 0; ii < DL_ARRAY_LEN(isas); ii++) {
                if (dl_kernels_set_isa(isas[ii]) != 0) continue;
                dl_quant_fn f = dl_isa()->act_quant[wtypes[k]];
                if (!f) continue;
                memset(b, 0, sizeof b);
                f(x, b, N);
                if (memcmp(a, b, sz) != 0) {
                    size_t at = 0;
                    while (a[at] == b[at]) at++;
                    fail_msg("%s act conversion for %s differs from scalar at byte %zu (rep %d)", isas[ii],
                             tt->name, at, rep);
                }
                compared++;
            }
        }
    }
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
    print_message("%d SIMD activation conversions bit-identical to scalar\n", compared);
}

/* llama-quantize's output against the F32 model it came from: every
 * quantised tensor, dequantised, must be close to the original (a layout
 * error gives a relative RMS error near 1.4). */
static void check_file_pair(const char *f32_name, const char *q_name) {
    dl_error err = {0};
    char p32[4096];
    snprintf(p32, sizeof p32, "%s", dl_test_fixture(f32_name));
    dl_gguf *a = dl_gguf_open(p32, &err);
    if (!a) fail_msg("%s", err.msg);
    dl_gguf *b = dl_gguf_open(dl_test_fixture(q_name), &err);
    if (!b) fail_msg("%s", err.msg);
    int checked = 0;
    double worst = 0;
    for (int64_t i = 0; i < dl_gguf_n_tensors(b); i++) {
        const dl_gguf_tensor *tq = dl_gguf_tensor_at(b, i);
        const dl_gguf_tensor *tf = dl_gguf_find_tensor(a, tq->name);
        assert_non_null(tf);
        if (tq->type == DL_TYPE_F32) continue;
        assert_int_equal(tf->type, DL_TYPE_F32);
        assert_true(dl_type_supported(tq->type));
        int64_t cols = tq->ne[0], rows = tq->ne[1] * tq->ne[2] * tq->ne[3];
        float *row = malloc((size_t)cols * sizeof(float));
        double e2 = 0, x2 = 0;
        for (int64_t r = 0; r < rows; r++) {
            assert_int_equal(dl_get_row(tq->type, tq->data, cols, r, row), 0);
            const float *ref = (const float *)tf->data + r * cols;
            for (int64_t c = 0; c < cols; c++) {
                e2 += (double)(row[c] - ref[c]) * (row[c] - ref[c]);
                x2 += (double)ref[c] * ref[c];
            }
        }
        free(row);
        double rel = sqrt(e2 / x2), bound;
        switch (tq->type) {
        case DL_TYPE_F16: bound = 1e-3; break;
        case DL_TYPE_Q8_0: bound = 0.01; break;
        case DL_TYPE_Q6_K: bound = 0.03; break;
        case DL_TYPE_Q5_0: case DL_TYPE_Q5_K: bound = 0.06; break;
        default: bound = 0.12; break; /* 4-bit */
        }
        if (rel > bound)
            fail_msg("%s: %s (%s) relative RMS error %.4f > %.4f", q_name, tq->name,
                     dl_traits(tq->type)->name, rel, bound);
        checked++;
        worst = fmax(worst, rel / bound);
    }
    assert_true(checked > 0);
    print_message("%-32s %2d tensors, worst error %.2f of its bound\n", q_name, checked, worst);
    dl_gguf_close(a);
    dl_gguf_close(b);
}

static void test_fixture_tensors_dequantise(void **state) {
    DL_REQUIRE_FIXTURES();
    const char *names[] = {"f16", "q8_0", "q4_0", "q4_k_m"};
    char f32[128], q[128];
    for (size_t m = 0; m < 2; m++)
        for (size_t k = 0; k < DL_ARRAY_LEN(names); k++) {
            snprintf(f32, sizeof f32, "models/tiny-%s-f32.gguf", m ? "llama" : "qwen3");
            snprintf(q, sizeof q, "models/tiny-%s-%s.gguf", m ? "llama" : "qwen3", names[k]);
            check_file_pair(f32, q);
        }
    check_file_pair("models/stories260K.gguf", "models/stories260K-q4_k_m.gguf"); /* Q5_0, F16, Q8_0 */
}

/* dl_vec_silu_mul_f32 on every ISA against a double-precision reference:
 * ordinary values within 4e-7 relative (1e-30 absolute where e^-g
 * overflows a float), saturation at both ends exact. */
static void test_silu_mul(void **state) {
    (void)state;
    enum { N = 4099 };
    float *g = malloc(N * sizeof(float)), *u = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++) {
        g[i] = (float)(i - N / 2) / 20.0f; /* -102.45 .. 102.45 */
        u[i] = 1.0f + frand();
    }
    g[0] = 0.0f;
    g[1] = -1e30f;
    g[2] = 1e30f;
    const char *isas[] = {"scalar", "avx2", "avx512"};
    int tested = 0;
    for (size_t k = 0; k < DL_ARRAY_LEN(isas); k++) {
        if (dl_kernels_set_isa(isas[k]) != 0) continue;
        memcpy(y, g, N * sizeof(float));
        dl_vec_silu_mul_f32(y, u, N);
        for (int i = 0; i < N; i++) {
            double want = (double)g[i] / (1.0 + exp(-(double)g[i])) * (double)u[i];
            if (!(fabs(y[i] - want) <= 4e-7 * fabs(want) + 1e-30))
                fail_msg("%s: silu(%g) * %g = %.9g, want %.9g", isas[k], (double)g[i], (double)u[i], (double)y[i], want);
        }
        assert_true(y[0] == 0.0f && y[1] == 0.0f && y[2] == 1e30f * u[2]);
        tested++;
    }
    assert_true(tested >= 1);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
    free(g);
    free(u);
    free(y);
}

/* Softmax pieces: maximum exact, e^(x - m) within 4e-7 relative of a double
 * reference for every ISA, sums consistent, -inf entries give 0. Lengths
 * around the vector width exercise the masked tails. */
static void test_softmax_pieces(void **state) {
    (void)state;
    const char *isas[] = {"scalar", "avx2", "avx512"};
    const int64_t lens[] = {1, 5, 16, 17, 64, 131};
    float x[131], y[131];
    int tested = 0;
    for (size_t k = 0; k < DL_ARRAY_LEN(isas); k++) {
        if (dl_kernels_set_isa(isas[k]) != 0) continue;
        for (size_t li = 0; li < DL_ARRAY_LEN(lens); li++) {
            int64_t n = lens[li];
            float want_max = -INFINITY;
            for (int64_t i = 0; i < n; i++) {
                x[i] = (float)((i * 37) % 101 - 60) / 7.0f; /* -8.6 .. 5.7 */
                if (i % 9 == 4) x[i] = -INFINITY;           /* a masked score */
                if (x[i] > want_max) want_max = x[i];
            }
            float m = dl_vec_max_f32(x, n);
            if (m != want_max) fail_msg("%s n %lld: max %g, want %g", isas[k], (long long)n, (double)m, (double)want_max);
            memcpy(y, x, (size_t)n * sizeof(float));
            float sum = dl_vec_exp_sub_f32(y, m, n);
            double want_sum = 0;
            for (int64_t i = 0; i < n; i++) {
                double want = exp((double)(x[i] - m)); /* the difference rounded to float, as the kernels do */
                want_sum += want;
                if (!(fabs(y[i] - want) <= 4e-7 * want + 1e-30))
                    fail_msg("%s n %lld: e^(%g - %g) = %.9g, want %.9g", isas[k], (long long)n, (double)x[i], (double)m,
                             (double)y[i], want);
            }
            if (!(fabs(sum - want_sum) <= 1e-6 * want_sum))
                fail_msg("%s n %lld: sum %.9g, want %.9g", isas[k], (long long)n, (double)sum, want_sum);
            tested++;
        }
        /* all -inf: the maximum is -inf */
        float allneg[3] = {-INFINITY, -INFINITY, -INFINITY};
        assert_true(dl_vec_max_f32(allneg, 3) == -INFINITY);
    }
    assert_true(tested >= (int)DL_ARRAY_LEN(lens));
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
}

/* dl_vec_dot_rows_multi_f32 (attention scores of a block of queries) gives
 * exactly what dl_vec_dot_rows_f32 gives row by row, for every ISA, head
 * sizes with the unrolled, general and fallback paths, key counts with and
 * without a partial block of 16, key rows at a stride wider than a row. */
static void test_dot_rows_multi(void **state) {
    (void)state;
    const char *isas[] = {"scalar", "avx2", "avx512"};
    const int64_t ns[] = {128, 64, 256, 72}, nrs[] = {1, 16, 37};
    enum { NA = 5, MAXN = 256, MAXR = 37, STRIDE_F = 300 };
    float *a = malloc(NA * MAXN * sizeof(float)), *x = malloc(MAXR * STRIDE_F * sizeof(float));
    float *out = malloc(NA * 40 * sizeof(float)), *want = malloc(40 * sizeof(float));
    fill(a, NA * MAXN, 1.0f);
    fill(x, MAXR * STRIDE_F, 1.0f);
    int tested = 0;
    for (size_t k = 0; k < DL_ARRAY_LEN(isas); k++) {
        if (dl_kernels_set_isa(isas[k]) != 0) continue;
        for (size_t ni = 0; ni < DL_ARRAY_LEN(ns); ni++)
            for (size_t ri = 0; ri < DL_ARRAY_LEN(nrs); ri++) {
                int64_t n = ns[ni], nr = nrs[ri];
                for (int i = 0; i < NA * 40; i++) out[i] = NAN;
                dl_vec_dot_rows_multi_f32(out, 40, a, NA, x, STRIDE_F * sizeof(float), nr, n);
                for (int64_t r = 0; r < NA; r++) {
                    dl_vec_dot_rows_f32(want, a + r * n, x, STRIDE_F * sizeof(float), nr, n);
                    for (int64_t j = 0; j < nr; j++)
                        if (memcmp(&out[r * 40 + j], &want[j], sizeof(float)) != 0)
                            fail_msg("%s n %lld nr %lld: out[%lld][%lld] = %.9g, one row at a time %.9g", isas[k],
                                     (long long)n, (long long)nr, (long long)r, (long long)j,
                                     (double)out[r * 40 + j], (double)want[j]);
                    assert_true(isnan(out[r * 40 + nr])); /* nothing past nr */
                }
                tested++;
            }
    }
    assert_true(tested >= 12);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
    free(a);
    free(x);
    free(out);
    free(want);
}

/* dl_vec_f16_to_f32 (an F16 KV cache block to floats): every one of the
 * 65536 fp16 values converts exactly as dl_f16_to_f32, on every ISA (NaN
 * compared by bits being NaN), in lengths that leave vector tails. */
static void test_f16_to_f32_exact(void **state) {
    (void)state;
    const char *isas[] = {"scalar", "avx2", "avx512"};
    enum { N = 65536 };
    uint16_t *h = malloc(N * sizeof(uint16_t));
    float *f = malloc((N + 1) * sizeof(float));
    for (int i = 0; i < N; i++) h[i] = (uint16_t)i;
    int tested = 0;
    for (size_t k = 0; k < DL_ARRAY_LEN(isas); k++) {
        if (dl_kernels_set_isa(isas[k]) != 0) continue;
        const int64_t lens[] = {N, N - 3, 7};
        for (size_t li = 0; li < DL_ARRAY_LEN(lens); li++) {
            f[lens[li]] = 12345.0f; /* nothing written past n */
            dl_vec_f16_to_f32(f, h, lens[li]);
            for (int64_t i = 0; i < lens[li]; i++) {
                float want = dl_f16_to_f32(h[i]);
                if (isnan(want) ? !isnan(f[i]) : memcmp(&f[i], &want, sizeof want) != 0)
                    fail_msg("%s: fp16 0x%04x -> %.9g, want %.9g", isas[k], (unsigned)h[i], (double)f[i], (double)want);
            }
            assert_true(f[lens[li]] == 12345.0f);
        }
        tested++;
    }
    assert_true(tested >= 1);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
    free(h);
    free(f);
}

static void test_vec_f32(void **state) {
    const char *isas[] = {"scalar", "avx2", "avx512"};
    float a[67], b[67], y[67], y0[67];
    fill(a, 67, 1);
    fill(b, 67, 1);
    double ref = 0, mag = 0;
    for (int i = 0; i < 67; i++) {
        ref += (double)a[i] * b[i];
        mag += fabs((double)a[i] * b[i]);
    }
    for (size_t k = 0; k < 3; k++) {
        if (dl_kernels_set_isa(isas[k]) != 0) continue;
        assert_true(fabs(dl_vec_dot_f32(a, b, 67) - ref) <= 1e-6 * mag);
        memcpy(y, b, sizeof y);
        dl_vec_mad_f32(y, a, 0.5f, 67);
        for (int i = 0; i < 67; i++) y0[i] = b[i] + 0.5f * a[i];
        for (int i = 0; i < 67; i++) assert_true(fabsf(y[i] - y0[i]) <= 1e-6f);
    }
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
    print_message("best ISA: %s\n", dl_kernels_isa());
}

/* The rows versions (attention) give exactly what repeated one-row calls
 * give, for head-like sizes and odd ones, on every ISA. */
static void test_vec_rows_f32_identical(void **state) {
    const char *isas[] = {"scalar", "avx2", "avx512"};
    const int64_t ns[] = {128, 64, 96, 100, 256, 512};
    enum { NR = 7, MAXN = 512, STRIDE = MAXN + 16 };
    static float a[MAXN], x[NR * STRIDE], w[NR], y1[MAXN], y2[MAXN];
    float o1[NR], o2[NR];
    fill(a, MAXN, 1);
    fill(x, NR * STRIDE, 1);
    fill(w, NR, 1);
    int compared = 0;
    for (size_t k = 0; k < 3; k++) {
        if (dl_kernels_set_isa(isas[k]) != 0) continue;
        for (size_t ni = 0; ni < DL_ARRAY_LEN(ns); ni++) {
            int64_t n = ns[ni];
            for (int j = 0; j < NR; j++) o1[j] = dl_vec_dot_f32(a, x + j * STRIDE, n);
            dl_vec_dot_rows_f32(o2, a, x, STRIDE * sizeof(float), NR, n);
            if (memcmp(o1, o2, sizeof o1) != 0) fail_msg("%s dot rows n=%lld differ", isas[k], (long long)n);
            memcpy(y1, a, sizeof y1);
            memcpy(y2, a, sizeof y2);
            for (int j = 0; j < NR; j++) dl_vec_mad_f32(y1, x + j * STRIDE, w[j], n);
            dl_vec_mad_rows_f32(y2, x, STRIDE * sizeof(float), w, NR, n);
            if (memcmp(y1, y2, sizeof y1) != 0) fail_msg("%s mad rows n=%lld differ", isas[k], (long long)n);
            compared++;
        }
    }
    assert_true(compared >= 6);
    assert_int_equal(dl_kernels_set_isa(NULL), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_rows_f32_identical),
        cmocka_unit_test(test_dequant_q4_0_q4_1_q8_0),
        cmocka_unit_test(test_dequant_q5),
        cmocka_unit_test(test_dequant_q4_K_q5_K),
        cmocka_unit_test(test_dequant_q6_K_q8_K),
        cmocka_unit_test(test_dequant_half),
        cmocka_unit_test(test_act_quant_definitions),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_matmul_scalar_vs_float64),
        cmocka_unit_test(test_matmul_isa_vs_scalar),
        cmocka_unit_test(test_q4_K_rows_batched_equal_alone),
        cmocka_unit_test(test_matmul_multi_equals_single),
        cmocka_unit_test(test_matmul_rejects_bad_input),
        cmocka_unit_test(test_act_quant_isa_identical),
        cmocka_unit_test(test_fixture_tensors_dequantise),
        cmocka_unit_test(test_vec_f32),
        cmocka_unit_test(test_silu_mul),
        cmocka_unit_test(test_softmax_pieces),
        cmocka_unit_test(test_dot_rows_multi),
        cmocka_unit_test(test_f16_to_f32_exact),
    };
    return cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
}
