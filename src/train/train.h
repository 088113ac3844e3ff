/* train: the project's own reasoning model, trained in C.
 *
 * Data flows in this order, and the header follows it:
 *   tasks (generators + verifiers, train/validation/test splits)
 *     -> samples rendered as Qwen3 ChatML text with a <think> trace
 *     -> a byte-level BPE vocabulary learnt from those samples (bpe_train.c)
 *     -> a float32 qwen3 model, forward + backward, AdamW (model_train.c,
 *        grad.c, optim.c), checkpoints that resume, GGUF export that the
 *        engine (src/model) loads like any Qwen3 file.
 * Everything is deterministic given the seeds. docs/train.md describes it. */
#ifndef DL_TRAIN_H
#define DL_TRAIN_H

#include <stdio.h>

#include "../base/base.h"
#include "../gguf/gguf.h"
#include "../tokenizer/tokenizer.h"
#include "../reason/reason.h"
#include "../sample/sample.h"

/* ---- random numbers ------------------------------------------------------ */

/* The sampler's xoshiro256** (sample.h) with the draws training needs; the
 * state is part of a checkpoint. */
typedef struct dl_trng {
    dl_rng r;
} dl_trng;
void dl_trng_seed(dl_trng *r, uint64_t seed);
uint64_t dl_trng_next(dl_trng *r);
/* Uniform integer in [lo, hi] (inclusive; lo <= hi). */
int64_t dl_trng_range(dl_trng *r, int64_t lo, int64_t hi);
/* Uniform float in [0, 1). */
double dl_trng_unif(dl_trng *r);
/* Standard normal (Box-Muller). */
double dl_trng_normal(dl_trng *r);

/* ---- tasks --------------------------------------------------------------- */

typedef enum dl_task_kind {
    DL_TASK_ADD = 0,
    DL_TASK_SUB,
    DL_TASK_MUL,
    DL_TASK_LETTERS,  /* how many r's in strawberry */
    DL_TASK_COMPARE,  /* which of two numbers is larger / smaller */
    DL_TASK_SORT,     /* sort a list of numbers */
    DL_TASK_EXPR,     /* + - * with precedence and parentheses */
    DL_TASK_LINEAR,   /* a*x + b = c with an integer solution */
    DL_TASK_WORD,     /* templated word problems chaining the above */
    DL_TASK__COUNT
} dl_task_kind;

#define DL_TASK_MAX_LEVEL 5 /* difficulty levels 1..5 for every task */

typedef enum dl_split {
    DL_SPLIT_TRAIN = 0,
    DL_SPLIT_VALID = 1,
    DL_SPLIT_TEST = 2,
} dl_split;

const char *dl_task_name(dl_task_kind k);            /* "add", "sub", ... */
int dl_task_from_name(const char *name);              /* kind or -1 */
const char *dl_split_name(dl_split s);

/* One generated problem. All strings are owned (dl_problem_free). */
typedef struct dl_problem {
    dl_task_kind kind;
    int level;
    char *canon;    /* canonical form, e.g. "add 37 12"; decides the split */
    char *system;   /* system message, or NULL */
    char *developer; /* developer message, or NULL */
    char *question; /* the user's text, in one of many phrasings */
    char *trace;    /* reasoning steps, '\n'-separated; the last line is the answer */
    char *answer;   /* the final answer, e.g. "49", "3, 5, 9" */
    size_t trace_ref; /* bytes of the longest reasoning among the task's strategies
                       * for this problem (tasks with several ways to reason
                       * draw one for `trace`); the length reward's reference.
                       * 0: strlen(trace) */
    bool no_thinking; /* rendered with thinking off (reasoning effort none): the
                       * prompt holds an empty think block, the reply is the answer */
    int32_t cut;      /* > 0: the rendered reasoning stops after this many bytes of
                       * the trace and is closed as the engine closes it at a
                       * thinking budget ("\n</think>\n\n"), then the answer:
                       * teaches the model to answer when its budget runs out */
} dl_problem;
void dl_problem_free(dl_problem *p);

/* Split of a canonical problem: a hash of `canon` — 90% train, 5% valid,
 * 5% test — so one problem can never appear in two splits. */
dl_split dl_task_split_of(const char *canon);

