/* Tensor element types: block sizes and names fixed by the GGUF/ggml format. */
#include "gguf.h"

typedef struct type_info {
    const char *name;
    int64_t blck;  /* elements per block; 0 = unknown type */
    int64_t bytes; /* bytes per block */
} type_info;

static const type_info g_types[DL_TYPE_COUNT] = {
    [DL_TYPE_F32] = {"f32", 1, 4},        [DL_TYPE_F16] = {"f16", 1, 2},
    [DL_TYPE_Q4_0] = {"q4_0", 32, 18},    [DL_TYPE_Q4_1] = {"q4_1", 32, 20},
    [DL_TYPE_Q5_0] = {"q5_0", 32, 22},    [DL_TYPE_Q5_1] = {"q5_1", 32, 24},
    [DL_TYPE_Q8_0] = {"q8_0", 32, 34},    [DL_TYPE_Q8_1] = {"q8_1", 32, 36},
    [DL_TYPE_Q2_K] = {"q2_K", 256, 84},   [DL_TYPE_Q3_K] = {"q3_K", 256, 110},
    [DL_TYPE_Q4_K] = {"q4_K", 256, 144},  [DL_TYPE_Q5_K] = {"q5_K", 256, 176},
    [DL_TYPE_Q6_K] = {"q6_K", 256, 210},  [DL_TYPE_Q8_K] = {"q8_K", 256, 292},
    [DL_TYPE_I8] = {"i8", 1, 1},          [DL_TYPE_I16] = {"i16", 1, 2},
    [DL_TYPE_I32] = {"i32", 1, 4},        [DL_TYPE_I64] = {"i64", 1, 8},
    [DL_TYPE_F64] = {"f64", 1, 8},        [DL_TYPE_BF16] = {"bf16", 1, 2},
    [DL_TYPE_MXFP4] = {"mxfp4", 32, 17},
};

bool dl_type_block(int type, int64_t *block_elems, int64_t *block_bytes) {
    if (type < 0 || type >= DL_TYPE_COUNT || g_types[type].blck == 0) return false;
    if (block_elems) *block_elems = g_types[type].blck;
    if (block_bytes) *block_bytes = g_types[type].bytes;
    return true;
}

const char *dl_type_name(int type) {
    if (type < 0 || type >= DL_TYPE_COUNT || g_types[type].blck == 0) return "unknown";
    return g_types[type].name;
}

int64_t dl_type_row_bytes(int type, int64_t n) {
    int64_t be, bb;
    if (!dl_type_block(type, &be, &bb) || n < 0 || n % be != 0) return -1;
    int64_t blocks = n / be;
    if (blocks > INT64_MAX / bb) return -1;
    return blocks * bb;
}

const char *dl_gguf_vtype_name(dl_gguf_vtype t) {
    static const char *const names[DL_GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"};
    if ((int)t < 0 || t >= DL_GGUF_VTYPE_COUNT) return "unknown";
    return names[t];
}
