/* Private to src/train: helpers shared by the task generators and the
 * trainer's layers (forward/backward kernels, exposed for the gradient
 * checks in tests/train). */
#ifndef DL_TRAIN_INT_H
#define DL_TRAIN_INT_H

#include "train.h"
#include "../model/model.h"

/* ---- text helpers (tasks.c) ---- */
char *dl_tstrf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Replaces "{0}".."{9}" in tpl with args[i]; malloc'd result. */
char *dl_tsubst(const char *tpl, const char *const *args, int n_args);
/* Picks one of n strings uniformly. */
const char *dl_tpick(dl_trng *r, const char *const *list, size_t n);
/* Applies the casual variations people type: maybe lower-cased first letter,
 * maybe no final punctuation, maybe a trailing space-free "pls". In place. */
void dl_tcasual(dl_trng *r, char *s);
/* A random system message (or NULL, about half the time). */
char *dl_tsystem(dl_trng *r);
/* A random developer message (or NULL, nine times in ten). */
char *dl_tdeveloper(dl_trng *r);
/* Takes one of n >= 1 candidate reasonings (malloc'd, each ending with the
 * answer line) uniformly: out->trace owns it, out->trace_ref is the length of
 * the longest, the others are freed. Draws one number from r. */
void dl_tchoose_trace(dl_trng *r, dl_problem *out, char **traces, int n);
/* A uniformly random number with exactly `digits` digits (1..18). */
int64_t dl_tnum_digits(dl_trng *r, int digits);

/* Per-task generators: fill out (canon, question, trace, answer); the
 * caller sets kind/level/system and checks the split. */
