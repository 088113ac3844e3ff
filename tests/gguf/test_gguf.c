/* Tests for src/gguf: type table, fixtures, writer round trip, getters,
 * formatting, and a table of corrupted files that must each fail with a
 * one-line error naming the field and byte offset. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include "../common/testutil.h"
#include "gguf/gguf.h"

/* ---- helpers ------------------------------------------------------------ */

static char *tmp_path(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dl_test_tmpdir(), name);
    return p;
}

/* Writes w to a temp file and returns its bytes (caller frees). */
static unsigned char *write_to_mem(dl_gguf_writer *w, const char *name, size_t *len) {
    dl_error err = {0};
    const char *p = tmp_path(name);
    if (dl_gguf_writer_write(w, p, &err) != 0) fail_msg("write: %s", err.msg);
    unsigned char *d = (unsigned char *)dl_read_file(p, len, &err);
    assert_non_null(d);
    return d;
}

static void fill(void *p, size_t n, unsigned seed) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
}

/* The small valid file the corruption cases patch. Layout is found by
 * searching for names, so the cases do not hard-code offsets. */
static unsigned char *make_base(size_t *len) {
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.architecture", "llama");
    dl_gguf_writer_set_u32(w, "general.alignment", 32);
    dl_gguf_writer_set_u32(w, "dup.aa", 1);
    dl_gguf_writer_set_u32(w, "dup.ab", 2);
    dl_gguf_str strs[2] = {{"x", 1}, {"yy", 2}};
    dl_gguf_writer_set_arr_str(w, "arr.str", strs, 2);
    int32_t ints[3] = {1, 2, 3};
    dl_gguf_writer_set_arr(w, "arr.i32", DL_GGUF_INT32, ints, 3);
    float f0[16];
    for (int i = 0; i < 16; i++) f0[i] = (float)i;
    int64_t ne0[2] = {8, 2}, ne1[1] = {32};
    dl_gguf_writer_add_tensor(w, "t0", DL_TYPE_F32, 2, ne0, f0, sizeof f0);
    unsigned char q[34];
    fill(q, sizeof q, 7);
    dl_gguf_writer_add_tensor(w, "t1", DL_TYPE_Q8_0, 1, ne1, q, sizeof q);
    unsigned char *d = write_to_mem(w, "base.gguf", len);
    dl_gguf_writer_free(w);
    return d;
}

static size_t find_bytes(const unsigned char *d, size_t n, const void *pat, size_t m) {
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(d + i, pat, m) == 0) return i;
    fail_msg("pattern not found");
    return 0;
}

/* Offset of the first byte after a length-prefixed string equal to s. */
static size_t after_str(const unsigned char *d, size_t n, const char *s) {
    unsigned char pat[128];
    uint64_t l = strlen(s);
    memcpy(pat, &l, 8);
    memcpy(pat + 8, s, l);
    return find_bytes(d, n, pat, 8 + l) + 8 + l;
}

static void put32(unsigned char *d, size_t at, uint32_t v) { memcpy(d + at, &v, 4); }
static void put64(unsigned char *d, size_t at, uint64_t v) { memcpy(d + at, &v, 8); }

/* ---- type table --------------------------------------------------------- */

