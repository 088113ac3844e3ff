/* Gradient checks against central finite differences for every layer type
 * of the trainer, and for every tensor of a whole model (directional
 * derivatives along random directions).
 *
 * Each layer is checked through a scalar L = sum_i r_i y_i with fixed
 * random r (accumulated in double), so dL/dy = r feeds the backward pass.
 * The reported figure is the relative error ||analytic - numeric|| /
 * max(||analytic||, ||numeric||) over the whole input; float32 forward
 * passes with h = 1e-2 give 1e-6..4e-5, the bound is 2e-3. The whole-model
 * check uses h = 1e-3 along three random directions per tensor (measured
 * 4e-5..1.5e-3, bound 5e-3; h = 1e-2 is too coarse there: 2e-2 from
 * curvature). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "grad_util.h"
#include "train/train_int.h"

#define TOL 2e-3
#define H_FD 1e-2f


/* A layer under test: forward(ctx) computes y from the inputs in ctx. */
typedef double (*loss_fn)(void *ctx);

/* Numerical gradient of loss(ctx) w.r.t. x[0..n) (x lives in ctx). */
static void numeric(loss_fn f, void *ctx, float *x, size_t n, double *out) {
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + H_FD;
        double lp = f(ctx);
        x[i] = keep - H_FD;
        double lm = f(ctx);
        x[i] = keep;
        out[i] = (lp - lm) / (2.0 * (double)H_FD);
    }
}

static void check(const char *name, loss_fn f, void *ctx, float *x, const float *analytic, size_t n) {
    double *a = calloc(n, sizeof(double)), *num = calloc(n, sizeof(double));
    for (size_t i = 0; i < n; i++) a[i] = analytic[i];
    numeric(f, ctx, x, n, num);
    double e = rel_err(a, num, n);
    print_message("  %-34s rel err %.2e (%zu values)\n", name, e, n);
    assert_true(e < TOL);
    double na = 0;
    for (size_t i = 0; i < n; i++) na += fabs(a[i]);
    assert_true(na > 1e-6); /* the check is not vacuous */
    free(a);
    free(num);
}

static double dot_r(const float *y, const float *r, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * (double)r[i];
    return s;
}

/* ---- linear ---- */
typedef struct { int T, I, O; float *x, *W, *y, *r; } lin_ctx;
static double lin_loss(void *p) {
    lin_ctx *c = p;
    dl_tl_linear_fwd(c->y, c->x, c->W, c->T, c->I, c->O);
    return dot_r(c->y, c->r, (size_t)c->T * c->O);
}
static void test_linear(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 1);
    lin_ctx c = {3, 13, 7, NULL, NULL, NULL, NULL};
    c.x = randv(&r, 39, 1), c.W = randv(&r, 91, 1), c.y = calloc(21, 4), c.r = randv(&r, 21, 1);
    float *dx = calloc(39, 4), *dW = calloc(91, 4), *scratch = calloc(dl_tl_linear_scratch(3, 13, 7), 4);
    dl_tl_linear_bwd(dx, dW, c.r, c.x, c.W, NULL, c.T, c.I, c.O, scratch);
    /* with a caller-provided W^T: the same numbers */
    float *WT = calloc(91, 4), *dx2 = calloc(39, 4);
    dl_tl_transpose(WT, c.W, 7, 13);
    dl_tl_linear_bwd(dx2, NULL, c.r, c.x, c.W, WT, c.T, c.I, c.O, scratch);
    assert_memory_equal(dx, dx2, 39 * 4);
    free(WT), free(dx2), free(scratch);
    check("linear dx", lin_loss, &c, c.x, dx, 39);
    check("linear dW", lin_loss, &c, c.W, dW, 91);
    free(c.x), free(c.W), free(c.y), free(c.r), free(dx), free(dW);
}

