/* deliberate info FILE [--json]: what a GGUF file holds. Works on any valid
 * GGUF, including vocabulary-only files and architectures the engine does
 * not run. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../gguf/gguf.h"
#include "cli.h"

static const char INFO_HELP[] =
    "usage: deliberate info FILE [--json]\n"
    "\n"
    "Prints a GGUF file's metadata, architecture, sizes and a summary of its\n"
    "tensor types. The file is validated first; a corrupt file gives one line\n"
    "naming the problem and exit status 1.\n"
    "\n"
    "  --json    one JSON object instead of text (arrays are abbreviated to\n"
    "            their length and first 8 items)\n";

typedef struct type_summary {
    int64_t count;
    uint64_t bytes, elems;
} type_summary;

static json_t *str_json(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    if (j) return j;
    /* not UTF-8: show the bytes with invalid ones replaced */
    char *copy = dl_xmalloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = dl_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            memcpy(copy + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(copy + o, s + i, (size_t)len);
            o += (size_t)len;
            i += (size_t)len;
        }
    }
    j = json_stringn(copy, o);
    free(copy);
    return j;
}

static json_t *scalar_json(dl_gguf_vtype t, const unsigned char *p) {
    switch (t) {
    case DL_GGUF_UINT8: return json_integer(p[0]);
    case DL_GGUF_INT8: return json_integer((int8_t)p[0]);
    case DL_GGUF_UINT16: { uint16_t v; memcpy(&v, p, 2); return json_integer(v); }
    case DL_GGUF_INT16: { int16_t v; memcpy(&v, p, 2); return json_integer(v); }
    case DL_GGUF_UINT32: { uint32_t v; memcpy(&v, p, 4); return json_integer(v); }
    case DL_GGUF_INT32: { int32_t v; memcpy(&v, p, 4); return json_integer(v); }
    case DL_GGUF_UINT64: { uint64_t v; memcpy(&v, p, 8); return v > INT64_MAX ? json_real((double)v) : json_integer((json_int_t)v); }
    case DL_GGUF_INT64: { int64_t v; memcpy(&v, p, 8); return json_integer(v); }
    case DL_GGUF_FLOAT32: { float v; memcpy(&v, p, 4); return json_real(v); }
    case DL_GGUF_FLOAT64: { double v; memcpy(&v, p, 8); return json_real(v); }
    case DL_GGUF_BOOL: return json_boolean(p[0] != 0);
    default: return json_null();
    }
}

static json_t *value_json(const dl_gguf *g, int64_t i) {
    dl_gguf_vtype t = dl_gguf_kv_type(g, i);
    const char *key = dl_gguf_key(g, i);
    if (t == DL_GGUF_STRING) {
        const char *s = dl_gguf_get_str(g, key);
        return s ? str_json(s, strlen(s)) : json_null();
    }
    if (t == DL_GGUF_ARRAY) {
        dl_gguf_vtype et = dl_gguf_arr_type(g, i);
        uint64_t n = dl_gguf_arr_len(g, i);
        json_t *items = json_array();
        uint64_t shown = n < 8 ? n : 8;
        for (uint64_t j = 0; j < shown; j++) {
            if (et == DL_GGUF_STRING) {
                dl_gguf_str s = dl_gguf_arr_str(g, i, j);
                json_array_append_new(items, str_json(s.ptr, (size_t)s.len));
            } else {
                const unsigned char *d = dl_gguf_arr_data(g, i);
                json_array_append_new(items, d ? scalar_json(et, d + j * dl_gguf_vtype_size(et)) : json_null());
            }
        }
        return json_pack("{s:s, s:I, s:o}", "array_of", dl_gguf_vtype_name(et), "length", (json_int_t)n,
                         "first", items);
    }
    /* scalar: format through the reader's getters */
    if (t == DL_GGUF_BOOL) {
        bool b = false;
        dl_gguf_get_bool(g, key, &b);
        return json_boolean(b);
    }
    if (t == DL_GGUF_FLOAT32 || t == DL_GGUF_FLOAT64) {
        float f = 0;
        dl_gguf_get_f32(g, key, &f);
        return json_real(f);
    }
    int64_t v;
    if (dl_gguf_get_i64(g, key, &v)) return json_integer(v);
    uint64_t u;
    if (dl_gguf_get_u64(g, key, &u)) return json_real((double)u);
    return json_null();
}

