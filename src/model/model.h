/* model: transformer architectures (llama, qwen2, qwen3) over GGUF weights,
 * the forward pass and the KV cache.
 *
 * A dl_model is the immutable weights + hyper-parameters (mmap'd; it owns
 * the dl_gguf and the tokenizer). A dl_context is one sequence's state: KV
 * cache, activations and scratch, all allocated once at creation so that
 * dl_context_decode does not allocate. */
#ifndef DL_MODEL_H
#define DL_MODEL_H

#include "../base/base.h"
#include "../gguf/gguf.h"
#include "../kernels/kernels.h"
#include "../tokenizer/tokenizer.h"

typedef enum dl_arch {
    DL_ARCH_LLAMA = 0,
    DL_ARCH_QWEN2 = 1,
    DL_ARCH_QWEN3 = 2,
} dl_arch;

typedef enum dl_rope_style {
    DL_ROPE_NORMAL = 0, /* rotate adjacent pairs (x[2i], x[2i+1]) — llama */
    DL_ROPE_NEOX = 1,   /* rotate halves (x[i], x[i + d/2]) — qwen2/qwen3 */
} dl_rope_style;

typedef struct dl_hparams {
    dl_arch arch;
    char arch_name[32];
    int32_t n_vocab;
    int32_t n_ctx_train;   /* <arch>.context_length */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;      /* key_length (defaults to n_embd / n_head) */
    int32_t n_ff;
    int32_t n_rot;         /* rope.dimension_count (defaults to head_dim) */
    float rope_freq_base;
    float rope_freq_scale; /* 1 / rope.scaling.factor for linear scaling, else 1 */
    float rms_eps;
    dl_rope_style rope_style;
    bool tied_output;      /* no output.weight: logits use token_embd */
    bool has_qk_norm;      /* per-head RMSNorm on q and k (qwen3) */
    bool has_qkv_bias;     /* qwen2 */
} dl_hparams;

typedef struct dl_model dl_model;

/* Loads a model: opens the GGUF, validates the architecture, every tensor's
 * presence, shape and type, and builds the tokenizer. `progress` (may be
 * NULL) is called with 0..1 while loading. NULL + err on failure. */
dl_model *dl_model_load(const char *path, void (*progress)(float done, void *ud), void *ud,
                        dl_error *err);
void dl_model_free(dl_model *m);
const dl_hparams *dl_model_hparams(const dl_model *m);
const dl_tokenizer *dl_model_tokenizer(const dl_model *m);
const dl_gguf *dl_model_gguf(const dl_model *m);
uint64_t dl_model_n_params(const dl_model *m);
uint64_t dl_model_weight_bytes(const dl_model *m); /* bytes of all weight tensors */

typedef struct dl_context_params {
    int32_t n_ctx;     /* KV cache length per sequence; 0 = min(n_ctx_train, 4096) */
    int32_t n_seq;     /* independent sequences sharing the weights; 0 = 1 */
    int32_t n_batch;   /* max tokens per dl_context_decode call; 0 = 512 */
    int n_threads;     /* 0 = number of cores */
    int kv_type;       /* KV cache element type: DL_TYPE_F32 (default, = 0) or DL_TYPE_F16 */
} dl_context_params;

typedef struct dl_context dl_context;

dl_context *dl_context_create(const dl_model *m, const dl_context_params *p, dl_error *err);
void dl_context_free(dl_context *c);
int32_t dl_context_n_ctx(const dl_context *c);
int32_t dl_context_n_past(const dl_context *c); /* tokens already in the KV cache */
/* Drops the KV cache from position `pos` on (0 = clear). */
void dl_context_truncate(dl_context *c, int32_t pos);

/* Runs tokens[0..n) at positions n_past..n_past+n-1, appending them to the
 * KV cache. Batches longer than n_batch are split internally.
 * Logits (n_vocab floats each): if all_logits is false, only for the last
 * token, readable with dl_context_logits(c, 0); if true, for every token i
 * of this call, dl_context_logits(c, i). Fails (status 400, nothing
 * changed) when n_past + n would exceed n_ctx, naming both numbers. */
int dl_context_decode(dl_context *c, const int32_t *tokens, int32_t n, bool all_logits,
                      dl_error *err);
const float *dl_context_logits(const dl_context *c, int32_t i);

/* ---- several sequences at once (continuous batching) ----
 * A context made with n_seq > 1 keeps one KV cache per sequence. The calls
 * above act on sequence 0. dl_context_decode_seqs runs one batch holding
 * tokens of any sequences: token i is appended to sequence seq[i] at that
 * sequence's next position (tokens of the same sequence keep their order),
 * so one pass over the weights serves every sequence. Logits are produced
 * for every token i (dl_context_logits(c, i)). Fails (400, nothing changed)
 * on a bad sequence id, a token outside the vocabulary or a sequence whose
 * context would overflow. Batches longer than n_batch are split. */
int dl_context_decode_seqs(dl_context *c, const int32_t *tokens, const int32_t *seq, int32_t n,
                           dl_error *err);
int32_t dl_context_n_seq(const dl_context *c);
int32_t dl_context_seq_n_past(const dl_context *c, int32_t seq);
/* Drops sequence seq's cache from position pos on (0 = clear the sequence). */
void dl_context_seq_truncate(dl_context *c, int32_t seq, int32_t pos);

#endif
