// Writes the fuzzer's seed corpus (small valid GGUFs) into a directory.
// Build and run from the repository root:
//   cc -std=c17 -D_GNU_SOURCE -Isrc tests/fuzz/make_corpus.c src/gguf/*.c src/base/*.c -lm -pthread -o build/make_corpus
//   ./build/make_corpus tests/fuzz/corpus [../shared/fixtures/models/stories260K-q4_k_m.gguf]
// The optional model is sliced: its non-tokenizer metadata and its smallest
// tensors, so the seed stays under 20 KB.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

static void fill(void *p, size_t n, unsigned seed) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (unsigned char)(seed >> 16);
    }
}

static void emit(dl_gguf_writer *w, const char *dir, const char *name) {
    char path[1024];
    dl_error err = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (dl_gguf_writer_write(w, path, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    dl_gguf_writer_free(w);
}

static void add_tensor(dl_gguf_writer *w, const char *name, int type, int nd, int64_t n0,
                       int64_t n1, unsigned seed) {
    int64_t ne[2] = {n0, n1};
    uint64_t size = (uint64_t)(dl_type_row_bytes(type, n0) * (nd > 1 ? n1 : 1));
    void *d = malloc(size);
    fill(d, size, seed);
    dl_gguf_writer_add_tensor(w, name, type, nd, ne, d, size);
    free(d);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: make_corpus DIR [MODEL.gguf]\n");
        return 2;
    }
    const char *dir = argv[1];

    /* every value type, arrays of each, tensors of many types */
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.architecture", "llama");
    dl_gguf_writer_set_u32(w, "v.u32", 7);
    dl_gguf_writer_set_i32(w, "v.i32", -7);
    dl_gguf_writer_set_u64(w, "v.u64", 1ull << 40);
    dl_gguf_writer_set_f32(w, "v.f32", 1e-6f);
    dl_gguf_writer_set_bool(w, "v.bool", true);
    static const int vt[] = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12};
    for (size_t i = 0; i < sizeof vt / sizeof vt[0]; i++) {
        char key[32];
        unsigned char buf[64];
        fill(buf, sizeof buf, (unsigned)i);
        snprintf(key, sizeof key, "a.%s", dl_gguf_vtype_name((dl_gguf_vtype)vt[i]));
        dl_gguf_writer_set_arr(w, key, (dl_gguf_vtype)vt[i], buf, 64 / 8);
    }
    dl_gguf_str strs[3] = {{"a", 1}, {"", 0}, {"\xE4\xB8\xAD", 3}};
    dl_gguf_writer_set_arr_str(w, "a.str", strs, 3);
    static const int tt[] = {0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 30, 39};
    for (size_t i = 0; i < sizeof tt / sizeof tt[0]; i++) {
        int64_t be, bb;
        char name[32];
        dl_type_block(tt[i], &be, &bb);
        snprintf(name, sizeof name, "t.%s", dl_type_name(tt[i]));
        add_tensor(w, name, tt[i], i % 2 ? 2 : 1, be, 2, (unsigned)i);
    }
    emit(w, dir, "all_types.gguf");

    /* tokenizer-like metadata, no tensors */
    w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.architecture", "llama");
    dl_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    dl_gguf_str toks[6] = {{"<s>", 3}, {"</s>", 4}, {"a", 1}, {"b", 1}, {"ab", 2}, {"\xC4\xA0", 2}};
    dl_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 6);
    float scores[6] = {0, 0, -1, -2, -3, -4};
    dl_gguf_writer_set_arr(w, "tokenizer.ggml.scores", DL_GGUF_FLOAT32, scores, 6);
    int32_t types[6] = {3, 3, 1, 1, 1, 1};
    dl_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", DL_GGUF_INT32, types, 6);
    dl_gguf_str merges[1] = {{"a b", 3}};
    dl_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merges, 1);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 0);
    emit(w, dir, "vocab_small.gguf");

    /* minimal: one key, no tensors */
    w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.name", "x");
    emit(w, dir, "minimal.gguf");

    /* alignment 64, 4-D tensor, empty array */
    w = dl_gguf_writer_new();
    dl_gguf_writer_set_u32(w, "general.alignment", 64);
    dl_gguf_writer_set_arr(w, "a.empty", DL_GGUF_INT32, NULL, 0);
    {
        int64_t ne[4] = {32, 1, 2, 2};
        unsigned char d[4 * 34];
        fill(d, sizeof d, 9);
        dl_gguf_writer_add_tensor(w, "t4d", DL_TYPE_Q8_0, 4, ne, d, sizeof d);
    }
    add_tensor(w, "t.f32", DL_TYPE_F32, 1, 3, 1, 3);
    emit(w, dir, "align64.gguf");

    /* a slice of a real model: its non-tokenizer metadata, its small tensors */
    if (argc > 2) {
        dl_error err = {0};
        dl_gguf *g = dl_gguf_open(argv[2], &err);
        if (!g) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        w = dl_gguf_writer_new();
        for (int64_t i = 0; i < dl_gguf_n_kv(g); i++)
            if (strncmp(dl_gguf_key(g, i), "tokenizer.", 10) != 0) dl_gguf_writer_copy_kv(w, g, i);
        uint64_t total = 0;
        for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
            const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
            if (t->size > 2048 || total + t->size > 12000) continue;
            total += (t->size + 31) / 32 * 32 + 64;
            dl_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->size);
        }
        emit(w, dir, "model_slice.gguf");
        dl_gguf_close(g);
    }
    return 0;
}
