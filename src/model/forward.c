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

/* ---- attention over the KV cache, split across threads by (token, head) ---- */

typedef struct attn_job {
    dl_context *c;
    int layer;
    int32_t pos0; /* position of token 0 of the batch */
    int32_t n_tok;
} attn_job;

static void attn_worker(void *p, int ith, int nth) {
    attn_job *job = p;
    dl_context *c = job->c;
    const dl_hparams *hp = &c->m->hp;
    const int32_t HD = hp->head_dim, H = hp->n_head;
    const int32_t group = hp->n_head / hp->n_head_kv;
    const size_t QD = (size_t)H * (size_t)HD, KVD = (size_t)hp->n_head_kv * (size_t)HD;
    const float scale = 1.0f / sqrtf((float)HD);
    const float *kc = c->k_cache + (size_t)job->layer * (size_t)c->p.n_ctx * KVD;
    const float *vc = c->v_cache + (size_t)job->layer * (size_t)c->p.n_ctx * KVD;
    float *scores = c->scores + (size_t)ith * (size_t)c->p.n_ctx;
    int64_t begin, end;
    dl_split_range((int64_t)job->n_tok * H, ith, nth, 1, &begin, &end);
    for (int64_t task = begin; task < end; task++) {
        int32_t i = (int32_t)(task / H), h = (int32_t)(task % H);
        int32_t kvh = h / group;
        int32_t n_keys = job->pos0 + i + 1; /* causal: keys 0..pos */
        const float *q = c->q + (size_t)i * QD + (size_t)h * (size_t)HD;
        for (int32_t j = 0; j < n_keys; j++)
            scores[j] = dl_vec_dot_f32(q, kc + (size_t)j * KVD + (size_t)kvh * (size_t)HD, HD) * scale;
        dl_op_softmax(scores, n_keys);
        float *out = c->att + (size_t)i * QD + (size_t)h * (size_t)HD;
        memset(out, 0, (size_t)HD * sizeof(float));
        for (int32_t j = 0; j < n_keys; j++)
            dl_vec_mad_f32(out, vc + (size_t)j * KVD + (size_t)kvh * (size_t)HD, scores[j], HD);
    }
}

/* Runs one batch (n <= n_batch) at positions n_past.. and writes logits for
 * rows [out_first, n) of the batch to `logits` (out_first == n: none). */
static int forward_batch(dl_context *c, const int32_t *tokens, int32_t n, int32_t out_first,
                         float *logits, dl_error *err) {
    const dl_model *m = c->m;
    const dl_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, HD = hp->head_dim, FF = hp->n_ff;
    const int64_t QD = (int64_t)hp->n_head * HD, KVD = (int64_t)hp->n_head_kv * HD;
    const int32_t pos0 = c->n_past, half_rot = hp->n_rot / 2;

    for (int32_t i = 0; i < n; i++) {
        if (dl_get_row(m->tok_embd.type, m->tok_embd.data, E, tokens[i], c->x + i * E) != 0)
            return dl_error_set(err, 500, "embedding lookup failed for token %d", tokens[i]);
        dl_op_rope_table(c->rope_cos + i * half_rot, c->rope_sin + i * half_rot, pos0 + i,
                         hp->n_rot, hp->rope_freq_base, hp->rope_freq_scale);
    }

    for (int l = 0; l < hp->n_layer; l++) {
        const dl_layer *ly = &m->layers[l];
        /* attention block */
        for (int32_t i = 0; i < n; i++) dl_op_rmsnorm(c->xb + i * E, c->x + i * E, ly->attn_norm, E, hp->rms_eps);
        if (mm(c, &ly->wq, c->xb, n, c->q, QD, err) || mm(c, &ly->wk, c->xb, n, c->k, KVD, err) ||
            mm(c, &ly->wv, c->xb, n, c->v, KVD, err))
            return -1;
        for (int32_t i = 0; i < n; i++) {
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
            size_t slot = ((size_t)l * (size_t)c->p.n_ctx + (size_t)(pos0 + i)) * (size_t)KVD;
            memcpy(c->k_cache + slot, k, (size_t)KVD * sizeof(float));
            memcpy(c->v_cache + slot, v, (size_t)KVD * sizeof(float));
        }
        attn_job job = {.c = c, .layer = l, .pos0 = pos0, .n_tok = n};
        dl_pool_run(c->pool, attn_worker, &job);
        if (mm(c, &ly->wo, c->att, n, c->xb, E, err)) return -1;
        for (int64_t i = 0; i < (int64_t)n * E; i++) c->x[i] += c->xb[i];

        /* feed-forward block (SwiGLU) */
        for (int32_t i = 0; i < n; i++) dl_op_rmsnorm(c->xb + i * E, c->x + i * E, ly->ffn_norm, E, hp->rms_eps);
        if (mm(c, &ly->w_gate, c->xb, n, c->hb, FF, err) || mm(c, &ly->w_up, c->xb, n, c->hb2, FF, err))
            return -1;
        dl_op_swiglu(c->hb, c->hb2, (int64_t)n * FF);
        if (mm(c, &ly->w_down, c->hb, n, c->xb, E, err)) return -1;
        for (int64_t i = 0; i < (int64_t)n * E; i++) c->x[i] += c->xb[i];
    }

    if (out_first < n) {
        int32_t n_out = n - out_first;
        for (int32_t i = 0; i < n_out; i++)
            dl_op_rmsnorm(c->xb + i * E, c->x + (out_first + i) * E, m->output_norm, E, hp->rms_eps);
        if (mm(c, &m->output, c->xb, n_out, logits, hp->n_vocab, err)) return -1;
    }
    return 0;
}

int dl_context_decode(dl_context *c, const int32_t *tokens, int32_t n, bool all_logits, dl_error *err) {
    const dl_hparams *hp = &c->m->hp;
    if (n <= 0) return dl_error_set(err, 400, "decode: no tokens given");
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return dl_error_set(err, 400, "decode: token id %d at index %d is outside the vocabulary (0..%d)",
                                tokens[i], i, hp->n_vocab - 1);
    if ((int64_t)c->n_past + n > c->p.n_ctx)
        return dl_error_set(err, 400,
                            "context overflow: %d tokens after the %d already in the context exceed its size of %d tokens",
                            n, c->n_past, c->p.n_ctx);
    if (all_logits && n > c->logits_cap) {
        float *bigger = dl_aligned_alloc((size_t)n * (size_t)hp->n_vocab * sizeof(float));
        if (!bigger) return dl_error_set(err, 500, "decode: out of memory for the logits of %d tokens", n);
        dl_aligned_free(c->logits);
        c->logits = bigger;
        c->logits_cap = n;
    }
    const int32_t start_past = c->n_past;
    c->n_logits = 0;
    for (int32_t done = 0; done < n;) {
        int32_t nb = DL_MIN(c->p.n_batch, n - done);
        bool last = done + nb == n;
        int32_t out_first = all_logits ? 0 : (last ? nb - 1 : nb);
        float *dst = c->logits + (all_logits ? (size_t)done * (size_t)hp->n_vocab : 0);
        if (forward_batch(c, tokens + done, nb, out_first, dst, err) != 0) {
            c->n_past = start_past; /* the cache beyond start_past is garbage now; drop it */
            return -1;
        }
        c->n_past += nb;
        done += nb;
    }
    c->n_logits = all_logits ? n : 1;
    return 0;
}
