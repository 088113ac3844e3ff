/* The RL stage: the GRPO loss against finite differences (on logits and
 * through a whole model), its reduction to the weighted cross-entropy at
 * ratio 1, group-normalised advantages, rollouts, resume bit-identity and
 * a miniature RL run that must raise the mean reward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/testutil.h"
#include "grad_util.h"
#include "train/train_int.h"


/* ---- the loss on logits ---- */

enum { T = 6, V = 13 };

typedef struct { float *l; int32_t tg[T]; uint8_t mask[T]; dl_pg_terms pg; } pg_ctx;
static double pg_loss(pg_ctx *c) { return dl_tl_pg_loss(NULL, c->l, c->tg, c->mask, &c->pg, T, V, 1.0f); }

/* Per-position ratio old/new offsets chosen away from the clip boundaries
 * (a step of h = 1e-2 in the logits moves log p by < 2e-2): inside the
 * interval, clipped above and below, and unclipped outside it. */
static void setup_pg(pg_ctx *c, dl_trng *r, float adv, float *old, float *ref, float *cur) {
    static const int32_t tg[T] = {3, 0, 12, 7, 7, 1};
    static const uint8_t mask[T] = {1, 1, 0, 1, 1, 1};
    static const float dratio[T] = {0.0f, 0.45f, 0.0f, -0.6f, 0.1f, 0.7f}; /* log ratio */
    static const float dref[T] = {0.3f, -0.5f, 0.0f, 0.2f, 0.8f, -0.1f};
    c->l = randv(r, (size_t)T * V, 1.5);
    memcpy(c->tg, tg, sizeof tg);
    memcpy(c->mask, mask, sizeof mask);
    dl_tl_logprobs(cur, c->l, c->tg, T, V);
    for (int t = 0; t < T; t++) old[t] = cur[t] - dratio[t], ref[t] = cur[t] + dref[t];
    c->pg = (dl_pg_terms){.old_logp = old, .ref_logp = ref, .adv = adv, .clip_eps = 0.2f, .kl_beta = 0.3f,
                          .cur_logp = NULL};
}

static void test_pg_loss_fd(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 11);
    const float advs[] = {1.3f, -0.7f};
    for (int k = 0; k < 2; k++) {
        pg_ctx c;
        float old[T], ref[T], cur[T], out[T];
        setup_pg(&c, &r, advs[k], old, ref, cur);
        float *dl = calloc((size_t)T * V, sizeof(float));
        c.pg.cur_logp = out;
        double L = dl_tl_pg_loss(dl, c.l, c.tg, c.mask, &c.pg, T, V, 1.0f);
        c.pg.cur_logp = NULL;
        /* the value, term by term */
        double want = 0;
        for (int t = 0; t < T; t++) {
            if (!c.mask[t]) continue;
            assert_float_equal(out[t], cur[t], 1e-6);
            double ratio = exp((double)cur[t] - old[t]), cl = fmin(fmax(ratio, 0.8), 1.2);
            double d = (double)ref[t] - cur[t];
            want -= fmin(ratio * advs[k], cl * advs[k]) - 0.3 * (exp(d) - d - 1);
        }
        assert_float_equal(L, want, 1e-5);
        for (int i = 2 * V; i < 3 * V; i++) assert_true(dl[i] == 0.0f); /* masked-out row */
        /* central differences, h = 1e-2 */
        double *a = calloc((size_t)T * V, sizeof(double)), *num = calloc((size_t)T * V, sizeof(double));
        for (int i = 0; i < T * V; i++) {
            float keep = c.l[i];
            c.l[i] = keep + 1e-2f;
            double lp = pg_loss(&c);
            c.l[i] = keep - 1e-2f;
            double lm = pg_loss(&c);
            c.l[i] = keep;
            num[i] = (lp - lm) / 2e-2;
            a[i] = dl[i];
        }
        double e = rel_err(a, num, (size_t)T * V);
        print_message("  GRPO loss dlogits (adv %+.1f): relative error %.2e\n", (double)advs[k], e);
        assert_true(e < 2e-3);
        free(a), free(num), free(dl), free(c.l);
    }
}

/* At ratio 1 with the reference equal to the policy, the objective's
 * gradient is that of the cross-entropy weighted by the advantage. */
