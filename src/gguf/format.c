/* Human-readable rendering of metadata values (for `deliberate info`). */
#include <inttypes.h>
#include <string.h>

#include "gguf_int.h"

#define STR_SHOWN 100   /* bytes of a scalar string shown before "..." */
#define ELEM_SHOWN 40   /* bytes of each string array element shown */

/* Appends s quoted, escaping control characters and invalid UTF-8, showing
 * at most `max` bytes of it. */
static void put_str(dl_buf *out, const char *s, uint64_t n, uint64_t max) {
    dl_buf_append(out, "\"", 1);
    uint64_t i = 0;
    while (i < n && i < max) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int k = dl_utf8_decode(s + i, (size_t)(n - i), &cp);
        if (k == 0) {
            dl_buf_printf(out, "\\x%02x", c);
            i++;
        } else if (cp < 0x20 || cp == 0x7f) {
            if (cp == '\n') dl_buf_append(out, "\\n", 2);
            else if (cp == '\t') dl_buf_append(out, "\\t", 2);
            else if (cp == '\r') dl_buf_append(out, "\\r", 2);
            else dl_buf_printf(out, "\\x%02x", c);
            i++;
        } else if (cp == '"' || cp == '\\') {
            dl_buf_printf(out, "\\%c", (char)cp);
            i++;
        } else {
            dl_buf_append(out, s + i, (size_t)k);
            i += (uint64_t)k;
        }
    }
    dl_buf_append(out, "\"", 1);
    if (i < n) dl_buf_printf(out, "... (%" PRIu64 " bytes)", n);
}

/* Appends one fixed-size scalar of type t stored at p (unaligned). */
static void put_scalar(dl_buf *out, dl_gguf_vtype t, const uint8_t *p) {
    switch (t) {
    case DL_GGUF_UINT8: dl_buf_printf(out, "%u", p[0]); break;
    case DL_GGUF_INT8: { int8_t v; memcpy(&v, p, 1); dl_buf_printf(out, "%d", v); break; }
    case DL_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); dl_buf_printf(out, "%u", v); break; }
    case DL_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); dl_buf_printf(out, "%d", v); break; }
    case DL_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); dl_buf_printf(out, "%" PRIu32, v); break; }
    case DL_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); dl_buf_printf(out, "%" PRId32, v); break; }
    case DL_GGUF_UINT64: { uint64_t v; memcpy(&v, p, 8); dl_buf_printf(out, "%" PRIu64, v); break; }
    case DL_GGUF_INT64: { int64_t v; memcpy(&v, p, 8); dl_buf_printf(out, "%" PRId64, v); break; }
    case DL_GGUF_FLOAT32: { float v; memcpy(&v, p, 4); dl_buf_printf(out, "%.7g", (double)v); break; }
    case DL_GGUF_FLOAT64: { double v; memcpy(&v, p, 8); dl_buf_printf(out, "%.15g", v); break; }
    case DL_GGUF_BOOL: dl_buf_printf(out, "%s", p[0] ? "true" : "false"); break;
    default: dl_buf_printf(out, "?"); break;
    }
}

/* Appends entry i's value to out: scalars as-is, strings quoted and
 * escaped, arrays as [a, b, ...] with at most max_items elements followed by
 * the total count when abbreviated. Invalid i appends nothing. */
void dl_gguf_format_value(const dl_gguf *g, int64_t i, dl_buf *out, int max_items) {
    if (!g || i < 0 || i >= g->n_kv) return;
    const dl_gguf_kv *kv = &g->kv[i];
    if (kv->type == DL_GGUF_STRING) {
        put_str(out, (const char *)kv->val, kv->str_len, STR_SHOWN);
        return;
    }
    if (kv->type != DL_GGUF_ARRAY) {
        put_scalar(out, kv->type, kv->val);
        return;
    }
    uint64_t n = kv->arr_len;
    uint64_t shown = max_items < 0 ? 0 : (uint64_t)max_items;
    if (shown > n) shown = n;
    size_t es = dl_gguf_vtype_size(kv->arr_type);
    dl_buf_append(out, "[", 1);
    for (uint64_t j = 0; j < shown; j++) {
        if (j) dl_buf_append(out, ", ", 2);
        if (kv->arr_type == DL_GGUF_STRING) {
            dl_gguf_str s = dl_gguf_arr_str(g, i, j);
            put_str(out, s.ptr, s.len, ELEM_SHOWN);
        } else {
            put_scalar(out, kv->arr_type, kv->val + j * es);
        }
    }
    if (shown < n) dl_buf_printf(out, "%s...", shown ? ", " : "");
    dl_buf_append(out, "]", 1);
    if (shown < n)
        dl_buf_printf(out, " (%" PRIu64 " %s)", n, dl_gguf_vtype_name(kv->arr_type));
}