/* ---- rmsnorm (also as the per-head q/k norm: rows = tokens x heads, one gain) ---- */
typedef struct { int rows, n; float *x, *g, *y, *rstd, *r; } rms_ctx;
static double rms_loss(void *p) {
    rms_ctx *c = p;
    dl_tl_rmsnorm_fwd(c->y, c->rstd, c->x, c->g, c->rows, c->n, 1e-6f);
    return dot_r(c->y, c->r, (size_t)c->rows * c->n);
}
static void rms_case(const char *what, int rows, int n, uint64_t seed) {
    dl_trng r;
    dl_trng_seed(&r, seed);
    size_t N = (size_t)rows * n;
    rms_ctx c = {rows, n, randv(&r, N, 1), randv(&r, (size_t)n, 1), calloc(N, 4), calloc((size_t)rows, 4), randv(&r, N, 1)};
    for (int i = 0; i < n; i++) c.g[i] += 1.0f;
    rms_loss(&c);
    float *dx = calloc(N, 4), *dg = calloc((size_t)n, 4);
    dl_tl_rmsnorm_bwd(dx, dg, c.r, c.x, c.g, c.rstd, rows, n);
    char name[64];
    snprintf(name, sizeof name, "%s dx", what);
    check(name, rms_loss, &c, c.x, dx, N);
    snprintf(name, sizeof name, "%s dgain", what);
    check(name, rms_loss, &c, c.g, dg, (size_t)n);
    free(c.x), free(c.g), free(c.y), free(c.rstd), free(c.r), free(dx), free(dg);
}
static void test_rmsnorm(void **state) {
    (void)state;
    rms_case("rmsnorm", 4, 16, 2);
}
static void test_qk_norm(void **state) {
    (void)state;
    rms_case("q/k norm (5 tokens x 3 heads)", 15, 8, 3); /* gain shared by every head */
}

/* ---- rope + causal GQA attention ---- */
typedef struct {
    int T, H, Hk, D;
    float *q, *k, *v, *qr, *kr, *out, *probs, *r, *cs, *sn;
} att_ctx;
static double att_loss(void *p) {
    att_ctx *c = p;
    size_t QD = (size_t)c->T * c->H * c->D, KVD = (size_t)c->T * c->Hk * c->D;
    memcpy(c->qr, c->q, QD * 4);
    memcpy(c->kr, c->k, KVD * 4);
    dl_tl_rope(c->qr, c->cs, c->sn, c->T, c->H, c->D, false);
    dl_tl_rope(c->kr, c->cs, c->sn, c->T, c->Hk, c->D, false);
    dl_tl_attn_fwd(c->out, c->probs, c->qr, c->kr, c->v, c->T, c->H, c->Hk, c->D);
    return dot_r(c->out, c->r, QD);
}
static void test_rope_attention(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 4);
    att_ctx c = {.T = 6, .H = 4, .Hk = 2, .D = 8};
    size_t QD = (size_t)c.T * c.H * c.D, KVD = (size_t)c.T * c.Hk * c.D;
    c.q = randv(&r, QD, 1), c.k = randv(&r, KVD, 1), c.v = randv(&r, KVD, 1), c.r = randv(&r, QD, 1);
    c.qr = calloc(QD, 4), c.kr = calloc(KVD, 4), c.out = calloc(QD, 4);
    c.probs = calloc((size_t)c.H * c.T * c.T, 4);
    c.cs = calloc((size_t)c.T * c.D / 2, 4), c.sn = calloc((size_t)c.T * c.D / 2, 4);
    dl_tl_rope_table(c.cs, c.sn, c.T, c.D, 10000.0f);
    att_loss(&c);
    float *dq = calloc(QD, 4), *dk = calloc(KVD, 4), *dv = calloc(KVD, 4);
    dl_tl_attn_bwd(dq, dk, dv, c.r, c.probs, c.qr, c.kr, c.v, c.T, c.H, c.Hk, c.D);
    dl_tl_rope(dq, c.cs, c.sn, c.T, c.H, c.D, true);
    dl_tl_rope(dk, c.cs, c.sn, c.T, c.Hk, c.D, true);
    check("rope + GQA causal attention dq", att_loss, &c, c.q, dq, QD);
    check("rope + GQA causal attention dk", att_loss, &c, c.k, dk, KVD);
    check("rope + GQA causal attention dv", att_loss, &c, c.v, dv, KVD);
    /* causality: the first output does not depend on later keys */
    float keep = c.k[KVD - 1];
    double l0 = att_loss(&c);
    float first = c.out[0];
    c.k[KVD - 1] += 1.0f;
    att_loss(&c);
    assert_true(c.out[0] == first);
    c.k[KVD - 1] = keep;
    (void)l0;
    free(c.q), free(c.k), free(c.v), free(c.r), free(c.qr), free(c.kr), free(c.out), free(c.probs);
    free(c.cs), free(c.sn), free(dq), free(dk), free(dv);
}

