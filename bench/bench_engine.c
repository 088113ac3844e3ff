/* bench_engine: end-to-end speed of the engine on whole models, against
 * the memory bandwidth of the machine and llama.cpp's figures.
 *
 *   bench_engine [options] [MODEL.gguf ...]
 *   bench_engine --make            (writes and benchmarks the Qwen3-0.6B-shaped
 *                                   F16 / Q8_0 / Q4_K_M models)
 *
 * Measures, for 1 and 2 threads (--threads):
 *   - memory read bandwidth: streaming reads over a buffer far larger than
 *     the caches, each pool thread reading its own contiguous part, with
 *     several read loops (AVX-512, AVX2, portable; with and without software
 *     prefetch) of which the best is kept (best of several passes each);
 *   - prefill: tokens/s for one --n-prompt batch (default 128) from an empty
 *     KV cache;
 *   - decode: tokens/s for --n-gen single-token steps (default 64) from an
 *     empty KV cache (llama-bench's pp128 / tg64);
 * each the median (and min, max) of --reps runs (default 5) after one
 * warm-up run. Decode is memory-bound: every token reads every weight matrix
 * once, so bandwidth / (weight bytes per token) is the speed limit; the
 * report shows decode as a share of it. Bytes per token count the output
 * matrix (the token embedding when tied) in full and one embedding row for
 * the lookup.
 * At the largest thread count it also measures
 *   - aggregate decode tokens/s with 1, 2, 4, 8 concurrent sequences (--seqs):
 *     one dl_context_decode_seqs call per step carrying one token of every
 *     sequence, after a short prompt in each;
 *   - time to first token from a cold start (Q4_K_M models, or all with
 *     --ttft-all): the file is evicted from the page cache, then model load,
 *     context creation, tokenisation, prefill of a short prompt and the
 *     first sampled token are timed; the warm figure is measured beside it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define BENCH_X86 1
#else
#define BENCH_X86 0
#endif

#include "base/base.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "sample/sample.h"

#define MAX_THREAD_SETTINGS 8
#define MAX_SEQ_SETTINGS 8
#define MAX_MODELS 16
#define MAX_REPS 100
#define MAX_BW_METHODS 8
#define SEQ_PROMPT 16   /* prompt tokens put into every sequence before the timed steps */
#define SEQ_MIN_CTX 256 /* KV cache length per sequence for the --seqs runs */
#define TTFT_WARM_RUNS 3

/* The prompt of the time-to-first-token measurement. */
static const char TTFT_PROMPT[] =
    "The old lighthouse keeper climbed the stairs every evening. Tell me, in a few sentences, what he saw "
    "from the top on the night of the storm.";

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
/* llama.cpp's server, Q4_K_M, 1 -> 4 concurrent sequences: 60 -> 75 t/s. */
#define REF_SERVER_1SEQ 60.0
#define REF_SERVER_4SEQ 75.0
#define GOAL_4SEQ_RATIO 2.5

typedef struct opts {
    const char *models[MAX_MODELS];
    int n_models;
    int threads[MAX_THREAD_SETTINGS];
    int n_threads;
    int seqs[MAX_SEQ_SETTINGS];
    int n_seqs;
    int reps, n_prompt, n_gen;
    int bw_mb;
    bool make, force, json, no_bw, no_seqs, no_ttft, ttft_all;
    const char *models_dir, *vocab;
} opts;

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_engine [options] [MODEL.gguf ...]\n"
            "Prefill and decode tokens/s of whole models at 1 and 2 threads, memory read\n"
            "bandwidth, decode as a share of the bandwidth limit, the ratio to llama.cpp's\n"
            "figures for the Qwen3-0.6B shape, aggregate decode with several concurrent\n"
            "sequences and the time to first token from a cold start.\n"
            "  --make            write the Qwen3-0.6B-shaped F16, Q8_0 and Q4_K_M models with\n"
            "                    gguf_random into --models-dir (kept if present) and bench them\n"
            "  --force           with --make: rewrite the models even if present\n"
            "  --models-dir D    default build/bench-models\n"
            "  --vocab F         vocabulary for --make (default ../shared/fixtures/vocab/ggml-vocab-qwen2.gguf)\n"
            "  --threads L       comma-separated thread counts (default 1,2)\n"
            "  --reps N          timed runs per figure: median, min and max reported (default 5)\n"
            "  --n-prompt N      prefill batch (default 128)\n"
            "  --n-gen N         decoded tokens, and decode steps of the --seqs runs (default 64)\n"
            "  --bw-mb N         bandwidth buffer in MiB (default 1024)\n"
            "  --no-bw           skip the bandwidth measurement\n"
            "  --seqs L          concurrent sequence counts for aggregate decode, at the largest\n"
            "                    thread count (default 1,2,4,8)\n"
            "  --no-seqs         skip the concurrent-sequence measurement\n"
            "  --ttft-all        time to first token for every model (default: Q4_K_M models only)\n"
            "  --no-ttft         skip the time-to-first-token measurement\n"
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

/* Comma-separated integers in [lo, hi] into out[0..max); count in *n. */
static int parse_list(const char *s, const char *opt, int lo, int hi, int *out, int max, int *n) {
    *n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (*n == max) {
            fprintf(stderr, "bench_engine: %s takes at most %d values\n", opt, max);
            return -1;
        }
        if (parse_pos(tok, opt, lo, hi, &out[*n])) return -1;
        (*n)++;
    }
    if (!*n) {
        fprintf(stderr, "bench_engine: %s needs at least one value\n", opt);
        return -1;
    }
    return 0;
}

