/* A context: one sequence's KV cache and all activation buffers, allocated
 * once here so that decoding does not allocate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

static float *alloc_f32(size_t n, bool *failed) {
    float *p = dl_aligned_alloc(n * sizeof(float));
    if (!p) *failed = true;
    return p;
}

dl_context *dl_context_create(const dl_model *m, const dl_context_params *params, dl_error *err) {
    const dl_hparams *hp = &m->hp;
    dl_context_params p = params ? *params : (dl_context_params){0};
    if (p.n_ctx < 0 || p.n_batch < 0 || p.n_threads < 0 || p.n_seq < 0) {
        dl_error_set(err, 400, "context: n_ctx, n_seq, n_batch and n_threads must not be negative");
        return NULL;
    }
    if (p.n_seq == 0) p.n_seq = 1;
    if (p.kv_type != DL_TYPE_F32 && p.kv_type != DL_TYPE_F16) {
        dl_error_set(err, 400, "context: KV cache type %s is not supported (f32 or f16)", dl_type_name(p.kv_type));
        return NULL;
    }
    if (p.n_seq > 256) {
        dl_error_set(err, 400, "context: %d sequences is too many (max 256)", p.n_seq);
        return NULL;
    }
    if (p.n_ctx == 0) p.n_ctx = DL_MIN(hp->n_ctx_train, 4096);
    if (p.n_batch == 0) p.n_batch = 512;
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.n_threads == 0) p.n_threads = dl_cpu_count();
    if (p.n_threads > 256) {
        dl_error_set(err, 400, "context: %d threads is too many (max 256)", p.n_threads);
        return NULL;
    }

    dl_context *c = dl_xcalloc(1, sizeof *c);
    c->m = m;
    c->p = p;
    const size_t B = (size_t)p.n_batch, E = (size_t)hp->n_embd;
    const size_t QD = (size_t)hp->n_head * (size_t)hp->head_dim;
    const size_t KVD = (size_t)hp->n_head_kv * (size_t)hp->head_dim;
    const size_t kv_elems = (size_t)p.n_seq * (size_t)hp->n_layer * (size_t)p.n_ctx * KVD;
    bool failed = false;
    c->kv_esize = p.kv_type == DL_TYPE_F16 ? 2 : 4;
    c->k_cache = dl_aligned_alloc(kv_elems * c->kv_esize);
    c->v_cache = dl_aligned_alloc(kv_elems * c->kv_esize);
    if (!c->k_cache || !c->v_cache) failed = true;
    c->x = alloc_f32(B * E, &failed);
    c->xb = alloc_f32(B * E, &failed);
    c->q = alloc_f32(B * QD, &failed);
    c->k = alloc_f32(B * KVD, &failed);
    c->v = alloc_f32(B * KVD, &failed);
    c->att = alloc_f32(B * QD, &failed);
    c->hb = alloc_f32(B * (size_t)hp->n_ff, &failed);
    c->hb2 = alloc_f32(B * (size_t)hp->n_ff, &failed);
    {
        /* per thread, for a query block (see forward.c): queries, outputs,
         * scores, K and V blocks as floats, maxima, double sums */
        size_t R = (size_t)ATTN_QTOK * (size_t)(hp->n_head / hp->n_head_kv), HDs = (size_t)hp->head_dim;
        size_t per = 2 * R * HDs + R * ATTN_BLOCK + 2 * (size_t)ATTN_BLOCK * HDs + R + (R & 1) + 2 * R;
        per = (per + 15) & ~(size_t)15; /* keep each thread's part on its own cache lines */
        c->attn_scratch_per_thread = per;
        c->attn_scratch = alloc_f32((size_t)p.n_threads * per, &failed);
        c->attn_blocks = dl_xcalloc(B + 1, sizeof(int32_t));
    }
    c->rope_cos = alloc_f32(B * (size_t)(hp->n_rot / 2), &failed);
    c->rope_sin = alloc_f32(B * (size_t)(hp->n_rot / 2), &failed);
    c->seq_past = dl_xcalloc((size_t)p.n_seq, sizeof(int32_t));
    c->seq_saved = dl_xcalloc((size_t)p.n_seq, sizeof(int32_t));
    c->tok_pos = dl_xcalloc(B, sizeof(int32_t));
    c->tok_seq = dl_xcalloc(B, sizeof(int32_t));
    c->logits_cap = 1;
    c->logits = alloc_f32((size_t)hp->n_vocab, &failed);
    if (failed) {
        dl_error_set(err, 500,
                     "context: out of memory allocating the KV cache and buffers (n_ctx %d x %d sequences, %.1f MiB of KV cache)",
                     p.n_ctx, p.n_seq, (double)(2 * kv_elems * c->kv_esize) / (1024.0 * 1024.0));
        dl_context_free(c);
        return NULL;
    }
    c->pool = dl_pool_create(p.n_threads);
    return c;
}

void dl_context_free(dl_context *c) {
    if (!c) return;
    dl_pool_free(c->pool);
    dl_matmul_ws_free(&c->ws);
    dl_aligned_free(c->k_cache);
    dl_aligned_free(c->v_cache);
    float *bufs[] = {c->x, c->xb, c->q, c->k, c->v, c->att,
                     c->hb, c->hb2, c->attn_scratch, c->rope_cos, c->rope_sin, c->logits};
    for (size_t i = 0; i < DL_ARRAY_LEN(bufs); i++) dl_aligned_free(bufs[i]);
    free(c->seq_past);
    free(c->seq_saved);
    free(c->tok_pos);
    free(c->tok_seq);
    free(c->attn_blocks);
    free(c);
}

int32_t dl_context_n_ctx(const dl_context *c) { return c->p.n_ctx; }
int32_t dl_context_n_past(const dl_context *c) { return c->seq_past[0]; }
int32_t dl_context_n_seq(const dl_context *c) { return c->p.n_seq; }

int32_t dl_context_seq_n_past(const dl_context *c, int32_t seq) {
    return seq >= 0 && seq < c->p.n_seq ? c->seq_past[seq] : 0;
}

void dl_context_seq_truncate(dl_context *c, int32_t seq, int32_t pos) {
    if (seq < 0 || seq >= c->p.n_seq) return;
    if (pos < 0) pos = 0;
    if (pos < c->seq_past[seq]) c->seq_past[seq] = pos;
}

void dl_context_truncate(dl_context *c, int32_t pos) { dl_context_seq_truncate(c, 0, pos); }

const float *dl_context_logits(const dl_context *c, int32_t i) {
    if (i < 0 || i >= c->n_logits) return NULL;
    return c->logits + (size_t)i * (size_t)c->m->hp.n_vocab;
}