/* Draws a problem of `kind` at `level` (1..DL_TASK_MAX_LEVEL) that belongs to
 * `split`, consuming random numbers from r (the same state gives the same
 * problem); one in ten has no_thinking set and one in ten a cut reasoning
 * (see dl_problem.cut; callers measuring accuracy reset both). 0, or -1 + err for a bad
 * kind/level. */
int dl_task_generate(dl_task_kind kind, int level, dl_split split, dl_trng *r, dl_problem *out,
                     dl_error *err);

/* Is `response` a correct answer to p? `response` may be a bare answer or a
 * whole reply: the text after the last "</think>" is used, and within it the
 * final answer is extracted leniently ("x = 5", "**49**", "The answer is
 * 1,234.", "3,5,9" for a list). */
bool dl_task_verify(const dl_problem *p, const char *response);

/* Rule-based reward of a raw reply (the model's text after the generation
 * prompt, think tags included) for RL: correctness from dl_task_verify,
 * format (thinking on: exactly "<think>\n...\n</think>\n\n" then a
 * non-empty answer of one line; thinking off: no think tags, one line), and
 * length discipline (reasoning up to 1.5x the reference trace's length
 * scores 1, falling linearly to 0 at 3x; counted only when the format is
 * right). total = w_correct*correct + w_format*format + w_length*length. */
typedef struct dl_reward_params {
    float w_correct, w_format, w_length;
} dl_reward_params;
dl_reward_params dl_reward_default_params(void); /* 1.0, 0.2, 0.2 */
typedef struct dl_reward {
    float total, correct, format, length; /* components in [0, 1] */
} dl_reward;
dl_reward dl_task_reward(const dl_problem *p, const char *reply, const dl_reward_params *rp);

/* ---- samples (ChatML / Qwen3) ------------------------------------------- */

/* Renders p as the Qwen3 chat text a model is trained on: the prompt exactly
 * as src/chat renders it for a qwen3 model (system and developer messages
 * included), then the assistant's part
 *   <think>\nTRACE\n</think>\n\nANSWER<|im_end|>\n
 * (with p->no_thinking the prompt ends "<think>\n\n</think>\n\n", as for
 * reasoning effort none, and the assistant's part is ANSWER<|im_end|>\n)
 * e.g. "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>...".
 * Appends to out; *assistant_at (may be NULL) receives the offset in out
 * where the assistant's generated part begins. -1 + err if the chat module
 * refuses the conversation. */
int dl_sample_render(const dl_problem *p, dl_buf *out, size_t *assistant_at, dl_error *err);

/* A training example: token ids and, per position, whether the NEXT token is
 * trained on (mask[i] = 1 when ids[i + 1] belongs to the assistant).
 * `weight` (NULL = 1 everywhere) scales each masked position's term of the
 * loss; it may be negative: with weight[i] = coefficient c_i the gradient
 * is that of -sum c_i log p(ids[i+1]), the policy-gradient form RL needs. */
typedef struct dl_pg_terms dl_pg_terms;
typedef struct dl_example {
    int32_t *ids;
    uint8_t *mask;
    float *weight;
    int32_t n;
    /* NULL: (weighted) cross-entropy. Otherwise the masked positions are
     * trained with the clipped policy-gradient objective with a KL penalty
     * (dl_pg_terms, rl_loss.c) and `weight` is ignored. Not owned. */
    const dl_pg_terms *pg;
} dl_example;
void dl_example_free(dl_example *e);
/* Tokenises a rendered sample, the prompt and the assistant part separately
 * (they meet at a special token, so this equals tokenising the whole). */
int dl_example_from_problem(const dl_tokenizer *tok, const dl_problem *p, dl_example *out,
                            dl_error *err);

/* ---- byte-level BPE vocabulary ------------------------------------------- */

#define DL_BPE_PRE "qwen2" /* tokenizer.ggml.pre the vocabularies are trained for */

/* A trained vocabulary: ids 0..255 are the bytes (in GPT-2's byte alphabet),
 * then one token per merge, then the special tokens. */
typedef struct dl_bpe_vocab {
    char **tokens;    /* (n_tokens) token text as stored in GGUF */
    int32_t *types;   /* (n_tokens) DL_TOKEN_* */
    char **merges;    /* (n_merges) "left right" */
    int32_t n_tokens, n_merges;
    int32_t id_endoftext, id_im_start, id_im_end, id_think, id_think_end;
    int64_t n_corpus_tokens; /* after dl_bpe_train: tokens the training texts
                              * (special tokens left out) come to with the
                              * learnt merges; 0 when loaded from a file */
} dl_bpe_vocab;
void dl_bpe_vocab_free(dl_bpe_vocab *v);

