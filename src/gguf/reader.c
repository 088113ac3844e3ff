/* GGUF reader: parses and validates the header, metadata and tensor table of
 * a mapped file. Every read is bounds-checked against the file size and
 * every count is checked against the bytes left before anything is
 * allocated, so a hostile file costs at most a few times its own size. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_int.h"

#define MIN_KV_BYTES 13     /* key length (8) + 0-byte key + type (4) + 1-byte value */
#define MIN_TENSOR_BYTES 32 /* name length (8) + n_dims (4) + 1 dim (8) + type (4) + offset (8) */
#define MAX_ENTRIES 0x7ffffffeull /* hash tables hold uint32 indices */

typedef struct reader {
    dl_gguf *g;
    const uint8_t *p;
    uint64_t size, pos;
    const char *name; /* file name for messages */
    dl_error *err;
} reader;

__attribute__((format(printf, 3, 4))) static int fail(reader *r, uint64_t at, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(r->err, 400, "%s: %s at byte %llu", r->name, msg, (unsigned long long)at);
}

#define DISP_MAX 100

/* Copies name into buf (>= DISP_MAX + 4 bytes) for an error message: at most
 * DISP_MAX bytes cut at a UTF-8 boundary, control characters as '?', so the
 * message stays one valid UTF-8 line whatever the name holds. */
static const char *disp(const char *s, char *buf) {
    size_t o = 0, i = 0, n = strlen(s);
    while (i < n) {
        uint32_t cp;
        int k = dl_utf8_decode(s + i, n - i, &cp);
        if (k == 0) k = 1, cp = '?';
        if (o + (size_t)k > DISP_MAX) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (cp < 0x20 || cp == 0x7f || (k == 1 && cp >= 0x80)) buf[o++] = '?';
        else memcpy(buf + o, s + i, (size_t)k), o += (size_t)k;
        i += (size_t)k;
    }
    buf[o] = 0;
    return buf;
}

static uint64_t left(const reader *r) { return r->size - r->pos; }

/* Checks that n bytes remain for `what`; on failure reports truncation. */
static int need(reader *r, uint64_t n, const char *what) {
    if (left(r) < n)
        return fail(r, r->pos, "%s: truncated file, need %llu bytes, %llu left", what,
                    (unsigned long long)n, (unsigned long long)left(r));
    return 0;
}

static int rd_u32(reader *r, uint32_t *v, const char *what) {
    if (need(r, 4, what)) return -1;
    memcpy(v, r->p + r->pos, 4);
    r->pos += 4;
    return 0;
}

static int rd_u64(reader *r, uint64_t *v, const char *what) {
    if (need(r, 8, what)) return -1;
    memcpy(v, r->p + r->pos, 8);
    r->pos += 8;
    return 0;
}

/* Reads a GGUF string (u64 length + bytes) without copying. */
static int rd_str(reader *r, const char **s, uint64_t *len, const char *what) {
    uint64_t at = r->pos;
    if (rd_u64(r, len, what)) return -1;
    if (*len > left(r))
        return fail(r, at, "%s: string length %llu runs past end of file (%llu bytes left)", what,
                    (unsigned long long)*len, (unsigned long long)left(r));
    *s = (const char *)r->p + r->pos;
    r->pos += *len;
    return 0;
}