/* ---- swiglu ---- */
typedef struct { int64_t n; float *g, *u, *h, *r; } swi_ctx;
static double swi_loss(void *p) {
    swi_ctx *c = p;
    dl_tl_swiglu_fwd(c->h, c->g, c->u, c->n);
    return dot_r(c->h, c->r, (size_t)c->n);
}
static void test_swiglu(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 5);
    swi_ctx c = {40, randv(&r, 40, 2), randv(&r, 40, 1), calloc(40, 4), randv(&r, 40, 1)};
    float *dg = calloc(40, 4), *du = calloc(40, 4);
    dl_tl_swiglu_bwd(dg, du, c.r, c.g, c.u, 40);
    check("swiglu dgate", swi_loss, &c, c.g, dg, 40);
    check("swiglu dup", swi_loss, &c, c.u, du, 40);
    free(c.g), free(c.u), free(c.h), free(c.r), free(dg), free(du);
}

/* ---- masked cross-entropy ---- */
typedef struct { int T, V; float *l; int32_t *tg; uint8_t *mask; const float *w; } xe_ctx;
static double xe_loss(void *p) {
    xe_ctx *c = p;
    return dl_tl_xent(NULL, c->l, c->tg, c->mask, c->w, c->T, c->V, 1.0f);
}
static void test_xent(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 6);
    int32_t tg[5] = {3, 0, 9, 9, 1};
    uint8_t mask[5] = {1, 0, 1, 1, 0};
    xe_ctx c = {5, 11, randv(&r, 55, 2), tg, mask, NULL};
    float *dl = calloc(55, 4);
    double l = dl_tl_xent(dl, c.l, tg, mask, NULL, 5, 11, 1.0f);
    assert_true(l > 0);
    check("masked cross-entropy dlogits", xe_loss, &c, c.l, dl, 55);
    for (int i = 11; i < 22; i++) assert_true(dl[i] == 0.0f); /* masked-out row */
    /* per-token weights, negative ones included (policy-gradient form) */
    const float w[5] = {0.5f, 9.0f, -1.5f, 2.0f, 3.0f};
    c.w = w;
    memset(dl, 0, 55 * 4);
    dl_tl_xent(dl, c.l, tg, mask, w, 5, 11, 1.0f);
    check("weighted cross-entropy dlogits", xe_loss, &c, c.l, dl, 55);
    /* log-probabilities agree with the loss */
    float lp[5];
    dl_tl_logprobs(lp, c.l, tg, 5, 11);
    double want = -(0.5 * lp[0] - 1.5 * lp[2] + 2.0 * lp[3]);
    assert_float_equal(dl_tl_xent(NULL, c.l, tg, mask, w, 5, 11, 1.0f), want, 1e-5);
    free(c.l), free(dl);
}

