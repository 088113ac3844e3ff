/* GGUF v3 writer. Metadata values are serialised when set; tensor data is
 * copied. Misuse (duplicate tensor, size mismatch, unknown type, bad array
 * type) is remembered and reported by dl_gguf_writer_write, so the setters
 * can return void. Setting an existing key replaces its value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_int.h"

typedef struct wkv {
    char *key;
    dl_buf val; /* u32 type followed by the encoded value */
} wkv;

typedef struct wtensor {
    char *name;
    int type, n_dims;
    int64_t ne[DL_GGUF_MAX_DIMS];
    void *data;
    uint64_t size;
} wtensor;

struct dl_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    char err[400]; /* first misuse, reported by write */
};

dl_gguf_writer *dl_gguf_writer_new(void) { return dl_xcalloc(1, sizeof(dl_gguf_writer)); }

void dl_gguf_writer_free(dl_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        dl_buf_free(&w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->kv);
    free(w->t);
    free(w);
}

__attribute__((format(printf, 2, 3))) static void misuse(dl_gguf_writer *w, const char *fmt, ...) {
    if (w->err[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err, sizeof w->err, fmt, ap);
    va_end(ap);
}

/* Returns the (emptied) value buffer of key, adding the entry if new. */
static dl_buf *slot(dl_gguf_writer *w, const char *key, dl_gguf_vtype type) {
    dl_buf *b = NULL;
    for (size_t i = 0; i < w->n_kv && !b; i++)
        if (strcmp(w->kv[i].key, key) == 0) b = &w->kv[i].val;
    if (!b) {
        if (w->n_kv == w->cap_kv) {
            w->cap_kv = w->cap_kv ? w->cap_kv * 2 : 16;
            w->kv = dl_xrealloc(w->kv, w->cap_kv * sizeof *w->kv);
        }
        wkv *e = &w->kv[w->n_kv++];
        e->key = dl_xstrdup(key);
        memset(&e->val, 0, sizeof e->val);
        b = &e->val;
    }
    if (!dl_utf8_valid(key, strlen(key), NULL)) misuse(w, "key '%.100s' is not valid UTF-8", key);
    b->len = 0;
    uint32_t t = (uint32_t)type;
    dl_buf_append(b, &t, 4);
    return b;
}

static void put_u64(dl_buf *b, uint64_t v) { dl_buf_append(b, &v, 8); }

static void put_str(dl_buf *b, const char *s, uint64_t n) {
    put_u64(b, n);
    dl_buf_append(b, s, (size_t)n);
}

void dl_gguf_writer_set_u32(dl_gguf_writer *w, const char *key, uint32_t v) {
    dl_buf_append(slot(w, key, DL_GGUF_UINT32), &v, 4);
}
void dl_gguf_writer_set_i32(dl_gguf_writer *w, const char *key, int32_t v) {
    dl_buf_append(slot(w, key, DL_GGUF_INT32), &v, 4);
}
void dl_gguf_writer_set_u64(dl_gguf_writer *w, const char *key, uint64_t v) {
    dl_buf_append(slot(w, key, DL_GGUF_UINT64), &v, 8);
}
void dl_gguf_writer_set_f32(dl_gguf_writer *w, const char *key, float v) {
    dl_buf_append(slot(w, key, DL_GGUF_FLOAT32), &v, 4);
}
void dl_gguf_writer_set_bool(dl_gguf_writer *w, const char *key, bool v) {
    uint8_t b = v ? 1 : 0;
    dl_buf_append(slot(w, key, DL_GGUF_BOOL), &b, 1);
}
void dl_gguf_writer_set_str(dl_gguf_writer *w, const char *key, const char *v) {
    put_str(slot(w, key, DL_GGUF_STRING), v, strlen(v));
}

void dl_gguf_writer_set_arr(dl_gguf_writer *w, const char *key, dl_gguf_vtype type,
                            const void *data, uint64_t n) {
    dl_buf *b = slot(w, key, DL_GGUF_ARRAY);
    size_t es = dl_gguf_vtype_size(type);
    if (es == 0) {
        misuse(w, "key '%.100s': array element type %s needs dl_gguf_writer_set_arr_str or is invalid",
               key, dl_gguf_vtype_name(type));
        es = 1, n = 0;
    }
    uint32_t t = (uint32_t)type;
    dl_buf_append(b, &t, 4);
    put_u64(b, n);
    if (n) dl_buf_append(b, data, (size_t)(n * es));
}

void dl_gguf_writer_set_arr_str(dl_gguf_writer *w, const char *key, const dl_gguf_str *strs,
                                uint64_t n) {
    dl_buf *b = slot(w, key, DL_GGUF_ARRAY);
    uint32_t t = DL_GGUF_STRING;
    dl_buf_append(b, &t, 4);
    put_u64(b, n);
    for (uint64_t j = 0; j < n; j++) put_str(b, strs[j].ptr, strs[j].len);
}

void dl_gguf_writer_copy_kv(dl_gguf_writer *w, const dl_gguf *g, int64_t i) {
    if (!g || i < 0 || i >= g->n_kv) {
        misuse(w, "copy_kv: no entry %lld", (long long)i);
        return;
    }
    const dl_gguf_kv *kv = &g->kv[i];
    dl_buf *b = slot(w, kv->key, kv->type);
    if (kv->type == DL_GGUF_STRING) {
        put_str(b, (const char *)kv->val, kv->str_len);
    } else if (kv->type != DL_GGUF_ARRAY) {
        dl_buf_append(b, kv->val, dl_gguf_vtype_size(kv->type));
    } else {
        uint32_t t = (uint32_t)kv->arr_type;
        dl_buf_append(b, &t, 4);
        put_u64(b, kv->arr_len);
        if (kv->arr_type == DL_GGUF_STRING) {
            for (uint64_t j = 0; j < kv->arr_len; j++) {
                dl_gguf_str s = dl_gguf_arr_str(g, i, j);
                put_str(b, s.ptr, s.len);
            }
        } else {
            dl_buf_append(b, kv->val, (size_t)(kv->arr_len * dl_gguf_vtype_size(kv->arr_type)));
        }
    }
}

void dl_gguf_writer_add_tensor(dl_gguf_writer *w, const char *name, int type, int n_dims,
                               const int64_t *ne, const void *data, uint64_t size) {
    if (n_dims < 1 || n_dims > DL_GGUF_MAX_DIMS) {
        misuse(w, "tensor '%.100s': %d dimensions (must be 1..%d)", name, n_dims, DL_GGUF_MAX_DIMS);
        return;
    }
    if (!dl_utf8_valid(name, strlen(name), NULL)) {
        misuse(w, "tensor name is not valid UTF-8");
        return;
    }
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0) {
            misuse(w, "tensor '%.100s': duplicate tensor name", name);
            return;
        }
    int64_t rows = 1;
    for (int d = 1; d < n_dims; d++) {
        if (ne[d] <= 0 || rows > INT64_MAX / ne[d]) {
            misuse(w, "tensor '%.100s': bad dimension %lld", name, (long long)ne[d]);
            return;
        }
        rows *= ne[d];
    }
    int64_t row = ne[0] > 0 ? dl_type_row_bytes(type, ne[0]) : -1;
    if (row < 0 || (rows > 0 && row > INT64_MAX / rows) || (uint64_t)(row * rows) != size) {
        misuse(w, "tensor '%.100s': size %llu does not match %s x [%lld, ...]", name,
               (unsigned long long)size, dl_type_name(type), (long long)ne[0]);
        return;
    }
    if (w->n_t == w->cap_t) {
        w->cap_t = w->cap_t ? w->cap_t * 2 : 16;
        w->t = dl_xrealloc(w->t, w->cap_t * sizeof *w->t);
    }
    wtensor *t = &w->t[w->n_t++];
    t->name = dl_xstrdup(name);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < DL_GGUF_MAX_DIMS; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->data = dl_xmalloc(size ? (size_t)size : 1);
    if (size) memcpy(t->data, data, (size_t)size);
    t->size = size;
}

