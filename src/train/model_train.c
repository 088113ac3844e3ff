/* The trained model: parameters in one array, per-worker activation
 * workspaces allocated once, the forward pass of one sequence and its
 * backward pass, and the batched loss + gradient over a thread pool. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

/* Activations of one layer for one sequence of up to n_ctx tokens. */
typedef struct tlayer_act {
    float *x_in;        /* (T,E) residual stream entering the layer */
    float *xn1, *rstd1; /* (T,E), (T) attention norm */
    float *qpre, *rstdq, *q; /* (T,QD) before q-norm, (T*H), after norm + rope */
    float *kpre, *rstdk, *k; /* (T,KVD), (T*Hk), (T,KVD) */
    float *v;           /* (T,KVD) */
    float *probs;       /* (H,T,T) attention weights */
    float *att;         /* (T,QD) attention output before attn_output */
    float *x_mid;       /* (T,E) after the attention residual */
    float *xn2, *rstd2; /* (T,E), (T) ffn norm */
    float *gate, *up, *h; /* (T,F) */
} tlayer_act;

/* One worker's workspace: activations, backward scratch, its gradient. */
typedef struct tws {
    tlayer_act *la;          /* (n_layer) */
    float *x_out, *xnf, *rstdf, *logits; /* (T,E) (T,E) (T) (T,V) */
    float *dlogits, *dx, *dx2, *dxn, *dq, *dk, *dv, *datt, *dh, *dgate, *dup; /* scratch */
    float *lin;              /* transposes of the linear backward */
    float *grad;             /* (n_params); NULL for worker 0, which uses m->grad */
    double loss;
    int64_t n_tok;
} tws;

struct dl_tmodel {
    dl_tconfig cfg;
    dl_toffsets off;
    float *params, *grad;    /* (n_params) */
    float *wt;               /* (n_params) the matrices transposed, refreshed per gradient */
    float *rope_cos, *rope_sin; /* (n_ctx, head_dim/2) */
    tws *ws;                 /* (n_ws) */
    int n_ws;
};

static float *falloc(size_t n) {
    float *p = dl_aligned_alloc(DL_MAX(n, 1) * sizeof(float));
    if (p) memset(p, 0, DL_MAX(n, 1) * sizeof(float));
    return p;
}

static int check_config(const dl_tconfig *c, dl_error *err) {
    if (c->n_vocab < 8 || c->n_embd < 2 || c->n_layer < 1 || c->n_head < 1 || c->n_head_kv < 1 ||
        c->head_dim < 2 || c->head_dim % 2 || c->n_ff < 1 || c->n_ctx < 2)
        return dl_error_set(err, 400, "train: invalid model configuration");
    if (c->n_head % c->n_head_kv)
        return dl_error_set(err, 400, "train: n_head %d is not a multiple of n_head_kv %d", c->n_head,
                            c->n_head_kv);
    if (c->n_vocab > 1 << 20 || c->n_embd > 8192 || c->n_layer > 64 || c->n_ff > 32768 ||
        c->n_ctx > 8192 || c->n_head > 128 || c->head_dim > 1024)
        return dl_error_set(err, 400, "train: model configuration too large");
    if (!(c->rope_base > 0.0f) || !(c->rms_eps > 0.0f))
        return dl_error_set(err, 400, "train: rope_base and rms_eps must be > 0");
    return 0;
}

static void layout(dl_tmodel *m) {
    const dl_tconfig *c = &m->cfg;
    size_t E = (size_t)c->n_embd, QD = (size_t)c->n_head * (size_t)c->head_dim;
    size_t KVD = (size_t)c->n_head_kv * (size_t)c->head_dim, F = (size_t)c->n_ff, D = (size_t)c->head_dim;
    size_t o = 0;
    m->off.tok_embd = o;
    o += (size_t)c->n_vocab * E;
    m->off.layer = dl_xcalloc((size_t)c->n_layer, sizeof(dl_tlayer_off));
    for (int l = 0; l < c->n_layer; l++) {
        dl_tlayer_off *L = &m->off.layer[l];
        L->attn_norm = o, o += E;
        L->wq = o, o += QD * E;
        L->wk = o, o += KVD * E;
        L->wv = o, o += KVD * E;
        L->q_norm = o, o += D;
        L->k_norm = o, o += D;
        L->wo = o, o += E * QD;
        L->ffn_norm = o, o += E;
        L->w_gate = o, o += F * E;
        L->w_up = o, o += F * E;
        L->w_down = o, o += E * F;
    }
    m->off.output_norm = o, o += E;
    m->off.total = o;
}