static void test_type_table(void **state) {
    static const struct { int t; int64_t be, bb; const char *name; } want[] = {
        {DL_TYPE_F32, 1, 4, "f32"},      {DL_TYPE_F16, 1, 2, "f16"},
        {DL_TYPE_BF16, 1, 2, "bf16"},    {DL_TYPE_Q4_0, 32, 18, "q4_0"},
        {DL_TYPE_Q4_1, 32, 20, "q4_1"},  {DL_TYPE_Q5_0, 32, 22, "q5_0"},
        {DL_TYPE_Q5_1, 32, 24, "q5_1"},  {DL_TYPE_Q8_0, 32, 34, "q8_0"},
        {DL_TYPE_Q8_1, 32, 36, "q8_1"},  {DL_TYPE_Q2_K, 256, 84, "q2_K"},
        {DL_TYPE_Q3_K, 256, 110, "q3_K"}, {DL_TYPE_Q4_K, 256, 144, "q4_K"},
        {DL_TYPE_Q5_K, 256, 176, "q5_K"}, {DL_TYPE_Q6_K, 256, 210, "q6_K"},
        {DL_TYPE_Q8_K, 256, 292, "q8_K"}, {DL_TYPE_I8, 1, 1, "i8"},
        {DL_TYPE_I16, 1, 2, "i16"},      {DL_TYPE_I32, 1, 4, "i32"},
        {DL_TYPE_I64, 1, 8, "i64"},      {DL_TYPE_F64, 1, 8, "f64"},
        {DL_TYPE_MXFP4, 32, 17, "mxfp4"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(want); i++) {
        int64_t be = 0, bb = 0;
        assert_true(dl_type_block(want[i].t, &be, &bb));
        assert_int_equal(be, want[i].be);
        assert_int_equal(bb, want[i].bb);
        assert_string_equal(dl_type_name(want[i].t), want[i].name);
        assert_int_equal(dl_type_row_bytes(want[i].t, want[i].be * 3), want[i].bb * 3);
    }
    int unknown[] = {-1, 4, 5, 16, 23, 29, 31, 38, 40, 99, 1 << 30};
    for (size_t i = 0; i < DL_ARRAY_LEN(unknown); i++) {
        assert_false(dl_type_block(unknown[i], NULL, NULL));
        assert_string_equal(dl_type_name(unknown[i]), "unknown");
        assert_int_equal(dl_type_row_bytes(unknown[i], 32), -1);
    }
    assert_int_equal(dl_type_row_bytes(DL_TYPE_Q4_K, 255), -1);
    assert_int_equal(dl_type_row_bytes(DL_TYPE_Q4_0, 33), -1);
    assert_int_equal(dl_type_row_bytes(DL_TYPE_F32, 0), 0);
    assert_int_equal(dl_type_row_bytes(DL_TYPE_F32, INT64_MAX), -1);
    assert_string_equal(dl_gguf_vtype_name(DL_GGUF_STRING), "str");
    assert_string_equal(dl_gguf_vtype_name((dl_gguf_vtype)77), "unknown");
}

/* ---- fixtures ----------------------------------------------------------- */

typedef struct fixture_case {
    const char *file;
    int64_t n_kv, n_tensors;
    int types[6][2]; /* {type, count}, terminated by count 0 */
} fixture_case;

/* Counts from an independent reading of the files (a 30-line Python parser). */
static const fixture_case g_fixtures[] = {
    {"models/stories260K-q4_k_m.gguf", 21, 48, {{0, 11}, {1, 5}, {6, 29}, {8, 3}}},
    {"models/stories260K.gguf", 19, 48, {{0, 48}}},
    {"models/tiny-gpt-oss-f32.gguf", 33, 41, {{0, 41}}},
    {"models/tiny-gpt-oss-mxfp4.gguf", 33, 41, {{0, 35}, {39, 6}}},
    {"models/tiny-llama-f16.gguf", 24, 21, {{0, 5}, {1, 16}}},
    {"models/tiny-llama-f32.gguf", 23, 21, {{0, 21}}},
    {"models/tiny-llama-q4_0.gguf", 24, 21, {{0, 5}, {2, 16}}},
    {"models/tiny-llama-q4_k_m.gguf", 24, 21, {{0, 5}, {12, 13}, {14, 3}}},
    {"models/tiny-llama-q8_0.gguf", 24, 21, {{0, 5}, {8, 16}}},
    {"models/tiny-qwen3-f16.gguf", 25, 24, {{0, 9}, {1, 15}}},
    {"models/tiny-qwen3-f32.gguf", 24, 24, {{0, 24}}},
    {"models/tiny-qwen3-q4_0.gguf", 25, 24, {{0, 9}, {2, 15}}},
    {"models/tiny-qwen3-q4_k_m.gguf", 25, 24, {{0, 9}, {12, 12}, {14, 3}}},
    {"models/tiny-qwen3-q8_0.gguf", 25, 24, {{0, 9}, {8, 15}}},
    {"models/tiny-qwen3moe-f32.gguf", 27, 27, {{0, 27}}},
    {"models/tiny-qwen3moe-q8_0.gguf", 28, 27, {{0, 11}, {8, 16}}},
    {"vocab/ggml-vocab-deepseek-coder.gguf", 25, 0, {{0, 0}}},
    {"vocab/ggml-vocab-gpt-2.gguf", 16, 0, {{0, 0}}},
    {"vocab/ggml-vocab-llama-bpe.gguf", 10, 0, {{0, 0}}},
    {"vocab/ggml-vocab-llama-spm.gguf", 22, 0, {{0, 0}}},
    {"vocab/ggml-vocab-phi-3.gguf", 26, 0, {{0, 0}}},
    {"vocab/ggml-vocab-qwen2.gguf", 12, 0, {{0, 0}}},
};

static void test_fixtures_open(void **state) {
    DL_REQUIRE_FIXTURES();
    for (size_t f = 0; f < DL_ARRAY_LEN(g_fixtures); f++) {
        const fixture_case *c = &g_fixtures[f];
        dl_error err = {0};
        dl_gguf *g = dl_gguf_open(dl_test_fixture(c->file), &err);
        if (!g) fail_msg("%s: %s", c->file, err.msg);
        assert_int_equal(dl_gguf_version(g), 3);
        assert_int_equal(dl_gguf_n_kv(g), c->n_kv);
        assert_int_equal(dl_gguf_n_tensors(g), c->n_tensors);
        assert_int_equal(dl_gguf_alignment(g), 32);
        assert_non_null(dl_gguf_get_str(g, "general.architecture"));
        int counts[DL_TYPE_COUNT] = {0};
        for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
            const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
            counts[t->type]++;
            assert_ptr_equal(dl_gguf_find_tensor(g, t->name), t);
            assert_int_equal((dl_gguf_data_offset(g) + t->offset) % 32, 0);
            assert_true(dl_gguf_data_offset(g) + t->offset + t->size <= dl_gguf_file_size(g));
        }
        for (int k = 0; k < 6 && c->types[k][1]; k++)
            assert_int_equal(counts[c->types[k][0]], c->types[k][1]);
        for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) {
            assert_int_equal(dl_gguf_find_key(g, dl_gguf_key(g, i)), i);
            dl_buf b = {0};
            dl_gguf_format_value(g, i, &b, 4);
            assert_non_null(b.data);
            assert_null(strchr(b.data, '\n'));
            dl_buf_free(&b);
        }
        assert_null(dl_gguf_find_tensor(g, "no.such.tensor"));
        assert_int_equal(dl_gguf_find_key(g, "no.such.key"), -1);
        dl_gguf_close(g);
    }
}