/* Learns merges from texts[0..n) (special-token strings inside the texts are
 * cut out first, then the qwen2 pre-tokeniser splits words) until the
 * vocabulary has `vocab_size` tokens including the 5 specials (<|endoftext|>,
 * <|im_start|>, <|im_end|>, <think>, </think>), or no pair occurs twice.
 * Ties are broken by the lower pair of ids, so the result is deterministic. */
int dl_bpe_train(const char *const *texts, size_t n, int32_t vocab_size, dl_bpe_vocab *out,
                 dl_error *err);
/* Writes the tokenizer.* metadata (model gpt2, pre qwen2, tokens, types,
 * merges, bos/eos/padding ids, a Qwen3-style chat template). */
void dl_bpe_write_meta(const dl_bpe_vocab *v, dl_gguf_writer *w);
/* A GGUF holding only the tokenizer metadata (loadable by dl_tokenizer_load). */
int dl_bpe_save(const dl_bpe_vocab *v, const char *path, dl_error *err);
/* Reads a vocabulary back from a GGUF's tokenizer.* metadata. */
int dl_bpe_load(const dl_gguf *g, dl_bpe_vocab *out, dl_error *err);

/* ---- the model being trained --------------------------------------------- */

typedef struct dl_tconfig {
    int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
    int32_t n_ctx;     /* longest training sequence */
    float rope_base, rms_eps;
} dl_tconfig;

/* Parameters live in one float array in this order (shapes are rows x cols,
 * row-major, as GGUF stores them with ne = [cols, rows]):
 *   token_embd (V,E); per layer: attn_norm (E), attn_q (H*D,E), attn_k (Hk*D,E),
 *   attn_v (Hk*D,E), attn_q_norm (D), attn_k_norm (D), attn_output (E,H*D),
 *   ffn_norm (E), ffn_gate (F,E), ffn_up (F,E), ffn_down (E,F); output_norm (E).
 * The output projection is tied to token_embd. */
typedef struct dl_tmodel dl_tmodel;

/* Validates cfg and allocates; weights initialised from `seed` (normal,
 * std 0.02, output projections scaled by 1/sqrt(2*n_layer), norms 1). */
dl_tmodel *dl_tmodel_new(const dl_tconfig *cfg, uint64_t seed, dl_error *err);
void dl_tmodel_free(dl_tmodel *m);
const dl_tconfig *dl_tmodel_config(const dl_tmodel *m);
size_t dl_tmodel_n_params(const dl_tmodel *m);
float *dl_tmodel_params(dl_tmodel *m); /* (n_params) */
float *dl_tmodel_grads(dl_tmodel *m);  /* (n_params), filled by dl_tmodel_loss_grad */
/* Is parameter index i inside a matrix (weight-decayed) rather than a gain? */
bool dl_tmodel_is_matrix(const dl_tmodel *m, size_t i);

/* Forward pass of one sequence ids[0..n) (n <= n_ctx): logits (n, n_vocab). */
int dl_tmodel_logits(dl_tmodel *m, const int32_t *ids, int32_t n, float *logits, dl_error *err);

/* log p(ids[i+1] | ids[0..i]) for i in 0..n-2 into logp (n-1 floats): the
 * per-token log-probabilities RL needs for ratios and the KL penalty. */
int dl_tmodel_token_logprobs(dl_tmodel *m, const int32_t *ids, int32_t n, float *logp, dl_error *err);

/* The same for every row of a batch at once, rows spread over `pool` (NULL =
 * this thread): logp[r] receives rows[r].n - 1 floats (rows longer than
 * n_ctx are an error). */
typedef struct dl_batch dl_batch;
int dl_tmodel_batch_logprobs(dl_tmodel *m, const dl_batch *b, dl_pool *pool, float *const *logp,
                             dl_error *err);

/* A batch: rows of token ids with a loss mask (see dl_example). */
struct dl_batch {
    const dl_example *rows;
    int32_t n_rows;
};