bool dl_tmodel_is_matrix(const dl_tmodel *m, size_t i) {
    const dl_tconfig *c = &m->cfg;
    if (i < m->off.tok_embd + (size_t)c->n_vocab * c->n_embd) return true;
    if (i >= m->off.output_norm) return false;
    for (int l = 0; l < c->n_layer; l++) {
        const dl_tlayer_off *L = &m->off.layer[l];
        if (i >= L->attn_norm && i < L->wq) return false;
        if (i >= L->q_norm && i < L->wo) return false;
        if (i >= L->ffn_norm && i < L->w_gate) return false;
    }
    return true;
}

dl_tmodel *dl_tmodel_new(const dl_tconfig *cfg, uint64_t seed, dl_error *err) {
    if (check_config(cfg, err)) return NULL;
    dl_tmodel *m = dl_xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    layout(m);
    m->params = falloc(m->off.total);
    m->grad = falloc(m->off.total);
    m->wt = falloc(m->off.total);
    size_t half = (size_t)cfg->head_dim / 2;
    m->rope_cos = falloc((size_t)cfg->n_ctx * half);
    m->rope_sin = falloc((size_t)cfg->n_ctx * half);
    if (!m->params || !m->grad || !m->wt || !m->rope_cos || !m->rope_sin) {
        dl_error_set(err, 500, "train: out of memory for %zu parameters", m->off.total);
        dl_tmodel_free(m);
        return NULL;
    }
    dl_tl_rope_table(m->rope_cos, m->rope_sin, cfg->n_ctx, cfg->head_dim, cfg->rope_base);
    /* init: N(0, 0.02) matrices, projections into the residual scaled down, gains 1 */
    dl_trng r;
    dl_trng_seed(&r, seed);
    float *p = m->params;
    const float out_scale = 1.0f / sqrtf(2.0f * (float)cfg->n_layer);
    for (size_t i = 0; i < m->off.total; i++) {
        bool mat = dl_tmodel_is_matrix(m, i);
        p[i] = mat ? (float)(0.02 * dl_trng_normal(&r)) : 1.0f;
    }
    size_t E = (size_t)cfg->n_embd, QD = (size_t)cfg->n_head * (size_t)cfg->head_dim;
    for (int l = 0; l < cfg->n_layer; l++) {
        const dl_tlayer_off *L = &m->off.layer[l];
        for (size_t i = 0; i < E * QD; i++) p[L->wo + i] *= out_scale;
        for (size_t i = 0; i < E * (size_t)cfg->n_ff; i++) p[L->w_down + i] *= out_scale;
    }
    return m;
}

static void ws_free(tws *w, int n_layer) {
    if (w->la)
        for (int l = 0; l < n_layer; l++) {
            tlayer_act *a = &w->la[l];
            float *bufs[] = {a->x_in, a->xn1, a->rstd1, a->qpre, a->rstdq, a->q, a->kpre, a->rstdk, a->k,
                             a->v, a->probs, a->att, a->x_mid, a->xn2, a->rstd2, a->gate, a->up, a->h};
            for (size_t i = 0; i < DL_ARRAY_LEN(bufs); i++) dl_aligned_free(bufs[i]);
        }
    free(w->la);
    float *bufs[] = {w->x_out, w->xnf, w->rstdf, w->logits, w->dlogits, w->dx, w->dx2, w->dxn, w->dq,
                     w->dk, w->dv, w->datt, w->dh, w->dgate, w->dup, w->grad, w->lin};
    for (size_t i = 0; i < DL_ARRAY_LEN(bufs); i++) dl_aligned_free(bufs[i]);
    memset(w, 0, sizeof *w);
}

