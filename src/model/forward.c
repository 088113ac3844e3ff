/* The forward pass: embeddings -> n_layer x (attention, SwiGLU FFN) ->
 * final norm -> output logits, for a batch of tokens at consecutive
 * positions, appending to the KV cache. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

static int mm(dl_context *c, const dl_weight *w, const float *x, int64_t n_tok, float *y,
              int64_t ldy, dl_error *err) {
    return dl_matmul(c->pool, &c->ws, w->type, w->data, w->rows, w->cols, x, n_tok, y, ldy, err);
}

/* Two or three products of the same input in one pass of the pool (w3 may
 * be NULL): q/k/v, gate/up. */
static int mm3(dl_context *c, const dl_weight *w1, float *y1, int64_t ld1, const dl_weight *w2, float *y2,
               int64_t ld2, const dl_weight *w3, float *y3, int64_t ld3, const float *x, int64_t n_tok,
               dl_error *err) {
    dl_matmul_op ops[3] = {
        {.type = w1->type, .w = w1->data, .rows = w1->rows, .y = y1, .ldy = ld1},
        {.type = w2->type, .w = w2->data, .rows = w2->rows, .y = y2, .ldy = ld2},
        {.type = w3 ? w3->type : 0, .w = w3 ? w3->data : NULL, .rows = w3 ? w3->rows : 0, .y = y3, .ldy = ld3},
    };
    return dl_matmul_multi(c->pool, &c->ws, ops, w3 ? 3 : 2, w1->cols, x, n_tok, err);
}

/* ---- attention over the KV cache ----
 * Flash-attention style: work is split across threads by (token, KV head);
 * the query heads that share a KV head (GQA group) are processed together,
 * walking the keys in blocks of ATTN_BLOCK with an online softmax (running
 * maximum and sum per head, the accumulator rescaled when the maximum
 * grows). Each K/V row is read once per group instead of once per head, and
 * no score buffer grows with the context. */

#define ATTN_BLOCK 64

typedef struct attn_job {
    dl_context *c;
    int layer;
    int32_t n_tok; /* positions and sequences in c->tok_pos / c->tok_seq */
} attn_job;

/* Offset (in floats) of the KV cache row of (seq, layer, pos). */
static inline size_t kv_slot(const dl_context *c, int32_t seq, int layer, int32_t pos) {
    const dl_hparams *hp = &c->m->hp;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    return (((size_t)seq * (size_t)hp->n_layer + (size_t)layer) * (size_t)c->p.n_ctx + (size_t)pos) * kvd;
}

