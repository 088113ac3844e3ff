/* Tests of tools/gguf_random (the binary beside this test's build, or
 * $BUILD_DIR/gguf_random): every --type writes a file our reader accepts
 * with the expected shapes, types and metadata; the Q4_K_M mix follows
 * llama.cpp's rule; the output is deterministic from the seed and
 * independent of the thread count; the models load and run. Also a smoke
 * test of bench/bench_engine --json on a tiny model. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "base/base.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/model.h"

/* Path of a program of the build: $BUILD_DIR/<name>, else three
 * directories above this test binary (build/<cfg>/tests/cli/test_tools).
 * Returns a static buffer, overwritten per call. */
static const char *build_bin(const char *name) {
    static char path[4096];
    const char *bd = getenv("BUILD_DIR");
    if (bd && *bd) {
        snprintf(path, sizeof path, "%s/%s", bd, name);
    } else {
        char exe[4000];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) n = 0;
        exe[n] = '\0';
        for (int up = 0; up < 3; up++) {
            char *s = strrchr(exe, '/');
            if (s) *s = '\0';
        }
        snprintf(path, sizeof path, "%s/%s", exe, name);
    }
    struct stat st;
    if (stat(path, &st) != 0) fail_msg("%s not found: build it first (make all)", path);
    return path;
}

static const char *tool(void) { return build_bin("gguf_random"); }

/* Runs gguf_random with args, output to tmpdir/<out>; returns exit status. */
static int run_tool(const char *out, const char *args) {
    char cmd[8192];
    const char *tmp = dl_test_tmpdir();
    snprintf(cmd, sizeof cmd, "%s -q -o %s/%s %s >%s/tool.out 2>%s/tool.err", tool(), tmp, out, args, tmp,
             tmp);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *tmp_path(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dl_test_tmpdir(), name);
    return p;
}

static dl_gguf *open_tmp(const char *name) {
    dl_error err = {0};
    dl_gguf *g = dl_gguf_open(tmp_path(name), &err);
    if (!g) fail_msg("reopen %s: %s", name, err.msg);
    return g;
}

static uint32_t get_u32(const dl_gguf *g, const char *key) {
    uint32_t v = 0;
    if (!dl_gguf_get_u32(g, key, &v)) fail_msg("missing key %s", key);
    return v;
}

/* Asserts tensor `name` exists with shape ne0 x ne1 (ne1 = 0: 1-D) and type. */
static void check_tensor(const dl_gguf *g, const char *name, int64_t ne0, int64_t ne1, int type) {
    const dl_gguf_tensor *t = dl_gguf_find_tensor(g, name);
    if (!t) fail_msg("missing tensor %s", name);
    if (t->ne[0] != ne0 || (ne1 ? t->ne[1] != ne1 || t->n_dims != 2 : t->n_dims != 1))
        fail_msg("%s: shape [%lld, %lld] n_dims %d, expected [%lld, %lld]", name, (long long)t->ne[0],
                 (long long)t->ne[1], t->n_dims, (long long)ne0, (long long)ne1);
    if (t->type != type)
        fail_msg("%s: type %s, expected %s", name, dl_type_name(t->type), dl_type_name(type));
    assert_int_equal(t->size, (uint64_t)dl_type_row_bytes(type, ne0) * (uint64_t)(ne1 ? ne1 : 1));
}

static bool files_equal(const char *a, const char *b) {
    size_t na, nb;
    char *da = dl_read_file(a, &na, NULL), *db = dl_read_file(b, &nb, NULL);
    assert_non_null(da);
    assert_non_null(db);
    bool eq = na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return eq;
}

#define SHAPE "--n-layer 2 --n-embd 256 --n-head 4 --n-head-kv 2 --head-dim 64 --n-ff 512 --n-vocab 400"