/* Returns 0, 1 for --help, -1 on bad usage. */
static int parse_args(int argc, char **argv, opts *o) {
    *o = (opts){.threads = {1, 2}, .n_threads = 2, .seqs = {1, 2, 4, 8}, .n_seqs = 4, .reps = 5,
                .n_prompt = 128, .n_gen = 64, .bw_mb = 1024, .models_dir = "build/bench-models",
                .vocab = "../shared/fixtures/vocab/ggml-vocab-qwen2.gguf"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return 1;
        if (!strcmp(a, "--make")) { o->make = true; continue; }
        if (!strcmp(a, "--force")) { o->force = true; continue; }
        if (!strcmp(a, "--json")) { o->json = true; continue; }
        if (!strcmp(a, "--no-bw")) { o->no_bw = true; continue; }
        if (!strcmp(a, "--no-seqs")) { o->no_seqs = true; continue; }
        if (!strcmp(a, "--no-ttft")) { o->no_ttft = true; continue; }
        if (!strcmp(a, "--ttft-all")) { o->ttft_all = true; continue; }
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
        if (!strcmp(a, "--threads")) rc = parse_list(v, a, 1, 256, o->threads, MAX_THREAD_SETTINGS, &o->n_threads);
        else if (!strcmp(a, "--seqs")) rc = parse_list(v, a, 1, 256, o->seqs, MAX_SEQ_SETTINGS, &o->n_seqs);
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

/* Median, minimum and maximum of v[0..n), n >= 1. */
typedef struct stats {
    double med, min, max;
} stats;

static stats summarize(const double *v, int n) {
    double s[MAX_REPS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return (stats){.med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]), .min = s[0], .max = s[n - 1]};
}

/* ---- memory bandwidth ----------------------------------------------------- */

/* A read loop: sums bytes [0, n) of p (n a multiple of 512, p 64-byte
 * aligned) with independent accumulators, prefetching `pf` bytes ahead
 * when pf > 0; the result only keeps the loads alive. */
typedef uint64_t (*bw_loop)(const char *p, size_t n, size_t pf);

typedef uint64_t v2u64 __attribute__((vector_size(16)));

/* Portable: 8 accumulators of 16 bytes (SSE2 on x86-64 at -O2). */
static uint64_t bw_read_generic(const char *p, size_t n, size_t pf) {
    v2u64 a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n; i += 128) {
        if (pf) __builtin_prefetch(p + i + pf);
        const v2u64 *q = (const v2u64 *)(const void *)(p + i);
        a0 += q[0];
        a1 += q[1];
        a2 += q[2];
        a3 += q[3];
        a4 += q[4];
        a5 += q[5];
        a6 += q[6];
        a7 += q[7];
    }
    v2u64 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    return s[0] + s[1];
}

#if BENCH_X86
/* AVX2: 8 accumulators of 32 bytes, 256 bytes per step. */
__attribute__((target("avx2"))) static uint64_t bw_read_avx2(const char *p, size_t n, size_t pf) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n; i += 256) {
        if (pf) {
            _mm_prefetch(p + i + pf, _MM_HINT_T0);
            _mm_prefetch(p + i + pf + 128, _MM_HINT_T0);
        }
        const __m256i *q = (const __m256i *)(const void *)(p + i);
        a0 = _mm256_add_epi64(a0, _mm256_load_si256(q + 0));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256(q + 1));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256(q + 2));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256(q + 3));
        a4 = _mm256_add_epi64(a4, _mm256_load_si256(q + 4));
        a5 = _mm256_add_epi64(a5, _mm256_load_si256(q + 5));
        a6 = _mm256_add_epi64(a6, _mm256_load_si256(q + 6));
        a7 = _mm256_add_epi64(a7, _mm256_load_si256(q + 7));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)),
                                 _mm256_add_epi64(_mm256_add_epi64(a4, a5), _mm256_add_epi64(a6, a7)));
    uint64_t out[4];
    _mm256_storeu_si256((__m256i *)(void *)out, s);
    return out[0] + out[1] + out[2] + out[3];
}

/* AVX-512: 8 accumulators of 64 bytes, 512 bytes per step. */
__attribute__((target("avx512f"))) static uint64_t bw_read_avx512(const char *p, size_t n, size_t pf) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (size_t i = 0; i < n; i += 512) {
        if (pf) {
            _mm_prefetch(p + i + pf, _MM_HINT_T0);
            _mm_prefetch(p + i + pf + 256, _MM_HINT_T0);
        }
        const __m512i *q = (const __m512i *)(const void *)(p + i);
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(q + 0));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(q + 1));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(q + 2));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(q + 3));
        a4 = _mm512_add_epi64(a4, _mm512_load_si512(q + 4));
        a5 = _mm512_add_epi64(a5, _mm512_load_si512(q + 5));
        a6 = _mm512_add_epi64(a6, _mm512_load_si512(q + 6));
        a7 = _mm512_add_epi64(a7, _mm512_load_si512(q + 7));
    }
    __m512i s = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                                 _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
    uint64_t out[8];
    _mm512_storeu_si512((void *)out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#endif

typedef struct bw_method {
    const char *name;
    bw_loop fn;
    size_t pf;
} bw_method;

/* The read loops this CPU can run, fastest kinds first. Returns the count. */
static int bw_methods(bw_method *out) {
    int n = 0;
#if BENCH_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        out[n++] = (bw_method){"avx512", bw_read_avx512, 0};
        out[n++] = (bw_method){"avx512+pf1k", bw_read_avx512, 1024};
    }
    if (__builtin_cpu_supports("avx2")) {
        out[n++] = (bw_method){"avx2", bw_read_avx2, 0};
        out[n++] = (bw_method){"avx2+pf1k", bw_read_avx2, 1024};
    }
#endif
    out[n++] = (bw_method){"generic", bw_read_generic, 0};
    out[n++] = (bw_method){"generic+pf1k", bw_read_generic, 1024};
    return n;
}

typedef struct bw_job {
    const char *buf;
    size_t bytes;
    bw_loop fn;
    size_t pf;
    uint64_t sink[64]; /* per-thread results, so the reads are not optimised away */
} bw_job;

