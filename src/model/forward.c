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
 * Flash-attention style, in tasks of (query block, KV head): a query block
 * is up to ATTN_QTOK tokens of one sequence at consecutive positions (a
 * prompt; when decoding several sequences, one token each), and its rows
 * are those tokens' query heads that share the KV head (GQA group), R =
 * tokens x group rows. The keys are walked in blocks of ATTN_BLOCK:
 * - scores S[r][j] = q_r . k_j / sqrt(head_dim) for the whole block, each
 *   key row read once per block of queries, not once per query (attn_task);
 * - causal mask (row r sees keys up to its token's position), then the
 *   online softmax per row: running maximum and sum, the accumulator
 *   rescaled when the maximum grows;
 * - out_r += sum_j p[r][j] v_j.
 * No score buffer grows with the context. The blocks are formed from the
 * batch alone, so the results do not depend on the thread count, and every
 * row's arithmetic is the same whatever block it is in (see the scores), so
 * they do not depend on how the batch was cut either. */

typedef struct attn_job {
    dl_context *c;
    int layer;
    int32_t n_tok; /* positions and sequences in c->tok_pos / c->tok_seq */
    int32_t n_blocks;
    int32_t *block_start; /* n_blocks + 1 token indices (c->attn_blocks) */
} attn_job;

/* Offset (in floats) of the KV cache row of (seq, layer, pos). */
static inline size_t kv_slot(const dl_context *c, int32_t seq, int layer, int32_t pos) {
    const dl_hparams *hp = &c->m->hp;
    size_t kvd = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    return (((size_t)seq * (size_t)hp->n_layer + (size_t)layer) * (size_t)c->p.n_ctx + (size_t)pos) * kvd;
}

/* Cuts the batch into query blocks (see above); returns their number. */
static int32_t attn_blocks(const dl_context *c, int32_t n_tok, int32_t *start) {
    int32_t nb = 0;
    for (int32_t i = 0; i < n_tok; i++) {
        if (nb == 0 || i - start[nb - 1] >= ATTN_QTOK || c->tok_seq[i] != c->tok_seq[i - 1] ||
            c->tok_pos[i] != c->tok_pos[i - 1] + 1)
            start[nb++] = i;
    }
    start[nb] = n_tok;
    return nb;
}

/* From this many query rows an F32 cache's K and V blocks are first copied
 * to contiguous scratch (exact, so the results are the same either way):
 * cache rows sit n_head_kv * head_dim floats apart, a multiple of 4 KiB for
 * the usual shapes, so a block's rows compete for the same L1 sets. */
#define ATTN_COPY_ROWS 8

/* The block's nb rows of an F16 cache (row_bytes apart) as floats, HD apart. */
static const float *f16_block(const char *src, size_t row_bytes, int32_t nb, int32_t HD, float *dst) {
    for (int32_t j = 0; j < nb; j++)
        dl_vec_f16_to_f32(dst + (size_t)j * HD, (const uint16_t *)(const void *)(src + (size_t)j * row_bytes), HD);
    return dst;
}

/* One task: query block b (tokens i0..i1) against KV head kvh. */
static void attn_task(dl_context *c, int layer, int32_t i0, int32_t i1, int32_t kvh, float *scratch) {
    const dl_hparams *hp = &c->m->hp;
    const int32_t HD = hp->head_dim, H = hp->n_head, HKV = hp->n_head_kv, group = H / HKV;
    const size_t QD = (size_t)H * (size_t)HD, KVD = (size_t)HKV * (size_t)HD;
    const int32_t nt = i1 - i0, R = nt * group;
    const float scale = 1.0f / sqrtf((float)HD);
    const size_t row_bytes = KVD * c->kv_esize;
    const int kv_type = c->kv_esize == 2 ? DL_TYPE_F16 : DL_TYPE_F32;
    /* scratch: queries (R x HD), outputs (R x HD), scores (R x ATTN_BLOCK), K and V
     * blocks as floats (ATTN_BLOCK x HD each, F16 cache), maxima (R), sums (R, double) */
    float *qs = scratch, *out = qs + (size_t)R * HD, *sc = out + (size_t)R * HD;
    float *kf = sc + (size_t)R * ATTN_BLOCK, *vf = kf + (size_t)ATTN_BLOCK * HD;
    float *run_max = vf + (size_t)ATTN_BLOCK * HD;
    double *run_sum = (double *)(void *)(run_max + R + (R & 1));

    const size_t base = kv_slot(c, c->tok_seq[i0], layer, 0) + (size_t)kvh * (size_t)HD;
    const char *kc = (const char *)c->k_cache + base * c->kv_esize;
    const char *vc = (const char *)c->v_cache + base * c->kv_esize;
    for (int32_t t = 0; t < nt; t++)
        for (int32_t g = 0; g < group; g++) {
            const float *q = c->q + (size_t)(i0 + t) * QD + (size_t)(kvh * group + g) * (size_t)HD;
            float *qr = qs + (size_t)(t * group + g) * HD;
            memcpy(qr, q, (size_t)HD * sizeof(float));
        }
    memset(out, 0, (size_t)R * (size_t)HD * sizeof(float));
    for (int32_t r = 0; r < R; r++) {
        run_max[r] = -INFINITY;
        run_sum[r] = 0.0;
    }
    const int32_t n_keys = c->tok_pos[i1 - 1] + 1; /* the last token sees the most keys */
    for (int32_t j0 = 0; j0 < n_keys; j0 += ATTN_BLOCK) {
        int32_t nb = DL_MIN(ATTN_BLOCK, n_keys - j0);
        const char *kb = kc + (size_t)j0 * row_bytes, *vb = vc + (size_t)j0 * row_bytes;
        size_t stride = row_bytes;
        if (kv_type == DL_TYPE_F16) { /* the blocks as floats, once for all the rows */
            kb = (const char *)f16_block(kb, row_bytes, nb, HD, kf);
            vb = (const char *)f16_block(vb, row_bytes, nb, HD, vf);
            stride = (size_t)HD * sizeof(float);
        } else if (R >= ATTN_COPY_ROWS) { /* many rows: a compact copy (see ATTN_COPY_ROWS) */
            for (int32_t j = 0; j < nb; j++) {
                memcpy(kf + (size_t)j * HD, kb + (size_t)j * row_bytes, (size_t)HD * sizeof(float));
                memcpy(vf + (size_t)j * HD, vb + (size_t)j * row_bytes, (size_t)HD * sizeof(float));
            }
            kb = (const char *)kf;
            vb = (const char *)vf;
            stride = (size_t)HD * sizeof(float);
        }
        /* scores of all the rows, each key row read once for all of them; every
         * score is dl_vec_dot_rows_f32's whatever R is, so a token's results do
         * not depend on how a batch was cut into query blocks (batched requests
         * give what they give alone), and short prompts with quantised weights
         * match the reference implementation to 1e-5 of the logit range
         * (tests/model checks both) */
        dl_vec_dot_rows_multi_f32(sc, ATTN_BLOCK, qs, R, (const float *)(const void *)kb, stride, nb, HD);
        for (int32_t r = 0; r < R; r++) {
            int32_t nv = DL_MIN(nb, c->tok_pos[i0 + r / group] + 1 - j0); /* causal */
            if (nv <= 0) continue;
            float *s = sc + (size_t)r * ATTN_BLOCK, *o = out + (size_t)r * HD;
            for (int32_t j = 0; j < nv; j++) s[j] *= scale;
            float bmax = DL_MAX(run_max[r], dl_vec_max_f32(s, nv));
            if (bmax > run_max[r] && run_max[r] != -INFINITY) {
                float f = expf(run_max[r] - bmax);
                for (int32_t d = 0; d < HD; d++) o[d] *= f;
                run_sum[r] *= (double)f;
            }
            run_max[r] = bmax;
            run_sum[r] += (double)dl_vec_exp_sub_f32(s, bmax, nv);
            dl_vec_mad_rows_f32(o, (const float *)(const void *)vb, stride, s, nv, HD);
        }
    }
    for (int32_t r = 0; r < R; r++) {
        int32_t t = r / group, g = r % group;
        float inv = (float)(1.0 / run_sum[r]);
        const float *o = out + (size_t)r * HD;
        float *dst = c->att + (size_t)(i0 + t) * QD + (size_t)(kvh * group + g) * (size_t)HD;
        for (int32_t d = 0; d < HD; d++) dst[d] = o[d] * inv;
    }
}

/* Tasks (query block, KV head) dealt round-robin: in a prompt later blocks
 * attend to more keys, so contiguous ranges would leave a thread idle. */
static void attn_worker(void *p, int ith, int nth) {
    attn_job *job = p;
    dl_context *c = job->c;
    const int32_t HKV = c->m->hp.n_head_kv;
    float *scratch = c->attn_scratch + (size_t)ith * c->attn_scratch_per_thread;
    const int64_t n_tasks = (int64_t)job->n_blocks * HKV;
    for (int64_t task = ith; task < n_tasks; task += nth) {
        int32_t b = (int32_t)(task / HKV), kvh = (int32_t)(task % HKV);
        attn_task(c, job->layer, job->block_start[b], job->block_start[b + 1], kvh, scratch);
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
        attn_job job = {.c = c, .layer = l, .n_tok = n, .block_start = c->attn_blocks};
        job.n_blocks = attn_blocks(c, n, job.block_start);
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