static void test_pg_equals_weighted_xent(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 12);
    float *l = randv(&r, (size_t)T * V, 1.0);
    int32_t tg[T] = {1, 2, 3, 4, 5, 6};
    uint8_t mask[T] = {0, 1, 1, 1, 1, 0};
    float lp[T], w[T];
    dl_tl_logprobs(lp, l, tg, T, V);
    for (int t = 0; t < T; t++) w[t] = -0.85f;
    dl_pg_terms pg = {.old_logp = lp, .ref_logp = lp, .adv = -0.85f, .clip_eps = 0.2f, .kl_beta = 0.5f};
    float *d1 = calloc((size_t)T * V, 4), *d2 = calloc((size_t)T * V, 4);
    double L = dl_tl_pg_loss(d1, l, tg, mask, &pg, T, V, 0.25f);
    dl_tl_xent(d2, l, tg, mask, w, T, V, 0.25f);
    assert_float_equal(L, 4 * 0.85, 1e-5); /* -J = -adv per token, KL 0 */
    for (int i = 0; i < T * V; i++) assert_float_equal(d1[i], d2[i], 1e-6);
    free(l), free(d1), free(d2);
}

/* ---- through a whole model: directional derivatives along four random
 * directions (N(0, 0.2^2) per parameter, h = 1e-3; 1e-3 relative error is
 * curvature, it shrinks with the step) ---- */
static void test_pg_model_fd(void **state) {
    (void)state;
    dl_tconfig cfg = {.n_vocab = 24, .n_embd = 16, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .head_dim = 4,
                      .n_ff = 24, .n_ctx = 16, .rope_base = 10000.0f, .rms_eps = 1e-6f};
    dl_error err = {0};
    dl_tmodel *m = dl_tmodel_new(&cfg, 5, &err);
    assert_non_null(m);
    float *P = dl_tmodel_params(m);
    dl_trng r;
    dl_trng_seed(&r, 13);
    for (size_t i = 0; i < dl_tmodel_n_params(m); i++) P[i] += (float)(0.05 * dl_trng_normal(&r));
    int32_t ids0[9] = {1, 5, 7, 2, 9, 9, 3, 11, 0}, ids1[7] = {4, 4, 8, 15, 16, 23, 2};
    uint8_t m0[9] = {0, 0, 1, 1, 1, 1, 1, 1, 0}, m1[7] = {0, 1, 1, 1, 1, 1, 0};
    float lp0[8], lp1[6], old0[8], old1[6], ref0[8], ref1[6];
    dl_example ex[2] = {{ids0, m0, NULL, 9, NULL}, {ids1, m1, NULL, 7, NULL}};
    dl_batch b = {ex, 2};
    float *lps[2] = {lp0, lp1};
    assert_int_equal(dl_tmodel_batch_logprobs(m, &b, NULL, lps, &err), 0);
    for (int t = 0; t < 8; t++) old0[t] = lp0[t] - 0.08f * (float)(t % 3 - 1), ref0[t] = lp0[t] + 0.2f;
    for (int t = 0; t < 6; t++) old1[t] = lp1[t] + 0.5f * (float)(t % 2), ref1[t] = lp1[t] - 0.3f;
    dl_pg_terms pg0 = {old0, ref0, 1.1f, 0.2f, 0.2f, NULL}, pg1 = {old1, ref1, -0.9f, 0.2f, 0.2f, NULL};
    ex[0].pg = &pg0, ex[1].pg = &pg1;
    double L;
    assert_int_equal(dl_tmodel_loss_grad(m, &b, NULL, &L, NULL, &err), 0);
    size_t n = dl_tmodel_n_params(m);
    float *G = malloc(n * sizeof(float));
    memcpy(G, dl_tmodel_grads(m), n * sizeof(float));
    float *P0 = malloc(n * sizeof(float));
    memcpy(P0, P, n * sizeof(float));
    double worst = 0;
    for (int dir = 0; dir < 4; dir++) {
        float *d = randv(&r, n, 0.2);
        double an = 0;
        for (size_t i = 0; i < n; i++) an += (double)G[i] * d[i];
        double Lp, Lm;
        const float h = 1e-3f;
        for (size_t i = 0; i < n; i++) P[i] = P0[i] + h * d[i];
        assert_int_equal(dl_tmodel_loss_grad(m, &b, NULL, &Lp, NULL, &err), 0);
        for (size_t i = 0; i < n; i++) P[i] = P0[i] - h * d[i];
        assert_int_equal(dl_tmodel_loss_grad(m, &b, NULL, &Lm, NULL, &err), 0);
        memcpy(P, P0, n * sizeof(float));
        double num = (Lp - Lm) / (2.0 * h), e = fabs(an - num) / fmax(fabs(an), fabs(num));
        worst = fmax(worst, e);
        print_message("  dir %d: analytic %.6g numeric %.6g\n", dir, an, num);
        free(d);
    }
    print_message("  GRPO loss through the model: worst directional relative error %.2e\n", worst);
    assert_true(worst < 5e-3);
    free(G), free(P0);
    dl_tmodel_free(m);
}

