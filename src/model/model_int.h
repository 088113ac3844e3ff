/* Private to src/model: the model and context structs. */
#ifndef DL_MODEL_INT_H
#define DL_MODEL_INT_H

#include "model.h"

/* Attention (forward.c): keys per block of the online softmax, and tokens
 * per query block (context.c sizes the per-thread scratch from both). */
#define ATTN_BLOCK 64
#define ATTN_QTOK 16

/* A weight matrix inside the mapped file: rows x cols in `type`,
 * row r at data + r * row_bytes. */
typedef struct dl_weight {
    const void *data;
    int type;
    int64_t rows, cols;
    int64_t row_bytes;
} dl_weight;

typedef struct dl_layer {
    float *attn_norm;             /* (n_embd) */
    dl_weight wq;                 /* (n_head*head_dim rows, n_embd cols) */
    dl_weight wk;                 /* (n_head_kv*head_dim, n_embd) */
    dl_weight wv;                 /* (n_head_kv*head_dim, n_embd) */
    dl_weight wo;                 /* (n_embd, n_head*head_dim) */
    float *bq, *bk, *bv;          /* qkv biases (qwen2) or NULL */
    float *q_norm, *k_norm;       /* (head_dim) per-head RMSNorm gains (qwen3) or NULL */
    float *ffn_norm;              /* (n_embd) */
    dl_weight w_gate;             /* (n_ff, n_embd) */
    dl_weight w_up;               /* (n_ff, n_embd) */
    dl_weight w_down;             /* (n_embd, n_ff) */
} dl_layer;

struct dl_model {
    dl_gguf *gguf;
    dl_tokenizer *tok;
    dl_hparams hp;
    dl_weight tok_embd;           /* (n_vocab, n_embd) */
    dl_weight output;             /* (n_vocab, n_embd); == tok_embd when tied */
    float *output_norm;           /* (n_embd) */
    dl_layer *layers;             /* (n_layer) */
    float **owned;                /* float copies of 1-D tensors, freed with the model */
    int n_owned;
    uint64_t n_params, weight_bytes;
};

struct dl_context {
    const dl_model *m;
    dl_context_params p;
    dl_pool *pool;
    dl_matmul_ws ws;
    int32_t *seq_past;  /* (n_seq) tokens in each sequence's cache */
    int32_t *seq_saved; /* (n_seq) copy of seq_past, restored when a decode fails */
    /* KV cache, F32 or F16 (kv_esize bytes per element):
     * (n_seq, n_layer, n_ctx, n_head_kv*head_dim) */
    void *k_cache, *v_cache;
    size_t kv_esize;
    /* the current batch: position and sequence of each token (n_batch) */
    int32_t *tok_pos, *tok_seq;
    /* activations for up to n_batch tokens */
    float *x;       /* (n_batch, n_embd) residual stream */
    float *xb;      /* (n_batch, n_embd) normed input */
    float *q;       /* (n_batch, n_head*head_dim) */
    float *k;       /* (n_batch, kv_dim) */
    float *v;       /* (n_batch, kv_dim) */
    float *att;     /* (n_batch, n_head*head_dim) attention output */
    float *hb;      /* (n_batch, n_ff) */
    float *hb2;     /* (n_batch, n_ff) */
    float *attn_scratch;            /* (n_threads, attn_scratch_per_thread) */
    size_t attn_scratch_per_thread; /* floats: one query block's work (forward.c) */
    int32_t *attn_blocks;           /* n_batch + 1: first token of each query block */
    float *rope_cos, *rope_sin; /* (n_batch, n_rot/2) for the current batch */
    /* logits: (logits_cap, n_vocab); grows only when all_logits asks for more rows */
    float *logits;
    int32_t logits_cap;
    int32_t n_logits;
};

/* ops.c — single-token helpers, shared by the forward pass. */
void dl_op_rmsnorm(float *out, const float *x, const float *gain, int64_t n, float eps);
void dl_op_rope_table(float *cos_out, float *sin_out, int32_t pos, int32_t n_rot, float base,
                      float freq_scale);
void dl_op_rope_apply(float *x, int32_t head_dim, int32_t n_rot, dl_rope_style style,
                      const float *cos_t, const float *sin_t);
void dl_op_softmax(float *x, int64_t n);
void dl_op_swiglu(float *gate, const float *up, int64_t n);

#endif
