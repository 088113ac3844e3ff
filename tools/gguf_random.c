/* gguf_random: writes a random-weight GGUF model (llama, qwen2, qwen3) of any
 * shape and tensor type, for tests and benchmarks.
 *
 * The output depends only on the options and --seed: every row of every
 * tensor draws from its own xoshiro256** stream (seeded from the seed, the
 * tensor name and the row), so the bytes are the same whatever the number
 * of threads. Weights are N(0,1) * 0.02 (Box-Muller), norm gains
 * 1 + N(0,1) * 0.02, biases N(0,1) * 0.02. Tensor names and metadata keys
 * are those llama.cpp reads. Without --vocab-from a small synthetic SPM
 * vocabulary (byte fallback) of --n-vocab tokens is written. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "sample/sample.h"

#define WEIGHT_STD 0.02f

/* --type values: a single tensor type, or the Q4_K_M mix. */
enum { MIX_NONE = 0, MIX_Q4_K_M = 1 };

typedef struct opts {
    const char *arch;
    int n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff, n_ctx, n_vocab;
    float rope_base, rms_eps;
    int tied; /* -1 = default for the architecture */
    int type, mix;
    uint64_t seed;
    const char *vocab_from;
    const char *out;
    int threads;
    bool quiet;
} opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: gguf_random -o OUT.gguf [options]\n"
            "Writes a GGUF model with random weights (deterministic from --seed).\n"
            "  --arch A          llama | qwen2 | qwen3 (default qwen3)\n"
            "  --n-layer N       blocks (default 2)\n"
            "  --n-embd N        embedding width (default 256)\n"
            "  --n-head N        attention heads (default 4)\n"
            "  --n-head-kv N     KV heads (default = n-head)\n"
            "  --head-dim N      per-head width (default n-embd / n-head)\n"
            "  --n-ff N          feed-forward width (default 3 * n-embd)\n"
            "  --n-ctx N         context_length (default 4096)\n"
            "  --rope-base F     rope.freq_base (default 1000000 for qwen, 10000 for llama)\n"
            "  --rms-eps F       attention.layer_norm_rms_epsilon (default 1e-6)\n"
            "  --tied/--untied   output shares token_embd (default: tied for qwen3)\n"
            "  --type T          F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K Q4_K_M\n"
            "                    (default F32; norms and biases stay F32)\n"
            "  --seed N          RNG seed (default 1)\n"
            "  --vocab-from F    copy all tokenizer.* metadata from GGUF file F\n"
            "  --n-vocab N       size of the synthetic vocabulary without --vocab-from (default 512)\n"
            "  --threads N       threads for generation (default: all cores)\n"
            "  -q, --quiet       no progress output\n"
            "  -o OUT            output file\n"
            "  -h, --help        this text\n");
}

static const struct {
    const char *name;
    int type, mix;
    uint32_t ftype; /* general.file_type (llama_ftype) */
} TYPES[] = {
    {"F32", DL_TYPE_F32, MIX_NONE, 0},   {"F16", DL_TYPE_F16, MIX_NONE, 1},
    {"BF16", DL_TYPE_BF16, MIX_NONE, 32}, {"Q8_0", DL_TYPE_Q8_0, MIX_NONE, 7},
    {"Q4_0", DL_TYPE_Q4_0, MIX_NONE, 2}, {"Q4_1", DL_TYPE_Q4_1, MIX_NONE, 3},
    {"Q5_0", DL_TYPE_Q5_0, MIX_NONE, 8}, {"Q5_1", DL_TYPE_Q5_1, MIX_NONE, 9},
    {"Q4_K", DL_TYPE_Q4_K, MIX_NONE, 14}, /* no pure-Q4_K ftype: Q4_K_S */
    {"Q5_K", DL_TYPE_Q5_K, MIX_NONE, 16}, /* Q5_K_S */
    {"Q6_K", DL_TYPE_Q6_K, MIX_NONE, 18}, {"Q4_K_M", DL_TYPE_Q4_K, MIX_Q4_K_M, 15},
};