/* ---- the whole model, every tensor (embedding, tied output, all layers) ---- */
typedef struct { dl_tmodel *m; dl_batch b; } model_ctx;
static double model_loss(dl_tmodel *m, const dl_batch *b) {
    double loss;
    assert_int_equal(dl_tmodel_loss_grad(m, b, NULL, &loss, NULL, NULL), 0);
    return loss;
}
static void test_model_every_tensor(void **state) {
    (void)state;
    dl_tconfig cfg = {.n_vocab = 23, .n_embd = 16, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
                      .head_dim = 6, .n_ff = 20, .n_ctx = 12, .rope_base = 10000.0f, .rms_eps = 1e-6f};
    dl_error err = {0};
    dl_tmodel *m = dl_tmodel_new(&cfg, 11, &err);
    assert_non_null(m);
    size_t n = dl_tmodel_n_params(m);
    float *P = dl_tmodel_params(m);
    dl_trng r;
    dl_trng_seed(&r, 12);
    /* larger weights than the training init, so every path carries signal */
    for (size_t i = 0; i < n; i++) P[i] = dl_tmodel_is_matrix(m, i) ? (float)(0.3 * dl_trng_normal(&r)) : (float)(1.0 + 0.2 * dl_trng_normal(&r));
    int32_t ids0[10] = {1, 5, 7, 2, 9, 22, 4, 4, 3, 0}, ids1[7] = {6, 6, 1, 8, 13, 2, 7};
    uint8_t m0[10] = {0, 0, 1, 1, 1, 0, 1, 1, 1, 0}, m1[7] = {1, 1, 1, 1, 1, 1, 0};
    dl_example ex[2] = {{ids0, m0, NULL, 10, NULL}, {ids1, m1, NULL, 7, NULL}};
    dl_batch b = {ex, 2};
    model_loss(m, &b);
    float *g = malloc(n * sizeof(float));
    memcpy(g, dl_tmodel_grads(m), n * sizeof(float));
    /* a pool of 2 gives the same gradient (up to summation order) */
    dl_pool *pool = dl_pool_create(2);
    double l2;
    assert_int_equal(dl_tmodel_loss_grad(m, &b, pool, &l2, NULL, &err), 0);
    double maxd = 0;
    for (size_t i = 0; i < n; i++) maxd = fmax(maxd, fabs((double)g[i] - (double)dl_tmodel_grads(m)[i]));
    assert_true(maxd < 1e-5);
    dl_pool_free(pool);

    const dl_toffsets *o = dl_tmodel_offsets(m);
    const dl_tlayer_off *L = &o->layer[1];
    const size_t E = 16, QD = 24, KVD = 12, F = 20;
    struct { const char *name; size_t off, len; } T[] = {
        {"token_embd (embedding + tied output)", o->tok_embd, 23 * E},
        {"output_norm", o->output_norm, E},
        {"attn_norm", L->attn_norm, E}, {"attn_q", L->wq, QD * E}, {"attn_k", L->wk, KVD * E},
        {"attn_v", L->wv, KVD * E}, {"attn_q_norm", L->q_norm, 6}, {"attn_k_norm", L->k_norm, 6},
        {"attn_output", L->wo, E * QD}, {"ffn_norm", L->ffn_norm, E}, {"ffn_gate", L->w_gate, F * E},
        {"ffn_up", L->w_up, F * E}, {"ffn_down", L->w_down, E * F},
        {"layer 0 attn_q", o->layer[0].wq, QD * E}, {"layer 0 attn_k_norm", o->layer[0].k_norm, 6},
    };
    for (size_t t = 0; t < DL_ARRAY_LEN(T); t++) {
        /* three random directions per tensor */
        double an[3], nu[3];
        for (int k = 0; k < 3; k++) {
            float *d = randv(&r, T[t].len, 1);
            float *keep = malloc(T[t].len * sizeof(float));
            memcpy(keep, P + T[t].off, T[t].len * sizeof(float));
            an[k] = 0;
            for (size_t i = 0; i < T[t].len; i++) an[k] += (double)g[T[t].off + i] * d[i];
            const float h = 1e-3f;
            for (size_t i = 0; i < T[t].len; i++) P[T[t].off + i] = keep[i] + h * d[i];
            double lp = model_loss(m, &b);
            for (size_t i = 0; i < T[t].len; i++) P[T[t].off + i] = keep[i] - h * d[i];
            double lm = model_loss(m, &b);
            memcpy(P + T[t].off, keep, T[t].len * sizeof(float));
            nu[k] = (lp - lm) / (2.0 * (double)h);
            free(d);
            free(keep);
        }
        double e = rel_err(an, nu, 3);
        print_message("  model %-32s rel err %.2e (dir. derivs %.3e %.3e %.3e)\n", T[t].name, e, an[0], an[1], an[2]);
        assert_true(e < 5e-3);
    }
    free(g);
    dl_tmodel_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),         cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_qk_norm),        cmocka_unit_test(test_rope_attention),
        cmocka_unit_test(test_swiglu),         cmocka_unit_test(test_xent),
        cmocka_unit_test(test_model_every_tensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