static void test_every_type(void **state) {
    static const struct {
        const char *opt;
        int type;
        uint32_t ftype;
    } types[] = {
        {"F32", DL_TYPE_F32, 0},   {"F16", DL_TYPE_F16, 1},   {"BF16", DL_TYPE_BF16, 32},
        {"Q8_0", DL_TYPE_Q8_0, 7}, {"Q4_0", DL_TYPE_Q4_0, 2}, {"Q4_1", DL_TYPE_Q4_1, 3},
        {"Q5_0", DL_TYPE_Q5_0, 8}, {"Q5_1", DL_TYPE_Q5_1, 9}, {"Q4_K", DL_TYPE_Q4_K, 14},
        {"Q5_K", DL_TYPE_Q5_K, 16}, {"Q6_K", DL_TYPE_Q6_K, 18},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(types); i++) {
        char args[512], out[64];
        snprintf(args, sizeof args, "--arch qwen3 --type %s " SHAPE, types[i].opt);
        snprintf(out, sizeof out, "t-%s.gguf", types[i].opt);
        int rc = run_tool(out, args);
        if (rc) fail_msg("gguf_random %s exited %d", args, rc);
        dl_gguf *g = open_tmp(out);
        assert_string_equal(dl_gguf_get_str(g, "general.architecture"), "qwen3");
        assert_int_equal(get_u32(g, "general.file_type"), types[i].ftype);
        assert_int_equal(get_u32(g, "qwen3.block_count"), 2);
        assert_int_equal(get_u32(g, "qwen3.embedding_length"), 256);
        assert_int_equal(get_u32(g, "qwen3.feed_forward_length"), 512);
        assert_int_equal(get_u32(g, "qwen3.attention.head_count"), 4);
        assert_int_equal(get_u32(g, "qwen3.attention.head_count_kv"), 2);
        assert_int_equal(get_u32(g, "qwen3.attention.key_length"), 64);
        assert_int_equal(get_u32(g, "qwen3.attention.value_length"), 64);
        assert_int_equal(get_u32(g, "qwen3.context_length"), 4096);
        float f;
        assert_true(dl_gguf_get_f32(g, "qwen3.rope.freq_base", &f) && f == 1000000.0f);
        assert_true(dl_gguf_get_f32(g, "qwen3.attention.layer_norm_rms_epsilon", &f) && f == 1e-6f);
        int t = types[i].type;
        /* qwen3 default: tied (no output.weight), q/k norms, no biases */
        assert_int_equal(dl_gguf_n_tensors(g), 3 + 2 * 11 - 1);
        check_tensor(g, "token_embd.weight", 256, 400, t);
        check_tensor(g, "output_norm.weight", 256, 0, DL_TYPE_F32);
        assert_null(dl_gguf_find_tensor(g, "output.weight"));
        for (int l = 0; l < 2; l++) {
            char n[64];
#define N(s) (snprintf(n, sizeof n, "blk.%d." s, l), n)
            check_tensor(g, N("attn_norm.weight"), 256, 0, DL_TYPE_F32);
            check_tensor(g, N("attn_q.weight"), 256, 256, t);
            check_tensor(g, N("attn_k.weight"), 256, 128, t);
            check_tensor(g, N("attn_v.weight"), 256, 128, t);
            check_tensor(g, N("attn_output.weight"), 256, 256, t);
            check_tensor(g, N("attn_q_norm.weight"), 64, 0, DL_TYPE_F32);
            check_tensor(g, N("attn_k_norm.weight"), 64, 0, DL_TYPE_F32);
            check_tensor(g, N("ffn_norm.weight"), 256, 0, DL_TYPE_F32);
            check_tensor(g, N("ffn_gate.weight"), 256, 512, t);
            check_tensor(g, N("ffn_up.weight"), 256, 512, t);
            check_tensor(g, N("ffn_down.weight"), 512, 256, t);
            assert_null(dl_gguf_find_tensor(g, N("attn_q.bias")));
#undef N
        }
        /* weights look like N(0, 0.02^2), norm gains like 1 + N(0, 0.02^2) */
        const dl_gguf_tensor *te = dl_gguf_find_tensor(g, "token_embd.weight");
        float row[256];
        double s = 0, s2 = 0;
        for (int r = 0; r < 400; r++) {
            assert_int_equal(dl_get_row(t, te->data, 256, r, row), 0);
            for (int c = 0; c < 256; c++) s += row[c], s2 += (double)row[c] * row[c];
        }
        double mean = s / (400 * 256), sd = sqrt(s2 / (400 * 256) - mean * mean);
        if (fabs(mean) > 0.002 || fabs(sd - 0.02) > 0.003)
            fail_msg("%s token_embd: mean %g sd %g", types[i].opt, mean, sd);
        const float *gain = dl_gguf_find_tensor(g, "blk.1.ffn_norm.weight")->data;
        s = 0;
        for (int c = 0; c < 256; c++) s += gain[c];
        assert_true(fabs(s / 256 - 1.0) < 0.01);
        dl_gguf_close(g);
    }
}