/* Each thread streams its own contiguous part of the buffer (4 KiB-aligned
 * boundaries); the prefetch never reaches past the buffer's end because the
 * last 4 KiB-aligned part is read without it. */
static void bw_run(void *ctx, int ith, int nth) {
    bw_job *j = ctx;
    int64_t b, e;
    dl_split_range((int64_t)(j->bytes / 4096), ith, nth, 1, &b, &e);
    size_t off = (size_t)b * 4096, len = (size_t)(e - b) * 4096;
    if (len == 0) return;
    uint64_t s;
    if (j->pf && off + len == j->bytes && len > 4096)
        s = j->fn(j->buf + off, len - 4096, j->pf) + j->fn(j->buf + off + len - 4096, 4096, 0);
    else
        s = j->fn(j->buf + off, len, j->pf);
    j->sink[ith % 64] += s;
}

typedef struct bw_result {
    double gbps;                        /* best over methods */
    const char *method;                 /* the best method */
    int best;                           /* its index */
    double per_method[MAX_BW_METHODS]; /* best pass of each method */
} bw_result;

/* Read bandwidth in GB/s with nth threads: for every method, one warm-up
 * pass then the best of `passes`; the best method wins. */
static bw_result measure_bandwidth(const char *buf, size_t bytes, int nth, const bw_method *ms, int n_ms,
                                   int passes) {
    bw_result r = {0};
    dl_pool *pool = dl_pool_create(nth);
    for (int k = 0; k < n_ms; k++) {
        bw_job j = {.buf = buf, .bytes = bytes, .fn = ms[k].fn, .pf = ms[k].pf};
        dl_pool_run(pool, bw_run, &j); /* warm-up */
        double best = 0;
        for (int pass = 0; pass < passes; pass++) {
            double t0 = dl_time_ms();
            dl_pool_run(pool, bw_run, &j);
            double ms_ = dl_time_ms() - t0;
            if (ms_ > 0) best = DL_MAX(best, (double)bytes / (ms_ * 1e6));
        }
        r.per_method[k] = best;
        if (best > r.gbps) {
            r.gbps = best;
            r.method = ms[k].name;
            r.best = k;
        }
    }
    dl_pool_free(pool);
    return r;
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
    double bw[MAX_REPS]; /* read bandwidth measured just before each run, GB/s (0: not measured) */
    stats pp, tg, bws;
} run_result;

/* The bandwidth buffer, kept for the probes paired with the decode runs;
 * loop[i]: the best read loop at thread setting i. */
typedef struct bw_probe {
    const char *buf;
    size_t bytes;
    bw_method loop[MAX_THREAD_SETTINGS];
} bw_probe;

typedef struct seq_result {
    int n_seq;
    double runs[MAX_REPS]; /* aggregate tokens/s of each timed run */
    stats agg;
} seq_result;

/* The parts of one time-to-first-token run, milliseconds. */
typedef struct ttft_parts {
    double load, context, tokenize, prefill, sample, total;
} ttft_parts;

typedef struct ttft_result {
    bool done;
    int threads, n_prompt;
    double resident_before, resident_after; /* share of the file's pages in the page cache */
    char eviction[160];                     /* how the file was evicted, or why it was not */
    ttft_parts cold, warm;                  /* warm: the run with the median total */
} ttft_result;