static void attn_worker(void *p, int ith, int nth) {
    attn_job *job = p;
    dl_context *c = job->c;
    const dl_hparams *hp = &c->m->hp;
    const int32_t HD = hp->head_dim, H = hp->n_head, HKV = hp->n_head_kv;
    const int32_t group = H / HKV;
    const size_t QD = (size_t)H * (size_t)HD, KVD = (size_t)HKV * (size_t)HD;
    const float scale = 1.0f / sqrtf((float)HD);
    /* per-thread scratch: scores (group x ATTN_BLOCK), running max (group), sums (group, double) */
    float *scores = c->attn_scratch + (size_t)ith * c->attn_scratch_per_thread;
    float *run_max = scores + (size_t)group * ATTN_BLOCK;
    double *run_sum = (double *)(void *)(run_max + group + (group & 1));
    /* tasks (token, KV head) dealt round-robin: in a prompt later tokens
     * attend to more keys, so contiguous ranges would leave the threads
     * with the early tokens idle */
    const int64_t n_tasks = (int64_t)job->n_tok * HKV;
    for (int64_t task = ith; task < n_tasks; task += nth) {
        int32_t i = (int32_t)(task / HKV), kvh = (int32_t)(task % HKV);
        int32_t n_keys = c->tok_pos[i] + 1; /* causal: keys 0..pos of its own sequence */
        const size_t base = kv_slot(c, c->tok_seq[i], job->layer, 0) + (size_t)kvh * (size_t)HD;
        const char *kc = (const char *)c->k_cache + base * c->kv_esize;
        const char *vc = (const char *)c->v_cache + base * c->kv_esize;
        const size_t row_bytes = KVD * c->kv_esize;
        const bool f16 = c->kv_esize == 2;
        const float *q0 = c->q + (size_t)i * QD + (size_t)(kvh * group) * (size_t)HD;
        float *out0 = c->att + (size_t)i * QD + (size_t)(kvh * group) * (size_t)HD;
        for (int32_t g = 0; g < group; g++) {
            run_max[g] = -INFINITY;
            run_sum[g] = 0.0;
            memset(out0 + (size_t)g * (size_t)HD, 0, (size_t)HD * sizeof(float));
        }
        for (int32_t j0 = 0; j0 < n_keys; j0 += ATTN_BLOCK) {
            int32_t nb = DL_MIN(ATTN_BLOCK, n_keys - j0);
            for (int32_t g = 0; g < group; g++) {
                const float *q = q0 + (size_t)g * (size_t)HD;
                float *sc = scores + (size_t)g * ATTN_BLOCK;
                float bmax = run_max[g];
                if (!f16) dl_vec_dot_rows_f32(sc, q, (const float *)(kc + (size_t)j0 * row_bytes), row_bytes, nb, HD);
                for (int32_t j = 0; j < nb; j++) {
                    const void *krow = kc + (size_t)(j0 + j) * row_bytes;
                    sc[j] = (f16 ? dl_vec_dot_f16_f32(krow, q, HD) : sc[j]) * scale;
                    if (sc[j] > bmax) bmax = sc[j];
                }
                float *out = out0 + (size_t)g * (size_t)HD;
                if (bmax > run_max[g] && run_max[g] != -INFINITY) {
                    float r = expf(run_max[g] - bmax);
                    for (int32_t d = 0; d < HD; d++) out[d] *= r;
                    run_sum[g] *= (double)r;
                }
                run_max[g] = bmax;
                for (int32_t j = 0; j < nb; j++) {
                    float e = expf(sc[j] - bmax);
                    run_sum[g] += (double)e;
                    if (f16) dl_vec_mad_f16(out, (const void *)(vc + (size_t)(j0 + j) * row_bytes), e, HD);
                    else sc[j] = e; /* the weights of the block, applied at once below */
                }
                if (!f16) dl_vec_mad_rows_f32(out, (const float *)(vc + (size_t)j0 * row_bytes), row_bytes, sc, nb, HD);
            }
        }
        for (int32_t g = 0; g < group; g++) {
            float inv = (float)(1.0 / run_sum[g]);
            float *out = out0 + (size_t)g * (size_t)HD;
            for (int32_t d = 0; d < HD; d++) out[d] *= inv;
        }
    }
}

/* ---- per-token element-wise work, split by tokens across the pool ----
 * Every token's arithmetic is the same whichever thread runs it, so the
 * results do not depend on the thread count. Batches of fewer than
 * TOK_PAR_MIN tokens (decoding) run on the calling thread: a pool pass
 * costs more than the work. */

#define TOK_PAR_MIN 4

typedef enum { TOK_ADD_NORM, TOK_QKV, TOK_SWIGLU } tok_phase;

typedef struct tok_job {
    dl_context *c;
    const dl_layer *ly;
    int layer;
    tok_phase phase;
    int32_t n;         /* tokens of the batch */
    bool add;          /* TOK_ADD_NORM: x += xb first (the previous block's residual) */
    const float *gain; /* TOK_ADD_NORM: then xb = rmsnorm(x) * gain (NULL: no norm) */
} tok_job;

/* Token i of the batch after q/k/v: biases, q/k norms, RoPE, then its K and
 * V rows into the cache. */
static void qkv_token(dl_context *c, const dl_layer *ly, int layer, int32_t i) {
    const dl_hparams *hp = &c->m->hp;
    const int64_t HD = hp->head_dim;
    const int64_t QD = (int64_t)hp->n_head * HD, KVD = (int64_t)hp->n_head_kv * HD;
    const int32_t half_rot = hp->n_rot / 2;
    float *q = c->q + i * QD, *k = c->k + i * KVD, *v = c->v + i * KVD;
    if (ly->bq) {
        for (int64_t d = 0; d < QD; d++) q[d] += ly->bq[d];
        for (int64_t d = 0; d < KVD; d++) k[d] += ly->bk[d];
        for (int64_t d = 0; d < KVD; d++) v[d] += ly->bv[d];
    }
    const float *cs = c->rope_cos + i * half_rot, *sn = c->rope_sin + i * half_rot;
    for (int32_t h = 0; h < hp->n_head; h++) {
        float *qh = q + h * HD;
        if (ly->q_norm) dl_op_rmsnorm(qh, qh, ly->q_norm, HD, hp->rms_eps);
        dl_op_rope_apply(qh, (int32_t)HD, hp->n_rot, hp->rope_style, cs, sn);
    }
    for (int32_t h = 0; h < hp->n_head_kv; h++) {
        float *kh = k + h * HD;
        if (ly->k_norm) dl_op_rmsnorm(kh, kh, ly->k_norm, HD, hp->rms_eps);
        dl_op_rope_apply(kh, (int32_t)HD, hp->n_rot, hp->rope_style, cs, sn);
    }
    size_t slot = kv_slot(c, c->tok_seq[i], layer, c->tok_pos[i]);
    if (c->kv_esize == 2) {
        dl_vec_f32_to_f16((uint16_t *)c->k_cache + slot, k, KVD);
        dl_vec_f32_to_f16((uint16_t *)c->v_cache + slot, v, KVD);
    } else {
        memcpy((float *)c->k_cache + slot, k, (size_t)KVD * sizeof(float));
        memcpy((float *)c->v_cache + slot, v, (size_t)KVD * sizeof(float));
    }
}