static void test_fixture_values(void **state) {
    DL_REQUIRE_FIXTURES();
    dl_error err = {0};
    dl_gguf *g = dl_gguf_open(dl_test_fixture("models/tiny-qwen3-q4_k_m.gguf"), &err);
    if (!g) fail_msg("%s", err.msg);
    assert_string_equal(dl_gguf_get_str(g, "general.architecture"), "qwen3");
    uint32_t u;
    assert_true(dl_gguf_get_u32(g, "qwen3.embedding_length", &u));
    assert_int_equal(u, 256);
    assert_true(dl_gguf_get_u32(g, "qwen3.block_count", &u));
    assert_int_equal(u, 2);
    int64_t tok = dl_gguf_find_key(g, "tokenizer.ggml.tokens");
    assert_true(tok >= 0);
    assert_int_equal(dl_gguf_kv_type(g, tok), DL_GGUF_ARRAY);
    assert_int_equal(dl_gguf_arr_type(g, tok), DL_GGUF_STRING);
    assert_int_equal(dl_gguf_arr_len(g, tok), 2048);
    assert_null(dl_gguf_arr_data(g, tok));
    dl_gguf_str s = dl_gguf_arr_str(g, tok, 2047);
    assert_non_null(s.ptr);
    assert_null(dl_gguf_arr_str(g, tok, 2048).ptr);
    const dl_gguf_tensor *t = dl_gguf_find_tensor(g, "blk.0.attn_q.weight");
    assert_non_null(t);
    assert_int_equal(t->ne[0], 256);
    dl_gguf_close(g);
}

/* ---- writer round trip -------------------------------------------------- */