typedef struct model_result {
    const char *path;
    char type[32];
    uint32_t file_type;
    int ref;  /* index into REFERENCE, -1 when the shape or type differs */
    dl_hparams hp;
    uint64_t n_params, weight_bytes, bytes_per_token;
    double load_ms;
    double sample_ms; /* one dl_sampler_sample with default params on real logits */
    run_result runs[MAX_THREAD_SETTINGS];
    int seq_threads;
    seq_result seqs[MAX_SEQ_SETTINGS];
    int n_seq_results;
    ttft_result ttft;
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

/* ---- concurrent sequences ---------------------------------------------------- */

/* One concurrent-sequence setting: a context with n_seq sequences, each
 * holding its own SEQ_PROMPT-token prompt, and the tokens of the steps. */
typedef struct seq_bench {
    dl_context *c;
    int n_seq;
    int32_t *toks; /* n_seq prompts, then n_gen steps of n_seq tokens */
    int32_t *ids;  /* 0, 1, ..., n_seq - 1 */
} seq_bench;

static void seq_bench_free(seq_bench *b) {
    dl_context_free(b->c);
    free(b->toks);
    free(b->ids);
    memset(b, 0, sizeof *b);
}

/* Makes the context (n_ctx just large enough, at least SEQ_MIN_CTX) and
 * prefills every sequence's prompt. -1 + err on failure (b freed). */
static int seq_bench_init(seq_bench *b, const dl_model *m, const opts *o, int nth, int n_seq, dl_error *err) {
    memset(b, 0, sizeof *b);
    const int n_tok = n_seq * (SEQ_PROMPT + o->n_gen);
    dl_context_params cp = {.n_ctx = DL_MAX(SEQ_MIN_CTX, SEQ_PROMPT + o->n_gen + 8),
                            .n_seq = n_seq,
                            .n_batch = DL_MAX(n_seq, SEQ_PROMPT),
                            .n_threads = nth};
    b->c = dl_context_create(m, &cp, err);
    if (!b->c) return -1;
    b->n_seq = n_seq;
    b->toks = dl_xmalloc((size_t)n_tok * sizeof *b->toks);
    b->ids = dl_xmalloc((size_t)DL_MAX(n_seq, SEQ_PROMPT) * sizeof *b->ids);
    make_tokens(b->toks, n_tok, dl_model_hparams(m)->n_vocab);
    /* tokens [s * SEQ_PROMPT, (s + 1) * SEQ_PROMPT) are sequence s's prompt */
    for (int s = 0; s < n_seq; s++) {
        for (int i = 0; i < SEQ_PROMPT; i++) b->ids[i] = s;
        if (dl_context_decode_seqs(b->c, b->toks + s * SEQ_PROMPT, b->ids, SEQ_PROMPT, err)) {
            seq_bench_free(b);
            return -1;
        }
    }
    for (int s = 0; s < n_seq; s++) b->ids[s] = s;
    return 0;
}

/* One timed run: every sequence cut back to its prompt, then n_gen steps,
 * each one dl_context_decode_seqs call with one token per sequence.
 * Aggregate tokens/s = n_seq * n_gen / time, in *tps. */
static int seq_bench_run(seq_bench *b, const opts *o, double *tps, dl_error *err) {
    const int n_seq = b->n_seq;
    const int32_t *gen = b->toks + n_seq * SEQ_PROMPT; /* step k: gen[k * n_seq .. + n_seq) */
    for (int s = 0; s < n_seq; s++) dl_context_seq_truncate(b->c, s, SEQ_PROMPT);
    double t0 = dl_time_ms();
    for (int k = 0; k < o->n_gen; k++)
        if (dl_context_decode_seqs(b->c, gen + (size_t)k * (size_t)n_seq, b->ids, n_seq, err)) return -1;
    double ms = dl_time_ms() - t0;
    for (int s = 0; s < n_seq; s++)
        if (dl_context_seq_n_past(b->c, s) != SEQ_PROMPT + o->n_gen)
            return dl_error_set(err, 500, "sequence %d holds %d tokens after the run, expected %d", s,
                                dl_context_seq_n_past(b->c, s), SEQ_PROMPT + o->n_gen);
    *tps = (double)n_seq * o->n_gen * 1000.0 / DL_MAX(ms, 1e-6);
    return 0;
}

/* Aggregate decode for every --seqs setting at nth threads. The settings
 * are interleaved (run k of every setting, then run k + 1, ...) so that a
 * disturbance of the shared machine hits them alike and the ratios hold;
 * one warm-up run each first. A short pause between settings lets the
 * previous context's pool threads stop spinning. */
static int run_all_seqs(const dl_model *m, const opts *o, int nth, model_result *r, dl_error *err) {
    seq_bench b[MAX_SEQ_SETTINGS];
    int n = 0, rc = 0;
    for (; n < o->n_seqs; n++) {
        if (seq_bench_init(&b[n], m, o, nth, o->seqs[n], err)) {
            rc = -1;
            break;
        }
        r->seqs[n].n_seq = o->seqs[n];
    }
    for (int rep = -1; rep < o->reps && rc == 0; rep++)
        for (int i = 0; i < n && rc == 0; i++) {
            double tps = 0;
            usleep(20000);
            rc = seq_bench_run(&b[i], o, &tps, err);
            if (rc == 0 && rep >= 0) r->seqs[i].runs[rep] = tps;
        }
    if (rc == 0) {
        for (int i = 0; i < n; i++) r->seqs[i].agg = summarize(r->seqs[i].runs, o->reps);
        r->n_seq_results = n;
    }
    for (int i = 0; i < n; i++) seq_bench_free(&b[i]);
    return rc;
}

/* ---- time to first token ----------------------------------------------------- */

/* Share of the file's pages resident in the page cache (mincore over a
 * fresh mapping, which faults nothing in); -1 when it cannot be told. */
static double resident_share(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    double share = -1;
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
        size_t len = (size_t)st.st_size;
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            long pg = sysconf(_SC_PAGESIZE);
            size_t n_pages = (len + (size_t)pg - 1) / (size_t)pg;
            unsigned char *vec = dl_xmalloc(n_pages);
            if (mincore(p, len, vec) == 0) {
                size_t in = 0;
                for (size_t i = 0; i < n_pages; i++) in += vec[i] & 1;
                share = (double)in / (double)n_pages;
            }
            free(vec);
            munmap(p, len);
        }
    }
    close(fd);
    return share;
}

/* Evicts the file from the page cache: fsync + posix_fadvise(DONTNEED);
 * if more than 1 % stays resident (pages mapped by some process, or a
 * kernel that ignores the advice), writes 1 to /proc/sys/vm/drop_caches
 * (root only; refused in many containers). Describes what happened in
 * r->eviction and fills the resident shares. */
static void evict_file(const char *path, ttft_result *r) {
    r->resident_before = resident_share(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(r->eviction, sizeof r->eviction, "failed: cannot open: %s", strerror(errno));
        r->resident_after = r->resident_before;
        return;
    }
    (void)fsync(fd);
    int arc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    close(fd);
    r->resident_after = resident_share(path);
    if (arc == 0 && r->resident_after >= 0 && r->resident_after <= 0.01) {
        snprintf(r->eviction, sizeof r->eviction, "posix_fadvise(DONTNEED)");
        return;
    }
    char why[96];
    snprintf(why, sizeof why, "posix_fadvise %s", arc ? strerror(arc) : "left pages resident");
    sync();
    int dfd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(r->eviction, sizeof r->eviction, "incomplete: %s; drop_caches refused: %s", why,
                 strerror(errno));
        return;
    }
    ssize_t w = write(dfd, "1", 1);
    int werr = errno;
    close(dfd);
    r->resident_after = resident_share(path);
    if (w != 1)
        snprintf(r->eviction, sizeof r->eviction, "incomplete: %s; drop_caches write refused: %s", why,
                 strerror(werr));
    else
        snprintf(r->eviction, sizeof r->eviction, "%s (%s)",
                 r->resident_after >= 0 && r->resident_after <= 0.01 ? "drop_caches" : "incomplete: drop_caches",
                 why);
}

/* One start: load the model, make a context as `deliberate run` does
 * (n_ctx 0: the default length), tokenise TTFT_PROMPT, prefill it and
 * sample the first token with the default sampler. Fills the parts in ms
 * and the prompt length; -1 + err on failure. */