static void test_advantages(void **state) {
    (void)state;
    const float r[8] = {1, 0, 0, 0, 0.5f, 0.5f, 0.5f, 0.5f};
    float a[8];
    dl_rl_advantages(r, 8, 4, 1e-4f, a);
    /* mean 0.25, population std sqrt(3)/4 */
    double sd = sqrt(3.0) / 4.0;
    assert_float_equal(a[0], 0.75 / (sd + 1e-4), 1e-5);
    assert_float_equal(a[1], -0.25 / (sd + 1e-4), 1e-5);
    for (int i = 4; i < 8; i++) assert_true(a[i] == 0.0f); /* no variance, no signal */
    /* Dr. GRPO: r - mean, undivided */
    const float r2[4] = {0.4f, 0.4f, 0.4f, 0.3999f};
    dl_rl_advantages(r2, 4, 4, -1.0f, a);
    assert_float_equal(a[3], 0.3999 - 0.399975, 1e-6);
    assert_float_equal(a[0], 0.4 - 0.399975, 1e-6);
    /* with the std a 1e-4 reward difference becomes a sizeable advantage */
    dl_rl_advantages(r2, 4, 4, 1e-4f, a);
    assert_true(fabsf(a[3]) > 0.4f);
}

/* ---- the pipeline ---- */

static char g_sft[512];

/* A miniature SFT model on one-digit additions, once for the tests below. */
static const char *sft_dir(void) {
    if (g_sft[0]) return g_sft;
    snprintf(g_sft, sizeof g_sft, "%s/rl_test_sft", dl_test_tmpdir());
    dl_sft_params p = dl_sft_default_params();
    p.out_dir = g_sft;
    p.steps = 100;
    p.threads = 1;
    p.n_samples = 500;
    p.n_valid = 8;
    p.min_level = p.max_level = 1;
    p.task_mask = 1u << DL_TASK_ADD;
    dl_sft_result res;
    dl_error err = {0};
    if (dl_sft_run(&p, &res, &err)) fail_msg("sft: %s", err.msg);
    return g_sft;
}

static dl_rl_params rl_params(const char *out, int steps) {
    dl_rl_params p = dl_rl_default_params();
    p.from_dir = sft_dir();
    p.out_dir = out;
    p.steps = steps;
    p.group = 8;
    p.prompts = 2;
    p.max_tokens = 96;
    p.threads = 1;
    p.min_level = p.max_level = 1;
    p.task_mask = 1u << DL_TASK_ADD;
    p.optim.warmup = 3;
    p.optim.lr = 1e-3f; /* fast enough to see within seconds */
    return p;
}

static void test_rollouts(void **state) {
    (void)state;
    char gguf[1024];
    snprintf(gguf, sizeof gguf, "%s/model.gguf", sft_dir());
    dl_error err = {0};
    dl_model *em = dl_model_load(gguf, NULL, NULL, &err);
    assert_non_null(em);
    dl_context_params cp = {.n_ctx = 256, .n_seq = 4, .n_threads = 1};
    dl_context *c = dl_context_create(em, &cp, &err);
    assert_non_null(c);
    const dl_tokenizer *tok = dl_model_tokenizer(em);
    const char *prompt = "<|im_start|>user\nwhat is 3+4<|im_end|>\n<|im_start|>assistant\n";
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(dl_tokenize(tok, prompt, strlen(prompt), false, true, &ids, &n, &err), 0);
    dl_rollout a[4], b[4];
    dl_trng r1, r2;
    dl_trng_seed(&r1, 7), dl_trng_seed(&r2, 7);
    assert_int_equal(dl_rl_rollout_group(c, tok, 512, ids, (int32_t)n, 4, 64, &r1, a, &err), 0);
    assert_int_equal(dl_rl_rollout_group(c, tok, 512, ids, (int32_t)n, 4, 64, &r2, b, &err), 0);
    int distinct = 0;
    for (int s = 0; s < 4; s++) {
        assert_int_equal(a[s].n_prompt, (int)n);
        assert_memory_equal(a[s].ids, ids, n * sizeof(int32_t));
        assert_true(a[s].n > a[s].n_prompt && a[s].n <= a[s].n_prompt + 64);
        /* same RNG state, same rollouts */
        assert_int_equal(a[s].n, b[s].n);
        assert_memory_equal(a[s].ids, b[s].ids, (size_t)a[s].n * sizeof(int32_t));
        assert_string_equal(a[s].text, b[s].text);
        if (a[s].finished) assert_true(dl_tokenizer_is_eog(tok, a[s].ids[a[s].n - 1]));
        /* the text is the completion's tokens rendered (eog left out) */
        char *joined = calloc(4096, 1);
        for (int32_t i = a[s].n_prompt; i < a[s].n - (a[s].finished ? 1 : 0); i++) {
            char piece[256];
            size_t len = dl_token_to_piece(tok, a[s].ids[i], true, piece, sizeof piece);
            strncat(joined, piece, len);
        }
        assert_string_equal(joined, a[s].text);
        free(joined);
        if (s > 0 && (a[s].n != a[0].n || memcmp(a[s].ids, a[0].ids, (size_t)a[s].n * 4))) distinct++;
    }
    assert_true(distinct > 0); /* temperature 1: the group is not four copies */
    print_message("  rollouts: lengths %d %d %d %d\n", a[0].n - (int)n, a[1].n - (int)n, a[2].n - (int)n,
                  a[3].n - (int)n);
    for (int s = 0; s < 4; s++) dl_rollout_free(&a[s]), dl_rollout_free(&b[s]);
    /* too long for the context */
    assert_int_equal(dl_rl_rollout_group(c, tok, 512, ids, (int32_t)n, 4, 256, &r1, a, &err), -1);
    free(ids);
    dl_context_free(c);
    dl_model_free(em);
}

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return dl_read_file(path, len, NULL);
}