/* llama.cpp's Q4_K_M: Q6_K for the output (or tied embedding) and for
 * attn_v/ffn_down of the use_more_bits layers; Q4_K elsewhere. */
static void test_q4_k_m_mix(void **state) {
    assert_int_equal(run_tool("mix.gguf", "--arch llama --untied --type Q4_K_M --n-layer 8 --n-embd 256 "
                                          "--n-head 4 --n-ff 512 --n-vocab 300"),
                     0);
    dl_gguf *g = open_tmp("mix.gguf");
    assert_int_equal(get_u32(g, "general.file_type"), 15);
    check_tensor(g, "output.weight", 256, 300, DL_TYPE_Q6_K);
    check_tensor(g, "token_embd.weight", 256, 300, DL_TYPE_Q4_K);
    bool more[8] = {true, false, false, true, false, false, true, true}; /* n_layer 8 */
    for (int l = 0; l < 8; l++) {
        char n[64];
        int hi = more[l] ? DL_TYPE_Q6_K : DL_TYPE_Q4_K;
        snprintf(n, sizeof n, "blk.%d.attn_v.weight", l);
        check_tensor(g, n, 256, 256, hi);
        snprintf(n, sizeof n, "blk.%d.ffn_down.weight", l);
        check_tensor(g, n, 512, 256, hi);
        snprintf(n, sizeof n, "blk.%d.attn_k.weight", l);
        check_tensor(g, n, 256, 256, DL_TYPE_Q4_K);
        snprintf(n, sizeof n, "blk.%d.ffn_up.weight", l);
        check_tensor(g, n, 256, 512, DL_TYPE_Q4_K);
    }
    dl_gguf_close(g);

    /* tied: the embedding takes the output's Q6_K; rows of 96 cannot hold
     * K-quants: Q4_K -> Q5_0, Q6_K -> Q8_0 (output: Q8_0) */
    assert_int_equal(run_tool("mix2.gguf", "--arch qwen3 --tied --type Q4_K_M --n-layer 2 --n-embd 96 "
                                           "--n-head 2 --n-ff 256 --n-vocab 300"),
                     0);
    g = open_tmp("mix2.gguf");
    check_tensor(g, "token_embd.weight", 96, 300, DL_TYPE_Q8_0);
    check_tensor(g, "blk.0.attn_q.weight", 96, 96, DL_TYPE_Q5_0);
    check_tensor(g, "blk.0.ffn_down.weight", 256, 96, DL_TYPE_Q4_K); /* rows of 256 fit */
    check_tensor(g, "blk.1.attn_v.weight", 96, 96, DL_TYPE_Q8_0);   /* layer 1 of 2: more bits */
    check_tensor(g, "blk.1.ffn_down.weight", 256, 96, DL_TYPE_Q6_K);
    dl_gguf_close(g);
}

