/* bench_engine: end-to-end speed of the engine on whole models, against
 * the memory bandwidth of the machine and llama.cpp's figures.
 *
 *   bench_engine [options] [MODEL.gguf ...]
 *   bench_engine --make            (writes and benchmarks the Qwen3-0.6B-shaped
 *                                   F16 / Q8_0 / Q4_K_M models)
 *
 * Measures, for 1 and 2 threads (--threads):
 *   - memory read bandwidth: a streaming read over a buffer far larger than
 *     the caches, split across the pool's threads (best of several passes);
 *   - prefill: tokens/s for one --n-prompt batch (default 128) from an empty
 *     KV cache;
 *   - decode: tokens/s for --n-gen single-token steps (default 64) from an
 *     empty KV cache (llama-bench's pp128 / tg64);
 * each the median of --reps runs (default 3) after one warm-up run. Decode
 * is memory-bound: every token reads every weight matrix once, so
 * bandwidth / (weight bytes per token) is the speed limit; the report shows
 * decode as a share of it. Bytes per token count the output matrix (the
 * token embedding when tied) in full and one embedding row for the lookup. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "sample/sample.h"

#define MAX_THREAD_SETTINGS 8
#define MAX_MODELS 16
#define MAX_REPS 100

/* llama.cpp on this machine, 2 threads, pp128 / tg64 (llama-bench). */
static const struct {
    const char *type;
    uint32_t file_type;
    double prefill, decode;
} REFERENCE[] = {
    {"Q8_0", 7, 270.0, 49.5},
    {"Q4_K_M", 15, 371.0, 73.6},
    {"F16", 1, 340.0, 32.5},
};
#define REF_THREADS 2
#define REF_BANDWIDTH_GBS 48.0

typedef struct opts {
    const char *models[MAX_MODELS];
    int n_models;
    int threads[MAX_THREAD_SETTINGS];
    int n_threads;
    int reps, n_prompt, n_gen;
    int bw_mb;
    bool make, force, json, no_bw;
    const char *models_dir, *vocab;
} opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_engine [options] [MODEL.gguf ...]\n"
            "Prefill and decode tokens/s of whole models at 1 and 2 threads, memory read\n"
            "bandwidth, decode as a share of the bandwidth limit, and the ratio to\n"
            "llama.cpp's figures for the Qwen3-0.6B shape.\n"
            "  --make            write the Qwen3-0.6B-shaped F16, Q8_0 and Q4_K_M models with\n"
            "                    gguf_random into --models-dir (kept if present) and bench them\n"
            "  --force           with --make: rewrite the models even if present\n"
            "  --models-dir D    default build/bench-models\n"
            "  --vocab F         vocabulary for --make (default ../shared/fixtures/vocab/ggml-vocab-qwen2.gguf)\n"
            "  --threads L       comma-separated thread counts (default 1,2)\n"
            "  --reps N          timed runs per figure, median reported (default 3)\n"
            "  --n-prompt N      prefill batch (default 128)\n"
            "  --n-gen N         decoded tokens (default 64)\n"
            "  --bw-mb N         bandwidth buffer in MiB (default 1024)\n"
            "  --no-bw           skip the bandwidth measurement\n"
            "  --json            one JSON object on stdout instead of the table\n"
            "  -h, --help        this text\n"
            "Without MODEL arguments the models of --models-dir are used.\n");
}

static int parse_pos(const char *s, const char *opt, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "bench_engine: %s expects an integer in [%d, %d], got '%s'\n", opt, lo, hi, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_threads(const char *s, opts *o) {
    o->n_threads = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->n_threads == MAX_THREAD_SETTINGS) {
            fprintf(stderr, "bench_engine: at most %d thread counts\n", MAX_THREAD_SETTINGS);
            return -1;
        }
        if (parse_pos(tok, "--threads", 1, 256, &o->threads[o->n_threads])) return -1;
        o->n_threads++;
    }
    if (!o->n_threads) {
        fprintf(stderr, "bench_engine: --threads needs at least one count\n");
        return -1;
    }
    return 0;
}