/* Loss (mean over the batch's masked positions of the cross-entropy, or of
 * -J for rows with pg terms) and its
 * gradient in dl_tmodel_grads (overwritten). Rows are spread over `pool`
 * (NULL = this thread); each worker accumulates its own gradient and they
 * are summed in worker order, so a given thread count is deterministic.
 * *n_tok receives the number of masked positions (may be NULL). */
int dl_tmodel_loss_grad(dl_tmodel *m, const dl_batch *b, dl_pool *pool, double *loss,
                        int64_t *n_tok, dl_error *err);

/* ---- optimiser ----------------------------------------------------------- */

typedef struct dl_optim_params {
    float lr;           /* peak learning rate */
    float min_lr_frac;  /* cosine floor as a fraction of lr (e.g. 0.1) */
    int32_t warmup;     /* linear warm-up steps */
    int32_t total;      /* total steps (cosine reaches the floor there) */
    float beta1, beta2, eps;
    float weight_decay; /* decoupled; applied to matrices only, not to norm gains */
    float clip;         /* max global gradient norm; <= 0: no clipping */
} dl_optim_params;
dl_optim_params dl_optim_default_params(void);
/* Learning rate at step (0-based): warm-up then cosine. */
float dl_optim_lr(const dl_optim_params *p, int64_t step);

/* The trainer's whole state: model, Adam moments, step and data RNG. */
typedef struct dl_trainer {
    dl_tmodel *m;
    dl_optim_params op;
    float *adam_m, *adam_v; /* (n_params) */
    uint8_t *decay;         /* (n_params) 1 where weight decay applies (matrices) */
    int64_t step;           /* optimiser steps taken */
    dl_trng rng;            /* data sampling */
} dl_trainer;
dl_trainer *dl_trainer_new(dl_tmodel *m, const dl_optim_params *op, uint64_t data_seed);
void dl_trainer_free(dl_trainer *t); /* frees the model too */
/* One AdamW step from the gradient in dl_tmodel_grads: clips, updates,
 * step++. *grad_norm receives the norm before clipping (may be NULL). */
void dl_trainer_update(dl_trainer *t, double *grad_norm);

/* One supervised step: draws n_rows examples uniformly from pool[0..n_pool)
 * with t->rng, computes the loss and gradient over `threads` (may be NULL)
 * and applies dl_trainer_update. *loss / *grad_norm may be NULL. */
int dl_trainer_sft_step(dl_trainer *t, const dl_example *pool, size_t n_pool, int32_t n_rows,
                        dl_pool *threads, double *loss, double *grad_norm, dl_error *err);

/* Checkpoints: config, step, RNG, optimiser params, weights and both Adam
 * moments, written atomically (to PATH.tmp, then renamed). */
int dl_trainer_save(const dl_trainer *t, const char *path, dl_error *err);
dl_trainer *dl_trainer_load(const char *path, dl_error *err);

/* Thinking budgets (reasoning tokens) the model was trained for, written to
 * its GGUF as deliberate.reasoning.budget.{low,medium,high} (read by the
 * reasoning controller, src/reason). 0 in every field = no hints. */
typedef struct dl_budget_hints {
    int32_t low, medium, high;
} dl_budget_hints;

/* Hints from the reasoning lengths of held-out problems (thinking on, in
 * tokens as the engine counts them: the trace, its line break and
 * "</think>"): low = the 35th percentile, medium = the 70th, high = 1.5 x
 * the longest (at least 32), so effort none < low < medium < high finish
 * ever more of the problems' reasoning. n may be 0 (no hints). */
int dl_budget_hints_from(const dl_tokenizer *tok, const dl_problem *probs, int32_t n, dl_budget_hints *out,
                         dl_error *err);
/* Hints stored in a model GGUF (all 0 when it has none). */
dl_budget_hints dl_budget_hints_read(const dl_gguf *g);

/* Writes a qwen3 GGUF (F32 tensors) with the vocabulary's tokenizer
 * metadata, loadable by dl_model_load. `name` goes to general.name. */
int dl_tmodel_export(const dl_tmodel *m, const dl_bpe_vocab *v, const char *name,
                     const dl_budget_hints *hints, const char *path, dl_error *err);

/* ---- supervised fine-tuning on generated traces (sft.c) ------------------- */

typedef struct dl_sft_progress {
    int64_t step, total;  /* optimiser steps done, planned */
    double loss, grad_norm, lr, elapsed_ms;
} dl_sft_progress;