static int ttft_once(const char *path, int nth, ttft_parts *t, int *n_prompt, dl_error *err) {
    double t0 = dl_time_ms();
    dl_model *m = dl_model_load(path, NULL, NULL, err);
    if (!m) return -1;
    double t1 = dl_time_ms();
    dl_context_params cp = {.n_threads = nth};
    dl_context *c = dl_context_create(m, &cp, err);
    if (!c) {
        dl_model_free(m);
        return -1;
    }
    double t2 = dl_time_ms();
    int32_t *ids = NULL;
    size_t n_ids = 0;
    int rc = dl_tokenize(dl_model_tokenizer(m), TTFT_PROMPT, sizeof TTFT_PROMPT - 1, true, false, &ids, &n_ids, err);
    double t3 = dl_time_ms(), t4 = t3, t5 = t3;
    if (rc == 0 && n_ids == 0) rc = dl_error_set(err, 500, "the prompt gave no tokens");
    if (rc == 0) rc = dl_context_decode(c, ids, (int32_t)n_ids, false, err);
    if (rc == 0) {
        t4 = dl_time_ms();
        dl_sampler_params sp = dl_sampler_default_params();
        dl_sampler *s = dl_sampler_new(&sp, dl_model_hparams(m)->n_vocab);
        int32_t tok = s ? dl_sampler_sample(s, dl_context_logits(c, 0)) : -1;
        t5 = dl_time_ms();
        dl_sampler_free(s);
        if (tok < 0 || tok >= dl_model_hparams(m)->n_vocab)
            rc = dl_error_set(err, 500, "the sampler gave no token (%d)", tok);
    }
    *t = (ttft_parts){.load = t1 - t0, .context = t2 - t1, .tokenize = t3 - t2, .prefill = t4 - t3,
                      .sample = t5 - t4, .total = t5 - t0};
    *n_prompt = (int)n_ids;
    free(ids);
    dl_context_free(c);
    dl_model_free(m);
    return rc;
}

static int cmp_ttft(const void *a, const void *b) {
    return cmp_double(&((const ttft_parts *)a)->total, &((const ttft_parts *)b)->total);
}

/* Cold start (after evicting the file) then TTFT_WARM_RUNS warm starts,
 * keeping the warm run with the median total. The model must not be mapped
 * by this process when called. */
static int measure_ttft(const char *path, int nth, ttft_result *r, dl_error *err) {
    r->threads = nth;
    evict_file(path, r);
    if (ttft_once(path, nth, &r->cold, &r->n_prompt, err)) return -1;
    ttft_parts warm[TTFT_WARM_RUNS];
    for (int i = 0; i < TTFT_WARM_RUNS; i++)
        if (ttft_once(path, nth, &warm[i], &r->n_prompt, err)) return -1;
    qsort(warm, TTFT_WARM_RUNS, sizeof *warm, cmp_ttft);
    r->warm = warm[TTFT_WARM_RUNS / 2];
    r->done = true;
    return 0;
}

/* ---- one model ------------------------------------------------------------- */

static int max_threads(const opts *o) {
    int t = o->threads[0];
    for (int i = 1; i < o->n_threads; i++) t = DL_MAX(t, o->threads[i]);
    return t;
}

/* Benchmarks one model into *r. Returns 0, -1 when nothing usable was
 * measured, 1 when the time to first token failed (the rest is kept). */
static int bench_model(const opts *o, const bw_probe *probe, const char *path, model_result *r) {
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
    type_label(m, r->type, sizeof r->type, &r->file_type);
    if (is_qwen3_06b(&r->hp))
        for (int k = 0; k < (int)DL_ARRAY_LEN(REFERENCE); k++)
            if (REFERENCE[k].file_type == r->file_type) r->ref = k;

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
        for (int rep = 0; rep < o->reps && rc == 0; rep++) {
            if (probe) { /* paired: the bandwidth of this moment, after the pool threads went quiet */
                usleep(20000);
                rr->bw[rep] = measure_bandwidth(probe->buf, probe->bytes, rr->threads, &probe->loop[ti], 1, 3).gbps;
            }
            rc = run_once(c, toks, o, &rr->prefill[rep], &rr->decode[rep], &err);
        }
        if (rc) fprintf(stderr, "bench_engine: %s: %s\n", path, err.msg);
        rr->pp = summarize(rr->prefill, o->reps);
        rr->tg = summarize(rr->decode, o->reps);
        rr->bws = summarize(rr->bw, o->reps);
        if (!o->json && rc == 0)
            fprintf(stderr, "bench_engine: %s, %d thread(s): prefill %.1f t/s, decode %.1f t/s\n", path,
                    rr->threads, rr->pp.med, rr->tg.med);
        if (rc == 0 && ti == 0) r->sample_ms = time_sampler(dl_context_logits(c, 0), r->hp.n_vocab);
        dl_context_free(c);
    }
    free(toks);

    r->seq_threads = max_threads(o);
    if (rc == 0 && !o->no_seqs) {
        rc = run_all_seqs(m, o, r->seq_threads, r, &err);
        if (rc) fprintf(stderr, "bench_engine: %s: concurrent sequences: %s\n", path, err.msg);
        for (int i = 0; i < r->n_seq_results && !o->json; i++)
            fprintf(stderr, "bench_engine: %s, %d thread(s), %d sequence(s): aggregate decode %.1f t/s\n", path,
                    r->seq_threads, r->seqs[i].n_seq, r->seqs[i].agg.med);
    }
    dl_model_free(m); /* unmapped: the file can be evicted now */

    if (rc) return -1;
    if (!o->no_ttft && (o->ttft_all || r->file_type == 15)) {
        /* a failure here keeps the figures above but fails the run */
        rc = measure_ttft(path, r->seq_threads, &r->ttft, &err) ? 1 : 0;
        if (rc) fprintf(stderr, "bench_engine: %s: time to first token: %s\n", path, err.msg);
        else if (!o->json)
            fprintf(stderr, "bench_engine: %s: time to first token: cold %.0f ms (%s), warm %.0f ms\n", path,
                    r->ttft.cold.total, r->ttft.eviction, r->ttft.warm.total);
    }
    return rc;
}

