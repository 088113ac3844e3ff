/* The trained model end to end: a tiny model overfits a few generated
 * samples in seconds; the exported GGUF loads in the engine, whose logits
 * equal the trainer's; a run resumed from a checkpoint is bit-identical to
 * an uninterrupted one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "model/model.h"
#include "train/train.h"

/* A small vocabulary and examples, shared by the tests (built once). */
static dl_bpe_vocab vocab;
static dl_tokenizer *tok;
static dl_gguf *tok_gguf;
static dl_example ex[8];

static int setup(void **state) {
    (void)state;
    enum { N = 200 };
    char *texts[N];
    dl_trng r;
    dl_trng_seed(&r, 5);
    dl_problem probs[N];
    for (int i = 0; i < N; i++) {
        if (dl_task_generate(i % DL_TASK__COUNT, 1, DL_SPLIT_TRAIN, &r, &probs[i], NULL)) return -1;
        dl_buf b = {0};
        if (dl_sample_render(&probs[i], &b, NULL, NULL)) return -1;
        texts[i] = b.data;
    }
    dl_error err = {0};
    if (dl_bpe_train((const char *const *)texts, N, 384, &vocab, &err)) return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/model_test_tok.gguf", dl_test_tmpdir());
    if (dl_bpe_save(&vocab, path, &err)) return -1;
    tok_gguf = dl_gguf_open(path, &err);
    tok = tok_gguf ? dl_tokenizer_load(tok_gguf, &err) : NULL;
    if (!tok) return -1;
    /* short examples: letters/compare/add at level 1 */
    int k = 0;
    for (int i = 0; i < N && k < 8; i++) {
        if (probs[i].kind != DL_TASK_ADD && probs[i].kind != DL_TASK_COMPARE) continue;
        if (dl_example_from_problem(tok, &probs[i], &ex[k], &err)) return -1;
        if (ex[k].n <= 96) k++;
        else dl_example_free(&ex[k]);
    }
    for (int i = 0; i < N; i++) {
        free(texts[i]);
        dl_problem_free(&probs[i]);
    }
    return k == 8 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    for (int i = 0; i < 8; i++) dl_example_free(&ex[i]);
    dl_tokenizer_free(tok);
    dl_gguf_close(tok_gguf);
    dl_bpe_vocab_free(&vocab);
    return 0;
}

static dl_tconfig tiny_config(void) {
    return (dl_tconfig){.n_vocab = vocab.n_tokens, .n_embd = 48, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
                        .head_dim = 12, .n_ff = 96, .n_ctx = 96, .rope_base = 10000.0f, .rms_eps = 1e-6f};
}

/* The overfit budget: 5 s, longer under the sanitizers (about 10x slower). */
#if defined(__SANITIZE_ADDRESS__)
#define OVERFIT_MS 60000.0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OVERFIT_MS 60000.0
#endif
#endif
#ifndef OVERFIT_MS
#define OVERFIT_MS 5000.0
#endif

static void test_overfit(void **state) {
    (void)state;
    dl_tconfig cfg = tiny_config();
    dl_error err = {0};
    dl_tmodel *m = dl_tmodel_new(&cfg, 1, &err);
    assert_non_null(m);
    dl_optim_params op = dl_optim_default_params();
    op.lr = 1e-2f;
    op.warmup = 10;
    op.total = 150;
    op.weight_decay = 0.0f;
    dl_trainer *t = dl_trainer_new(m, &op, 2);
    dl_batch b = {ex, 4};
    double t0 = dl_time_ms(), loss = 0, first = 0;
    int steps = 0;
    while (steps < op.total && dl_time_ms() - t0 < OVERFIT_MS) {
        assert_int_equal(dl_tmodel_loss_grad(m, &b, NULL, &loss, NULL, &err), 0);
        if (steps == 0) first = loss;
        dl_trainer_update(t, NULL);
        steps++;
        if (loss < 0.05) break;
    }
    print_message("overfit 4 samples: loss %.3f -> %.4f in %d steps, %.0f ms\n", first, loss, steps,
                  dl_time_ms() - t0);
    assert_true(first > 4.0);
    assert_true(loss < 0.1);
    dl_trainer_free(t);
}