size_t dl_gguf_vtype_size(dl_gguf_vtype t) {
    switch (t) {
    case DL_GGUF_UINT8: case DL_GGUF_INT8: case DL_GGUF_BOOL: return 1;
    case DL_GGUF_UINT16: case DL_GGUF_INT16: return 2;
    case DL_GGUF_UINT32: case DL_GGUF_INT32: case DL_GGUF_FLOAT32: return 4;
    case DL_GGUF_UINT64: case DL_GGUF_INT64: case DL_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

uint64_t dl_gguf_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static uint64_t hash_cap_for(uint64_t n) {
    uint64_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    return cap;
}

/* Inserts entry `idx` named `name` into the table; returns the index of an
 * existing entry with the same name, or -1 when inserted. */
static int64_t hash_insert(uint32_t *tab, uint64_t cap, const char *name, uint32_t idx,
                           const char *(*name_of)(const dl_gguf *, uint32_t), const dl_gguf *g) {
    uint64_t h = dl_gguf_hash(name, strlen(name)) & (cap - 1);
    while (tab[h]) {
        if (strcmp(name_of(g, tab[h] - 1), name) == 0) return tab[h] - 1;
        h = (h + 1) & (cap - 1);
    }
    tab[h] = idx + 1;
    return -1;
}

static const char *kv_name(const dl_gguf *g, uint32_t i) { return g->kv[i].key; }
static const char *tensor_name(const dl_gguf *g, uint32_t i) { return g->tensors[i].name; }

/* Copies a name (key or tensor name) after checking it is UTF-8 without NULs. */
static char *copy_name(reader *r, const char *s, uint64_t len, uint64_t at, const char *what,
                       int64_t idx) {
    size_t bad = 0;
    if (!dl_utf8_valid(s, (size_t)len, &bad)) {
        fail(r, at + 8 + bad, "%s %lld: not valid UTF-8 (bad byte at offset %zu of the name)", what,
             (long long)idx, bad);
        return NULL;
    }
    if (memchr(s, 0, (size_t)len)) {
        fail(r, at + 8, "%s %lld: name contains a NUL byte", what, (long long)idx);
        return NULL;
    }
    char *c = malloc((size_t)len + 1);
    if (!c) {
        dl_error_set(r->err, 500, "%s: out of memory reading %s %lld", r->name, what, (long long)idx);
        return NULL;
    }
    memcpy(c, s, (size_t)len);
    c[len] = 0;
    return c;
}

/* Parses the value of entry kv (its type already read). */
static int read_value(reader *r, dl_gguf_kv *kv) {
    char what[200], dn[DISP_MAX + 4];
    const char *key = disp(kv->key, dn);
    snprintf(what, sizeof what, "key '%s' value", key);
    if (kv->type == DL_GGUF_STRING) {
        const char *s;
        if (rd_str(r, &s, &kv->str_len, what)) return -1;
        kv->val = (const uint8_t *)s;
        kv->str = malloc((size_t)kv->str_len + 1);
        if (!kv->str) return dl_error_set(r->err, 500, "%s: out of memory for %s", r->name, what);
        memcpy(kv->str, s, (size_t)kv->str_len);
        kv->str[kv->str_len] = 0;
        return 0;
    }
    if (kv->type != DL_GGUF_ARRAY) {
        size_t n = dl_gguf_vtype_size(kv->type);
        if (need(r, n, what)) return -1;
        kv->val = r->p + r->pos;
        r->pos += n;
        return 0;
    }
    snprintf(what, sizeof what, "key '%s' array type", key);
    uint64_t at = r->pos;
    uint32_t et;
    if (rd_u32(r, &et, what)) return -1;
    if (et >= DL_GGUF_VTYPE_COUNT)
        return fail(r, at, "%s: unknown value type %u", what, et);
    if (et == DL_GGUF_ARRAY) return fail(r, at, "%s: nested arrays are not supported", what);
    kv->arr_type = (dl_gguf_vtype)et;
    snprintf(what, sizeof what, "key '%s' array length", key);
    at = r->pos;
    if (rd_u64(r, &kv->arr_len, what)) return -1;
    size_t es = et == DL_GGUF_STRING ? 8 : dl_gguf_vtype_size(kv->arr_type);
    if (kv->arr_len > left(r) / es)
        return fail(r, at, "%s: %llu elements of %s cannot fit in the %llu bytes left", what,
                    (unsigned long long)kv->arr_len, dl_gguf_vtype_name(kv->arr_type),
                    (unsigned long long)left(r));
    kv->val = r->p + r->pos;
    if (et != DL_GGUF_STRING) {
        r->pos += kv->arr_len * es;
        return 0;
    }
    kv->str_off = malloc((size_t)DL_MAX(kv->arr_len, 1) * sizeof(uint64_t));
    if (!kv->str_off) return dl_error_set(r->err, 500, "%s: out of memory for %s", r->name, what);
    for (uint64_t j = 0; j < kv->arr_len; j++) {
        const char *s;
        uint64_t len;
        kv->str_off[j] = r->pos;
        if (left(r) >= 8) { /* fast path: vocabularies have 100k+ strings */
            memcpy(&len, r->p + r->pos, 8);
            if (len <= left(r) - 8) {
                r->pos += 8 + len;
                continue;
            }
        }
        snprintf(what, sizeof what, "key '%s' string %llu", key, (unsigned long long)j);
        if (rd_str(r, &s, &len, what)) return -1; /* fails the same way, with the message */
        return dl_error_set(r->err, 500, "%s: internal error reading %s", r->name, what);
    }
    return 0;
}

static int read_kvs(reader *r) {
    dl_gguf *g = r->g;
    for (int64_t i = 0; i < g->n_kv; i++) {
        dl_gguf_kv *kv = &g->kv[i];
        uint64_t at = r->pos;
        const char *s;
        uint64_t len;
        char what[160], dn[DISP_MAX + 4];
        snprintf(what, sizeof what, "key %lld", (long long)i);
        if (rd_str(r, &s, &len, what)) return -1;
        if (!(kv->key = copy_name(r, s, len, at, "key", i))) return -1;
        int64_t dup = hash_insert(g->kv_hash, g->kv_hash_cap, kv->key, (uint32_t)i, kv_name, g);
        if (dup >= 0)
            return fail(r, at, "key '%s': duplicate key (also entry %lld)", disp(kv->key, dn),
                        (long long)dup);
        uint64_t tat = r->pos;
        uint32_t t;
        snprintf(what, sizeof what, "key '%s' value type", disp(kv->key, dn));
        if (rd_u32(r, &t, what)) return -1;
        if (t >= DL_GGUF_VTYPE_COUNT)
            return fail(r, tat, "%s: unknown value type %u", what, t);
        kv->type = (dl_gguf_vtype)t;
        if (read_value(r, kv)) return -1;
    }
    return 0;
}

/* Reads general.alignment if present: an integer, non-zero power of two. */
static int read_alignment(reader *r) {
    dl_gguf *g = r->g;
    g->alignment = DL_GGUF_DEFAULT_ALIGNMENT;
    int64_t i = dl_gguf_find_key(g, "general.alignment");
    if (i < 0) return 0;
    uint64_t at = (uint64_t)(g->kv[i].val - g->map);
    uint64_t a;
    if (!dl_gguf_get_u64(g, "general.alignment", &a))
        return fail(r, at, "general.alignment: must be a non-negative integer (type %s)",
                    dl_gguf_vtype_name(g->kv[i].type));
    if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 30))
        return fail(r, at, "general.alignment: %llu is not a power of two in [1, 2^30]",
                    (unsigned long long)a);
    g->alignment = a;
    return 0;
}