typedef struct dl_sft_params {
    const char *out_dir;  /* created if missing; holds tokenizer.gguf, checkpoint.bin,
                           * model.gguf, train_log.csv */
    int32_t steps;        /* total optimiser steps (the schedule's length) */
    double max_seconds;   /* stop early after this long (<= 0: no limit) */
    int threads;          /* workers over batch rows (>= 1) */
    uint64_t seed;        /* data, vocabulary and initialisation */
    int32_t vocab_size;   /* including the 5 special tokens */
    int32_t n_samples;    /* generated training samples (train split) */
    int32_t n_valid;      /* validation samples for the final loss */
    int32_t batch;        /* rows per step */
    int min_level, max_level;
    uint32_t task_mask;   /* bit k = task kind k; 0 = all */
    dl_tconfig model;     /* n_vocab is set from the vocabulary */
    dl_optim_params optim; /* total is set to steps */
    bool resume;          /* continue from out_dir/checkpoint.bin when present */
    void (*progress)(const dl_sft_progress *p, void *ud);
    void *ud;
} dl_sft_params;

/* A miniature configuration that trains in seconds on 2 cores. */
dl_sft_params dl_sft_default_params(void);

typedef struct dl_sft_result {
    int64_t steps;          /* optimiser steps done in total */
    double first_loss, last_loss, val_loss, seconds;
    size_t n_params;
    int32_t n_vocab, n_train, n_dropped; /* examples used, dropped for length */
    dl_budget_hints hints;  /* written to the GGUF (dl_budget_hints_from, validation problems) */
    char model_path[1024];
} dl_sft_result;

/* Generates the data, trains (or loads) the vocabulary, trains the model
 * with a progress callback, writes the checkpoint and the GGUF. */
int dl_sft_run(const dl_sft_params *p, dl_sft_result *res, dl_error *err);

/* ---- reinforcement learning, GRPO-style (rl_loss.c, rl_rollout.c, rl.c) ---- */

/* Per-sequence terms of the policy-gradient objective for one example
 * (arrays indexed like the loss mask: position i scores token ids[i + 1]).
 * For each masked position, with logp the current log-probability,
 *   ratio = exp(logp - old_logp[i]),  d = ref_logp[i] - logp,
 *   J_i = min(ratio * adv, clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
 *         - kl_beta * (exp(d) - d - 1)          (k3 estimator of KL(pi || ref))
 * and the loss is -sum_i J_i (times the batch's 1 / masked tokens). */
struct dl_pg_terms {
    const float *old_logp; /* (n-1) under the policy that sampled the tokens; NULL: the
                            * current parameters are that policy (ratio 1; cur_logp
                            * then receives old_logp for the later updates) */
    const float *ref_logp; /* (n-1) under the frozen reference (SFT) model */
    float adv;             /* the sequence's (group-normalised) advantage */
    float clip_eps;        /* e.g. 0.2 */
    float kl_beta;         /* e.g. 0.04; 0 = no penalty */
    float *cur_logp;       /* (n-1) out, may be NULL: logp under the current parameters */
};

typedef struct dl_rl_progress {
    int64_t step, total;      /* RL steps done, planned */
    double reward, accuracy;  /* this step's mean reward and fraction correct */
    double kl, clip_frac, mean_len, elapsed_ms;
} dl_rl_progress;