static void test_export_matches_engine(void **state) {
    (void)state;
    dl_tconfig cfg = tiny_config();
    dl_error err = {0};
    dl_tmodel *m = dl_tmodel_new(&cfg, 3, &err);
    assert_non_null(m);
    /* weights large enough that the logits spread out */
    float *P = dl_tmodel_params(m);
    dl_trng r;
    dl_trng_seed(&r, 4);
    for (size_t i = 0; i < dl_tmodel_n_params(m); i++)
        P[i] = dl_tmodel_is_matrix(m, i) ? (float)(0.15 * dl_trng_normal(&r)) : (float)(1.0 + 0.1 * dl_trng_normal(&r));
    char path[512];
    snprintf(path, sizeof path, "%s/model_test_export.gguf", dl_test_tmpdir());
    /* thinking-budget hints from 40 problems travel in the GGUF */
    dl_problem hp_probs[40];
    dl_trng hr;
    dl_trng_seed(&hr, 11);
    for (int i = 0; i < 40; i++)
        assert_int_equal(dl_task_generate(i % DL_TASK__COUNT, 1 + i % 3, DL_SPLIT_VALID, &hr, &hp_probs[i], NULL), 0);
    dl_budget_hints hints;
    assert_int_equal(dl_budget_hints_from(tok, hp_probs, 40, &hints, &err), 0);
    int n_le_low = 0, n_le_med = 0;
    for (int i = 0; i < 40; i++) {
        char text[4096];
        snprintf(text, sizeof text, "\n%s\n</think>", hp_probs[i].trace);
        int32_t *ids = NULL;
        size_t n_ids = 0;
        assert_int_equal(dl_tokenize(tok, text, strlen(text), false, true, &ids, &n_ids, &err), 0);
        free(ids);
        n_le_low += (int)n_ids <= hints.low;
        n_le_med += (int)n_ids <= hints.medium;
        assert_true((int)n_ids < hints.high);
        dl_problem_free(&hp_probs[i]);
    }
    print_message("budget hints: low %d (%d of 40 fit), medium %d (%d fit), high %d\n", hints.low, n_le_low,
                  hints.medium, n_le_med, hints.high);
    assert_true(hints.low < hints.medium && hints.medium < hints.high);
    assert_true(n_le_low >= 14 && n_le_low < 40 && n_le_med >= 28 && n_le_med > n_le_low);
    assert_int_equal(dl_tmodel_export(m, &vocab, "test", &hints, path, &err), 0);
    dl_model *em = dl_model_load(path, NULL, NULL, &err);
    if (!em) fail_msg("%s", err.msg);
    dl_budget_hints back = dl_budget_hints_read(dl_model_gguf(em));
    assert_memory_equal(&back, &hints, sizeof hints);
    /* what the controller reads: no self-written summary, no continuation cue */
    uint32_t flag = 1;
    assert_true(dl_gguf_get_u32(dl_model_gguf(em), "deliberate.reasoning.budget.summary", &flag));
    assert_int_equal(flag, 0);
    flag = 1;
    assert_true(dl_gguf_get_u32(dl_model_gguf(em), "deliberate.reasoning.budget.continue", &flag));
    assert_int_equal(flag, 0);
    const dl_hparams *hp = dl_model_hparams(em);
    assert_int_equal(hp->arch, DL_ARCH_QWEN3);
    assert_true(hp->tied_output);
    assert_true(hp->has_qk_norm);
    assert_int_equal(hp->rope_style, DL_ROPE_NEOX);
    assert_int_equal(dl_model_n_params(em), dl_tmodel_n_params(m));
    dl_context_params cp = {.n_ctx = 96, .n_threads = 1};
    dl_context *c = dl_context_create(em, &cp, &err);
    assert_non_null(c);
    const dl_example *e = &ex[0];
    int n = e->n;
    assert_int_equal(dl_context_decode(c, e->ids, n, true, &err), 0);
    float *mine = malloc((size_t)n * (size_t)cfg.n_vocab * sizeof(float));
    assert_int_equal(dl_tmodel_logits(m, e->ids, n, mine, &err), 0);
    double maxd = 0, lo = 1e30, hi = -1e30;
    for (int i = 0; i < n; i++) {
        const float *el = dl_context_logits(c, i);
        for (int v = 0; v < cfg.n_vocab; v++) {
            maxd = fmax(maxd, fabs((double)el[v] - (double)mine[(size_t)i * cfg.n_vocab + v]));
            lo = fmin(lo, el[v]);
            hi = fmax(hi, el[v]);
        }
    }
    print_message("engine vs trainer logits over %d tokens: max |diff| %.2e (logit range %.2f)\n", n, maxd, hi - lo);
    assert_true(hi - lo > 1.0);
    assert_true(maxd < 1e-4);
    free(mine);
    dl_context_free(c);
    dl_model_free(em);
    dl_tmodel_free(m);
}

