/* gguf internals shared by the reader, getters, formatter and writer. */
#ifndef DL_GGUF_INT_H
#define DL_GGUF_INT_H

#include "gguf.h"

/* One metadata entry. Pointers point into the mapping except `key`, `str`
 * and `str_off`, which the dl_gguf owns. */
typedef struct dl_gguf_kv {
    char *key;               /* NUL-terminated copy */
    dl_gguf_vtype type;
    dl_gguf_vtype arr_type;  /* arrays only */
    uint64_t arr_len;        /* arrays only */
    const uint8_t *val;      /* scalar bytes, string bytes, or first array element */
    uint64_t str_len;        /* string values */
    char *str;               /* NUL-terminated copy of a string value */
    uint64_t *str_off;       /* string arrays: file offset of each element's length field */
} dl_gguf_kv;

struct dl_gguf {
    char *path;
    const uint8_t *map;
    uint64_t size;
    bool owns_map; /* true when the mapping came from dl_gguf_open */
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    dl_gguf_kv *kv;
    int64_t n_tensors;
    dl_gguf_tensor *tensors;
    /* open-addressing hash tables of indices + 1 (0 = empty), power-of-two sizes */
    uint32_t *kv_hash;
    uint64_t kv_hash_cap;
    uint32_t *t_hash;
    uint64_t t_hash_cap;
};

/* Size in bytes of a fixed-size value type; 0 for string, array, unknown. */
uint64_t dl_gguf_hash(const char *s, size_t n);

#endif