/* Alignment the file will use: general.alignment when set to a valid u32. */
static uint64_t writer_alignment(const dl_gguf_writer *w) {
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0) continue;
        uint32_t t, a;
        memcpy(&t, w->kv[i].val.data, 4);
        if (t != DL_GGUF_UINT32 || w->kv[i].val.len != 8) return 0;
        memcpy(&a, w->kv[i].val.data + 4, 4);
        return (a && !(a & (a - 1))) ? a : 0;
    }
    return DL_GGUF_DEFAULT_ALIGNMENT;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

static int write_pad(FILE *f, uint64_t n) {
    static const char zeros[64];
    while (n) {
        size_t k = (size_t)DL_MIN(n, sizeof zeros);
        if (write_all(f, zeros, k)) return -1;
        n -= k;
    }
    return 0;
}

int dl_gguf_writer_write(dl_gguf_writer *w, const char *path, dl_error *err) {
    if (w->err[0]) return dl_error_set(err, 400, "%s: %s", path, w->err);
    uint64_t align = writer_alignment(w);
    if (!align)
        return dl_error_set(err, 400, "%s: general.alignment must be a u32 power of two", path);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return dl_error_set(err, 400, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return dl_error_set(err, 500, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = 0;
    uint32_t version = 3;
    uint64_t nt = w->n_t, nkv = w->n_kv, pos = 0;
    rc |= write_all(f, "GGUF", 4);
    rc |= write_all(f, &version, 4);
    rc |= write_all(f, &nt, 8);
    rc |= write_all(f, &nkv, 8);
    pos = 24;
    for (size_t i = 0; i < w->n_kv && !rc; i++) {
        uint64_t kl = strlen(w->kv[i].key);
        rc |= write_all(f, &kl, 8);
        rc |= write_all(f, w->kv[i].key, (size_t)kl);
        rc |= write_all(f, w->kv[i].val.data, w->kv[i].val.len);
        pos += 8 + kl + w->kv[i].val.len;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t && !rc; i++) {
        const wtensor *t = &w->t[i];
        uint64_t nl = strlen(t->name);
        uint32_t nd = (uint32_t)t->n_dims, ty = (uint32_t)t->type;
        rc |= write_all(f, &nl, 8);
        rc |= write_all(f, t->name, (size_t)nl);
        rc |= write_all(f, &nd, 4);
        for (int d = 0; d < t->n_dims; d++) {
            uint64_t v = (uint64_t)t->ne[d];
            rc |= write_all(f, &v, 8);
        }
        rc |= write_all(f, &ty, 4);
        rc |= write_all(f, &off, 8);
        pos += 8 + nl + 4 + 8 * nd + 4 + 8;
        off = align_up(off + t->size, align);
    }
    if (!rc && w->n_t) rc |= write_pad(f, align_up(pos, align) - pos);
    for (size_t i = 0; i < w->n_t && !rc; i++) {
        rc |= write_all(f, w->t[i].data, (size_t)w->t[i].size);
        rc |= write_pad(f, align_up(w->t[i].size, align) - w->t[i].size); /* as llama.cpp: last one too */
    }
    if (fclose(f) != 0) rc = -1;
    if (rc) {
        remove(tmp);
        return dl_error_set(err, 500, "%s: write failed: %s", tmp, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return dl_error_set(err, 500, "%s: cannot rename to %s: %s", tmp, path, strerror(e));
    }
    return 0;
}