static void test_roundtrip(void **state) {
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_u32(w, "v.u32", 4000000000u);
    dl_gguf_writer_set_i32(w, "v.i32", -123456);
    dl_gguf_writer_set_u64(w, "v.u64", UINT64_MAX);
    dl_gguf_writer_set_f32(w, "v.f32", 0.125f);
    dl_gguf_writer_set_bool(w, "v.bool", true);
    dl_gguf_writer_set_str(w, "v.str", "h\xC3\xA9llo \"w\"\n");
    dl_gguf_writer_set_str(w, "v.empty", "");
    dl_gguf_writer_set_str(w, "v.replaced", "old");
    dl_gguf_writer_set_str(w, "v.replaced", "new");
    uint8_t u8[3] = {0, 128, 255};
    int8_t i8[3] = {-128, 0, 127};
    uint16_t u16[2] = {1, 65535};
    int16_t i16[2] = {-32768, 32767};
    uint32_t u32[2] = {7, 4294967295u};
    int32_t i32[2] = {INT32_MIN, INT32_MAX};
    float f32[3] = {1.5f, -0.0f, 1e30f};
    uint8_t bools[2] = {1, 0};
    uint64_t u64[2] = {0, UINT64_MAX};
    int64_t i64[2] = {INT64_MIN, INT64_MAX};
    double f64[2] = {3.141592653589793, -1e300};
    struct { const char *key; dl_gguf_vtype t; const void *d; uint64_t n; size_t es; } arrs[] = {
        {"a.u8", DL_GGUF_UINT8, u8, 3, 1},      {"a.i8", DL_GGUF_INT8, i8, 3, 1},
        {"a.u16", DL_GGUF_UINT16, u16, 2, 2},   {"a.i16", DL_GGUF_INT16, i16, 2, 2},
        {"a.u32", DL_GGUF_UINT32, u32, 2, 4},   {"a.i32", DL_GGUF_INT32, i32, 2, 4},
        {"a.f32", DL_GGUF_FLOAT32, f32, 3, 4},  {"a.bool", DL_GGUF_BOOL, bools, 2, 1},
        {"a.u64", DL_GGUF_UINT64, u64, 2, 8},   {"a.i64", DL_GGUF_INT64, i64, 2, 8},
        {"a.f64", DL_GGUF_FLOAT64, f64, 2, 8},  {"a.empty", DL_GGUF_INT32, NULL, 0, 4},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(arrs); i++)
        dl_gguf_writer_set_arr(w, arrs[i].key, arrs[i].t, arrs[i].d, arrs[i].n);
    dl_gguf_str strs[4] = {{"a", 1}, {"", 0}, {"\xE4\xB8\xAD", 3}, {"with\0nul", 8}};
    dl_gguf_writer_set_arr_str(w, "a.str", strs, 4);

    /* tensors of several types and shapes */
    struct { const char *name; int type, nd; int64_t ne[4]; } ts[] = {
        {"w.f32", DL_TYPE_F32, 2, {5, 3, 1, 1}},     {"w.f16", DL_TYPE_F16, 1, {7, 1, 1, 1}},
        {"w.q4_0", DL_TYPE_Q4_0, 2, {64, 2, 1, 1}},  {"w.q4_K", DL_TYPE_Q4_K, 3, {256, 2, 2, 1}},
        {"w.q8_0", DL_TYPE_Q8_0, 4, {32, 1, 2, 3}},  {"w.mxfp4", DL_TYPE_MXFP4, 1, {32, 1, 1, 1}},
        {"w.i8", DL_TYPE_I8, 1, {3, 1, 1, 1}},
    };
    unsigned char *datas[DL_ARRAY_LEN(ts)];
    uint64_t sizes[DL_ARRAY_LEN(ts)];
    for (size_t i = 0; i < DL_ARRAY_LEN(ts); i++) {
        int64_t rows = ts[i].ne[1] * ts[i].ne[2] * ts[i].ne[3];
        sizes[i] = (uint64_t)(dl_type_row_bytes(ts[i].type, ts[i].ne[0]) * rows);
        datas[i] = malloc(sizes[i]);
        fill(datas[i], sizes[i], (unsigned)i + 1);
        dl_gguf_writer_add_tensor(w, ts[i].name, ts[i].type, ts[i].nd, ts[i].ne, datas[i], sizes[i]);
    }
    size_t len;
    unsigned char *file = write_to_mem(w, "roundtrip.gguf", &len);
    dl_gguf_writer_free(w);

    dl_error err = {0};
    dl_gguf *g = dl_gguf_open_memory(file, len, "roundtrip.gguf", &err);
    if (!g) fail_msg("%s", err.msg);
    assert_int_equal(dl_gguf_version(g), 3);
    assert_int_equal(dl_gguf_n_kv(g), 8 + DL_ARRAY_LEN(arrs) + 1);
    uint32_t u;
    int64_t i64v;
    uint64_t u64v;
    float f;
    bool b;
    assert_true(dl_gguf_get_u32(g, "v.u32", &u));
    assert_int_equal(u, 4000000000u);
    assert_true(dl_gguf_get_i64(g, "v.i32", &i64v));
    assert_int_equal(i64v, -123456);
    assert_false(dl_gguf_get_u64(g, "v.i32", &u64v)); /* negative does not fit */
    assert_true(dl_gguf_get_u64(g, "v.u64", &u64v));
    assert_true(u64v == UINT64_MAX);
    assert_false(dl_gguf_get_i64(g, "v.u64", &i64v)); /* too large */
    assert_false(dl_gguf_get_u32(g, "v.u64", &u));
    assert_true(dl_gguf_get_f32(g, "v.f32", &f));
    assert_true(f == 0.125f);
    assert_true(dl_gguf_get_f32(g, "v.i32", &f)); /* any numeric type */
    assert_true(f == -123456.0f);
    assert_false(dl_gguf_get_u64(g, "v.f32", &u64v));
    assert_true(dl_gguf_get_bool(g, "v.bool", &b));
    assert_true(b);
    assert_false(dl_gguf_get_bool(g, "v.u32", &b));
    assert_false(dl_gguf_get_f32(g, "v.str", &f));
    assert_false(dl_gguf_get_u32(g, "missing", &u));
    assert_string_equal(dl_gguf_get_str(g, "v.str"), "h\xC3\xA9llo \"w\"\n");
    assert_string_equal(dl_gguf_get_str(g, "v.empty"), "");
    assert_string_equal(dl_gguf_get_str(g, "v.replaced"), "new");
    assert_null(dl_gguf_get_str(g, "v.u32"));
    for (size_t i = 0; i < DL_ARRAY_LEN(arrs); i++) {
        int64_t k = dl_gguf_find_key(g, arrs[i].key);
        assert_true(k >= 0);
        assert_int_equal(dl_gguf_kv_type(g, k), DL_GGUF_ARRAY);
        assert_int_equal(dl_gguf_arr_type(g, k), arrs[i].t);
        assert_int_equal(dl_gguf_arr_len(g, k), arrs[i].n);
        if (arrs[i].n) assert_memory_equal(dl_gguf_arr_data(g, k), arrs[i].d, arrs[i].n * arrs[i].es);
    }
    int64_t k = dl_gguf_find_key(g, "a.str");
    assert_int_equal(dl_gguf_arr_len(g, k), 4);
    for (uint64_t j = 0; j < 4; j++) {
        dl_gguf_str s = dl_gguf_arr_str(g, k, j);
        assert_int_equal(s.len, strs[j].len);
        if (s.len) assert_memory_equal(s.ptr, strs[j].ptr, s.len);
    }
    assert_int_equal(dl_gguf_n_tensors(g), DL_ARRAY_LEN(ts));
    for (size_t i = 0; i < DL_ARRAY_LEN(ts); i++) {
        const dl_gguf_tensor *t = dl_gguf_tensor_at(g, (int64_t)i);
        assert_string_equal(t->name, ts[i].name);
        assert_int_equal(t->type, ts[i].type);
        assert_int_equal(t->n_dims, ts[i].nd);
        for (int d = 0; d < 4; d++) assert_int_equal(t->ne[d], ts[i].ne[d]);
        assert_int_equal(t->size, sizes[i]);
        assert_int_equal((dl_gguf_data_offset(g) + t->offset) % 32, 0);
        assert_memory_equal(t->data, datas[i], sizes[i]);
        free(datas[i]);
    }

    /* copy_kv + add_tensor of everything reproduces the file byte for byte */
    dl_gguf_writer *w2 = dl_gguf_writer_new();
    for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) dl_gguf_writer_copy_kv(w2, g, i);
    for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
        const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
        dl_gguf_writer_add_tensor(w2, t->name, t->type, t->n_dims, t->ne, t->data, t->size);
    }
    size_t len2;
    unsigned char *file2 = write_to_mem(w2, "roundtrip2.gguf", &len2);
    dl_gguf_writer_free(w2);
    assert_int_equal(len2, len);
    assert_memory_equal(file2, file, len);
    free(file2);
    dl_gguf_close(g);
    free(file);
}