typedef void (*dl_task_gen_fn)(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_add(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_sub(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_mul(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_letters(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_compare(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_sort(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_expr(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_linear(int level, dl_trng *r, dl_problem *out);
void dl_task_gen_word(int level, dl_trng *r, dl_problem *out);

/* Column traces reused by the word problems: append the steps of a+b, a-b,
 * a*b (non-negative a, b) to t, one step per line, no final answer line. */
void dl_trace_add(dl_buf *t, int64_t a, int64_t b);
void dl_trace_sub(dl_buf *t, int64_t a, int64_t b);
void dl_trace_mul(dl_buf *t, int64_t a, int64_t b);
/* One operation as a reasoning step: when `columns` and a number has two or
 * more digits, the column work on the sizes first ("71 - 5:" then the
 * dl_trace_add/sub/mul lines; signs decide whether sizes add or subtract),
 * then the line "a op b = v". op is '+', '-' or '*'. Returns v. */
int64_t dl_trace_op(dl_buf *t, char op, int64_t a, int64_t b, bool columns);

/* ---- layers (layers.c): forward and backward of every layer type ----
 * Shapes: T tokens; matrices row-major W (O rows, I cols). Backward
 * functions ACCUMULATE into dx / dW / dg (+=). */
/* y (T,O) = x (T,I) W^T */
void dl_tl_linear_fwd(float *y, const float *x, const float *W, int T, int I, int O);
/* dx += dy W ; dW += dy^T x (either may be NULL). WT: W transposed (I, O)
 * if the caller has it, else NULL. scratch: at least
 * dl_tl_linear_scratch(T, I, O) floats. */
void dl_tl_linear_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W,
                      const float *WT, int T, int I, int O, float *scratch);
/* dst (cols, rows) = src (rows, cols) transposed. */
void dl_tl_transpose(float *dst, const float *src, int rows, int cols);
size_t dl_tl_linear_scratch(int T, int I, int O);
/* out = x * rstd * g over rows of n; rstd[t] saved */
void dl_tl_rmsnorm_fwd(float *out, float *rstd, const float *x, const float *g, int T, int n,
                       float eps);
void dl_tl_rmsnorm_bwd(float *dx, float *dg, const float *dy, const float *x, const float *g,
                       const float *rstd, int T, int n);
/* RoPE tables for positions 0..T-1 (cos, sin: (T, D/2)), as the engine. */
void dl_tl_rope_table(float *cos_t, float *sin_t, int T, int D, float base);
/* neox rotation of x (T, n_heads, D) in place; inverse=true rotates back
 * (which is the backward pass, the rotation being orthogonal). */
void dl_tl_rope(float *x, const float *cos_t, const float *sin_t, int T, int n_heads, int D,
                bool inverse);
/* Causal GQA attention: q (T,H*D), k,v (T,Hk*D) -> out (T,H*D); probs
 * (H,T,T) saved (row t only columns 0..t are written). */
void dl_tl_attn_fwd(float *out, float *probs, const float *q, const float *k, const float *v, int T,
                    int H, int Hk, int D);
void dl_tl_attn_bwd(float *dq, float *dk, float *dv, const float *dout, const float *probs,
                    const float *q, const float *k, const float *v, int T, int H, int Hk, int D);
/* h = silu(gate) * up over n values */
void dl_tl_swiglu_fwd(float *h, const float *gate, const float *up, int64_t n);
void dl_tl_swiglu_bwd(float *dgate, float *dup, const float *dh, const float *gate, const float *up,
                      int64_t n);
/* Masked, weighted cross-entropy over rows of V logits: for t with
 * mask[t], target targets[t], weight w_t = weight[t] (weight NULL: 1; may
 * be negative, as policy-gradient coefficients are). Returns the SUM of
 * -w_t log p; dlogits (may be NULL) = scale * w_t * (softmax - onehot) on
 * masked rows, 0 elsewhere. */
double dl_tl_xent(float *dlogits, const float *logits, const int32_t *targets, const uint8_t *mask,
                  const float *weight, int T, int V, float scale);
/* The GRPO loss (dl_pg_terms in train.h) over rows of V logits: returns the
 * SUM over masked t of -J_t; dlogits (may be NULL) = scale * dLoss/dlogits
 * on masked rows, 0 elsewhere; pg->cur_logp[t] (if set) gets log p_t. */
double dl_tl_pg_loss(float *dlogits, const float *logits, const int32_t *targets, const uint8_t *mask,
                     const dl_pg_terms *pg, int T, int V, float scale);
/* out[t] = log softmax(logits row t)[targets[t]], in double then rounded. */
void dl_tl_logprobs(float *out, const float *logits, const int32_t *targets, int T, int V);

/* Offsets of each tensor in the parameter array (model_train.c). */
typedef struct dl_tlayer_off {
    size_t attn_norm, wq, wk, wv, q_norm, k_norm, wo, ffn_norm, w_gate, w_up, w_down;
} dl_tlayer_off;
typedef struct dl_toffsets {
    size_t tok_embd, output_norm, total;
    dl_tlayer_off *layer; /* (n_layer) */
} dl_toffsets;
const dl_toffsets *dl_tmodel_offsets(const dl_tmodel *m);

/* ---- RL (rl_rollout.c) ---- */
/* Samples g completions of prompt[0..n_prompt) at temperature 1 with the
 * engine context c (n_seq >= g; sequences 0..g-1 are cleared first), each
 * until an end-of-generation token (kept in ids) or max_new tokens. Draws
 * from rng in a fixed order, so the same state gives the same rollouts.
 * out[0..g) filled (dl_rollout_free each); -1 + err. */
int dl_rl_rollout_group(dl_context *c, const dl_tokenizer *tok, int32_t n_vocab, const int32_t *prompt,
                        int32_t n_prompt, int32_t g, int32_t max_new, dl_trng *rng, dl_rollout *out,
                        dl_error *err);

/* ---- RL steps (rl_step.c) ---- */
/* What a run hands its steps. */
typedef struct dl_rl_ctx {
    const dl_rl_params *p;
    dl_trainer *t;
    dl_tmodel *ref;
    const dl_tokenizer *tok;
    const dl_bpe_vocab *vocab;
    dl_pool *pool;
    const char *policy_path;
    int kinds[DL_TASK__COUNT], n_kinds;
} dl_rl_ctx;
/* One step's figures (means over the step's completions / tokens). */
typedef struct dl_rl_stats {
    double reward, accuracy, format, kl, clip_frac, mean_len, loss, grad_norm;
    double sample_ms, update_ms; /* rollouts (export, load, generation); log-probabilities + updates */
    double kept;                 /* fraction of the completions trained on (drop_flat) */
} dl_rl_stats;
/* One RL step: rollouts, rewards, advantages, old and reference
 * log-probabilities, then p->inner optimiser updates of x->t. */
int dl_rl_step(dl_rl_ctx *x, dl_rl_stats *st, dl_error *err);

/* ---- files (files.c) ---- */
bool dl_tfile_exists(const char *path);
void dl_tpath_in(char *out, size_t cap, const char *dir, const char *name); /* "dir/name" */
/* The parameters that decide a run, kept in `path` beside its checkpoint:
 * resuming compares them (*same = false when the file is missing or
 * differs), otherwise writes them. 0, or -1 + err (500) when writing fails. */
int dl_tparams_file(const char *path, const char *sig, bool resuming, bool *same, dl_error *err);

#endif