static int read_tensor_info(reader *r, int64_t i, uint64_t *off_pos) {
    dl_gguf *g = r->g;
    dl_gguf_tensor *t = &g->tensors[i];
    uint64_t at = r->pos;
    const char *s;
    uint64_t len;
    char what[200], dn[DISP_MAX + 4];
    snprintf(what, sizeof what, "tensor %lld name", (long long)i);
    if (rd_str(r, &s, &len, what)) return -1;
    char *name = copy_name(r, s, len, at, "tensor", i);
    if (!name) return -1;
    t->name = name;
    const char *shown = disp(name, dn);
    int64_t dup = hash_insert(g->t_hash, g->t_hash_cap, name, (uint32_t)i, tensor_name, g);
    if (dup >= 0)
        return fail(r, at, "tensor '%s': duplicate tensor name (also tensor %lld)", shown,
                    (long long)dup);
    snprintf(what, sizeof what, "tensor '%s' n_dims", shown);
    at = r->pos;
    uint32_t nd;
    if (rd_u32(r, &nd, what)) return -1;
    if (nd == 0 || nd > DL_GGUF_MAX_DIMS)
        return fail(r, at, "%s: %u dimensions (must be 1..%d)", what, nd, DL_GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    int64_t nelem = 1;
    for (int d = 0; d < DL_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        snprintf(what, sizeof what, "tensor '%s' dims[%u]", shown, d);
        at = r->pos;
        uint64_t v;
        if (rd_u64(r, &v, what)) return -1;
        if (v == 0 || v > (uint64_t)INT64_MAX)
            return fail(r, at, "%s: dimension %lld must be positive", what, (long long)v);
        if ((int64_t)v > INT64_MAX / nelem)
            return fail(r, at, "%s: element count overflows int64", what);
        t->ne[d] = (int64_t)v;
        nelem *= (int64_t)v;
    }
    snprintf(what, sizeof what, "tensor '%s' type", shown);
    at = r->pos;
    uint32_t ty;
    if (rd_u32(r, &ty, what)) return -1;
    int64_t be, bb;
    if (ty > INT32_MAX || !dl_type_block((int)ty, &be, &bb))
        return fail(r, at, "%s: unknown tensor type %u", what, ty);
    t->type = (int)ty;
    if (t->ne[0] % be != 0)
        return fail(r, at, "%s: row length %lld is not a multiple of the %s block size %lld", what,
                    (long long)t->ne[0], dl_type_name(t->type), (long long)be);
    int64_t row = dl_type_row_bytes(t->type, t->ne[0]);
    int64_t rows = nelem / t->ne[0];
    if (row < 0 || rows > INT64_MAX / row)
        return fail(r, at, "%s: tensor byte size overflows int64", what);
    t->size = (uint64_t)(row * rows);
    snprintf(what, sizeof what, "tensor '%s' offset", shown);
    *off_pos = r->pos;
    if (rd_u64(r, &t->offset, what)) return -1;
    return 0;
}

typedef struct extent {
    uint64_t offset;
    uint32_t idx;
} extent;

static int cmp_extent(const void *a, const void *b) {
    const extent *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Places the data section and checks each tensor's offset, extent and overlap. */
static int check_data(reader *r, const uint64_t *off_pos) {
    dl_gguf *g = r->g;
    uint64_t a = g->alignment;
    if (r->pos > UINT64_MAX - a) return fail(r, r->pos, "data section: offset overflows");
    g->data_offset = (r->pos + a - 1) / a * a;
    if (g->n_tensors == 0) return 0;
    if (g->data_offset > g->size)
        return fail(r, r->pos, "data section: starts at %llu, past end of file (size %llu)",
                    (unsigned long long)g->data_offset, (unsigned long long)g->size);
    uint64_t avail = g->size - g->data_offset;
    char dn[DISP_MAX + 4], dn2[DISP_MAX + 4];
    for (int64_t i = 0; i < g->n_tensors; i++) {
        dl_gguf_tensor *t = &g->tensors[i];
        if (t->offset % a != 0)
            return fail(r, off_pos[i], "tensor '%s' offset: %llu is not a multiple of the alignment %llu",
                        disp(t->name, dn), (unsigned long long)t->offset, (unsigned long long)a);
        if (t->offset > avail || t->size > avail - t->offset)
            return fail(r, off_pos[i],
                        "tensor '%s' data: [%llu, %llu) runs past end of file (size %llu, data section at %llu)",
                        disp(t->name, dn), (unsigned long long)(g->data_offset + t->offset),
                        (unsigned long long)(g->data_offset + t->offset + t->size),
                        (unsigned long long)g->size, (unsigned long long)g->data_offset);
        t->data = g->map + g->data_offset + t->offset;
    }
    extent *order = malloc((size_t)g->n_tensors * sizeof *order);
    if (!order) return dl_error_set(r->err, 500, "%s: out of memory checking tensor overlap", r->name);
    for (int64_t i = 0; i < g->n_tensors; i++) order[i] = (extent){g->tensors[i].offset, (uint32_t)i};
    qsort(order, (size_t)g->n_tensors, sizeof *order, cmp_extent);
    int rc = 0;
    for (int64_t k = 1; k < g->n_tensors && rc == 0; k++) {
        const dl_gguf_tensor *p = &g->tensors[order[k - 1].idx], *t = &g->tensors[order[k].idx];
        if (p->offset + p->size > t->offset)
            rc = fail(r, off_pos[order[k].idx],
                      "tensor '%s' offset: data [%llu, %llu) overlaps tensor '%s' [%llu, %llu)",
                      disp(t->name, dn), (unsigned long long)t->offset, (unsigned long long)(t->offset + t->size),
                      disp(p->name, dn2), (unsigned long long)p->offset, (unsigned long long)(p->offset + p->size));
    }
    free(order);
    return rc;
}

static int parse(reader *r) {
    dl_gguf *g = r->g;
    if (need(r, 4, "magic")) return -1;
    if (memcmp(r->p, "GGUF", 4) != 0) {
        char shown[5];
        for (int i = 0; i < 4; i++) shown[i] = (r->p[i] >= 32 && r->p[i] < 127) ? (char)r->p[i] : '?';
        shown[4] = 0;
        return fail(r, 0, "magic: bad magic '%s' (not a GGUF file)", shown);
    }
    r->pos = 4;
    if (rd_u32(r, &g->version, "version")) return -1;
    if (g->version == 1)
        return fail(r, 4, "version: GGUF v1 is not supported (only v2 and v3; re-convert the model)");
    if (g->version == 0x02000000u || g->version == 0x03000000u)
        return fail(r, 4, "version: big-endian GGUF files are not supported");
    if (g->version != 2 && g->version != 3)
        return fail(r, 4, "version: unsupported GGUF version %u (only v2 and v3)", g->version);
    uint64_t nt, nkv;
    if (rd_u64(r, &nt, "n_tensors")) return -1;
    if (rd_u64(r, &nkv, "n_kv")) return -1;
    if (nt > left(r) / MIN_TENSOR_BYTES || nt > MAX_ENTRIES)
        return fail(r, 8, "n_tensors: %llu tensors cannot fit in the %llu bytes left",
                    (unsigned long long)nt, (unsigned long long)left(r));
    if (nkv > left(r) / MIN_KV_BYTES || nkv > MAX_ENTRIES ||
        nkv * MIN_KV_BYTES + nt * MIN_TENSOR_BYTES > left(r))
        return fail(r, 16, "n_kv: %llu entries (with %llu tensors) cannot fit in the %llu bytes left",
                    (unsigned long long)nkv, (unsigned long long)nt, (unsigned long long)left(r));
    g->n_kv = (int64_t)nkv;
    g->n_tensors = (int64_t)nt;
    g->kv_hash_cap = hash_cap_for(nkv);
    g->t_hash_cap = hash_cap_for(nt);
    g->kv = calloc((size_t)DL_MAX(nkv, 1), sizeof *g->kv);
    g->tensors = calloc((size_t)DL_MAX(nt, 1), sizeof *g->tensors);
    g->kv_hash = calloc((size_t)g->kv_hash_cap, sizeof *g->kv_hash);
    g->t_hash = calloc((size_t)g->t_hash_cap, sizeof *g->t_hash);
    if (!g->kv || !g->tensors || !g->kv_hash || !g->t_hash)
        return dl_error_set(r->err, 500, "%s: out of memory for the metadata table", r->name);
    if (read_kvs(r) || read_alignment(r)) return -1;
    uint64_t *off_pos = malloc((size_t)DL_MAX(nt, 1) * sizeof *off_pos);
    if (!off_pos) return dl_error_set(r->err, 500, "%s: out of memory for the tensor table", r->name);
    int rc = 0;
    for (int64_t i = 0; i < g->n_tensors && rc == 0; i++) rc = read_tensor_info(r, i, &off_pos[i]);
    if (rc == 0) rc = check_data(r, off_pos);
    free(off_pos);
    return rc;
}

static dl_gguf *open_mapped(const uint8_t *map, uint64_t size, const char *name, bool owns,
                            dl_error *err) {
    dl_gguf *g = dl_xcalloc(1, sizeof *g);
    g->path = dl_xstrdup(name ? name : "<memory>");
    g->map = map;
    g->size = size;
    g->owns_map = owns;
    reader r = {g, map, size, 0, g->path, err};
    if (parse(&r) != 0) {
        dl_gguf_close(g);
        return NULL;
    }
    return g;
}

dl_gguf *dl_gguf_open_memory(const void *data, size_t size, const char *name, dl_error *err) {
    static const uint8_t empty[1];
    return open_mapped(data ? data : empty, data ? size : 0, name, false, err);
}

dl_gguf *dl_gguf_open(const char *path, dl_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dl_error_set(err, errno == ENOENT ? 404 : 400, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        dl_error_set(err, 400, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size == 0) { /* mmap cannot map 0 bytes; parse an empty buffer instead */
        static const uint8_t empty[1];
        close(fd);
        return open_mapped(empty, 0, path, false, err);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) {
        dl_error_set(err, 500, "%s: mmap failed: %s", path, strerror(e));
        return NULL;
    }
    return open_mapped(map, (uint64_t)st.st_size, path, true, err);
}

void dl_gguf_close(dl_gguf *g) {
    if (!g) return;
    if (g->kv)
        for (int64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            free(g->kv[i].str);
            free(g->kv[i].str_off);
        }
    if (g->tensors)
        for (int64_t i = 0; i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    free(g->kv_hash);
    free(g->t_hash);
    if (g->owns_map) munmap((void *)g->map, (size_t)g->size);
    free(g->path);
    free(g);
}