static void test_archs(void **state) {
    assert_int_equal(run_tool("q2.gguf", "--arch qwen2 --type F16 " SHAPE), 0);
    dl_gguf *g = open_tmp("q2.gguf");
    assert_string_equal(dl_gguf_get_str(g, "general.architecture"), "qwen2");
    assert_int_equal(get_u32(g, "qwen2.block_count"), 2);
    check_tensor(g, "output.weight", 256, 400, DL_TYPE_F16); /* qwen2 default: untied */
    check_tensor(g, "blk.1.attn_q.bias", 256, 0, DL_TYPE_F32);
    check_tensor(g, "blk.1.attn_k.bias", 128, 0, DL_TYPE_F32);
    check_tensor(g, "blk.1.attn_v.bias", 128, 0, DL_TYPE_F32);
    assert_null(dl_gguf_find_tensor(g, "blk.0.attn_q_norm.weight"));
    dl_gguf_close(g);

    assert_int_equal(run_tool("ll.gguf", "--arch llama --type Q8_0 --rope-base 5000 " SHAPE), 0);
    g = open_tmp("ll.gguf");
    float f;
    assert_true(dl_gguf_get_f32(g, "llama.rope.freq_base", &f) && f == 5000.0f);
    check_tensor(g, "output.weight", 256, 400, DL_TYPE_Q8_0);
    assert_null(dl_gguf_find_tensor(g, "blk.0.attn_q.bias"));
    assert_null(dl_gguf_find_tensor(g, "blk.0.attn_k_norm.weight"));
    dl_gguf_close(g);
}

static void test_deterministic(void **state) {
    const char *args = "--arch qwen3 --type Q4_K_M --seed 7 --threads 1 " SHAPE;
    assert_int_equal(run_tool("d1.gguf", args), 0);
    assert_int_equal(run_tool("d2.gguf", "--arch qwen3 --type Q4_K_M --seed 7 --threads 2 " SHAPE), 0);
    assert_int_equal(run_tool("d3.gguf", "--arch qwen3 --type Q4_K_M --seed 8 --threads 1 " SHAPE), 0);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s", tmp_path("d1.gguf"));
    snprintf(b, sizeof b, "%s", tmp_path("d2.gguf"));
    assert_true(files_equal(a, b));
    snprintf(b, sizeof b, "%s", tmp_path("d3.gguf"));
    assert_false(files_equal(a, b));
}

static void test_bad_options(void **state) {
    const char *bad[] = {"--type Q3_K", "--arch gpt2", "--n-layer 0", "--n-head 3 --n-head-kv 2",
                         "--n-embd abc", "--bogus 1", "--vocab-from /nonexistent.gguf"};
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        int rc = run_tool("bad.gguf", bad[i]);
        if (rc == 0) fail_msg("gguf_random %s succeeded", bad[i]);
    }
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s --help >/dev/null", tool());
    assert_int_equal(system(cmd), 0);
}

/* The written models load and run; with --vocab-from the tokenizer comes
 * from the given file. */
