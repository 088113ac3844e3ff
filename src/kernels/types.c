/* Per-type traits and the public row conversions. */
#include <string.h>

#include "kernels_int.h"

static const dl_type_traits g_traits[DL_TYPE_COUNT] = {
    [DL_TYPE_F32] = {"f32", 1, 4, dl_dequantize_f32, dl_quantize_f32, DL_TYPE_F32, NULL,
                     dl_dot_f32_f32},
    [DL_TYPE_F16] = {"f16", 1, 2, dl_dequantize_f16, dl_quantize_f16, DL_TYPE_F32,
                     dl_round_f16_f32, dl_dot_f16_f32},
    [DL_TYPE_BF16] = {"bf16", 1, 2, dl_dequantize_bf16, dl_quantize_bf16, DL_TYPE_BF16,
                      dl_quantize_bf16, dl_dot_bf16_bf16},
    [DL_TYPE_Q4_0] = {"q4_0", DL_QK, sizeof(dl_block_q4_0), dl_dequantize_q4_0,
                      dl_quantize_q4_0, DL_TYPE_Q8_0, dl_quantize_q8_0, dl_dot_q4_0_q8_0},
    [DL_TYPE_Q4_1] = {"q4_1", DL_QK, sizeof(dl_block_q4_1), dl_dequantize_q4_1,
                      dl_quantize_q4_1, DL_TYPE_Q8_1, dl_quantize_q8_1, dl_dot_q4_1_q8_1},
    [DL_TYPE_Q5_0] = {"q5_0", DL_QK, sizeof(dl_block_q5_0), dl_dequantize_q5_0,
                      dl_quantize_q5_0, DL_TYPE_Q8_0, dl_quantize_q8_0, dl_dot_q5_0_q8_0},
    [DL_TYPE_Q5_1] = {"q5_1", DL_QK, sizeof(dl_block_q5_1), dl_dequantize_q5_1,
                      dl_quantize_q5_1, DL_TYPE_Q8_1, dl_quantize_q8_1, dl_dot_q5_1_q8_1},
    [DL_TYPE_Q8_0] = {"q8_0", DL_QK, sizeof(dl_block_q8_0), dl_dequantize_q8_0,
                      dl_quantize_q8_0, DL_TYPE_Q8_0, dl_quantize_q8_0, dl_dot_q8_0_q8_0},
    [DL_TYPE_Q4_K] = {"q4_K", DL_QK_K, sizeof(dl_block_q4_K), dl_dequantize_q4_K,
                      dl_quantize_q4_K, DL_TYPE_Q8_K, dl_quantize_q8_K, dl_dot_q4_K_q8_K},
    [DL_TYPE_Q5_K] = {"q5_K", DL_QK_K, sizeof(dl_block_q5_K), dl_dequantize_q5_K,
                      dl_quantize_q5_K, DL_TYPE_Q8_K, dl_quantize_q8_K, dl_dot_q5_K_q8_K},
    [DL_TYPE_Q6_K] = {"q6_K", DL_QK_K, sizeof(dl_block_q6_K), dl_dequantize_q6_K,
                      dl_quantize_q6_K, DL_TYPE_Q8_K, dl_quantize_q8_K, dl_dot_q6_K_q8_K},
};

/* Activation formats: convertible (quantise/dequantise), never weights. */
static const dl_type_traits g_act_traits[] = {
    {"q8_1", DL_QK, sizeof(dl_block_q8_1), dl_dequantize_q8_1, dl_quantize_q8_1, -1, NULL, NULL},
    {"q8_K", DL_QK_K, sizeof(dl_block_q8_K), dl_dequantize_q8_K, dl_quantize_q8_K, -1, NULL,
     NULL},
};

const dl_type_traits *dl_traits(int type) {
    if (type < 0 || type >= DL_TYPE_COUNT || !g_traits[type].blck) return NULL;
    return &g_traits[type];
}

/* Traits for conversions: weight types plus the activation-only formats. */
static const dl_type_traits *conv_traits(int type) {
    if (type == DL_TYPE_Q8_1) return &g_act_traits[0];
    if (type == DL_TYPE_Q8_K) return &g_act_traits[1];
    return dl_traits(type);
}

size_t dl_row_size(int type, int64_t n) {
    const dl_type_traits *t = conv_traits(type);
    return t ? (size_t)(n / t->blck) * (size_t)t->bytes : 0;
}

bool dl_type_supported(int type) { return dl_traits(type) != NULL; }

int dl_dequantize_row(int type, const void *src, float *dst, int64_t n) {
    const dl_type_traits *t = conv_traits(type);
    if (!t || n < 0 || n % t->blck) return -1;
    t->dequant(src, dst, n);
    return 0;
}

int dl_quantize_row(int type, const float *src, void *dst, int64_t n) {
    const dl_type_traits *t = conv_traits(type);
    if (!t || n < 0 || n % t->blck) return -1;
    t->quant(src, dst, n);
    return 0;
}

int dl_get_row(int type, const void *w, int64_t cols, int64_t row, float *dst) {
    const dl_type_traits *t = dl_traits(type);
    if (!t || cols <= 0 || cols % t->blck || row < 0) return -1;
    size_t rb = dl_row_size(type, cols);
    t->dequant((const char *)w + (size_t)row * rb, dst, cols);
    return 0;
}