/* ---- output ----------------------------------------------------------------- */

/* Index of the thread setting nth, -1 when absent. */
static int thread_index(const opts *o, int nth) {
    for (int i = 0; i < o->n_threads; i++)
        if (o->threads[i] == nth) return i;
    return -1;
}

/* Aggregate t/s of one sequence, 0 when 1 is not among --seqs. */
static double one_seq_tps(const model_result *r) {
    for (int i = 0; i < r->n_seq_results; i++)
        if (r->seqs[i].n_seq == 1) return r->seqs[i].agg.med;
    return 0;
}

static void print_table(const opts *o, const bw_result *bw, const bw_method *ms, int n_ms,
                        const model_result *res, int n_res) {
    printf("ISA: %s\n", dl_kernels_isa());
    if (!o->no_bw) {
        printf("memory read bandwidth (%d MiB buffer, each thread its own part; best of 8 passes per loop):\n",
               o->bw_mb);
        for (int i = 0; i < o->n_threads; i++) {
            printf("  %d thread(s): %.1f GB/s (%s)   all loops:", o->threads[i], bw[i].gbps,
                   bw[i].method ? bw[i].method : "-");
            for (int k = 0; k < n_ms; k++) printf(" %s %.1f", ms[k].name, bw[i].per_method[k]);
            printf("\n");
        }
        int ri = thread_index(o, REF_THREADS);
        if (ri >= 0)
            printf("  reference ~%.0f GB/s at %d threads: this run %.2fx\n", REF_BANDWIDTH_GBS, REF_THREADS,
                   bw[ri].gbps / REF_BANDWIDTH_GBS);
    }
    printf("prefill = %d-token batch, decode = %d single-token steps, both from an empty cache;\n"
           "median [min-max] of %d runs; bw = median read bandwidth probed just before each run (best loop\n"
           "above, best of 3 passes); bw-limit = bw / read-per-token; dec/lim = decode / bw-limit\n\n",
           o->n_prompt, o->n_gen, o->reps);
    printf("%-26s %-7s %8s %8s %3s %8s %-13s %7s %-13s %5s %8s %7s %8s %8s\n", "model", "type", "weights",
           "read/tok", "thr", "prefill", "  [min-max]", "decode", "  [min-max]", "bw", "bw-limit", "dec/lim",
           "pp/llama", "tg/llama");
    printf("%-26s %-7s %8s %8s %3s %8s %-13s %7s %-13s %5s %8s %7s %8s %8s\n", "", "", "MB", "MB", "", "t/s", "",
           "t/s", "", "GB/s", "t/s", "", "", "");
    for (int i = 0; i < n_res; i++) {
        const model_result *r = &res[i];
        const char *base = strrchr(r->path, '/');
        base = base ? base + 1 : r->path;
        for (int ti = 0; ti < o->n_threads; ti++) {
            const run_result *rr = &r->runs[ti];
            double b = o->no_bw ? 0 : rr->bws.med, limit = b > 0 ? b * 1e9 / (double)r->bytes_per_token : 0;
            char bws[16] = "-", lim[16] = "-", share[16] = "-", ppr[16] = "-", tgr[16] = "-";
            if (limit > 0) {
                snprintf(bws, sizeof bws, "%.1f", b);
                snprintf(lim, sizeof lim, "%.1f", limit);
                snprintf(share, sizeof share, "%.0f%%", 100.0 * rr->tg.med / limit);
            }
            if (r->ref >= 0 && rr->threads == REF_THREADS) {
                snprintf(ppr, sizeof ppr, "%.2fx", rr->pp.med / REFERENCE[r->ref].prefill);
                snprintf(tgr, sizeof tgr, "%.2fx", rr->tg.med / REFERENCE[r->ref].decode);
            }
            char wmb[16] = "", tmb[16] = "", pprange[40], tgrange[40];
            if (ti == 0) {
                snprintf(wmb, sizeof wmb, "%.1f", (double)r->weight_bytes / 1e6);
                snprintf(tmb, sizeof tmb, "%.1f", (double)r->bytes_per_token / 1e6);
            }
            snprintf(pprange, sizeof pprange, "[%.0f-%.0f]", rr->pp.min, rr->pp.max);
            snprintf(tgrange, sizeof tgrange, "[%.1f-%.1f]", rr->tg.min, rr->tg.max);
            printf("%-26.26s %-7s %8s %8s %3d %8.1f %-13s %7.1f %-13s %5s %8s %7s %8s %8s\n", ti ? "" : base,
                   ti ? "" : r->type, wmb, tmb, rr->threads, rr->pp.med, pprange, rr->tg.med, tgrange, bws, lim,
                   share, ppr, tgr);
        }
    }

    if (!o->no_seqs) {
        printf("\nconcurrent sequences: aggregate decode t/s = sequences x %d steps / time; each step is one\n"
               "dl_context_decode_seqs call with one token per sequence, after a %d-token prompt in each;\n"
               "median [min-max] of %d runs (goal at 4 sequences: >= %.1fx one sequence; llama.cpp's server\n"
               "with Q4_K_M: %.0f -> %.0f t/s = %.2fx)\n\n",
               o->n_gen, SEQ_PROMPT, o->reps, GOAL_4SEQ_RATIO, REF_SERVER_1SEQ, REF_SERVER_4SEQ,
               REF_SERVER_4SEQ / REF_SERVER_1SEQ);
        printf("%-26s %-7s %3s %5s %10s %-15s %10s %8s\n", "model", "type", "thr", "seqs", "aggregate",
               "  [min-max]", "per seq", "vs 1 seq");
        printf("%-26s %-7s %3s %5s %10s %-15s %10s %8s\n", "", "", "", "", "t/s", "", "t/s", "");
        for (int i = 0; i < n_res; i++) {
            const model_result *r = &res[i];
            const char *base = strrchr(r->path, '/');
            base = base ? base + 1 : r->path;
            double one = one_seq_tps(r);
            for (int k = 0; k < r->n_seq_results; k++) {
                const seq_result *sr = &r->seqs[k];
                char range[48], ratio[16] = "-";
                snprintf(range, sizeof range, "[%.1f-%.1f]", sr->agg.min, sr->agg.max);
                if (one > 0) snprintf(ratio, sizeof ratio, "%.2fx", sr->agg.med / one);
                printf("%-26.26s %-7s %3d %5d %10.1f %-15s %10.1f %8s\n", k ? "" : base, k ? "" : r->type,
                       r->seq_threads, sr->n_seq, sr->agg.med, range, sr->agg.med / sr->n_seq, ratio);
            }
        }
    }

    bool any_ttft = false;
    for (int i = 0; i < n_res; i++) any_ttft |= res[i].ttft.done;
    if (any_ttft) {
        printf("\ntime to first token: model load + context (default n_ctx) + tokenize + prefill of a short\n"
               "prompt + first sampled token; cold = file evicted from the page cache first; warm = median of %d\n\n",
               TTFT_WARM_RUNS);
        printf("%-26s %-7s %3s %6s %8s %-30s %8s %-30s %s\n", "model", "type", "thr", "prompt", "cold ms",
               "  load/ctx/tok/prefill/sample", "warm ms", "  load/ctx/tok/prefill/sample",
               "eviction (resident before -> after)");
        for (int i = 0; i < n_res; i++) {
            const ttft_result *t = &res[i].ttft;
            if (!t->done) continue;
            const char *base = strrchr(res[i].path, '/');
            base = base ? base + 1 : res[i].path;
            char cp[96], wp[96];
            snprintf(cp, sizeof cp, "[%.0f/%.0f/%.1f/%.0f/%.1f]", t->cold.load, t->cold.context, t->cold.tokenize,
                     t->cold.prefill, t->cold.sample);
            snprintf(wp, sizeof wp, "[%.0f/%.0f/%.1f/%.0f/%.1f]", t->warm.load, t->warm.context, t->warm.tokenize,
                     t->warm.prefill, t->warm.sample);
            printf("%-26.26s %-7s %3d %6d %8.0f %-30s %8.0f %-30s %s (%.0f%% -> %.0f%%)\n", base, res[i].type,
                   t->threads, t->n_prompt, t->cold.total, cp, t->warm.total, wp, t->eviction,
                   100.0 * t->resident_before, 100.0 * t->resident_after);
        }
    }

    printf("\nsampling (default chain + repetition penalty, real logits):");
    for (int i = 0; i < n_res; i++) printf("  %.3f ms/token", res[i].sample_ms);
    printf("\nreference (llama.cpp, %d threads, pp%d/tg%d, Qwen3-0.6B shape):", REF_THREADS, 128, 64);
    for (size_t k = 0; k < DL_ARRAY_LEN(REFERENCE); k++)
        printf("  %s %.0f / %.1f t/s", REFERENCE[k].type, REFERENCE[k].prefill, REFERENCE[k].decode);
    printf("; read bandwidth ~%.0f GB/s\n", REF_BANDWIDTH_GBS);
}