static void tok_worker(void *p, int ith, int nth) {
    const tok_job *job = p;
    dl_context *c = job->c;
    const dl_hparams *hp = &c->m->hp;
    const int64_t E = hp->n_embd, FF = hp->n_ff;
    int64_t b, e;
    dl_split_range(job->n, ith, nth, 1, &b, &e);
    for (int64_t i = b; i < e; i++) {
        switch (job->phase) {
        case TOK_ADD_NORM: {
            float *x = c->x + i * E, *xb = c->xb + i * E;
            if (job->add)
                for (int64_t d = 0; d < E; d++) x[d] += xb[d];
            if (job->gain) dl_op_rmsnorm(xb, x, job->gain, E, hp->rms_eps);
            break;
        }
        case TOK_QKV: qkv_token(c, job->ly, job->layer, (int32_t)i); break;
        case TOK_SWIGLU: dl_op_swiglu(c->hb + i * FF, c->hb2 + i * FF, FF); break;
        }
    }
}

static void run_tokens(dl_context *c, int32_t n, tok_job job) {
    job.c = c;
    job.n = n;
    if (n >= TOK_PAR_MIN) dl_pool_run(c->pool, tok_worker, &job);
    else tok_worker(&job, 0, 1);
}

/* Runs one batch (n <= n_batch) whose token i sits at position c->tok_pos[i]
 * of sequence c->tok_seq[i], and writes logits for rows [out_first, n) of the
 * batch to `logits` (out_first == n: none). */
static int forward_batch(dl_context *c, const int32_t *tokens, int32_t n, int32_t out_first,
                         float *logits, dl_error *err) {
    const dl_model *m = c->m;
    const dl_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, HD = hp->head_dim, FF = hp->n_ff;
    const int64_t QD = (int64_t)hp->n_head * HD, KVD = (int64_t)hp->n_head_kv * HD;
    const int32_t half_rot = hp->n_rot / 2;

    for (int32_t i = 0; i < n; i++) {
        if (dl_get_row(m->tok_embd.type, m->tok_embd.data, E, tokens[i], c->x + i * E) != 0)
            return dl_error_set(err, 500, "embedding lookup failed for token %d", tokens[i]);
        dl_op_rope_table(c->rope_cos + i * half_rot, c->rope_sin + i * half_rot, c->tok_pos[i],
                         hp->n_rot, hp->rope_freq_base, hp->rope_freq_scale);
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const dl_layer *ly = &m->layers[l];
        /* attention block (the previous layer's FFN residual is added first) */
        run_tokens(c, n, (tok_job){.phase = TOK_ADD_NORM, .add = l > 0, .gain = ly->attn_norm});
        if (mm3(c, &ly->wq, c->q, QD, &ly->wk, c->k, KVD, &ly->wv, c->v, KVD, c->xb, n, err)) return -1;
        run_tokens(c, n, (tok_job){.phase = TOK_QKV, .ly = ly, .layer = l});
        attn_job job = {.c = c, .layer = l, .n_tok = n};
        dl_pool_run(c->pool, attn_worker, &job);
        if (mm(c, &ly->wo, c->att, n, c->xb, E, err)) return -1;

        /* feed-forward block (SwiGLU) */
        run_tokens(c, n, (tok_job){.phase = TOK_ADD_NORM, .add = true, .gain = ly->ffn_norm});
        if (mm3(c, &ly->w_gate, c->hb, FF, &ly->w_up, c->hb2, FF, NULL, NULL, 0, c->xb, n, err)) return -1;
        run_tokens(c, n, (tok_job){.phase = TOK_SWIGLU});
        if (mm(c, &ly->w_down, c->hb, n, c->xb, E, err)) return -1;
    }
    if (hp->n_layer > 0) run_tokens(c, n, (tok_job){.phase = TOK_ADD_NORM, .add = true});

    if (out_first < n) {
        int32_t n_out = n - out_first;
        for (int32_t i = 0; i < n_out; i++)
            dl_op_rmsnorm(c->xb + i * E, c->x + (out_first + i) * E, m->output_norm, E, hp->rms_eps);
        if (mm(c, &m->output, c->xb, n_out, logits, hp->n_vocab, err)) return -1;
    }
    return 0;
}