typedef struct dl_rl_params {
    const char *from_dir;  /* an SFT (or RL) output: checkpoint.bin + tokenizer.gguf */
    const char *out_dir;   /* created if missing */
    int32_t steps;         /* RL steps: sample a batch, then `inner` optimiser updates on it */
    int32_t group;         /* completions per prompt (G >= 2) */
    int32_t prompts;       /* prompts per step (P) */
    int32_t inner;         /* optimiser updates per sampled batch (>= 1; the clip acts from the 2nd) */
    float clip_eps, kl_beta;
    float adv_eps;         /* advantages (r - mean) / (std + adv_eps) */
    bool adv_no_std;       /* advantages r - mean (Dr. GRPO: a group whose rewards barely
                            * differ is not blown up to unit scale) */
    bool drop_flat;        /* leave groups whose rewards are all equal (advantage 0) out of
                            * the update: no KL term for them, 2-3x faster at high accuracy */
    int32_t resample_flat; /* a prompt whose group came back with equal rewards is replaced by
                            * a new one, up to this many times per prompt (0: never), so the
                            * step trains on groups with a signal (DAPO's dynamic sampling) */
    int32_t max_tokens;    /* completion tokens at most (also bounded by the context) */
    double max_seconds;    /* stop early after this long (<= 0: no limit) */
    int32_t save_every;    /* also checkpoint every this many RL steps (<= 0: only at the end) */
    int threads;           /* trainer workers and engine threads (>= 1) */
    uint64_t seed;         /* prompts and sampling */
    int min_level, max_level;
    uint32_t task_mask;    /* 0 = all */
    dl_reward_params reward;
    dl_optim_params optim; /* total is set to steps * inner */
    bool resume;           /* continue from out_dir/checkpoint.bin when present */
    FILE *show;            /* if set: each step's first group (question, replies, rewards) */
    void (*progress)(const dl_rl_progress *p, void *ud);
    void *ud;
} dl_rl_params;
dl_rl_params dl_rl_default_params(void);

typedef struct dl_rl_result {
    int64_t steps;                  /* RL steps done in total */
    double first_reward, last_reward; /* mean reward of the first / last step run here */
    double first_accuracy, last_accuracy;
    double seconds;
    char model_path[1024];
} dl_rl_result;

/* Loads the policy (and a frozen copy as the reference) from from_dir, runs
 * GRPO steps with a log (rl_log.csv), a chart (rl.svg), a checkpoint and
 * the exported GGUF (model.gguf) in out_dir. docs/train.md. */
int dl_rl_run(const dl_rl_params *p, dl_rl_result *res, dl_error *err);

/* Group-normalised advantages: adv[i] = (r[i] - mean) / (std + eps) over
 * each consecutive group of g rewards (population std); with eps < 0,
 * r[i] - mean (no division). n % g == 0. */
void dl_rl_advantages(const float *r, int32_t n, int32_t g, float eps, float *adv);

/* One sampled completion of a prompt, with the local engine. */
typedef struct dl_rollout {
    int32_t *ids;      /* prompt then completion tokens (owned) */
    int32_t n, n_prompt;
    char *text;        /* the completion's text, special tokens rendered, the end-of-turn token left out */
    bool finished;     /* ended with an end-of-generation token */
} dl_rollout;
void dl_rollout_free(dl_rollout *r);

/* ---- charts for the training reports (report.c) --------------------------- */

typedef struct dl_svg_series {
    const char *name;   /* legend text */
    const double *x, *y;
    size_t n;
    const char *color;  /* CSS colour, e.g. "#1f77b4" */
    const double *lo, *hi; /* optional (both or neither): error bars with point markers */
} dl_svg_series;

/* Writes a self-contained SVG line chart (axes with ticks, one polyline per
 * series, legend). log_y: logarithmic y axis (values <= 0 are skipped). */
int dl_svg_chart(const char *path, const char *title, const char *xlabel, const char *ylabel,
                 const dl_svg_series *series, size_t n_series, bool log_y, dl_error *err);
/* The loss curve of a train_log.csv (raw and smoothed) as an SVG chart. */
int dl_sft_plot_log(const char *log_csv, const char *svg_path, dl_error *err);
/* Reward and accuracy against RL step of an rl_log.csv (raw and smoothed). */
int dl_rl_plot_log(const char *log_csv, const char *svg_path, dl_error *err);

/* ---- evaluation with the engine (evaluate.c) ------------------------------ */

typedef struct dl_eval_task_result {
    int32_t n, correct;
    double reward_sum; /* dl_task_reward totals (default weights) */
} dl_eval_task_result;

/* Greedy generation with the local engine on n_per_task problems per task
 * (kinds in task_mask, 0 = all) from `split`, problem i of a task at level
 * min_level + i mod (max_level - min_level + 1), at most max_tokens
 * generated tokens each, with thinking on or off (off: the prompt of
 * reasoning effort none); answers checked with dl_task_verify. res[k] gets
 * task k's counts. If `show` is not NULL, each reply is printed to it. */
int dl_train_evaluate(const char *model_path, uint32_t task_mask, int min_level, int max_level, dl_split split,
                      int32_t n_per_task, int32_t max_tokens, bool thinking, uint64_t seed, int threads,
                      dl_eval_task_result res[DL_TASK__COUNT], FILE *show, dl_error *err);