static void test_loads_and_runs(void **state) {
    const char *names[3] = {"r-llama.gguf", "r-qwen2.gguf", "r-qwen3.gguf"};
    const char *args[3] = {"--arch llama --type Q4_0 " SHAPE, "--arch qwen2 --type Q8_0 " SHAPE,
                           "--arch qwen3 --type Q4_K_M " SHAPE};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run_tool(names[i], args[i]), 0);
        dl_error err = {0};
        dl_model *m = dl_model_load(tmp_path(names[i]), NULL, NULL, &err);
        if (!m) fail_msg("load %s: %s", names[i], err.msg);
        assert_int_equal(dl_model_hparams(m)->n_vocab, 400);
        dl_context_params cp = {.n_ctx = 64, .n_threads = 1};
        dl_context *c = dl_context_create(m, &cp, &err);
        assert_non_null(c);
        int32_t toks[4] = {1, 100, 200, 300};
        assert_int_equal(dl_context_decode(c, toks, 4, false, &err), 0);
        const float *lg = dl_context_logits(c, 0);
        double s2 = 0;
        for (int v = 0; v < 400; v++) {
            assert_true(isfinite(lg[v]));
            s2 += (double)lg[v] * lg[v];
        }
        double rms = sqrt(s2 / 400);
        if (!(rms > 0.05 && rms < 20)) fail_msg("%s: logit rms %g", names[i], rms);
        dl_context_free(c);
        dl_model_free(m);
    }

    DL_REQUIRE_FIXTURES();
    char a[1024];
    snprintf(a, sizeof a, "--arch llama --type Q8_0 --vocab-from %s " SHAPE,
             dl_test_fixture("vocab/ggml-vocab-llama-spm.gguf"));
    assert_int_equal(run_tool("v.gguf", a), 0);
    dl_gguf *g = open_tmp("v.gguf");
    int64_t k = dl_gguf_find_key(g, "tokenizer.ggml.tokens");
    assert_true(k >= 0);
    assert_int_equal(dl_gguf_arr_len(g, k), 32000);
    assert_string_equal(dl_gguf_get_str(g, "tokenizer.ggml.model"), "llama");
    check_tensor(g, "token_embd.weight", 256, 32000, DL_TYPE_Q8_0);
    dl_gguf_close(g);
    dl_error err = {0};
    dl_model *m = dl_model_load(tmp_path("v.gguf"), NULL, NULL, &err);
    if (!m) fail_msg("load v.gguf: %s", err.msg);
    assert_int_equal(dl_model_hparams(m)->n_vocab, 32000);
    dl_model_free(m);
}

/* bench_engine --json on a tiny model: the figures are there and positive,
 * including the bandwidth loops, the concurrent sequences and the time to
 * first token (kept quick: one run each, a 16 MiB bandwidth buffer). */