void dl_tmodel_free(dl_tmodel *m) {
    if (!m) return;
    for (int i = 0; i < m->n_ws; i++) ws_free(&m->ws[i], m->cfg.n_layer);
    free(m->ws);
    free(m->off.layer);
    dl_aligned_free(m->params);
    dl_aligned_free(m->grad);
    dl_aligned_free(m->wt);
    dl_aligned_free(m->rope_cos);
    dl_aligned_free(m->rope_sin);
    free(m);
}

/* Makes sure workspaces 0..n-1 exist (allocated once, reused after). */
static int ensure_ws(dl_tmodel *m, int n, dl_error *err) {
    if (n <= m->n_ws) return 0;
    const dl_tconfig *c = &m->cfg;
    size_t T = (size_t)c->n_ctx, E = (size_t)c->n_embd, H = (size_t)c->n_head, Hk = (size_t)c->n_head_kv;
    size_t QD = H * (size_t)c->head_dim, KVD = Hk * (size_t)c->head_dim, F = (size_t)c->n_ff, V = (size_t)c->n_vocab;
    m->ws = dl_xrealloc(m->ws, (size_t)n * sizeof(tws));
    for (int i = m->n_ws; i < n; i++) {
        tws *w = &m->ws[i];
        memset(w, 0, sizeof *w);
        bool ok = true;
#define A(field, count) ok = ((field) = falloc(count)) != NULL && ok
        w->la = dl_xcalloc((size_t)c->n_layer, sizeof(tlayer_act));
        for (int l = 0; l < c->n_layer; l++) {
            tlayer_act *a = &w->la[l];
            A(a->x_in, T * E); A(a->xn1, T * E); A(a->rstd1, T);
            A(a->qpre, T * QD); A(a->rstdq, T * H); A(a->q, T * QD);
            A(a->kpre, T * KVD); A(a->rstdk, T * Hk); A(a->k, T * KVD); A(a->v, T * KVD);
            A(a->probs, H * T * T); A(a->att, T * QD); A(a->x_mid, T * E);
            A(a->xn2, T * E); A(a->rstd2, T); A(a->gate, T * F); A(a->up, T * F); A(a->h, T * F);
        }
        A(w->x_out, T * E); A(w->xnf, T * E); A(w->rstdf, T); A(w->logits, T * V);
        A(w->dlogits, T * V); A(w->dx, T * E); A(w->dx2, T * E); A(w->dxn, T * E);
        A(w->dq, T * QD); A(w->dk, T * KVD); A(w->dv, T * KVD); A(w->datt, T * QD);
        A(w->dh, T * F); A(w->dgate, T * F); A(w->dup, T * F);
        size_t lin = 0; /* the largest of the model's linear layers */
        const size_t dims[][2] = {{E, V}, {E, QD}, {E, KVD}, {QD, E}, {E, F}, {F, E}};
        for (size_t d = 0; d < DL_ARRAY_LEN(dims); d++)
            lin = DL_MAX(lin, dl_tl_linear_scratch((int)T, (int)dims[d][0], (int)dims[d][1]));
        A(w->lin, lin);
        if (i > 0) A(w->grad, m->off.total);
#undef A
        m->n_ws = i + 1;
        if (!ok) return dl_error_set(err, 500, "train: out of memory for activations");
    }
    return 0;
}

const dl_tconfig *dl_tmodel_config(const dl_tmodel *m) { return &m->cfg; }
size_t dl_tmodel_n_params(const dl_tmodel *m) { return m->off.total; }
float *dl_tmodel_params(dl_tmodel *m) { return m->params; }
float *dl_tmodel_grads(dl_tmodel *m) { return m->grad; }
const dl_toffsets *dl_tmodel_offsets(const dl_tmodel *m) { return &m->off; }