/* Drops the last three columns (the timings: sample_ms, update_ms,
 * elapsed_ms) of every CSV line. */
static void strip_timings(char *s) {
    char *w = s;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        char *comma[3] = {NULL, NULL, NULL}; /* the last three commas */
        for (size_t i = 0; i < n; i++)
            if (line[i] == ',') comma[0] = comma[1], comma[1] = comma[2], comma[2] = line + i;
        size_t keep = comma[0] ? (size_t)(comma[0] - line) : n;
        memmove(w, line, keep);
        w += keep;
        *w++ = '\n';
        line += n + (nl ? 1 : 0);
    }
    *w = 0;
}

static void test_resume_identical(void **state) {
    (void)state;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/rl_test_a", dl_test_tmpdir());
    snprintf(b, sizeof b, "%s/rl_test_b", dl_test_tmpdir());
    dl_error err = {0};
    dl_rl_result res;
    dl_rl_params p = rl_params(a, 4);
    p.save_every = 1; /* checkpoints along the way change nothing */
    assert_int_equal(dl_rl_run(&p, &res, &err), 0);
    assert_int_equal(res.steps, 4);
    p = rl_params(b, 2);
    assert_int_equal(dl_rl_run(&p, &res, &err), 0);
    assert_int_equal(res.steps, 2);
    /* as if the run had logged a step after its last checkpoint, then died */
    char logb_path[600];
    snprintf(logb_path, sizeof logb_path, "%s/rl_log.csv", b);
    FILE *f = fopen(logb_path, "a");
    assert_non_null(f);
    fputs("3,0.001,9,9,9,9,9,9,1,9,9,1,1,1e9\n", f);
    fclose(f);
    p = rl_params(b, 4);
    p.resume = true;
    assert_int_equal(dl_rl_run(&p, &res, &err), 0);
    assert_int_equal(res.steps, 4);
    size_t la, lb;
    char *ca = slurp(a, "checkpoint.bin", &la), *cb = slurp(b, "checkpoint.bin", &lb);
    assert_non_null(ca);
    assert_non_null(cb);
    assert_int_equal(la, lb);
    assert_memory_equal(ca, cb, la); /* weights, moments, RNG, step: bit-identical */
    free(ca), free(cb);
    char *ga = slurp(a, "model.gguf", &la), *gb = slurp(b, "model.gguf", &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ga, gb, la);
    free(ga), free(gb);
    char *loga = slurp(a, "rl_log.csv", NULL), *logb = slurp(b, "rl_log.csv", NULL);
    /* elapsed time carries on across the resume */
    double el[4];
    for (int i = 0, row = 0; logb[i]; i++)
        if (logb[i] == '\n' && logb[i + 1] && row < 4) {
            const char *line = logb + i + 1, *end = strchr(line, '\n'), *last = line;
            for (const char *q = line; q < end; q++)
                if (*q == ',') last = q + 1;
            el[row++] = strtod(last, NULL);
        }
    assert_true(el[2] >= el[1] && el[3] >= el[2] && el[3] < 1e8);
    strip_timings(loga), strip_timings(logb);
    assert_string_equal(loga, logb); /* every logged figure of every step */
    int lines = 0;
    for (char *s = loga; *s; s++) lines += *s == '\n';
    assert_int_equal(lines, 5);
    free(loga), free(logb);
    char *svg = slurp(a, "rl.svg", NULL);
    assert_non_null(svg);
    assert_non_null(strstr(svg, "<polyline"));
    free(svg);
    /* other parameters are refused on resume; the reference cannot be overwritten */
    p = rl_params(b, 6);
    p.resume = true;
    p.kl_beta = 0.5f;
    assert_int_equal(dl_rl_run(&p, &res, &err), -1);
    assert_non_null(strstr(err.msg, "other parameters"));
    p = rl_params(sft_dir(), 2);
    assert_int_equal(dl_rl_run(&p, &res, &err), -1);
    assert_non_null(strstr(err.msg, "must differ"));
}

