/* libFuzzer target for the GGUF reader: opens the input as a GGUF file and,
 * when accepted, walks every key, value and tensor through the public
 * getters, touching every byte the reader claims is valid (so ASan sees any
 * pointer that escapes the buffer). Build: `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned g_sink;

static void touch(const void *p, uint64_t n) {
    const unsigned char *b = p;
    unsigned s = 0;
    for (uint64_t i = 0; i < n; i++) s += b[i];
    g_sink += s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dl_error err = {0};
    dl_gguf *g = dl_gguf_open_memory(data, size, "fuzz.gguf", &err);
    if (!g) {
        if (err.status == 0 || !strstr(err.msg, "fuzz.gguf") || strchr(err.msg, '\n')) abort();
        return 0;
    }
    (void)dl_gguf_version(g);
    if (dl_gguf_data_offset(g) % dl_gguf_alignment(g) != 0) abort();
    for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) {
        const char *key = dl_gguf_key(g, i);
        if (!key || dl_gguf_find_key(g, key) != i) abort();
        dl_gguf_vtype t = dl_gguf_kv_type(g, i);
        uint64_t u64;
        int64_t i64;
        uint32_t u32;
        float f;
        bool b;
        (void)dl_gguf_get_u64(g, key, &u64);
        (void)dl_gguf_get_i64(g, key, &i64);
        (void)dl_gguf_get_u32(g, key, &u32);
        (void)dl_gguf_get_f32(g, key, &f);
        (void)dl_gguf_get_bool(g, key, &b);
        const char *s = dl_gguf_get_str(g, key);
        if (s) touch(s, strlen(s) + 1);
        if (t == DL_GGUF_ARRAY) {
            dl_gguf_vtype et = dl_gguf_arr_type(g, i);
            uint64_t n = dl_gguf_arr_len(g, i);
            if (et == DL_GGUF_STRING) {
                for (uint64_t j = 0; j < n; j++) {
                    dl_gguf_str e = dl_gguf_arr_str(g, i, j);
                    touch(e.ptr, e.len);
                }
            } else {
                const void *d = dl_gguf_arr_data(g, i);
                static const uint8_t sizes[DL_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
                if (n && !d) abort();
                touch(d, n * sizes[et]);
            }
        }
        dl_buf out = {0};
        dl_gguf_format_value(g, i, &out, 8);
        dl_buf_free(&out);
    }
    for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
        const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
        if (dl_gguf_find_tensor(g, t->name) != t) abort();
        if (dl_type_row_bytes(t->type, t->ne[0]) < 0) abort();
        const uint8_t *d = t->data;
        if (d < data || d + t->size > data + size) abort();
        touch(d, 1);
        touch(d + t->size - 1, 1);
    }
    dl_gguf_close(g);
    return 0;
}