static int parse_int(const char *s, const char *opt, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi) {
        fprintf(stderr, "gguf_random: %s expects an integer in [%d, %d], got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, const char *opt, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || end == s || !(v > 0.0f) || isinf(v)) {
        fprintf(stderr, "gguf_random: %s expects a positive number, got '%s'\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses argv into *o. Returns 0, 1 for --help, -1 on a bad option. */
static int parse_args(int argc, char **argv, opts *o) {
    *o = (opts){.arch = "qwen3", .n_layer = 2, .n_embd = 256, .n_head = 4, .n_ctx = 4096,
                .n_vocab = 512, .rms_eps = 1e-6f, .tied = -1, .type = DL_TYPE_F32, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return 1;
        if (!strcmp(a, "--tied")) { o->tied = 1; continue; }
        if (!strcmp(a, "--untied")) { o->tied = 0; continue; }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { o->quiet = true; continue; }
        if (i + 1 >= argc) {
            fprintf(stderr, "gguf_random: unknown option or missing value: %s (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        int rc = 0;
        if (!strcmp(a, "--arch")) o->arch = v;
        else if (!strcmp(a, "--n-layer")) rc = parse_int(v, a, 1, 1024, &o->n_layer);
        else if (!strcmp(a, "--n-embd")) rc = parse_int(v, a, 1, 1 << 16, &o->n_embd);
        else if (!strcmp(a, "--n-head")) rc = parse_int(v, a, 1, 1024, &o->n_head);
        else if (!strcmp(a, "--n-head-kv")) rc = parse_int(v, a, 1, 1024, &o->n_head_kv);
        else if (!strcmp(a, "--head-dim")) rc = parse_int(v, a, 1, 4096, &o->head_dim);
        else if (!strcmp(a, "--n-ff")) rc = parse_int(v, a, 1, 1 << 18, &o->n_ff);
        else if (!strcmp(a, "--n-ctx")) rc = parse_int(v, a, 1, 1 << 24, &o->n_ctx);
        else if (!strcmp(a, "--n-vocab")) rc = parse_int(v, a, 300, 1 << 20, &o->n_vocab);
        else if (!strcmp(a, "--threads")) rc = parse_int(v, a, 1, 256, &o->threads);
        else if (!strcmp(a, "--rope-base")) rc = parse_float(v, a, &o->rope_base);
        else if (!strcmp(a, "--rms-eps")) rc = parse_float(v, a, &o->rms_eps);
        else if (!strcmp(a, "--vocab-from")) o->vocab_from = v;
        else if (!strcmp(a, "-o")) o->out = v;
        else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 0);
            if (errno || *end || end == v) {
                fprintf(stderr, "gguf_random: --seed expects an unsigned integer, got '%s'\n", v);
                return -1;
            }
            o->seed = s;
        } else if (!strcmp(a, "--type")) {
            size_t k = 0;
            while (k < DL_ARRAY_LEN(TYPES) && strcasecmp(TYPES[k].name, v)) k++;
            if (k == DL_ARRAY_LEN(TYPES)) {
                fprintf(stderr, "gguf_random: unknown --type '%s' (see --help)\n", v);
                return -1;
            }
            o->type = TYPES[k].type;
            o->mix = TYPES[k].mix;
        } else {
            fprintf(stderr, "gguf_random: unknown option %s (see --help)\n", a);
            return -1;
        }
        if (rc) return -1;
    }
    if (!o->out) {
        fprintf(stderr, "gguf_random: missing -o OUT (see --help)\n");
        return -1;
    }
    if (strcmp(o->arch, "llama") && strcmp(o->arch, "qwen2") && strcmp(o->arch, "qwen3")) {
        fprintf(stderr, "gguf_random: unsupported --arch '%s' (llama, qwen2, qwen3)\n", o->arch);
        return -1;
    }
    if (!o->n_head_kv) o->n_head_kv = o->n_head;
    if (o->n_head % o->n_head_kv) {
        fprintf(stderr, "gguf_random: --n-head %d is not a multiple of --n-head-kv %d\n", o->n_head,
                o->n_head_kv);
        return -1;
    }
    if (!o->head_dim) {
        if (o->n_embd % o->n_head) {
            fprintf(stderr, "gguf_random: --n-embd %d is not a multiple of --n-head %d; give --head-dim\n",
                    o->n_embd, o->n_head);
            return -1;
        }
        o->head_dim = o->n_embd / o->n_head;
    }
    if (o->head_dim % 2) {
        fprintf(stderr, "gguf_random: --head-dim must be even for RoPE, got %d\n", o->head_dim);
        return -1;
    }
    if (!o->n_ff) o->n_ff = 3 * o->n_embd;
    if (o->rope_base == 0.0f) o->rope_base = strcmp(o->arch, "llama") ? 1000000.0f : 10000.0f;
    if (o->tied < 0) o->tied = !strcmp(o->arch, "qwen3");
    if (!o->threads) o->threads = dl_cpu_count();
    return 0;
}

static uint32_t file_type_of(const opts *o) {
    for (size_t k = 0; k < DL_ARRAY_LEN(TYPES); k++)
        if (TYPES[k].type == o->type && TYPES[k].mix == o->mix) return TYPES[k].ftype;
    return 0;
}

/* ---- tensor types (llama.cpp's choices) --------------------------------- */

/* llama.cpp's "use more bits" layers of the Q4_K_M mix. */
static bool use_more_bits(int i_layer, int n_layer) {
    return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

/* Type of a 2-D weight `role` ("token_embd", "output", "attn_v", ...) of
 * layer il, before the row-length fallback. */
static int weight_type(const opts *o, const char *role, int il) {
    if (o->mix != MIX_Q4_K_M) return o->type;
    if (!strcmp(role, "output") || (o->tied && !strcmp(role, "token_embd"))) return DL_TYPE_Q6_K;
    if ((!strcmp(role, "attn_v") || !strcmp(role, "ffn_down")) && use_more_bits(il, o->n_layer))
        return DL_TYPE_Q6_K;
    return DL_TYPE_Q4_K;
}

/* K-quants need rows that are multiples of 256; like llama.cpp, fall back to
 * a 32-block type of similar size. Returns -1 when nothing fits. */
static int fit_type(int type, int64_t ne0, bool is_output) {
    int64_t be, bb;
    if (!dl_type_block(type, &be, &bb)) return -1;
    if (ne0 % be == 0) return type;
    if (is_output) type = DL_TYPE_Q8_0;
    else if (type == DL_TYPE_Q4_K) type = DL_TYPE_Q5_0;
    else if (type == DL_TYPE_Q5_K) type = DL_TYPE_Q5_1;
    else if (type == DL_TYPE_Q6_K) type = DL_TYPE_Q8_0;
    if (!dl_type_block(type, &be, &bb) || ne0 % be) return -1;
    return type;
}

/* ---- random data ---------------------------------------------------------- */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

enum { FILL_WEIGHT = 0, FILL_GAIN = 1 };

typedef struct gen_job {
    uint64_t tensor_seed;
    int type, fill;
    int64_t ne0, ne1;
    size_t row_bytes;
    char *dst;
    int failed;
} gen_job;

/* Fills n floats with N(0,1) (Box-Muller, pairs). */
static void normals(dl_rng *r, float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - dl_rng_uniform(r); /* (0, 1] */
        double u2 = dl_rng_uniform(r);
        float rad = sqrtf(-2.0f * logf((float)u1));
        float th = (float)(6.283185307179586 * u2);
        x[i] = rad * cosf(th);
        if (i + 1 < n) x[i + 1] = rad * sinf(th);
    }
}

static void gen_rows(void *ctx, int ith, int nth) {
    gen_job *j = ctx;
    int64_t r0, r1;
    dl_split_range(j->ne1, ith, nth, 1, &r0, &r1);
    float *row = malloc((size_t)j->ne0 * sizeof *row);
    if (!row) {
        j->failed = 1;
        return;
    }
    for (int64_t r = r0; r < r1; r++) {
        dl_rng rng;
        dl_rng_seed(&rng, j->tensor_seed + (uint64_t)r * 0x9E3779B97F4A7C15ull);
        normals(&rng, row, j->ne0);
        for (int64_t c = 0; c < j->ne0; c++)
            row[c] = j->fill == FILL_GAIN ? 1.0f + WEIGHT_STD * row[c] : WEIGHT_STD * row[c];
        if (dl_quantize_row(j->type, row, j->dst + (size_t)r * j->row_bytes, j->ne0)) j->failed = 1;
    }
    free(row);
}

typedef struct gen {
    const opts *o;
    dl_gguf_writer *w;
    dl_pool *pool;
    int64_t n_tensors;
    uint64_t bytes;
} gen;

/* Generates tensor `name` of shape ne0 x ne1 (ne1 = 1: a vector) in `type`
 * and adds it to the writer. */
static int add_tensor(gen *g, const char *name, int type, int fill, int64_t ne0, int64_t ne1,
                      dl_error *err) {
    int64_t rb = dl_type_row_bytes(type, ne0);
    if (rb < 0) return dl_error_set(err, 400, "%s: row of %lld is not a multiple of the %s block", name,
                                    (long long)ne0, dl_type_name(type));
    size_t size = (size_t)rb * (size_t)ne1;
    char *data = malloc(size);
    if (!data) return dl_error_set(err, 500, "%s: out of memory for %zu bytes", name, size);
    gen_job j = {.tensor_seed = g->o->seed ^ fnv1a(name), .type = type, .fill = fill, .ne0 = ne0,
                 .ne1 = ne1, .row_bytes = (size_t)rb, .dst = data};
    dl_pool_run(g->pool, gen_rows, &j);
    if (j.failed) {
        free(data);
        return dl_error_set(err, 500, "%s: cannot generate %s data", name, dl_type_name(type));
    }
    int64_t ne[2] = {ne0, ne1};
    dl_gguf_writer_add_tensor(g->w, name, type, ne1 == 1 ? 1 : 2, ne, data, size);
    free(data);
    g->n_tensors++;
    g->bytes += size;
    return 0;
}

/* A weight matrix: rows of ne0 inputs, ne1 outputs; type from the mix. */
static int add_weight(gen *g, const char *name, const char *role, int il, int64_t ne0, int64_t ne1,
                      dl_error *err) {
    bool is_out = !strcmp(role, "output") || (g->o->tied && !strcmp(role, "token_embd"));
    int type = fit_type(weight_type(g->o, role, il), ne0, is_out && g->o->mix == MIX_Q4_K_M);
    if (type < 0)
        return dl_error_set(err, 400, "%s: rows of %lld do not fit type %s", name, (long long)ne0,
                            dl_type_name(weight_type(g->o, role, il)));
    return add_tensor(g, name, type, FILL_WEIGHT, ne0, ne1, err);
}

/* ---- metadata ------------------------------------------------------------ */

static void set_arch_u32(dl_gguf_writer *w, const char *arch, const char *key, uint32_t v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    dl_gguf_writer_set_u32(w, k, v);
}

static void set_arch_f32(dl_gguf_writer *w, const char *arch, const char *key, float v) {
    char k[128];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    dl_gguf_writer_set_f32(w, k, v);
}

/* Copies tokenizer.* from a GGUF; sets *n_vocab from tokenizer.ggml.tokens. */
static int copy_vocab(dl_gguf_writer *w, const char *path, int *n_vocab, dl_error *err) {
    dl_gguf *v = dl_gguf_open(path, err);
    if (!v) return -1;
    int64_t kt = dl_gguf_find_key(v, "tokenizer.ggml.tokens");
    if (kt < 0 || dl_gguf_kv_type(v, kt) != DL_GGUF_ARRAY || dl_gguf_arr_type(v, kt) != DL_GGUF_STRING) {
        dl_gguf_close(v);
        return dl_error_set(err, 400, "%s: no tokenizer.ggml.tokens string array", path);
    }
    uint64_t n = dl_gguf_arr_len(v, kt);
    if (n == 0 || n > (1u << 24)) {
        dl_gguf_close(v);
        return dl_error_set(err, 400, "%s: tokenizer.ggml.tokens has %llu entries", path,
                            (unsigned long long)n);
    }
    *n_vocab = (int)n;
    for (int64_t i = 0; i < dl_gguf_n_kv(v); i++)
        if (!strncmp(dl_gguf_key(v, i), "tokenizer.", 10)) dl_gguf_writer_copy_kv(w, v, i);
    dl_gguf_close(v);
    return 0;
}

typedef struct vocab_build {
    char (*text)[16];
    int32_t *types;
    int n, cap;
} vocab_build;

/* Appends one piece (if there is room) of SPM token type `type`. */
static void piece(vocab_build *v, int type, const char *fmt, int a, int b) {
    if (v->n >= v->cap) return;
    snprintf(v->text[v->n], 16, fmt, a, b);
    v->types[v->n++] = type;
}

/* A synthetic SPM vocabulary: <unk> <s> </s>, the 256 byte tokens, then
 * printable characters with and without the word-start mark "▁", two-letter
 * pieces and "▁w<k>" fillers until n tokens (n >= 300). */
static void synth_vocab(dl_gguf_writer *w, int n) {
    enum { NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6 };
    vocab_build v = {.text = dl_xcalloc((size_t)n, 16), .types = dl_xcalloc((size_t)n, sizeof(int32_t)),
                     .cap = n};
    piece(&v, UNKNOWN, "<unk>", 0, 0);
    piece(&v, CONTROL, "<s>", 0, 0);
    piece(&v, CONTROL, "</s>", 0, 0);
    for (int b = 0; b < 256; b++) piece(&v, BYTE, "<0x%02X>", b, 0);
    piece(&v, NORMAL, "\xE2\x96\x81", 0, 0);
    for (int c = 0x21; c < 0x7F; c++) {
        piece(&v, NORMAL, "%c", c, 0);
        piece(&v, NORMAL, "\xE2\x96\x81%c", c, 0);
    }
    for (int a = 'a'; a <= 'z'; a++)
        for (int b = 'a'; b <= 'z'; b++) piece(&v, NORMAL, "%c%c", a, b);
    for (int k = 0; v.n < n; k++) piece(&v, NORMAL, "\xE2\x96\x81w%d", k, 0);

    dl_gguf_str *toks = dl_xcalloc((size_t)n, sizeof *toks);
    float *scores = dl_xcalloc((size_t)n, sizeof *scores);
    for (int k = 0; k < n; k++) {
        toks[k] = (dl_gguf_str){v.text[k], strlen(v.text[k])};
        scores[k] = v.types[k] == NORMAL ? -(float)k : 0.0f;
    }
    dl_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    dl_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n);
    dl_gguf_writer_set_arr(w, "tokenizer.ggml.scores", DL_GGUF_FLOAT32, scores, (uint64_t)n);
    dl_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", DL_GGUF_INT32, v.types, (uint64_t)n);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    dl_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    dl_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false);
    free(toks);
    free(scores);
    free(v.types);
    free(v.text);
}

static int build(const opts *o, dl_error *err) {
    double t0 = dl_time_ms();
    gen g = {.o = o, .w = dl_gguf_writer_new(), .pool = dl_pool_create(o->threads)};
    dl_gguf_writer *w = g.w;
    int rc = -1, n_vocab = o->n_vocab;
    const char *arch = o->arch;

    dl_gguf_writer_set_str(w, "general.architecture", arch);
    char name[160];
    snprintf(name, sizeof name, "deliberate random %s %dL %d", arch, o->n_layer, o->n_embd);
    dl_gguf_writer_set_str(w, "general.name", name);
    dl_gguf_writer_set_u32(w, "general.file_type", file_type_of(o));
    if (o->type != DL_TYPE_F32 && o->type != DL_TYPE_F16 && o->type != DL_TYPE_BF16)
        dl_gguf_writer_set_u32(w, "general.quantization_version", 2);
    set_arch_u32(w, arch, "block_count", (uint32_t)o->n_layer);
    set_arch_u32(w, arch, "context_length", (uint32_t)o->n_ctx);
    set_arch_u32(w, arch, "embedding_length", (uint32_t)o->n_embd);
    set_arch_u32(w, arch, "feed_forward_length", (uint32_t)o->n_ff);
    set_arch_u32(w, arch, "attention.head_count", (uint32_t)o->n_head);
    set_arch_u32(w, arch, "attention.head_count_kv", (uint32_t)o->n_head_kv);
    set_arch_u32(w, arch, "attention.key_length", (uint32_t)o->head_dim);
    set_arch_u32(w, arch, "attention.value_length", (uint32_t)o->head_dim);
    set_arch_u32(w, arch, "rope.dimension_count", (uint32_t)o->head_dim);
    set_arch_f32(w, arch, "rope.freq_base", o->rope_base);
    set_arch_f32(w, arch, "attention.layer_norm_rms_epsilon", o->rms_eps);
    if (o->vocab_from) {
        if (copy_vocab(w, o->vocab_from, &n_vocab, err)) goto out;
    } else {
        synth_vocab(w, n_vocab);
    }
    set_arch_u32(w, arch, "vocab_size", (uint32_t)n_vocab);

    int64_t E = o->n_embd, QD = (int64_t)o->n_head * o->head_dim,
            KVD = (int64_t)o->n_head_kv * o->head_dim, F = o->n_ff, V = n_vocab;
    if (add_weight(&g, "token_embd.weight", "token_embd", 0, E, V, err) ||
        add_tensor(&g, "output_norm.weight", DL_TYPE_F32, FILL_GAIN, E, 1, err))
        goto out;
    if (!o->tied && add_weight(&g, "output.weight", "output", 0, E, V, err)) goto out;
    bool qwen2 = !strcmp(arch, "qwen2"), qwen3 = !strcmp(arch, "qwen3");
    for (int l = 0; l < o->n_layer; l++) {
        char n[96];
#define T(fmt) (snprintf(n, sizeof n, "blk.%d." fmt, l), n)
        if (add_tensor(&g, T("attn_norm.weight"), DL_TYPE_F32, FILL_GAIN, E, 1, err) ||
            add_weight(&g, T("attn_q.weight"), "attn_q", l, E, QD, err) ||
            add_weight(&g, T("attn_k.weight"), "attn_k", l, E, KVD, err) ||
            add_weight(&g, T("attn_v.weight"), "attn_v", l, E, KVD, err) ||
            add_weight(&g, T("attn_output.weight"), "attn_output", l, QD, E, err))
            goto out;
        if (qwen2 && (add_tensor(&g, T("attn_q.bias"), DL_TYPE_F32, FILL_WEIGHT, QD, 1, err) ||
                      add_tensor(&g, T("attn_k.bias"), DL_TYPE_F32, FILL_WEIGHT, KVD, 1, err) ||
                      add_tensor(&g, T("attn_v.bias"), DL_TYPE_F32, FILL_WEIGHT, KVD, 1, err)))
            goto out;
        if (qwen3 &&
            (add_tensor(&g, T("attn_q_norm.weight"), DL_TYPE_F32, FILL_GAIN, o->head_dim, 1, err) ||
             add_tensor(&g, T("attn_k_norm.weight"), DL_TYPE_F32, FILL_GAIN, o->head_dim, 1, err)))
            goto out;
        if (add_tensor(&g, T("ffn_norm.weight"), DL_TYPE_F32, FILL_GAIN, E, 1, err) ||
            add_weight(&g, T("ffn_gate.weight"), "ffn_gate", l, E, F, err) ||
            add_weight(&g, T("ffn_up.weight"), "ffn_up", l, E, F, err) ||
            add_weight(&g, T("ffn_down.weight"), "ffn_down", l, F, E, err))
            goto out;
#undef T
        if (!o->quiet) fprintf(stderr, "\rgguf_random: layer %d/%d", l + 1, o->n_layer);
    }
    if (dl_gguf_writer_write(w, o->out, err)) goto out;
    if (!o->quiet)
        fprintf(stderr, "\rgguf_random: wrote %s: %s, %lld tensors, %.1f MB of weights in %.1f s\n",
                o->out, arch, (long long)g.n_tensors, (double)g.bytes / 1e6,
                (dl_time_ms() - t0) / 1000.0);
    rc = 0;
out:
    dl_gguf_writer_free(w);
    dl_pool_free(g.pool);
    return rc;
}

int main(int argc, char **argv) {
    opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc == 1) {
        usage(stdout);
        return 0;
    }
    if (rc) return 2;
    dl_error err = {0};
    if (build(&o, &err)) {
        fprintf(stderr, "gguf_random: %s\n", err.msg);
        return 1;
    }
    return 0;
}