/* Returns 0, 1 for --help, -1 on bad usage. */
static int parse_args(int argc, char **argv, opts *o) {
    *o = (opts){.threads = {1, 2}, .n_threads = 2, .reps = 3, .n_prompt = 128, .n_gen = 64,
                .bw_mb = 1024, .models_dir = "build/bench-models",
                .vocab = "../shared/fixtures/vocab/ggml-vocab-qwen2.gguf"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return 1;
        if (!strcmp(a, "--make")) { o->make = true; continue; }
        if (!strcmp(a, "--force")) { o->force = true; continue; }
        if (!strcmp(a, "--json")) { o->json = true; continue; }
        if (!strcmp(a, "--no-bw")) { o->no_bw = true; continue; }
        if (a[0] != '-') {
            if (o->n_models == MAX_MODELS) {
                fprintf(stderr, "bench_engine: at most %d models\n", MAX_MODELS);
                return -1;
            }
            o->models[o->n_models++] = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_engine: unknown option or missing value: %s (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        int rc = 0;
        if (!strcmp(a, "--threads")) rc = parse_threads(v, o);
        else if (!strcmp(a, "--reps")) rc = parse_pos(v, a, 1, MAX_REPS, &o->reps);
        else if (!strcmp(a, "--n-prompt")) rc = parse_pos(v, a, 1, 8192, &o->n_prompt);
        else if (!strcmp(a, "--n-gen")) rc = parse_pos(v, a, 1, 8192, &o->n_gen);
        else if (!strcmp(a, "--bw-mb")) rc = parse_pos(v, a, 16, 1 << 16, &o->bw_mb);
        else if (!strcmp(a, "--models-dir")) o->models_dir = v;
        else if (!strcmp(a, "--vocab")) o->vocab = v;
        else {
            fprintf(stderr, "bench_engine: unknown option %s (see --help)\n", a);
            return -1;
        }
        if (rc) return -1;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* ---- memory bandwidth ----------------------------------------------------- */

typedef uint64_t v2u64 __attribute__((vector_size(16)));

typedef struct bw_job {
    const v2u64 *buf;
    int64_t n;               /* vectors */
    v2u64 sink[64];          /* per-thread results, so the reads are not optimised away */
} bw_job;

/* Streams over this thread's slice with 8 independent accumulators. */
static void bw_read(void *ctx, int ith, int nth) {
    bw_job *j = ctx;
    int64_t b, e;
    dl_split_range(j->n, ith, nth, 64, &b, &e);
    v2u64 a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    const v2u64 *p = j->buf;
    for (int64_t i = b; i + 8 <= e; i += 8) {
        a0 += p[i];
        a1 += p[i + 1];
        a2 += p[i + 2];
        a3 += p[i + 3];
        a4 += p[i + 4];
        a5 += p[i + 5];
        a6 += p[i + 6];
        a7 += p[i + 7];
    }
    j->sink[ith % 64] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

/* Best-of-passes read bandwidth in GB/s with nth threads; -1 on failure. */
static double measure_bandwidth(const void *buf, size_t bytes, int nth) {
    dl_pool *pool = dl_pool_create(nth);
    bw_job j = {.buf = buf, .n = (int64_t)(bytes / sizeof(v2u64))};
    dl_pool_run(pool, bw_read, &j); /* warm-up */
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        double t0 = dl_time_ms();
        dl_pool_run(pool, bw_read, &j);
        double ms = dl_time_ms() - t0;
        if (ms > 0) best = DL_MAX(best, (double)bytes / (ms * 1e6));
    }
    dl_pool_free(pool);
    return best;
}

/* ---- models ---------------------------------------------------------------- */

static const char *MADE[3][2] = {
    {"qwen3-0.6b-f16.gguf", "F16"},
    {"qwen3-0.6b-q8_0.gguf", "Q8_0"},
    {"qwen3-0.6b-q4_k_m.gguf", "Q4_K_M"},
};

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Directory of this executable (gguf_random is built beside it). */
static void exe_dir(char *out, size_t n) {
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    if (k <= 0) {
        snprintf(out, n, ".");
        return;
    }
    out[k] = '\0';
    char *s = strrchr(out, '/');
    if (s) *s = '\0';
}

/* Writes the three Qwen3-0.6B-shaped models (missing ones, or all with
 * --force) and adds them to the model list. */
static int make_models(opts *o, char paths[3][PATH_MAX]) {
    char dir[PATH_MAX], tool[PATH_MAX + 32];
    exe_dir(dir, sizeof dir);
    snprintf(tool, sizeof tool, "%s/gguf_random", dir);
    if (!file_exists(tool)) {
        fprintf(stderr, "bench_engine: %s not found (run make first)\n", tool);
        return -1;
    }
    if (!file_exists(o->vocab)) {
        fprintf(stderr, "bench_engine: vocabulary %s not found (give --vocab)\n", o->vocab);
        return -1;
    }
    dl_buf cmd = {0};
    dl_buf_printf(&cmd, "mkdir -p '%s'", o->models_dir);
    int rc = system(cmd.data);
    dl_buf_free(&cmd);
    if (rc != 0) {
        fprintf(stderr, "bench_engine: cannot create %s\n", o->models_dir);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        snprintf(paths[i], PATH_MAX, "%s/%s", o->models_dir, MADE[i][0]);
        if (o->n_models < MAX_MODELS) o->models[o->n_models++] = paths[i];
        if (file_exists(paths[i]) && !o->force) continue;
        cmd = (dl_buf){0};
        dl_buf_printf(&cmd,
                 "'%s' --arch qwen3 --n-layer 28 --n-embd 1024 --n-head 16 --n-head-kv 8 --head-dim 128 "
                 "--n-ff 3072 --n-ctx 40960 --rope-base 1000000 --tied --type %s --seed 1 "
                 "--vocab-from '%s' -o '%s'%s",
                 tool, MADE[i][1], o->vocab, paths[i], o->json ? " -q" : "");
        if (!o->json) fprintf(stderr, "bench_engine: writing %s\n", paths[i]);
        rc = system(cmd.data);
        dl_buf_free(&cmd);
        if (rc != 0) {
            fprintf(stderr, "bench_engine: gguf_random failed for %s\n", paths[i]);
            return -1;
        }
    }
    return 0;
}

typedef struct run_result {
    int threads;
    double prefill[MAX_REPS], decode[MAX_REPS];
    double prefill_med, decode_med;
} run_result;

typedef struct model_result {
    const char *path;
    char type[32];
    int ref;  /* index into REFERENCE, -1 when the shape or type differs */
    dl_hparams hp;
    uint64_t n_params, weight_bytes, bytes_per_token;
    double load_ms;
    double sample_ms; /* one dl_sampler_sample with default params on real logits */
    run_result runs[MAX_THREAD_SETTINGS];
} model_result;

/* Bytes of weights one decoded token reads: every tensor once, except that
 * an untied token embedding is only read one row at a time (the lookup);
 * a tied one is read in full by the output matmul, plus the row. */
static uint64_t bytes_per_token(const dl_model *m) {
    const dl_gguf *g = dl_model_gguf(m);
    const dl_gguf_tensor *te = dl_gguf_find_tensor(g, "token_embd.weight");
    uint64_t total = dl_model_weight_bytes(m);
    if (!te || te->ne[1] <= 0) return total;
    uint64_t row = te->size / (uint64_t)te->ne[1];
    if (dl_model_hparams(m)->tied_output) return total + row;
    return total - te->size + row;
}

/* Type label: general.file_type name when known, else the dominant type. */
static void type_label(const dl_model *m, char *out, size_t n, uint32_t *ftype) {
    const dl_gguf *g = dl_model_gguf(m);
    uint32_t ft = UINT32_MAX;
    *ftype = UINT32_MAX;
    if (dl_gguf_get_u32(g, "general.file_type", &ft)) {
        *ftype = ft;
        static const struct {
            uint32_t ft;
            const char *name;
        } names[] = {{0, "F32"},  {1, "F16"},     {2, "Q4_0"},    {3, "Q4_1"},   {7, "Q8_0"},
                     {8, "Q5_0"}, {9, "Q5_1"},    {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"},
                     {17, "Q5_K_M"}, {18, "Q6_K"}, {32, "BF16"}};
        for (size_t i = 0; i < DL_ARRAY_LEN(names); i++)
            if (names[i].ft == ft) {
                snprintf(out, n, "%s", names[i].name);
                return;
            }
    }
    const dl_gguf_tensor *t = dl_gguf_find_tensor(g, "blk.0.ffn_up.weight");
    snprintf(out, n, "%s", t ? dl_type_name(t->type) : "?");
}

/* Qwen3-0.6B's shape: the only one the reference figures apply to. */
static bool is_qwen3_06b(const dl_hparams *hp) {
    return hp->n_layer == 28 && hp->n_embd == 1024 && hp->n_head == 16 && hp->n_head_kv == 8 &&
           hp->head_dim == 128 && hp->n_ff == 3072 && hp->n_vocab == 151936 && hp->tied_output;
}

/* Deterministic prompt ids spread over the vocabulary. */
static void make_tokens(int32_t *t, int n, int32_t n_vocab) {
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        t[i] = (int32_t)(x % (uint64_t)(n_vocab > 300 ? n_vocab - 300 : n_vocab));
    }
}

/* One prefill (n_prompt tokens) and one decode (n_gen single steps), both
 * from an empty cache; returns tokens/s in *pp and *tg. */
static int run_once(dl_context *c, const int32_t *toks, const opts *o, double *pp, double *tg,
                    dl_error *err) {
    dl_context_truncate(c, 0);
    double t0 = dl_time_ms();
    if (dl_context_decode(c, toks, o->n_prompt, false, err)) return -1;
    double t1 = dl_time_ms();
    dl_context_truncate(c, 0);
    double t2 = dl_time_ms();
    for (int i = 0; i < o->n_gen; i++)
        if (dl_context_decode(c, &toks[i], 1, false, err)) return -1;
    double t3 = dl_time_ms();
    *pp = o->n_prompt * 1000.0 / DL_MAX(t1 - t0, 1e-6);
    *tg = o->n_gen * 1000.0 / DL_MAX(t3 - t2, 1e-6);
    return 0;
}

/* Milliseconds per dl_sampler_sample with the default chain (top-k 40,
 * top-p 0.95, min-p 0.05, temperature 0.8, repetition penalty 1.1). */
static double time_sampler(const float *logits, int32_t n_vocab) {
    dl_sampler_params p = dl_sampler_default_params();
    p.repeat_penalty = 1.1f;
    dl_sampler *s = dl_sampler_new(&p, n_vocab);
    if (!s) return 0;
    enum { N = 100 };
    double t0 = dl_time_ms();
    for (int i = 0; i < N; i++) dl_sampler_accept(s, dl_sampler_sample(s, logits));
    double ms = (dl_time_ms() - t0) / N;
    dl_sampler_free(s);
    return ms;
}

static int bench_model(const opts *o, const char *path, model_result *r) {
    dl_error err = {0};
    memset(r, 0, sizeof *r);
    r->path = path;
    r->ref = -1;
    double t0 = dl_time_ms();
    dl_model *m = dl_model_load(path, NULL, NULL, &err);
    if (!m) {
        fprintf(stderr, "bench_engine: %s\n", err.msg);
        return -1;
    }
    r->load_ms = dl_time_ms() - t0;
    r->hp = *dl_model_hparams(m);
    r->n_params = dl_model_n_params(m);
    r->weight_bytes = dl_model_weight_bytes(m);
    r->bytes_per_token = bytes_per_token(m);
    uint32_t ft;
    type_label(m, r->type, sizeof r->type, &ft);
    if (is_qwen3_06b(&r->hp))
        for (int k = 0; k < (int)DL_ARRAY_LEN(REFERENCE); k++)
            if (REFERENCE[k].file_type == ft) r->ref = k;

    int n_tok = DL_MAX(o->n_prompt, o->n_gen);
    int32_t *toks = dl_xmalloc((size_t)n_tok * sizeof *toks);
    make_tokens(toks, n_tok, r->hp.n_vocab);
    int rc = 0;
    for (int ti = 0; ti < o->n_threads && rc == 0; ti++) {
        run_result *rr = &r->runs[ti];
        rr->threads = o->threads[ti];
        dl_context_params cp = {.n_ctx = n_tok + 16, .n_batch = o->n_prompt, .n_threads = rr->threads};
        dl_context *c = dl_context_create(m, &cp, &err);
        if (!c) {
            fprintf(stderr, "bench_engine: %s: %s\n", path, err.msg);
            rc = -1;
            break;
        }
        double pp, tg;
        rc = run_once(c, toks, o, &pp, &tg, &err); /* warm-up: page in the weights */
        for (int rep = 0; rep < o->reps && rc == 0; rep++)
            rc = run_once(c, toks, o, &rr->prefill[rep], &rr->decode[rep], &err);
        if (rc) fprintf(stderr, "bench_engine: %s: %s\n", path, err.msg);
        rr->prefill_med = median(rr->prefill, o->reps);
        rr->decode_med = median(rr->decode, o->reps);
        if (!o->json)
            fprintf(stderr, "bench_engine: %s, %d thread(s): prefill %.1f t/s, decode %.1f t/s\n", path,
                    rr->threads, rr->prefill_med, rr->decode_med);
        if (rc == 0 && ti == 0) r->sample_ms = time_sampler(dl_context_logits(c, 0), r->hp.n_vocab);
        dl_context_free(c);
    }
    free(toks);
    dl_model_free(m);
    return rc;
}

/* Bandwidth measured for n threads (0 when not measured). */
static double bw_for(const opts *o, const double *bw, int nth) {
    for (int i = 0; i < o->n_threads; i++)
        if (o->threads[i] == nth) return bw[i];
    return 0;
}

static void print_table(const opts *o, const double *bw, const model_result *res, int n_res) {
    printf("ISA: %s\n", dl_kernels_isa());
    if (!o->no_bw) {
        printf("memory read bandwidth (%d MiB buffer):", o->bw_mb);
        for (int i = 0; i < o->n_threads; i++) printf("  %d thread(s) %.1f GB/s", o->threads[i], bw[i]);
        double b2 = bw_for(o, bw, REF_THREADS);
        if (b2 > 0) printf("  (reference ~%.0f GB/s at %d threads: %.2fx)", REF_BANDWIDTH_GBS, REF_THREADS,
                           b2 / REF_BANDWIDTH_GBS);
        printf("\n");
    }
    printf("prefill = %d-token batch, decode = %d single-token steps, both from an empty cache; median of %d\n\n",
           o->n_prompt, o->n_gen, o->reps);
    printf("%-28s %-7s %9s %9s %3s %10s %10s %10s %8s %9s %9s\n", "model", "type", "weights", "read/tok",
           "thr", "prefill", "decode", "bw-limit", "dec/lim", "pp/llama", "tg/llama");
    printf("%-28s %-7s %9s %9s %3s %10s %10s %10s %8s %9s %9s\n", "", "", "MB", "MB", "", "t/s", "t/s",
           "t/s", "", "", "");
    for (int i = 0; i < n_res; i++) {
        const model_result *r = &res[i];
        const char *base = strrchr(r->path, '/');
        base = base ? base + 1 : r->path;
        for (int ti = 0; ti < o->n_threads; ti++) {
            const run_result *rr = &r->runs[ti];
            double b = bw[ti], limit = b > 0 ? b * 1e9 / (double)r->bytes_per_token : 0;
            char lim[16] = "-", share[16] = "-", ppr[16] = "-", tgr[16] = "-";
            if (limit > 0) {
                snprintf(lim, sizeof lim, "%.1f", limit);
                snprintf(share, sizeof share, "%.0f%%", 100.0 * rr->decode_med / limit);
            }
            if (r->ref >= 0 && rr->threads == REF_THREADS) {
                snprintf(ppr, sizeof ppr, "%.2fx", rr->prefill_med / REFERENCE[r->ref].prefill);
                snprintf(tgr, sizeof tgr, "%.2fx", rr->decode_med / REFERENCE[r->ref].decode);
            }
            char wmb[16] = "", tmb[16] = "";
            if (ti == 0) {
                snprintf(wmb, sizeof wmb, "%.1f", (double)r->weight_bytes / 1e6);
                snprintf(tmb, sizeof tmb, "%.1f", (double)r->bytes_per_token / 1e6);
            }
            printf("%-28.28s %-7s %9s %9s %3d %10.1f %10.1f %10s %8s %9s %9s\n", ti ? "" : base,
                   ti ? "" : r->type, wmb, tmb, rr->threads, rr->prefill_med, rr->decode_med, lim, share,
                   ppr, tgr);
        }
    }
    printf("\nsampling (default chain + repetition penalty, real logits):");
    for (int i = 0; i < n_res; i++) printf("  %.3f ms/token", res[i].sample_ms);
    printf("\nreference (llama.cpp, %d threads, pp%d/tg%d, Qwen3-0.6B shape):", REF_THREADS, 128, 64);
    for (size_t k = 0; k < DL_ARRAY_LEN(REFERENCE); k++)
        printf("  %s %.0f / %.1f t/s", REFERENCE[k].type, REFERENCE[k].prefill, REFERENCE[k].decode);
    printf("; read bandwidth ~%.0f GB/s\n", REF_BANDWIDTH_GBS);
}

static void print_json(const opts *o, const double *bw, const model_result *res, int n_res) {
    json_t *root = json_object();
    json_object_set_new(root, "isa", json_string(dl_kernels_isa()));
    json_object_set_new(root, "n_prompt", json_integer(o->n_prompt));
    json_object_set_new(root, "n_gen", json_integer(o->n_gen));
    json_object_set_new(root, "reps", json_integer(o->reps));
    json_t *jbw = json_array();
    for (int i = 0; i < o->n_threads && !o->no_bw; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "threads", json_integer(o->threads[i]));
        json_object_set_new(e, "read_gbps", json_real(bw[i]));
        json_array_append_new(jbw, e);
    }
    json_object_set_new(root, "bandwidth", jbw);
    json_t *jref = json_object();
    json_object_set_new(jref, "threads", json_integer(REF_THREADS));
    json_object_set_new(jref, "read_gbps", json_real(REF_BANDWIDTH_GBS));
    for (size_t k = 0; k < DL_ARRAY_LEN(REFERENCE); k++) {
        json_t *e = json_object();
        json_object_set_new(e, "prefill_tps", json_real(REFERENCE[k].prefill));
        json_object_set_new(e, "decode_tps", json_real(REFERENCE[k].decode));
        json_object_set_new(jref, REFERENCE[k].type, e);
    }
    json_object_set_new(root, "reference_llama_cpp", jref);
    json_t *jm = json_array();
    for (int i = 0; i < n_res; i++) {
        const model_result *r = &res[i];
        json_t *e = json_object();
        json_object_set_new(e, "file", json_string(r->path));
        json_object_set_new(e, "arch", json_string(r->hp.arch_name));
        json_object_set_new(e, "type", json_string(r->type));
        json_object_set_new(e, "n_params", json_integer((json_int_t)r->n_params));
        json_object_set_new(e, "weight_bytes", json_integer((json_int_t)r->weight_bytes));
        json_object_set_new(e, "bytes_per_token", json_integer((json_int_t)r->bytes_per_token));
        json_object_set_new(e, "load_ms", json_real(r->load_ms));
        json_object_set_new(e, "sample_ms", json_real(r->sample_ms));
        json_t *jr = json_array();
        for (int ti = 0; ti < o->n_threads; ti++) {
            const run_result *rr = &r->runs[ti];
            json_t *x = json_object();
            json_object_set_new(x, "threads", json_integer(rr->threads));
            json_object_set_new(x, "prefill_tps", json_real(rr->prefill_med));
            json_object_set_new(x, "decode_tps", json_real(rr->decode_med));
            json_t *pr = json_array(), *dr = json_array();
            for (int k = 0; k < o->reps; k++) {
                json_array_append_new(pr, json_real(rr->prefill[k]));
                json_array_append_new(dr, json_real(rr->decode[k]));
            }
            json_object_set_new(x, "prefill_runs", pr);
            json_object_set_new(x, "decode_runs", dr);
            if (!o->no_bw && bw[ti] > 0) {
                double limit = bw[ti] * 1e9 / (double)r->bytes_per_token;
                json_object_set_new(x, "bw_limit_tps", json_real(limit));
                json_object_set_new(x, "decode_share_of_limit", json_real(rr->decode_med / limit));
            }
            if (r->ref >= 0 && rr->threads == REF_THREADS) {
                json_object_set_new(x, "prefill_vs_llama_cpp", json_real(rr->prefill_med / REFERENCE[r->ref].prefill));
                json_object_set_new(x, "decode_vs_llama_cpp", json_real(rr->decode_med / REFERENCE[r->ref].decode));
            }
            json_array_append_new(jr, x);
        }
        json_object_set_new(e, "results", jr);
        json_array_append_new(jm, e);
    }
    json_object_set_new(root, "models", jm);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    printf("\n");
    json_decref(root);
}

int main(int argc, char **argv) {
    opts o;
    int prc = parse_args(argc, argv, &o);
    if (prc == 1) {
        usage(stdout);
        return 0;
    }
    if (prc) return 2;
    static char made[3][PATH_MAX];
    if (o.make && make_models(&o, made)) return 1;
    if (o.n_models == 0) {
        for (int i = 0; i < 3; i++) {
            snprintf(made[i], PATH_MAX, "%s/%s", o.models_dir, MADE[i][0]);
            if (file_exists(made[i])) o.models[o.n_models++] = made[i];
        }
        if (o.n_models == 0) {
            fprintf(stderr, "bench_engine: no models given and none in %s (use --make or give MODEL.gguf)\n",
                    o.models_dir);
            return 2;
        }
    }

    double bw[MAX_THREAD_SETTINGS] = {0};
    if (!o.no_bw) {
        size_t bytes = (size_t)o.bw_mb << 20;
        void *buf = aligned_alloc(64, bytes);
        if (!buf) {
            fprintf(stderr, "bench_engine: cannot allocate %d MiB for the bandwidth test\n", o.bw_mb);
            return 1;
        }
        memset(buf, 1, bytes);
        for (int i = 0; i < o.n_threads; i++) {
            bw[i] = measure_bandwidth(buf, bytes, o.threads[i]);
            if (!o.json)
                fprintf(stderr, "bench_engine: read bandwidth, %d thread(s): %.1f GB/s\n", o.threads[i], bw[i]);
        }
        free(buf);
    }

    model_result *res = dl_xcalloc((size_t)o.n_models, sizeof *res);
    int n_res = 0, rc = 0;
    for (int i = 0; i < o.n_models; i++) {
        if (bench_model(&o, o.models[i], &res[n_res]) == 0) n_res++;
        else rc = 1;
    }
    if (o.json) print_json(&o, bw, res, n_res);
    else print_table(&o, bw, res, n_res);
    free(res);
    return rc;
}