/* Re-writing a real model through copy_kv/add_tensor gives a file the reader
 * accepts with the same content (the writer's layout matches llama.cpp's, so
 * the bytes are identical up to trailing padding). */
static void test_rewrite_fixture(void **state) {
    DL_REQUIRE_FIXTURES();
    dl_error err = {0};
    const char *path = dl_test_fixture("models/stories260K-q4_k_m.gguf");
    dl_gguf *g = dl_gguf_open(path, &err);
    if (!g) fail_msg("%s", err.msg);
    dl_gguf_writer *w = dl_gguf_writer_new();
    for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) dl_gguf_writer_copy_kv(w, g, i);
    for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
        const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
        dl_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->size);
    }
    size_t len;
    unsigned char *d = write_to_mem(w, "rewrite.gguf", &len);
    dl_gguf_writer_free(w);
    size_t olen;
    char *orig = dl_read_file(path, &olen, &err);
    assert_non_null(orig);
    assert_int_equal(len, olen); /* same layout as llama.cpp, byte for byte */
    assert_memory_equal(d, orig, len);
    dl_gguf *g2 = dl_gguf_open_memory(d, len, "rewrite.gguf", &err);
    if (!g2) fail_msg("%s", err.msg);
    assert_int_equal(dl_gguf_n_tensors(g2), dl_gguf_n_tensors(g));
    dl_gguf_close(g2);
    free(orig);
    free(d);
    dl_gguf_close(g);
}

static void test_writer_misuse(void **state) {
    dl_error err = {0};
    float x[4] = {0};
    int64_t ne[1] = {4};
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_add_tensor(w, "t", DL_TYPE_F32, 1, ne, x, 12); /* wrong size */
    assert_int_equal(dl_gguf_writer_write(w, tmp_path("bad.gguf"), &err), -1);
    assert_non_null(strstr(err.msg, "size"));
    dl_gguf_writer_free(w);
    w = dl_gguf_writer_new();
    dl_gguf_writer_add_tensor(w, "t", DL_TYPE_F32, 1, ne, x, 16);
    dl_gguf_writer_add_tensor(w, "t", DL_TYPE_F32, 1, ne, x, 16);
    assert_int_equal(dl_gguf_writer_write(w, tmp_path("bad.gguf"), &err), -1);
    assert_non_null(strstr(err.msg, "duplicate"));
    dl_gguf_writer_free(w);
    w = dl_gguf_writer_new();
    dl_gguf_writer_add_tensor(w, "t", 99, 1, ne, x, 16);
    assert_int_equal(dl_gguf_writer_write(w, tmp_path("bad.gguf"), &err), -1);
    dl_gguf_writer_free(w);
}