static json_t *stats_json(const stats *s, const double *runs, int n) {
    json_t *e = json_object();
    json_object_set_new(e, "median", json_real(s->med));
    json_object_set_new(e, "min", json_real(s->min));
    json_object_set_new(e, "max", json_real(s->max));
    json_t *a = json_array();
    for (int k = 0; k < n; k++) json_array_append_new(a, json_real(runs[k]));
    json_object_set_new(e, "runs", a);
    return e;
}

static json_t *ttft_parts_json(const ttft_parts *t) {
    json_t *e = json_object();
    json_object_set_new(e, "total_ms", json_real(t->total));
    json_object_set_new(e, "load_ms", json_real(t->load));
    json_object_set_new(e, "context_ms", json_real(t->context));
    json_object_set_new(e, "tokenize_ms", json_real(t->tokenize));
    json_object_set_new(e, "prefill_ms", json_real(t->prefill));
    json_object_set_new(e, "sample_ms", json_real(t->sample));
    return e;
}

static void print_json(const opts *o, const bw_result *bw, const bw_method *ms, int n_ms,
                       const model_result *res, int n_res) {
    json_t *root = json_object();
    json_object_set_new(root, "isa", json_string(dl_kernels_isa()));
    json_object_set_new(root, "n_prompt", json_integer(o->n_prompt));
    json_object_set_new(root, "n_gen", json_integer(o->n_gen));
    json_object_set_new(root, "reps", json_integer(o->reps));
    json_t *jbw = json_array();
    for (int i = 0; i < o->n_threads && !o->no_bw; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "threads", json_integer(o->threads[i]));
        json_object_set_new(e, "read_gbps", json_real(bw[i].gbps));
        json_object_set_new(e, "method", json_string(bw[i].method ? bw[i].method : ""));
        json_object_set_new(e, "buffer_mib", json_integer(o->bw_mb));
        json_t *jm = json_object();
        for (int k = 0; k < n_ms; k++) json_object_set_new(jm, ms[k].name, json_real(bw[i].per_method[k]));
        json_object_set_new(e, "per_method_gbps", jm);
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
    json_t *jsrv = json_object();
    json_object_set_new(jsrv, "type", json_string("Q4_K_M"));
    json_object_set_new(jsrv, "one_seq_tps", json_real(REF_SERVER_1SEQ));
    json_object_set_new(jsrv, "four_seq_tps", json_real(REF_SERVER_4SEQ));
    json_object_set_new(jref, "server_concurrent", jsrv);
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
            json_object_set_new(x, "prefill_tps", json_real(rr->pp.med));
            json_object_set_new(x, "decode_tps", json_real(rr->tg.med));
            json_object_set_new(x, "prefill", stats_json(&rr->pp, rr->prefill, o->reps));
            json_object_set_new(x, "decode", stats_json(&rr->tg, rr->decode, o->reps));
            json_t *pr = json_array(), *dr = json_array();
            for (int k = 0; k < o->reps; k++) {
                json_array_append_new(pr, json_real(rr->prefill[k]));
                json_array_append_new(dr, json_real(rr->decode[k]));
            }
            json_object_set_new(x, "prefill_runs", pr);
            json_object_set_new(x, "decode_runs", dr);
            if (!o->no_bw && rr->bws.med > 0) {
                double limit = rr->bws.med * 1e9 / (double)r->bytes_per_token;
                json_object_set_new(x, "read_gbps", json_real(rr->bws.med));
                json_object_set_new(x, "read_gbps_paired", stats_json(&rr->bws, rr->bw, o->reps));
                json_object_set_new(x, "bw_limit_tps", json_real(limit));
                json_object_set_new(x, "decode_share_of_limit", json_real(rr->tg.med / limit));
            }
            if (r->ref >= 0 && rr->threads == REF_THREADS) {
                json_object_set_new(x, "prefill_vs_llama_cpp", json_real(rr->pp.med / REFERENCE[r->ref].prefill));
                json_object_set_new(x, "decode_vs_llama_cpp", json_real(rr->tg.med / REFERENCE[r->ref].decode));
            }
            json_array_append_new(jr, x);
        }
        json_object_set_new(e, "results", jr);
        if (!o->no_seqs) {
            json_t *js = json_object();
            json_object_set_new(js, "threads", json_integer(r->seq_threads));
            json_object_set_new(js, "prompt_tokens", json_integer(SEQ_PROMPT));
            json_object_set_new(js, "steps", json_integer(o->n_gen));
            json_t *ja = json_array();
            double one = one_seq_tps(r);
            for (int k = 0; k < r->n_seq_results; k++) {
                const seq_result *sr = &r->seqs[k];
                json_t *x = json_object();
                json_object_set_new(x, "n_seq", json_integer(sr->n_seq));
                json_object_set_new(x, "aggregate_tps", json_real(sr->agg.med));
                json_object_set_new(x, "per_seq_tps", json_real(sr->agg.med / sr->n_seq));
                json_object_set_new(x, "aggregate", stats_json(&sr->agg, sr->runs, o->reps));
                if (one > 0) json_object_set_new(x, "vs_one_seq", json_real(sr->agg.med / one));
                json_array_append_new(ja, x);
            }
            json_object_set_new(js, "results", ja);
            json_object_set_new(e, "concurrent", js);
        }
        if (r->ttft.done) {
            const ttft_result *t = &r->ttft;
            json_t *jt = json_object();
            json_object_set_new(jt, "threads", json_integer(t->threads));
            json_object_set_new(jt, "prompt_tokens", json_integer(t->n_prompt));
            json_object_set_new(jt, "eviction", json_string(t->eviction));
            json_object_set_new(jt, "resident_before", json_real(t->resident_before));
            json_object_set_new(jt, "resident_after", json_real(t->resident_after));
            json_object_set_new(jt, "cold_ms", json_real(t->cold.total));
            json_object_set_new(jt, "warm_ms", json_real(t->warm.total));
            json_object_set_new(jt, "cold", ttft_parts_json(&t->cold));
            json_object_set_new(jt, "warm", ttft_parts_json(&t->warm));
            json_object_set_new(e, "ttft", jt);
        }
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

    bw_result bw[MAX_THREAD_SETTINGS] = {0};
    bw_method ms[MAX_BW_METHODS];
    int n_ms = bw_methods(ms);
    bw_probe probe = {0};
    char *buf = NULL;
    if (!o.no_bw) {
        /* 2 MiB-aligned so that transparent huge pages can back it: fewer TLB
         * misses, the best the machine can stream */
        size_t bytes = (size_t)o.bw_mb << 20;
        buf = aligned_alloc((size_t)2 << 20, bytes);
        if (!buf) {
            fprintf(stderr, "bench_engine: cannot allocate %d MiB for the bandwidth test\n", o.bw_mb);
            return 1;
        }
        (void)madvise(buf, bytes, MADV_HUGEPAGE);
        memset(buf, 1, bytes);
        for (int i = 0; i < o.n_threads; i++) {
            bw[i] = measure_bandwidth(buf, bytes, o.threads[i], ms, n_ms, 8);
            if (!o.json)
                fprintf(stderr, "bench_engine: read bandwidth, %d thread(s): %.1f GB/s (%s)\n", o.threads[i],
                        bw[i].gbps, bw[i].method);
            probe.loop[i] = ms[bw[i].best];
        }
        probe.buf = buf;
        probe.bytes = bytes;
    }

    model_result *res = dl_xcalloc((size_t)o.n_models, sizeof *res);
    int n_res = 0, rc = 0;
    for (int i = 0; i < o.n_models; i++) {
        int brc = bench_model(&o, o.no_bw ? NULL : &probe, o.models[i], &res[n_res]);
        if (brc >= 0) n_res++;
        if (brc) rc = 1;
    }
    if (o.json) print_json(&o, bw, ms, n_ms, res, n_res);
    else print_table(&o, bw, ms, n_ms, res, n_res);
    free(res);
    free(buf);
    return rc;
}