static void test_bench_engine_json(void **state) {
    assert_int_equal(run_tool("b.gguf", "--arch qwen3 --type Q8_0 " SHAPE), 0);
    char cmd[8192];
    const char *tmp = dl_test_tmpdir();
    snprintf(cmd, sizeof cmd,
             "%s --json --bw-mb 16 --reps 1 --threads 1,2 --n-prompt 8 --n-gen 4 --seqs 1,3 --ttft-all "
             "%s/b.gguf >%s/bench.json 2>%s/bench.err",
             build_bin("bench_engine"), tmp, tmp, tmp);
    assert_int_equal(system(cmd), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/bench.json", tmp);
    json_error_t je;
    json_t *root = json_load_file(p, 0, &je);
    if (!root) fail_msg("bench.json: %s", je.text);
    assert_int_equal(json_integer_value(json_object_get(root, "reps")), 1);
    json_t *bw = json_object_get(root, "bandwidth");
    assert_int_equal(json_array_size(bw), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *b = json_array_get(bw, i);
        double best = json_real_value(json_object_get(b, "read_gbps"));
        assert_true(best > 0);
        /* the best is the maximum over the read loops, and names one of them */
        json_t *per = json_object_get(b, "per_method_gbps");
        assert_true(json_object_size(per) >= 2);
        assert_non_null(json_object_get(per, "generic"));
        const char *name;
        json_t *v;
        double mx = 0;
        json_object_foreach(per, name, v) mx = fmax(mx, json_real_value(v));
        assert_true(fabs(mx - best) < 1e-9);
        assert_non_null(json_object_get(per, json_string_value(json_object_get(b, "method"))));
    }
    json_t *models = json_object_get(root, "models");
    assert_int_equal(json_array_size(models), 1);
    json_t *m = json_array_get(models, 0);
    assert_string_equal(json_string_value(json_object_get(m, "type")), "Q8_0");
    assert_string_equal(json_string_value(json_object_get(m, "arch")), "qwen3");
    /* tied: bytes per token = all weights + one embedding row (256 x Q8_0) */
    json_int_t wb = json_integer_value(json_object_get(m, "weight_bytes"));
    json_int_t bpt = json_integer_value(json_object_get(m, "bytes_per_token"));
    assert_int_equal(bpt - wb, dl_type_row_bytes(DL_TYPE_Q8_0, 256));
    json_t *res = json_object_get(m, "results");
    assert_int_equal(json_array_size(res), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *r = json_array_get(res, i);
        assert_int_equal(json_integer_value(json_object_get(r, "threads")), (json_int_t)i + 1);
        double pp = json_real_value(json_object_get(r, "prefill_tps"));
        double tg = json_real_value(json_object_get(r, "decode_tps"));
        assert_true(pp > 0);
        assert_true(tg > 0);
        assert_int_equal(json_array_size(json_object_get(r, "decode_runs")), 1);
        json_t *d = json_object_get(r, "decode");
        assert_true(json_real_value(json_object_get(d, "min")) <= tg);
        assert_true(json_real_value(json_object_get(d, "max")) >= tg);
        /* the limit is the bandwidth probed beside these runs over the bytes per token */
        double gbps = json_real_value(json_object_get(r, "read_gbps"));
        assert_true(gbps > 0);
        assert_int_equal(json_array_size(json_object_get(json_object_get(r, "read_gbps_paired"), "runs")), 1);
        double limit = json_real_value(json_object_get(r, "bw_limit_tps"));
        assert_true(fabs(limit - gbps * 1e9 / (double)bpt) < 1e-5 * limit); /* JSON keeps 6 digits */
        assert_true(fabs(json_real_value(json_object_get(r, "decode_share_of_limit")) - tg / limit) < 1e-5 * tg / limit);
        assert_null(json_object_get(r, "decode_vs_llama_cpp")); /* not the 0.6B shape */
    }
    /* concurrent sequences at the largest thread count */
    json_t *conc = json_object_get(m, "concurrent");
    assert_int_equal(json_integer_value(json_object_get(conc, "threads")), 2);
    assert_int_equal(json_integer_value(json_object_get(conc, "steps")), 4);
    json_t *cr = json_object_get(conc, "results");
    assert_int_equal(json_array_size(cr), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(cr, i);
        json_int_t ns = json_integer_value(json_object_get(x, "n_seq"));
        assert_int_equal(ns, i ? 3 : 1);
        double agg = json_real_value(json_object_get(x, "aggregate_tps"));
        assert_true(agg > 0);
        assert_true(fabs(json_real_value(json_object_get(x, "per_seq_tps")) * (double)ns - agg) < 1e-5 * agg);
        assert_non_null(json_object_get(x, "vs_one_seq"));
    }
    /* time to first token, cold and warm, with its parts */
    json_t *tt = json_object_get(m, "ttft");
    assert_non_null(tt);
    assert_true(json_integer_value(json_object_get(tt, "prompt_tokens")) > 0);
    assert_non_null(json_string_value(json_object_get(tt, "eviction")));
    json_t *cold = json_object_get(tt, "cold");
    double total = json_real_value(json_object_get(cold, "total_ms"));
    assert_true(total > 0);
    assert_true(json_real_value(json_object_get(tt, "warm_ms")) > 0);
    double sum = 0;
    const char *parts[] = {"load_ms", "context_ms", "tokenize_ms", "prefill_ms", "sample_ms"};
    for (size_t k = 0; k < 5; k++) {
        double v = json_real_value(json_object_get(cold, parts[k]));
        assert_true(v >= 0);
        sum += v;
    }
    assert_true(fabs(sum - total) < 1e-5 * total + 1e-9);
    assert_non_null(json_object_get(json_object_get(root, "reference_llama_cpp"), "Q4_K_M"));
    json_decref(root);

    /* bad option values are refused with status 2 */
    snprintf(cmd, sizeof cmd, "%s --seqs 0 %s/b.gguf >/dev/null 2>&1", build_bin("bench_engine"), tmp);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),  cmocka_unit_test(test_q4_k_m_mix),
        cmocka_unit_test(test_archs),       cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_options), cmocka_unit_test(test_loads_and_runs),
        cmocka_unit_test(test_bench_engine_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
