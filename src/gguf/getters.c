/* Accessors over a validated dl_gguf. Out-of-range indices give neutral
 * results (NULL, 0, -1) rather than crashing. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "gguf_int.h"

uint32_t dl_gguf_version(const dl_gguf *g) { return g->version; }
uint64_t dl_gguf_file_size(const dl_gguf *g) { return g->size; }
const char *dl_gguf_path(const dl_gguf *g) { return g->path; }
uint64_t dl_gguf_alignment(const dl_gguf *g) { return g->alignment; }
uint64_t dl_gguf_data_offset(const dl_gguf *g) { return g->data_offset; }
int64_t dl_gguf_n_kv(const dl_gguf *g) { return g->n_kv; }
int64_t dl_gguf_n_tensors(const dl_gguf *g) { return g->n_tensors; }

static const dl_gguf_kv *kv_at(const dl_gguf *g, int64_t i) {
    return (g && i >= 0 && i < g->n_kv) ? &g->kv[i] : NULL;
}

int64_t dl_gguf_find_key(const dl_gguf *g, const char *key) {
    if (!g || !key || !g->kv_hash) return -1;
    uint64_t cap = g->kv_hash_cap;
    uint64_t h = dl_gguf_hash(key, strlen(key)) & (cap - 1);
    while (g->kv_hash[h]) {
        uint32_t i = g->kv_hash[h] - 1;
        if (strcmp(g->kv[i].key, key) == 0) return i;
        h = (h + 1) & (cap - 1);
    }
    return -1;
}

const char *dl_gguf_key(const dl_gguf *g, int64_t i) {
    const dl_gguf_kv *kv = kv_at(g, i);
    return kv ? kv->key : NULL;
}

dl_gguf_vtype dl_gguf_kv_type(const dl_gguf *g, int64_t i) {
    const dl_gguf_kv *kv = kv_at(g, i);
    return kv ? kv->type : DL_GGUF_VTYPE_COUNT;
}

dl_gguf_vtype dl_gguf_arr_type(const dl_gguf *g, int64_t i) {
    const dl_gguf_kv *kv = kv_at(g, i);
    return kv && kv->type == DL_GGUF_ARRAY ? kv->arr_type : DL_GGUF_VTYPE_COUNT;
}

uint64_t dl_gguf_arr_len(const dl_gguf *g, int64_t i) {
    const dl_gguf_kv *kv = kv_at(g, i);
    return kv && kv->type == DL_GGUF_ARRAY ? kv->arr_len : 0;
}

const void *dl_gguf_arr_data(const dl_gguf *g, int64_t i) {
    const dl_gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type != DL_GGUF_ARRAY || kv->arr_type == DL_GGUF_STRING) return NULL;
    return kv->val;
}

dl_gguf_str dl_gguf_arr_str(const dl_gguf *g, int64_t i, uint64_t j) {
    dl_gguf_str s = {NULL, 0};
    const dl_gguf_kv *kv = kv_at(g, i);
    if (!kv || kv->type != DL_GGUF_ARRAY || kv->arr_type != DL_GGUF_STRING || j >= kv->arr_len)
        return s;
    uint64_t off = kv->str_off[j];
    memcpy(&s.len, g->map + off, 8);
    s.ptr = (const char *)g->map + off + 8;
    return s;
}

/* Integer value of a scalar entry: as signed (*is_neg set) magnitude in *mag. */
static bool int_value(const dl_gguf_kv *kv, bool *neg, uint64_t *mag) {
    const uint8_t *p = kv->val;
    int64_t sv = 0;
    uint64_t uv = 0;
    bool is_signed = false;
    switch (kv->type) {
    case DL_GGUF_UINT8: uv = p[0]; break;
    case DL_GGUF_INT8: { int8_t v; memcpy(&v, p, 1); sv = v; is_signed = true; break; }
    case DL_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); uv = v; break; }
    case DL_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); sv = v; is_signed = true; break; }
    case DL_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); uv = v; break; }
    case DL_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); sv = v; is_signed = true; break; }
    case DL_GGUF_UINT64: memcpy(&uv, p, 8); break;
    case DL_GGUF_INT64: memcpy(&sv, p, 8); is_signed = true; break;
    default: return false;
    }
    if (is_signed && sv < 0) {
        *neg = true;
        *mag = (uint64_t)(-(sv + 1)) + 1;
    } else {
        *neg = false;
        *mag = is_signed ? (uint64_t)sv : uv;
    }
    return true;
}

static const dl_gguf_kv *find_kv(const dl_gguf *g, const char *key) {
    return kv_at(g, dl_gguf_find_key(g, key));
}

bool dl_gguf_get_u64(const dl_gguf *g, const char *key, uint64_t *out) {
    const dl_gguf_kv *kv = find_kv(g, key);
    bool neg;
    uint64_t mag;
    if (!kv || !int_value(kv, &neg, &mag) || neg) return false;
    *out = mag;
    return true;
}

bool dl_gguf_get_i64(const dl_gguf *g, const char *key, int64_t *out) {
    const dl_gguf_kv *kv = find_kv(g, key);
    bool neg;
    uint64_t mag;
    if (!kv || !int_value(kv, &neg, &mag)) return false;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1) return false;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)mag;
    }
    return true;
}

bool dl_gguf_get_u32(const dl_gguf *g, const char *key, uint32_t *out) {
    uint64_t v;
    if (!dl_gguf_get_u64(g, key, &v) || v > UINT32_MAX) return false;
    *out = (uint32_t)v;
    return true;
}

bool dl_gguf_get_f32(const dl_gguf *g, const char *key, float *out) {
    const dl_gguf_kv *kv = find_kv(g, key);
    if (!kv) return false;
    if (kv->type == DL_GGUF_FLOAT32) {
        memcpy(out, kv->val, 4);
        return true;
    }
    if (kv->type == DL_GGUF_FLOAT64) {
        double d;
        memcpy(&d, kv->val, 8);
        if (isfinite(d) && fabs(d) > FLT_MAX) d = d > 0 ? INFINITY : -INFINITY; /* cast would be UB */
        *out = (float)d;
        return true;
    }
    bool neg;
    uint64_t mag;
    if (!int_value(kv, &neg, &mag)) return false;
    *out = neg ? -(float)mag : (float)mag;
    return true;
}

bool dl_gguf_get_bool(const dl_gguf *g, const char *key, bool *out) {
    const dl_gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != DL_GGUF_BOOL) return false;
    *out = kv->val[0] != 0;
    return true;
}

const char *dl_gguf_get_str(const dl_gguf *g, const char *key) {
    const dl_gguf_kv *kv = find_kv(g, key);
    return kv && kv->type == DL_GGUF_STRING ? kv->str : NULL;
}

const dl_gguf_tensor *dl_gguf_tensor_at(const dl_gguf *g, int64_t i) {
    return (g && i >= 0 && i < g->n_tensors) ? &g->tensors[i] : NULL;
}

const dl_gguf_tensor *dl_gguf_find_tensor(const dl_gguf *g, const char *name) {
    if (!g || !name || !g->t_hash) return NULL;
    uint64_t cap = g->t_hash_cap;
    uint64_t h = dl_gguf_hash(name, strlen(name)) & (cap - 1);
    while (g->t_hash[h]) {
        uint32_t i = g->t_hash[h] - 1;
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
        h = (h + 1) & (cap - 1);
    }
    return NULL;
}