static void test_format_value(void **state) {
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "s", "a\"b\nc");
    dl_gguf_writer_set_f32(w, "f", 1000000.0f);
    dl_gguf_writer_set_bool(w, "b", false);
    int32_t ints[5] = {1, -2, 3, 4, 5};
    dl_gguf_writer_set_arr(w, "a", DL_GGUF_INT32, ints, 5);
    dl_gguf_str strs[2] = {{"x", 1}, {"\xFF", 1}};
    dl_gguf_writer_set_arr_str(w, "as", strs, 2);
    size_t len;
    unsigned char *d = write_to_mem(w, "fmt.gguf", &len);
    dl_gguf_writer_free(w);
    dl_error err = {0};
    dl_gguf *g = dl_gguf_open_memory(d, len, "fmt.gguf", &err);
    assert_non_null(g);
    struct { const char *key; int max; const char *want; } cases[] = {
        {"s", 4, "\"a\\\"b\\nc\""},
        {"f", 4, "1000000"},
        {"b", 4, "false"},
        {"a", 3, "[1, -2, 3, ...] (5 i32)"},
        {"a", 5, "[1, -2, 3, 4, 5]"},
        {"a", 0, "[...] (5 i32)"},
        {"as", 4, "[\"x\", \"\\xff\"]"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        dl_buf b = {0};
        dl_gguf_format_value(g, dl_gguf_find_key(g, cases[i].key), &b, cases[i].max);
        assert_string_equal(b.data, cases[i].want);
        dl_buf_free(&b);
    }
    dl_gguf_close(g);
    free(d);
}

/* ---- corruption --------------------------------------------------------- */

typedef enum field {
    F_MAGIC, F_VERSION, F_NT, F_NKV, F_KEY0_LEN, F_VALUE_TYPE, F_STR_LEN, F_ARR_LEN,
    F_ARR_TYPE, F_ARR_ELEM_LEN, F_KEY_BYTE, F_DUP_KEY, F_ALIGN, F_T0_NAME_LEN, F_T1_NAME,
    F_T0_NDIMS, F_T0_DIM0, F_T0_DIM1, F_T1_DIM0, F_T1_TYPE, F_T1_OFFSET,
} field;

typedef struct corrupt_case {
    const char *what;
    field f;
    int width;      /* 1, 4 or 8 bytes patched */
    uint64_t value;
    const char *want; /* substring of the error message */
} corrupt_case;

static const corrupt_case g_corrupt[] = {
    {"bad magic", F_MAGIC, 1, 'X', "magic"},
    {"version 1", F_VERSION, 4, 1, "version"},
    {"version 4", F_VERSION, 4, 4, "version"},
    {"version 0", F_VERSION, 4, 0, "version"},
    {"version big-endian", F_VERSION, 4, 0x03000000u, "big-endian"},
    {"n_tensors huge", F_NT, 8, UINT64_MAX, "n_tensors"},
    {"n_tensors 1 << 40", F_NT, 8, 1ull << 40, "n_tensors"},
    {"n_tensors one more", F_NT, 8, 3, "tensor"},
    {"n_kv huge", F_NKV, 8, UINT64_MAX / 2, "n_kv"},
    {"n_kv one more", F_NKV, 8, 7, "tensor 0"},
    {"key length huge", F_KEY0_LEN, 8, UINT64_MAX, "key 0"},
    {"key length past end", F_KEY0_LEN, 8, 100000, "string length"},
    {"value type 99", F_VALUE_TYPE, 4, 99, "value type"},
    {"value type 13", F_VALUE_TYPE, 4, 13, "value type"},
    {"string length huge", F_STR_LEN, 8, 1ull << 62, "general.architecture' value"},
    {"array length huge", F_ARR_LEN, 8, UINT64_MAX, "array length"},
    {"array length too long", F_ARR_LEN, 8, 1000, "array length"},
    {"array elem type 99", F_ARR_TYPE, 4, 99, "array type"},
    {"nested array", F_ARR_TYPE, 4, DL_GGUF_ARRAY, "nested"},
    {"array string length huge", F_ARR_ELEM_LEN, 8, 1ull << 63, "arr.str' string 0"},
    {"invalid UTF-8 key", F_KEY_BYTE, 1, 0xFF, "UTF-8"},
    {"NUL in key", F_KEY_BYTE, 1, 0, "NUL"},
    {"duplicate key", F_DUP_KEY, 1, 'a', "duplicate key"},
    {"alignment 48", F_ALIGN, 4, 48, "general.alignment"},
    {"alignment 0", F_ALIGN, 4, 0, "general.alignment"},
    {"tensor name length huge", F_T0_NAME_LEN, 8, UINT64_MAX, "tensor 0 name"},
    {"duplicate tensor", F_T1_NAME, 1, '0', "duplicate tensor"},
    {"invalid UTF-8 tensor name", F_T1_NAME, 1, 0xC0, "UTF-8"},
    {"n_dims 0", F_T0_NDIMS, 4, 0, "n_dims"},
    {"n_dims 5", F_T0_NDIMS, 4, 5, "n_dims"},
    {"n_dims huge", F_T0_NDIMS, 4, UINT32_MAX, "n_dims"},
    {"dim 0", F_T0_DIM0, 8, 0, "dims[0]"},
    {"dim negative", F_T0_DIM1, 8, (uint64_t)-2, "dims[1]"},
    {"element count overflow", F_T0_DIM1, 8, 1ull << 62, "overflow"},
    {"data past end", F_T0_DIM1, 8, 1000, "past end"},
    {"row not a block multiple", F_T1_DIM0, 8, 33, "block size"},
    {"tensor type 99", F_T1_TYPE, 4, 99, "t1' type"},
    {"tensor type 4 (removed)", F_T1_TYPE, 4, 4, "unknown tensor type"},
    {"tensor type huge", F_T1_TYPE, 4, UINT32_MAX, "unknown tensor type"},
    {"offset misaligned", F_T1_OFFSET, 8, 65, "alignment"},
    {"overlapping tensors", F_T1_OFFSET, 8, 32, "overlaps"},
    {"offset past end", F_T1_OFFSET, 8, 1u << 20, "past end"},
    {"offset huge", F_T1_OFFSET, 8, UINT64_MAX - 31, "past end"},
};