/* Forward pass of ids[0..T) into workspace w; logits in w->logits. */
static void forward(const dl_tmodel *m, tws *w, const int32_t *ids, int T) {
    const dl_tconfig *c = &m->cfg;
    const int E = c->n_embd, H = c->n_head, Hk = c->n_head_kv, D = c->head_dim, F = c->n_ff;
    const int QD = H * D, KVD = Hk * D, V = c->n_vocab;
    const float *P = m->params;
    float *x = w->la[0].x_in;
    for (int t = 0; t < T; t++)
        memcpy(x + (size_t)t * E, P + m->off.tok_embd + (size_t)ids[t] * E, (size_t)E * sizeof(float));
    for (int l = 0; l < c->n_layer; l++) {
        const dl_tlayer_off *L = &m->off.layer[l];
        tlayer_act *a = &w->la[l];
        dl_tl_rmsnorm_fwd(a->xn1, a->rstd1, a->x_in, P + L->attn_norm, T, E, c->rms_eps);
        dl_tl_linear_fwd(a->qpre, a->xn1, P + L->wq, T, E, QD);
        dl_tl_linear_fwd(a->kpre, a->xn1, P + L->wk, T, E, KVD);
        dl_tl_linear_fwd(a->v, a->xn1, P + L->wv, T, E, KVD);
        dl_tl_rmsnorm_fwd(a->q, a->rstdq, a->qpre, P + L->q_norm, T * H, D, c->rms_eps);
        dl_tl_rmsnorm_fwd(a->k, a->rstdk, a->kpre, P + L->k_norm, T * Hk, D, c->rms_eps);
        dl_tl_rope(a->q, m->rope_cos, m->rope_sin, T, H, D, false);
        dl_tl_rope(a->k, m->rope_cos, m->rope_sin, T, Hk, D, false);
        dl_tl_attn_fwd(a->att, a->probs, a->q, a->k, a->v, T, H, Hk, D);
        dl_tl_linear_fwd(a->x_mid, a->att, P + L->wo, T, QD, E);
        for (size_t i = 0; i < (size_t)T * E; i++) a->x_mid[i] += a->x_in[i];
        dl_tl_rmsnorm_fwd(a->xn2, a->rstd2, a->x_mid, P + L->ffn_norm, T, E, c->rms_eps);
        dl_tl_linear_fwd(a->gate, a->xn2, P + L->w_gate, T, E, F);
        dl_tl_linear_fwd(a->up, a->xn2, P + L->w_up, T, E, F);
        dl_tl_swiglu_fwd(a->h, a->gate, a->up, (int64_t)T * F);
        float *next = l + 1 < c->n_layer ? w->la[l + 1].x_in : w->x_out;
        dl_tl_linear_fwd(next, a->h, P + L->w_down, T, F, E);
        for (size_t i = 0; i < (size_t)T * E; i++) next[i] += a->x_mid[i];
    }
    dl_tl_rmsnorm_fwd(w->xnf, w->rstdf, w->x_out, P + m->off.output_norm, T, E, c->rms_eps);
    dl_tl_linear_fwd(w->logits, w->xnf, P + m->off.tok_embd, T, E, V);
}