static void test_resume_bit_identical(void **state) {
    (void)state;
    dl_tconfig cfg = tiny_config();
    dl_optim_params op = dl_optim_default_params();
    op.warmup = 2;
    op.total = 8;
    dl_error err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/model_test.ckpt", dl_test_tmpdir());
    dl_pool *pool = dl_pool_create(2); /* a fixed thread count is deterministic too */
    /* uninterrupted: 6 steps */
    dl_trainer *a = dl_trainer_new(dl_tmodel_new(&cfg, 9, &err), &op, 77);
    for (int i = 0; i < 6; i++) assert_int_equal(dl_trainer_sft_step(a, ex, 8, 3, pool, NULL, NULL, &err), 0);
    /* interrupted after 3, saved, loaded, 3 more */
    dl_trainer *b = dl_trainer_new(dl_tmodel_new(&cfg, 9, &err), &op, 77);
    for (int i = 0; i < 3; i++) assert_int_equal(dl_trainer_sft_step(b, ex, 8, 3, pool, NULL, NULL, &err), 0);
    assert_int_equal(dl_trainer_save(b, path, &err), 0);
    dl_trainer_free(b);
    dl_trainer *c = dl_trainer_load(path, &err);
    if (!c) fail_msg("%s", err.msg);
    assert_int_equal(c->step, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(dl_trainer_sft_step(c, ex, 8, 3, pool, NULL, NULL, &err), 0);
    size_t n = dl_tmodel_n_params(a->m);
    assert_int_equal(c->step, a->step);
    assert_memory_equal(dl_tmodel_params(a->m), dl_tmodel_params(c->m), n * sizeof(float));
    assert_memory_equal(a->adam_m, c->adam_m, n * sizeof(float));
    assert_memory_equal(a->adam_v, c->adam_v, n * sizeof(float));
    assert_memory_equal(a->rng.r.s, c->rng.r.s, sizeof a->rng.r.s);
    /* and the weights did move */
    dl_tmodel *fresh = dl_tmodel_new(&cfg, 9, &err);
    assert_true(memcmp(dl_tmodel_params(fresh), dl_tmodel_params(a->m), n * sizeof(float)) != 0);
    dl_tmodel_free(fresh);
    dl_trainer_free(a);
    dl_trainer_free(c);
    /* a damaged checkpoint is an error, not a crash */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 200), 0);
    fclose(f);
    assert_null(dl_trainer_load(path, &err));
    assert_int_equal(err.status, 400);
    dl_pool_free(pool);
}

/* Log-probabilities match the loss, and per-token weights scale the
 * gradient (the hook the RL stage uses for advantages and the KL term). */
static void test_logprobs_and_weights(void **state) {
    (void)state;
    dl_tconfig cfg = tiny_config();
    dl_error err = {0};
    dl_tmodel *m = dl_tmodel_new(&cfg, 5, &err);
    assert_non_null(m);
    const dl_example *e = &ex[1];
    float *lp = malloc((size_t)e->n * sizeof(float));
    assert_int_equal(dl_tmodel_token_logprobs(m, e->ids, e->n, lp, &err), 0);
    double sum = 0;
    int64_t cnt = 0;
    for (int i = 0; i + 1 < e->n; i++)
        if (e->mask[i]) sum -= lp[i], cnt++;
    dl_batch b = {e, 1};
    double loss;
    int64_t n_tok;
    assert_int_equal(dl_tmodel_loss_grad(m, &b, NULL, &loss, &n_tok, &err), 0);
    assert_int_equal(n_tok, cnt);
    assert_float_equal(loss, sum / (double)cnt, 1e-5);
    size_t n = dl_tmodel_n_params(m);
    float *g1 = malloc(n * sizeof(float));
    memcpy(g1, dl_tmodel_grads(m), n * sizeof(float));
    dl_example w = *e;
    w.weight = malloc((size_t)e->n * sizeof(float));
    for (int i = 0; i < e->n; i++) w.weight[i] = -2.0f;
    dl_batch bw = {&w, 1};
    assert_int_equal(dl_tmodel_loss_grad(m, &bw, NULL, &loss, NULL, &err), 0);
    assert_float_equal(loss, -2.0 * sum / (double)cnt, 1e-5);
    const float *g2 = dl_tmodel_grads(m);
    for (size_t i = 0; i < n; i++) assert_float_equal(g2[i], -2.0f * g1[i], 1e-6 + 1e-4 * fabsf(g1[i]));
    free(w.weight);
    free(g1);
    /* batched over a pool: the same numbers, row by row */
    float *rows[3];
    dl_batch b3 = {ex, 3};
    for (int r = 0; r < 3; r++) rows[r] = malloc((size_t)ex[r].n * sizeof(float));
    dl_pool *pool = dl_pool_create(2);
    assert_int_equal(dl_tmodel_batch_logprobs(m, &b3, pool, rows, &err), 0);
    for (int r = 0; r < 3; r++) {
        float *one = malloc((size_t)ex[r].n * sizeof(float));
        assert_int_equal(dl_tmodel_token_logprobs(m, ex[r].ids, ex[r].n, one, &err), 0);
        assert_memory_equal(one, rows[r], (size_t)(ex[r].n - 1) * sizeof(float));
        free(one);
        free(rows[r]);
    }
    dl_pool_free(pool);
    assert_int_equal(dl_tmodel_token_logprobs(m, e->ids, 1, lp, &err), -1);
    free(lp);
    dl_tmodel_free(m);
}

static void test_schedule(void **state) {
    (void)state;
    dl_optim_params op = dl_optim_default_params();
    op.lr = 1.0f;
    op.warmup = 10;
    op.total = 110;
    op.min_lr_frac = 0.1f;
    assert_float_equal(dl_optim_lr(&op, 0), 0.1f, 1e-6);
    assert_float_equal(dl_optim_lr(&op, 9), 1.0f, 1e-6);
    assert_float_equal(dl_optim_lr(&op, 10), 1.0f, 1e-6);
    assert_float_equal(dl_optim_lr(&op, 60), 0.55f, 1e-6);
    assert_float_equal(dl_optim_lr(&op, 110), 0.1f, 1e-6);
    assert_float_equal(dl_optim_lr(&op, 500), 0.1f, 1e-6);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_overfit),
        cmocka_unit_test(test_export_matches_engine),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_logprobs_and_weights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