/* Common path of the two decode entry points. seq == NULL: every token
 * belongs to sequence 0. The batch is split into chunks of n_batch; all
 * checks happen before anything runs, and a failure restores every
 * sequence's length. */
static int decode_impl(dl_context *c, const int32_t *tokens, const int32_t *seq, int32_t n,
                       bool all_logits, dl_error *err) {
    const dl_hparams *hp = &c->m->hp;
    const int32_t n_seq = c->p.n_seq;
    if (n <= 0) return dl_error_set(err, 400, "decode: no tokens given");
    for (int32_t i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return dl_error_set(err, 400, "decode: token id %d at index %d is outside the vocabulary (0..%d)",
                                tokens[i], i, hp->n_vocab - 1);
        if (seq && (seq[i] < 0 || seq[i] >= n_seq))
            return dl_error_set(err, 400, "decode: sequence id %d at index %d is outside 0..%d", seq[i], i,
                                n_seq - 1);
    }
    /* count the new tokens of each sequence (seq_saved as scratch) */
    memset(c->seq_saved, 0, (size_t)n_seq * sizeof(int32_t));
    for (int32_t i = 0; i < n; i++) c->seq_saved[seq ? seq[i] : 0]++;
    for (int32_t s = 0; s < n_seq; s++)
        if ((int64_t)c->seq_past[s] + c->seq_saved[s] > c->p.n_ctx) {
            if (n_seq == 1)
                return dl_error_set(err, 400,
                                    "context overflow: %d tokens after the %d already in the context exceed its size of %d tokens",
                                    c->seq_saved[s], c->seq_past[s], c->p.n_ctx);
            return dl_error_set(err, 400,
                                "context overflow: sequence %d: %d tokens after the %d already in its context exceed its size of %d tokens",
                                s, c->seq_saved[s], c->seq_past[s], c->p.n_ctx);
        }
    if (all_logits && n > c->logits_cap) {
        float *bigger = dl_aligned_alloc((size_t)n * (size_t)hp->n_vocab * sizeof(float));
        if (!bigger) return dl_error_set(err, 500, "decode: out of memory for the logits of %d tokens", n);
        dl_aligned_free(c->logits);
        c->logits = bigger;
        c->logits_cap = n;
    }
    memcpy(c->seq_saved, c->seq_past, (size_t)n_seq * sizeof(int32_t));
    c->n_logits = 0;
    for (int32_t done = 0; done < n;) {
        int32_t nb = DL_MIN(c->p.n_batch, n - done);
        for (int32_t i = 0; i < nb; i++) {
            int32_t s = seq ? seq[done + i] : 0;
            c->tok_seq[i] = s;
            c->tok_pos[i] = c->seq_past[s]++;
        }
        bool last = done + nb == n;
        int32_t out_first = all_logits ? 0 : (last ? nb - 1 : nb);
        float *dst = c->logits + (all_logits ? (size_t)done * (size_t)hp->n_vocab : 0);
        if (forward_batch(c, tokens + done, nb, out_first, dst, err) != 0) {
            /* the cache rows written by this call are garbage now: drop them */
            memcpy(c->seq_past, c->seq_saved, (size_t)n_seq * sizeof(int32_t));
            return -1;
        }
        done += nb;
    }
    c->n_logits = all_logits ? n : 1;
    return 0;
}

int dl_context_decode(dl_context *c, const int32_t *tokens, int32_t n, bool all_logits, dl_error *err) {
    return decode_impl(c, tokens, NULL, n, all_logits, err);
}

int dl_context_decode_seqs(dl_context *c, const int32_t *tokens, const int32_t *seq, int32_t n,
                           dl_error *err) {
    if (!seq) return dl_error_set(err, 400, "decode: no sequence ids given");
    return decode_impl(c, tokens, seq, n, true, err);
}