/* Backward from w->dlogits, accumulating into G. */
static void backward(const dl_tmodel *m, tws *w, const int32_t *ids, int T, float *G) {
    const dl_tconfig *c = &m->cfg;
    const float *WT = m->wt; /* transposed matrices (refresh_transposes) */
    const int E = c->n_embd, H = c->n_head, Hk = c->n_head_kv, D = c->head_dim, F = c->n_ff;
    const int QD = H * D, KVD = Hk * D, V = c->n_vocab;
    const float *P = m->params;
    const size_t TE = (size_t)T * E;
    float *dx = w->dx; /* gradient of the residual stream */
    memset(w->dxn, 0, TE * sizeof(float));
    dl_tl_linear_bwd(w->dxn, G + m->off.tok_embd, w->dlogits, w->xnf, P + m->off.tok_embd, WT + m->off.tok_embd, T, E, V, w->lin);
    memset(dx, 0, TE * sizeof(float));
    dl_tl_rmsnorm_bwd(dx, G + m->off.output_norm, w->dxn, w->x_out, P + m->off.output_norm, w->rstdf, T, E);
    for (int l = c->n_layer - 1; l >= 0; l--) {
        const dl_tlayer_off *L = &m->off.layer[l];
        tlayer_act *a = &w->la[l];
        /* ffn: dx is the gradient at the layer output = at x_mid via the residual */
        memset(w->dh, 0, (size_t)T * F * sizeof(float));
        dl_tl_linear_bwd(w->dh, G + L->w_down, dx, a->h, P + L->w_down, WT + L->w_down, T, F, E, w->lin);
        memset(w->dgate, 0, (size_t)T * F * sizeof(float));
        memset(w->dup, 0, (size_t)T * F * sizeof(float));
        dl_tl_swiglu_bwd(w->dgate, w->dup, w->dh, a->gate, a->up, (int64_t)T * F);
        memset(w->dxn, 0, TE * sizeof(float));
        dl_tl_linear_bwd(w->dxn, G + L->w_gate, w->dgate, a->xn2, P + L->w_gate, WT + L->w_gate, T, E, F, w->lin);
        dl_tl_linear_bwd(w->dxn, G + L->w_up, w->dup, a->xn2, P + L->w_up, WT + L->w_up, T, E, F, w->lin);
        dl_tl_rmsnorm_bwd(dx, G + L->ffn_norm, w->dxn, a->x_mid, P + L->ffn_norm, a->rstd2, T, E);
        /* attention */
        memset(w->datt, 0, (size_t)T * QD * sizeof(float));
        dl_tl_linear_bwd(w->datt, G + L->wo, dx, a->att, P + L->wo, WT + L->wo, T, QD, E, w->lin);
        memset(w->dq, 0, (size_t)T * QD * sizeof(float));
        memset(w->dk, 0, (size_t)T * KVD * sizeof(float));
        memset(w->dv, 0, (size_t)T * KVD * sizeof(float));
        dl_tl_attn_bwd(w->dq, w->dk, w->dv, w->datt, a->probs, a->q, a->k, a->v, T, H, Hk, D);
        dl_tl_rope(w->dq, m->rope_cos, m->rope_sin, T, H, D, true);
        dl_tl_rope(w->dk, m->rope_cos, m->rope_sin, T, Hk, D, true);
        /* q/k norm: reuse datt (T,QD) and dx2 as pre-norm gradients */
        float *dqpre = w->datt;
        memset(dqpre, 0, (size_t)T * QD * sizeof(float));
        dl_tl_rmsnorm_bwd(dqpre, G + L->q_norm, w->dq, a->qpre, P + L->q_norm, a->rstdq, T * H, D);
        float *dkpre = w->dq; /* dq is no longer needed; (T,QD) >= (T,KVD) */
        memset(dkpre, 0, (size_t)T * KVD * sizeof(float));
        dl_tl_rmsnorm_bwd(dkpre, G + L->k_norm, w->dk, a->kpre, P + L->k_norm, a->rstdk, T * Hk, D);
        memset(w->dxn, 0, TE * sizeof(float));
        dl_tl_linear_bwd(w->dxn, G + L->wq, dqpre, a->xn1, P + L->wq, WT + L->wq, T, E, QD, w->lin);
        dl_tl_linear_bwd(w->dxn, G + L->wk, dkpre, a->xn1, P + L->wk, WT + L->wk, T, E, KVD, w->lin);
        dl_tl_linear_bwd(w->dxn, G + L->wv, w->dv, a->xn1, P + L->wv, WT + L->wv, T, E, KVD, w->lin);
        dl_tl_rmsnorm_bwd(dx, G + L->attn_norm, w->dxn, a->x_in, P + L->attn_norm, a->rstd1, T, E);
    }
    for (int t = 0; t < T; t++) {
        float *g = G + m->off.tok_embd + (size_t)ids[t] * E;
        for (int i = 0; i < E; i++) g[i] += dx[(size_t)t * E + i];
    }
}