int cli_info(int argc, char **argv) {
    const char *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(INFO_HELP, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error("info", "unknown option '%s'", argv[i]);
        } else if (!path) {
            path = argv[i];
        } else {
            return cli_usage_error("info", "only one FILE may be given");
        }
    }
    if (!path) return cli_usage_error("info", "missing FILE");

    dl_error err = {0};
    dl_gguf *g = dl_gguf_open(path, &err);
    if (!g) return cli_fail("%s", err.msg);

    type_summary types[DL_TYPE_COUNT] = {{0}};
    uint64_t n_params = 0, tensor_bytes = 0;
    for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
        const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
        uint64_t elems = 1;
        for (int d = 0; d < t->n_dims; d++) elems *= (uint64_t)t->ne[d];
        if (t->type >= 0 && t->type < DL_TYPE_COUNT) {
            types[t->type].count++;
            types[t->type].bytes += t->size;
            types[t->type].elems += elems;
        }
        n_params += elems;
        tensor_bytes += t->size;
    }
    const char *arch = dl_gguf_get_str(g, "general.architecture");
    const char *name = dl_gguf_get_str(g, "general.name");

    if (as_json) {
        json_t *root = json_object();
        json_object_set_new(root, "file", json_string(path));
        json_object_set_new(root, "file_size", json_integer((json_int_t)dl_gguf_file_size(g)));
        json_object_set_new(root, "gguf_version", json_integer(dl_gguf_version(g)));
        json_object_set_new(root, "alignment", json_integer((json_int_t)dl_gguf_alignment(g)));
        json_object_set_new(root, "architecture", arch ? str_json(arch, strlen(arch)) : json_null());
        json_object_set_new(root, "n_params", json_integer((json_int_t)n_params));
        json_object_set_new(root, "tensor_bytes", json_integer((json_int_t)tensor_bytes));
        json_object_set_new(root, "n_tensors", json_integer(dl_gguf_n_tensors(g)));
        json_t *tt = json_object();
        for (int t = 0; t < DL_TYPE_COUNT; t++)
            if (types[t].count)
                json_object_set_new(tt, dl_type_name(t),
                                    json_pack("{s:I, s:I, s:I}", "tensors", (json_int_t)types[t].count, "bytes",
                                              (json_int_t)types[t].bytes, "elements", (json_int_t)types[t].elems));
        json_object_set_new(root, "tensor_types", tt);
        json_t *meta = json_object();
        for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) json_object_set_new(meta, dl_gguf_key(g, i), value_json(g, i));
        json_object_set_new(root, "metadata", meta);
        json_t *tensors = json_array();
        for (int64_t i = 0; i < dl_gguf_n_tensors(g); i++) {
            const dl_gguf_tensor *t = dl_gguf_tensor_at(g, i);
            json_t *shape = json_array();
            for (int d = 0; d < t->n_dims; d++) json_array_append_new(shape, json_integer(t->ne[d]));
            json_array_append_new(tensors, json_pack("{s:s, s:s, s:o, s:I, s:I}", "name", t->name, "type",
                                                     dl_type_name(t->type), "shape", shape, "offset",
                                                     (json_int_t)t->offset, "bytes", (json_int_t)t->size));
        }
        json_object_set_new(root, "tensors", tensors);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
        dl_gguf_close(g);
        return 0;
    }

    printf("file:          %s\n", path);
    printf("size:          %.2f MiB (%llu bytes), GGUF v%u, alignment %llu\n",
           (double)dl_gguf_file_size(g) / 1048576.0, (unsigned long long)dl_gguf_file_size(g), dl_gguf_version(g),
           (unsigned long long)dl_gguf_alignment(g));
    if (name) printf("name:          %s\n", name);
    printf("architecture:  %s\n", arch ? arch : "(none)");
    if (arch) {
        static const char *hp_keys[] = {"block_count", "context_length", "embedding_length", "feed_forward_length",
                                        "attention.head_count", "attention.head_count_kv", "attention.key_length",
                                        "rope.freq_base", "attention.layer_norm_rms_epsilon"};
        for (size_t k = 0; k < DL_ARRAY_LEN(hp_keys); k++) {
            char key[160];
            snprintf(key, sizeof key, "%s.%s", arch, hp_keys[k]);
            int64_t idx = dl_gguf_find_key(g, key);
            if (idx < 0) continue;
            dl_buf b = {0};
            dl_gguf_format_value(g, idx, &b, 4);
            printf("  %-30s %s\n", hp_keys[k], b.data ? b.data : "");
            dl_buf_free(&b);
        }
    }
    printf("parameters:    %.2f M (%llu)\n", (double)n_params / 1e6, (unsigned long long)n_params);
    printf("tensors:       %lld, %.2f MiB of data\n", (long long)dl_gguf_n_tensors(g), (double)tensor_bytes / 1048576.0);
    for (int t = 0; t < DL_TYPE_COUNT; t++)
        if (types[t].count)
            printf("  %-8s %5lld tensors  %10.2f MiB  %6.2f bits/weight\n", dl_type_name(t), (long long)types[t].count,
                   (double)types[t].bytes / 1048576.0,
                   types[t].elems ? 8.0 * (double)types[t].bytes / (double)types[t].elems : 0.0);
    printf("metadata:      %lld keys\n", (long long)dl_gguf_n_kv(g));
    for (int64_t i = 0; i < dl_gguf_n_kv(g); i++) {
        dl_buf b = {0};
        dl_gguf_format_value(g, i, &b, 6);
        printf("  %-42s %s\n", dl_gguf_key(g, i), b.data ? b.data : "");
        dl_buf_free(&b);
    }
    dl_gguf_close(g);
    return 0;
}