/* ---- test-time compute curves with the reasoning controller (curves.c) ---- */

#define DL_TTC_MAX_VOTES 4

typedef struct dl_ttc_params {
    const char *model_path;    /* a trained GGUF, run by the local backend */
    uint32_t task_mask;        /* 0 = all */
    int level, max_level;      /* difficulty of the test-split problems: problem i of a task
                                * at level + i mod (max_level - level + 1); max_level 0 = level */
    int32_t n_per_task;
    dl_split split;            /* where the problems come from (default test; validation
                                * for choosing settings without looking at test) */
    uint64_t seed;
    int threads;               /* engines, one thread each */
    int batch;                 /* problems each engine measures at once, sharing its decode
                                * passes; for F32 models the figures depend on neither */
    void (*progress)(float done, void *ctx); /* optional, called under a lock */
    void *progress_ctx;
    const char *budgets;       /* thinking budgets, e.g. "low=16,medium=48,high=256", over the
                                * model's hints or the defaults (NULL: those) */
    int32_t max_tokens;        /* reasoning + answer tokens per reply */
    bool continue_cue;         /* let high effort reopen early-closed reasoning ("Wait") */
    /* the n-samples curve: majority vote over the first n of votes[n_votes-1]
     * samples drawn at `temperature` (after top_k, top_p and min_p; 0, 1 and
     * 0 = no truncation: the policy itself, as RL samples it) with effort
     * `vote_effort` */
    int32_t votes[DL_TTC_MAX_VOTES];
    int n_votes;
    float temperature, top_p, min_p;
    int32_t top_k;
    dl_effort vote_effort;
    const char *embed[4];      /* extra SVG charts for the HTML page (training curves) */
    const char *title;         /* the HTML page's heading (NULL: "Test-time compute") */
    int n_embed;
} dl_ttc_params;
/* Test split, levels 1-2, 20 per task, 2 engines x 8 problems at once,
 * budgets from the model (or the defaults), 256 tokens, votes 1/4/16 at
 * temperature 1 (untruncated) with effort high. */
dl_ttc_params dl_ttc_default_params(void);

typedef struct dl_ttc_point {
    char label[24];      /* "none", "low", ..., or "n=4" */
    double x;            /* the thinking budget in tokens, or n */
    int32_t n, correct;
    double acc, lo, hi;  /* accuracy and its Wilson 95% interval */
    double mean_reasoning_tokens;
    int32_t task_n[DL_TASK__COUNT], task_correct[DL_TASK__COUNT];
    dl_buf outcomes;     /* '1' (right) or '0' per problem, in the order measured (no NUL):
                          * two points over the same problems compare pair by pair */
} dl_ttc_point;

typedef struct dl_ttc_result {
    dl_ttc_point effort[4]; /* none, low, medium, high: greedy, one sample */
    dl_ttc_point vote[DL_TTC_MAX_VOTES];
    int n_votes;
    int32_t n_problems, n_distinct; /* problems measured; how many different ones (small levels
                                     * have few: the test split of one-digit additions is a
                                     * handful, drawn again with new wordings and seeds) */
    double seconds;
} dl_ttc_result;

/* Accuracy on held-out problems against the thinking budget and against n
 * samples with majority vote, every reply produced by dl_reason_run on the
 * local backend. `show` (may be NULL) gets one line per reply. The caller
 * frees res with dl_ttc_result_free. */
int dl_ttc_measure(const dl_ttc_params *p, dl_ttc_result *res, FILE *show, dl_error *err);
/* Frees what dl_ttc_measure allocated (the outcomes); dl_ttc_measure frees
 * it itself when it fails. */
void dl_ttc_result_free(dl_ttc_result *r);
/* Writes dir/curves.json, dir/budget.svg, dir/votes.svg and dir/curves.html
 * (the two charts inline and the tables; first, under "Training", the SVG
 * files p->embed[0..n_embed), e.g. a run's loss.svg and rl.svg). */
int dl_ttc_write(const dl_ttc_params *p, const dl_ttc_result *res, const char *dir, dl_error *err);
/* Wilson score interval (z = 1.96) of k successes in n; n == 0 gives [0, 1]. */
void dl_wilson95(int64_t k, int64_t n, double *lo, double *hi);

#endif