int dl_tmodel_logits(dl_tmodel *m, const int32_t *ids, int32_t n, float *logits, dl_error *err) {
    if (n < 1 || n > m->cfg.n_ctx)
        return dl_error_set(err, 400, "train: sequence of %d tokens (1..%d allowed)", n, m->cfg.n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.n_vocab)
            return dl_error_set(err, 400, "train: token id %d outside the vocabulary", ids[i]);
    if (ensure_ws(m, 1, err)) return -1;
    forward(m, &m->ws[0], ids, n);
    memcpy(logits, m->ws[0].logits, (size_t)n * (size_t)m->cfg.n_vocab * sizeof(float));
    return 0;
}

int dl_tmodel_token_logprobs(dl_tmodel *m, const int32_t *ids, int32_t n, float *logp, dl_error *err) {
    if (n < 2) return dl_error_set(err, 400, "train: logprobs need at least 2 tokens");
    if (n > m->cfg.n_ctx)
        return dl_error_set(err, 400, "train: sequence of %d tokens (1..%d allowed)", n, m->cfg.n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.n_vocab)
            return dl_error_set(err, 400, "train: token id %d outside the vocabulary", ids[i]);
    if (ensure_ws(m, 1, err)) return -1;
    forward(m, &m->ws[0], ids, n);
    dl_tl_logprobs(logp, m->ws[0].logits, ids + 1, n - 1, m->cfg.n_vocab);
    return 0;
}

typedef struct lp_job {
    dl_tmodel *m;
    const dl_batch *b;
    float *const *logp;
} lp_job;

static void lp_worker(void *ctx, int ith, int nth) {
    lp_job *j = ctx;
    int64_t begin, end;
    dl_split_range(j->b->n_rows, ith, nth, 1, &begin, &end);
    tws *w = &j->m->ws[ith];
    for (int64_t r = begin; r < end; r++) {
        const dl_example *e = &j->b->rows[r];
        forward(j->m, w, e->ids, e->n);
        dl_tl_logprobs(j->logp[r], w->logits, e->ids + 1, e->n - 1, j->m->cfg.n_vocab);
    }
}

int dl_tmodel_batch_logprobs(dl_tmodel *m, const dl_batch *b, dl_pool *pool, float *const *logp,
                             dl_error *err) {
    for (int32_t r = 0; r < b->n_rows; r++) {
        const dl_example *e = &b->rows[r];
        if (e->n < 2 || e->n > m->cfg.n_ctx)
            return dl_error_set(err, 400, "train: row %d has %d tokens (2..%d allowed)", r, e->n, m->cfg.n_ctx);
        for (int32_t i = 0; i < e->n; i++)
            if (e->ids[i] < 0 || e->ids[i] >= m->cfg.n_vocab)
                return dl_error_set(err, 400, "train: row %d: token id %d outside the vocabulary", r, e->ids[i]);
    }
    int nth = pool ? dl_pool_size(pool) : 1;
    if (ensure_ws(m, nth, err)) return -1;
    lp_job j = {m, b, logp};
    if (pool) dl_pool_run(pool, lp_worker, &j);
    else lp_worker(&j, 0, 1);
    return 0;
}

/* Sequence length used for an example: its tokens, cut to n_ctx. */
static int ex_len(const dl_tmodel *m, const dl_example *e) { return DL_MIN(e->n, m->cfg.n_ctx); }

static double example_grad_ws(dl_tmodel *m, tws *w, const dl_example *e, float *G, float scale,
                              int64_t *n_tok) {
    int T = ex_len(m, e);
    if (T < 2) return 0.0;
    int Tp = T - 1; /* positions with a next token */
    int64_t cnt = 0;
    for (int t = 0; t < Tp; t++) cnt += e->mask[t] != 0;
    if (n_tok) *n_tok += cnt;
    if (cnt == 0) return 0.0;
    forward(m, w, e->ids, T);
    /* the last position has no target: clear its logits' gradient */
    double loss = e->pg ? dl_tl_pg_loss(w->dlogits, w->logits, e->ids + 1, e->mask, e->pg, Tp, m->cfg.n_vocab, scale)
                        : dl_tl_xent(w->dlogits, w->logits, e->ids + 1, e->mask, e->weight, Tp, m->cfg.n_vocab, scale);
    memset(w->dlogits + (size_t)Tp * m->cfg.n_vocab, 0, (size_t)m->cfg.n_vocab * sizeof(float));
    backward(m, w, e->ids, T, G);
    return loss;
}