static double mean_col(const char *csv, int col, int from, int to) {
    double s = 0;
    int row = 0, n = 0;
    for (const char *line = csv; line && *line; row++) {
        if (row >= from && row < to) {
            const char *f = line;
            for (int k = 0; k < col && f; k++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
            if (f) s += strtod(f, NULL), n++;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    return n ? s / n : NAN;
}

/* A miniature model whose replies are often malformed, rewarded for the
 * format alone: RL must raise the mean reward of the sampled completions
 * by 0.2 between steps 1-5 and 21-30 (~5 s). */
static void test_rl_raises_reward(void **state) {
    (void)state;
    char out[512];
    snprintf(out, sizeof out, "%s/rl_test_up", dl_test_tmpdir());
    dl_rl_params p = rl_params(out, 30);
    p.prompts = 4; /* 32 completions a step: per-step means are noisy */
    p.reward = (dl_reward_params){.w_correct = 0.0f, .w_format = 1.0f, .w_length = 0.0f};
    dl_rl_result res;
    dl_error err = {0};
    double t0 = dl_time_ms();
    assert_int_equal(dl_rl_run(&p, &res, &err), 0);
    char *log = slurp(out, "rl_log.csv", NULL);
    double first = mean_col(log, 2, 1, 6), last = mean_col(log, 2, 21, 31);
    print_message("  RL on format: mean reward of steps 1-5 %.3f, steps 21-30 %.3f (%.1f s)\n", first, last,
                  (dl_time_ms() - t0) / 1000.0);
    assert_true(last >= first + 0.2);
    free(log);
}

/* Dynamic sampling: with format-only rewards (1 or 0 per completion) many
 * groups of the miniature model come back flat; drop_flat alone leaves them
 * out (kept < 1 on some step), resample_flat draws new prompts instead, so
 * every step trains on all its rows (kept = 1). */
static void test_resample_flat(void **state) {
    (void)state;
    double kept[2][6];
    for (int rs = 0; rs < 2; rs++) {
        char out[512];
        snprintf(out, sizeof out, "%s/rl_test_rs%d", dl_test_tmpdir(), rs);
        dl_rl_params p = rl_params(out, 6);
        p.reward = (dl_reward_params){.w_correct = 0.0f, .w_format = 1.0f, .w_length = 0.0f};
        p.drop_flat = true;
        p.resample_flat = rs ? 32 : 0;
        dl_rl_result res;
        dl_error err = {0};
        assert_int_equal(dl_rl_run(&p, &res, &err), 0);
        char *log = slurp(out, "rl_log.csv", NULL);
        assert_non_null(log);
        for (int st = 0; st < 6; st++) kept[rs][st] = mean_col(log, 8, st + 1, st + 2);
        free(log);
    }
    double min_plain = 1.0;
    for (int st = 0; st < 6; st++) {
        min_plain = fmin(min_plain, kept[0][st]);
        assert_true(kept[1][st] == 1.0);
    }
    print_message("  kept fraction: lowest step without resampling %.2f, with it 1.00 on every step\n", min_plain);
    assert_true(min_plain < 1.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_loss_fd),        cmocka_unit_test(test_pg_equals_weighted_xent),
        cmocka_unit_test(test_pg_model_fd),       cmocka_unit_test(test_advantages),
        cmocka_unit_test(test_rollouts),          cmocka_unit_test(test_resume_identical),
        cmocka_unit_test(test_rl_raises_reward),   cmocka_unit_test(test_resample_flat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