static size_t field_offset(const unsigned char *d, size_t n, field f) {
    switch (f) {
    case F_MAGIC: return 0;
    case F_VERSION: return 4;
    case F_NT: return 8;
    case F_NKV: return 16;
    case F_KEY0_LEN: return 24;
    case F_VALUE_TYPE: return after_str(d, n, "general.architecture");
    case F_STR_LEN: return after_str(d, n, "general.architecture") + 4;
    case F_ARR_TYPE: return after_str(d, n, "arr.i32") + 4;
    case F_ARR_LEN: return after_str(d, n, "arr.i32") + 8;
    case F_ARR_ELEM_LEN: return after_str(d, n, "arr.str") + 16;
    case F_KEY_BYTE: return after_str(d, n, "dup.ab") - 2;
    case F_DUP_KEY: return after_str(d, n, "dup.ab") - 1;
    case F_ALIGN: return after_str(d, n, "general.alignment") + 4;
    case F_T0_NAME_LEN: return after_str(d, n, "t0") - 10;
    case F_T1_NAME: return after_str(d, n, "t1") - 1;
    case F_T0_NDIMS: return after_str(d, n, "t0");
    case F_T0_DIM0: return after_str(d, n, "t0") + 4;
    case F_T0_DIM1: return after_str(d, n, "t0") + 12;
    case F_T1_DIM0: return after_str(d, n, "t1") + 4;
    case F_T1_TYPE: return after_str(d, n, "t1") + 12;
    case F_T1_OFFSET: return after_str(d, n, "t1") + 16;
    }
    return 0;
}

static void check_error(const dl_error *err, const char *name, const char *want, const char *what) {
    if (err->status != 400) fail_msg("%s: status %d (%s)", what, err->status, err->msg);
    if (!strstr(err->msg, want) || !strstr(err->msg, "byte") || strncmp(err->msg, name, strlen(name)) != 0 ||
        strchr(err->msg, '\n'))
        fail_msg("%s: message lacks '%s'/'byte'/file name: %s", what, want, err->msg);
}

static void test_corruption_table(void **state) {
    size_t len;
    unsigned char *base = make_base(&len);
    dl_error err = {0};
    dl_gguf *ok = dl_gguf_open_memory(base, len, "base.gguf", &err);
    if (!ok) fail_msg("base: %s", err.msg);
    dl_gguf_close(ok);
    for (size_t i = 0; i < DL_ARRAY_LEN(g_corrupt); i++) {
        const corrupt_case *c = &g_corrupt[i];
        unsigned char *d = malloc(len);
        memcpy(d, base, len);
        size_t at = field_offset(d, len, c->f);
        if (c->width == 1) d[at] = (unsigned char)c->value;
        else if (c->width == 4) put32(d, at, (uint32_t)c->value);
        else put64(d, at, c->value);
        dl_error_clear(&err);
        dl_gguf *g = dl_gguf_open_memory(d, len, "corrupt.gguf", &err);
        if (g) fail_msg("%s: accepted", c->what);
        check_error(&err, "corrupt.gguf", c->want, c->what);
        free(d);
    }
    free(base);
}

/* Names with control characters never break the one-line message. */
static void test_error_message_one_line(void **state) {
    size_t len;
    unsigned char *d = make_base(&len);
    size_t a = after_str(d, len, "dup.aa"), b = after_str(d, len, "dup.ab");
    d[a - 3] = '\n';
    d[b - 3] = '\n';
    d[b - 1] = 'a';
    dl_error err = {0};
    assert_null(dl_gguf_open_memory(d, len, "nl.gguf", &err));
    check_error(&err, "nl.gguf", "key 'dup?aa': duplicate key", "newline key");
    free(d);
}

/* Every prefix of a valid file that cuts into its tensor data or headers is
 * rejected with a located error; cutting only the trailing padding is fine. */