/* Writes every matrix of the parameters transposed into m->wt (same
 * offsets): the backward pass's dx products read W^T, which is the same
 * for every sequence of a step. */
static void refresh_transposes(dl_tmodel *m) {
    const dl_tconfig *c = &m->cfg;
    const int E = c->n_embd, QD = c->n_head * c->head_dim, KVD = c->n_head_kv * c->head_dim, F = c->n_ff;
    dl_tl_transpose(m->wt + m->off.tok_embd, m->params + m->off.tok_embd, c->n_vocab, E);
    for (int l = 0; l < c->n_layer; l++) {
        const dl_tlayer_off *L = &m->off.layer[l];
        dl_tl_transpose(m->wt + L->wq, m->params + L->wq, QD, E);
        dl_tl_transpose(m->wt + L->wk, m->params + L->wk, KVD, E);
        dl_tl_transpose(m->wt + L->wv, m->params + L->wv, KVD, E);
        dl_tl_transpose(m->wt + L->wo, m->params + L->wo, E, QD);
        dl_tl_transpose(m->wt + L->w_gate, m->params + L->w_gate, F, E);
        dl_tl_transpose(m->wt + L->w_up, m->params + L->w_up, F, E);
        dl_tl_transpose(m->wt + L->w_down, m->params + L->w_down, E, F);
    }
}

typedef struct grad_job {
    dl_tmodel *m;
    const dl_batch *b;
    float scale;
} grad_job;

static void grad_worker(void *ctx, int ith, int nth) {
    grad_job *j = ctx;
    tws *w = &j->m->ws[ith];
    float *G = ith == 0 ? j->m->grad : w->grad;
    memset(G, 0, j->m->off.total * sizeof(float));
    w->loss = 0.0;
    w->n_tok = 0;
    int64_t begin, end;
    dl_split_range(j->b->n_rows, ith, nth, 1, &begin, &end);
    for (int64_t r = begin; r < end; r++)
        w->loss += example_grad_ws(j->m, w, &j->b->rows[r], G, j->scale, &w->n_tok);
}

int dl_tmodel_loss_grad(dl_tmodel *m, const dl_batch *b, dl_pool *pool, double *loss,
                        int64_t *n_tok, dl_error *err) {
    int nth = pool ? dl_pool_size(pool) : 1;
    if (ensure_ws(m, nth, err)) return -1;
    int64_t total = 0;
    for (int32_t r = 0; r < b->n_rows; r++) {
        const dl_example *e = &b->rows[r];
        for (int32_t t = 0; t + 1 < ex_len(m, e); t++) total += e->mask[t] != 0;
        for (int32_t t = 0; t < ex_len(m, e); t++)
            if (e->ids[t] < 0 || e->ids[t] >= m->cfg.n_vocab)
                return dl_error_set(err, 400, "train: row %d: token id %d outside the vocabulary", r, e->ids[t]);
    }
    refresh_transposes(m);
    grad_job j = {.m = m, .b = b, .scale = total > 0 ? 1.0f / (float)total : 0.0f};
    if (pool) dl_pool_run(pool, grad_worker, &j);
    else grad_worker(&j, 0, 1);
    double sum = m->ws[0].loss;
    for (int i = 1; i < nth; i++) { /* fixed order: deterministic for a thread count */
        const float *g = m->ws[i].grad;
        for (size_t k = 0; k < m->off.total; k++) m->grad[k] += g[k];
        sum += m->ws[i].loss;
    }
    if (loss) *loss = total > 0 ? sum / (double)total : 0.0;
    if (n_tok) *n_tok = total;
    return 0;
}
