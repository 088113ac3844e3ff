/* Export of a trained model as a qwen3 GGUF the engine loads. */
#include <stdio.h>
#include <string.h>

#include "train_int.h"

static void add2d(dl_gguf_writer *w, const char *name, const float *data, int64_t rows, int64_t cols) {
    int64_t ne[2] = {cols, rows};
    dl_gguf_writer_add_tensor(w, name, DL_TYPE_F32, 2, ne, data, (uint64_t)(rows * cols) * sizeof(float));
}

static void add1d(dl_gguf_writer *w, const char *name, const float *data, int64_t n) {
    int64_t ne[1] = {n};
    dl_gguf_writer_add_tensor(w, name, DL_TYPE_F32, 1, ne, data, (uint64_t)n * sizeof(float));
}

int dl_tmodel_export(const dl_tmodel *m, const dl_bpe_vocab *v, const char *name,
                     const dl_budget_hints *hints, const char *path, dl_error *err) {
    const dl_tconfig *c = dl_tmodel_config(m);
    if (v->n_tokens != c->n_vocab)
        return dl_error_set(err, 400, "export: vocabulary has %d tokens, the model %d", v->n_tokens, c->n_vocab);
    const dl_toffsets *o = dl_tmodel_offsets(m);
    const float *P = dl_tmodel_params((dl_tmodel *)m);
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.architecture", "qwen3");
    dl_gguf_writer_set_str(w, "general.name", name ? name : "deliberate");
    dl_gguf_writer_set_u32(w, "general.file_type", 0); /* all F32 */
    dl_gguf_writer_set_u32(w, "qwen3.context_length", (uint32_t)c->n_ctx);
    dl_gguf_writer_set_u32(w, "qwen3.embedding_length", (uint32_t)c->n_embd);
    dl_gguf_writer_set_u32(w, "qwen3.block_count", (uint32_t)c->n_layer);
    dl_gguf_writer_set_u32(w, "qwen3.feed_forward_length", (uint32_t)c->n_ff);
    dl_gguf_writer_set_u32(w, "qwen3.attention.head_count", (uint32_t)c->n_head);
    dl_gguf_writer_set_u32(w, "qwen3.attention.head_count_kv", (uint32_t)c->n_head_kv);
    dl_gguf_writer_set_u32(w, "qwen3.attention.key_length", (uint32_t)c->head_dim);
    dl_gguf_writer_set_u32(w, "qwen3.attention.value_length", (uint32_t)c->head_dim);
    dl_gguf_writer_set_f32(w, "qwen3.rope.freq_base", c->rope_base);
    dl_gguf_writer_set_f32(w, "qwen3.attention.layer_norm_rms_epsilon", c->rms_eps);
    dl_bpe_write_meta(v, w);
    if (hints && hints->low > 0 && hints->medium > 0 && hints->high > 0) {
        dl_gguf_writer_set_u32(w, "deliberate.reasoning.budget.low", (uint32_t)hints->low);
        dl_gguf_writer_set_u32(w, "deliberate.reasoning.budget.medium", (uint32_t)hints->medium);
        dl_gguf_writer_set_u32(w, "deliberate.reasoning.budget.high", (uint32_t)hints->high);
    }
    /* too small to summarise its own reasoning: the controller extracts one;
     * never trained to go on after a continuation cue ("Wait"): not cued */
    dl_gguf_writer_set_u32(w, "deliberate.reasoning.budget.summary", 0);
    dl_gguf_writer_set_u32(w, "deliberate.reasoning.budget.continue", 0);
    const int64_t E = c->n_embd, QD = (int64_t)c->n_head * c->head_dim, KVD = (int64_t)c->n_head_kv * c->head_dim;
    add2d(w, "token_embd.weight", P + o->tok_embd, c->n_vocab, E);
    add1d(w, "output_norm.weight", P + o->output_norm, E);
    char nm[96];
#define N(s) (snprintf(nm, sizeof nm, "blk.%d." s, l), nm)
    for (int l = 0; l < c->n_layer; l++) {
        const dl_tlayer_off *L = &o->layer[l];
        add1d(w, N("attn_norm.weight"), P + L->attn_norm, E);
        add2d(w, N("attn_q.weight"), P + L->wq, QD, E);
        add2d(w, N("attn_k.weight"), P + L->wk, KVD, E);
        add2d(w, N("attn_v.weight"), P + L->wv, KVD, E);
        add1d(w, N("attn_q_norm.weight"), P + L->q_norm, c->head_dim);
        add1d(w, N("attn_k_norm.weight"), P + L->k_norm, c->head_dim);
        add2d(w, N("attn_output.weight"), P + L->wo, E, QD);
        add1d(w, N("ffn_norm.weight"), P + L->ffn_norm, E);
        add2d(w, N("ffn_gate.weight"), P + L->w_gate, c->n_ff, E);
        add2d(w, N("ffn_up.weight"), P + L->w_up, c->n_ff, E);
        add2d(w, N("ffn_down.weight"), P + L->w_down, E, c->n_ff);
    }
#undef N
    int rc = dl_gguf_writer_write(w, path, err);
    dl_gguf_writer_free(w);
    return rc;
}