static void test_truncation_everywhere(void **state) {
    size_t len;
    unsigned char *base = make_base(&len);
    dl_error err0 = {0};
    dl_gguf *g0 = dl_gguf_open_memory(base, len, "base.gguf", &err0);
    assert_non_null(g0);
    const dl_gguf_tensor *last = dl_gguf_tensor_at(g0, 1);
    size_t data_end = (size_t)(dl_gguf_data_offset(g0) + last->offset + last->size);
    dl_gguf_close(g0);
    assert_true(data_end < len); /* the writer pads the last tensor, like llama.cpp */
    for (size_t n = data_end; n <= len; n++) {
        dl_error err = {0};
        dl_gguf *g = dl_gguf_open_memory(base, n, "cut.gguf", &err);
        assert_non_null(g);
        dl_gguf_close(g);
    }
    for (size_t n = 0; n < data_end; n++) {
        unsigned char *d = malloc(n ? n : 1); /* exact size so ASan sees overreads */
        memcpy(d, base, n);
        dl_error err = {0};
        dl_gguf *g = dl_gguf_open_memory(d, n, "cut.gguf", &err);
        char what[64];
        snprintf(what, sizeof what, "truncated at %zu", n);
        if (g) fail_msg("%s: accepted", what);
        check_error(&err, "cut.gguf", n < 24 ? "truncated" : "", what);
        free(d);
    }
    free(base);
}

/* Single-byte changes anywhere in the header must never crash; the reader
 * either rejects with a located error or accepts a self-consistent file. */
static void test_byte_flips(void **state) {
    size_t len;
    unsigned char *base = make_base(&len);
    dl_error err0 = {0};
    dl_gguf *g0 = dl_gguf_open_memory(base, len, "x", &err0);
    size_t header_end = dl_gguf_data_offset(g0);
    dl_gguf_close(g0);
    static const unsigned char vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    unsigned char *d = malloc(len);
    for (size_t at = 0; at < header_end; at++)
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(d, base, len);
            d[at] = vals[v];
            dl_error err = {0};
            dl_gguf *g = dl_gguf_open_memory(d, len, "flip.gguf", &err);
            if (!g) {
                check_error(&err, "flip.gguf", "", "flip");
                continue;
            }
            for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
                const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
                assert_true(dl_gguf_data_offset(g) + t->offset + t->size <= len);
            }
            dl_gguf_close(g);
        }
    free(d);
    free(base);
}

static void test_open_errors(void **state) {
    dl_error err = {0};
    assert_null(dl_gguf_open(tmp_path("does-not-exist.gguf"), &err));
    assert_int_equal(err.status, 404);
    assert_null(dl_gguf_open(dl_test_tmpdir(), &err));
    assert_int_equal(err.status, 400);
    FILE *f = fopen(tmp_path("empty.gguf"), "wb");
    fclose(f);
    assert_null(dl_gguf_open(tmp_path("empty.gguf"), &err));
    check_error(&err, tmp_path("empty.gguf"), "magic", "empty file");
    assert_null(dl_gguf_open_memory(NULL, 0, "null", &err));
    assert_int_equal(err.status, 400);
    /* a vocab-style file with no tensors and no padding opens */
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.architecture", "llama");
    size_t len;
    unsigned char *d = write_to_mem(w, "notensors.gguf", &len);
    dl_gguf_writer_free(w);
    dl_gguf *g = dl_gguf_open_memory(d, len, "notensors.gguf", &err);
    assert_non_null(g);
    assert_int_equal(dl_gguf_n_tensors(g), 0);
    assert_null(dl_gguf_tensor_at(g, 0));
    assert_null(dl_gguf_key(g, 5));
    assert_null(dl_gguf_key(g, -1));
    dl_gguf_close(g);
    /* v2 files are read like v3 */
    put32(d, 4, 2);
    g = dl_gguf_open_memory(d, len, "v2.gguf", &err);
    assert_non_null(g);
    assert_int_equal(dl_gguf_version(g), 2);
    dl_gguf_close(g);
    free(d);
}

/* Opens every file of dir; returns how many were accepted (-1: no dir). */
static int open_dir_files(const char *dir, int *n_files) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int ok = 0;
    *n_files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        size_t len;
        dl_error err = {0};
        char *data = dl_read_file(p, &len, &err);
        assert_non_null(data);
        (*n_files)++;
        dl_gguf *g = dl_gguf_open_memory(data, len, e->d_name, &err);
        if (g) {
            ok++;
            for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) {
                dl_buf b = {0};
                dl_gguf_format_value(g, i, &b, 8);
                dl_buf_free(&b);
            }
            dl_gguf_close(g);
        } else {
            check_error(&err, e->d_name, "", p);
        }
        free(data);
    }
    closedir(d);
    return ok;
}

/* The fuzz seed corpus is valid; fuzzer finds (tests/fuzz/regress) never crash. */
static void test_corpus_and_regressions(void **state) {
    int n = 0;
    int ok = open_dir_files("tests/fuzz/corpus", &n);
    assert_true(n >= 4);
    assert_int_equal(ok, n);
    ok = open_dir_files("tests/fuzz/regress", &n);
    if (ok >= 0) print_message("fuzz regressions: %d files, %d accepted\n", n, ok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_fixtures_open),
        cmocka_unit_test(test_fixture_values),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_rewrite_fixture),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_corruption_table),
        cmocka_unit_test(test_error_message_one_line),
        cmocka_unit_test(test_truncation_everywhere),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_corpus_and_regressions),
    };
    return cmocka_run_group_tests_name("gguf", tests, NULL, NULL);
}
