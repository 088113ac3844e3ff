/* The local backend: a GGUF model run by the engine in this process, with
 * the chat format recognised from its metadata.
 *
 * Prompt tokens: the rendered prompt is tokenised piece by piece — the
 * format's own text with special tokens recognised, message text without
 * (so a user cannot forge "<|im_start|>system" by typing it).
 * Requests run in slots (local_batch.c): up to n_parallel at once, each on
 * its own sequence of one context, all decoded together. Every request
 * samples in its own thread from its own copy of its logits.
 * KV reuse: each slot remembers the tokens in its cache; a request whose
 * prompt starts with them (the next turn of a chat, the next of n samples)
 * only decodes the rest, and gets the free slot that saves the most. */
#include "local_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct local {
    dl_backend base;
    dl_model *model;
    dl_context *ctx;  /* n_seq = n_parallel; used by the batcher only */
    dl_batch *batch;
    const dl_tokenizer *tok;
    dl_chat_format fmt;
    int32_t n_ctx;    /* per sequence */
    int32_t n_vocab;
} local;

/* One request's token source over its slot. */
typedef struct lsrc {
    local *L;
    dl_slot *slot;
    dl_sampler *smp;
    dl_detok detok;
    float *logits;   /* (n_vocab) of the last decoded token, this request's own copy */
    int32_t pending; /* sampled, not yet decoded; -1 = none */
} lsrc;

static bool has_token_cb(const char *text, void *ud)
{
    return dl_tokenizer_find((const dl_tokenizer *)ud, text) >= 0;
}

/* Appends tokens of text[0..len) to *ids. */
static int tokenize_piece(local *L, const char *text, size_t len, bool special, int32_t **ids,
                          size_t *n, size_t *cap, dl_error *err)
{
    if (len == 0) return 0;
    int32_t *part = NULL;
    size_t np = 0;
    if (dl_tokenize(L->tok, text, len, false, special, &part, &np, err) != 0) return -1;
    if (*n + np > *cap) {
        *cap = (*n + np) * 2 + 16;
        *ids = dl_xrealloc(*ids, *cap * sizeof(int32_t));
    }
    memcpy(*ids + *n, part, np * sizeof(int32_t));
    *n += np;
    free(part);
    return 0;
}

static dl_chat_opts request_opts(const dl_chat_request *req)
{
    dl_chat_opts o = dl_chat_default_opts();
    o.enable_thinking = req->gen.thinking;
    o.reasoning_effort = req->gen.effort_hint;
    return o;
}

/* Renders and tokenises the request's prompt. *ids malloc'd. */
static int prompt_tokens(local *L, const dl_chat_request *req, int32_t **ids, size_t *n,
                         dl_error *err)
{
    dl_chat_opts o = request_opts(req);
    dl_chat_prompt p = {0};
    if (dl_chat_render(&L->fmt, req->msgs, req->n_msgs, &o, &p, err) != 0) return -1;
    size_t cap = p.len / 2 + 16;
    *ids = dl_xmalloc(cap * sizeof(int32_t));
    *n = 0;
    size_t pos = 0;
    int32_t bos = dl_tokenizer_bos(L->tok);
    if (dl_tokenizer_add_bos(L->tok) && bos >= 0) {
        (*ids)[(*n)++] = bos;
        pos = p.bos_len; /* the tokenizer's BOS stands for the text's */
    }
    int rc = 0;
    for (size_t i = 0; i < p.n_spans && rc == 0; i++) {
        const dl_chat_span *sp = &p.spans[i];
        if (sp->off + sp->len <= pos) continue;
        size_t off = sp->off < pos ? pos : sp->off;
        rc = tokenize_piece(L, p.text + pos, off - pos, true, ids, n, &cap, err);
        if (rc == 0)
            rc = tokenize_piece(L, p.text + off, sp->off + sp->len - off, false, ids, n, &cap, err);
        pos = sp->off + sp->len;
    }
    if (rc == 0 && pos < p.len) rc = tokenize_piece(L, p.text + pos, p.len - pos, true, ids, n, &cap, err);
    dl_chat_prompt_free(&p);
    if (rc != 0) {
        free(*ids);
        *ids = NULL;
    }
    return rc;
}

/* Makes prompt[0..n) the slot's sequence, reusing the longest common prefix
 * of its cache, and fills s->logits with the last prompt token's logits. */
static int eval_prompt(lsrc *s, const int32_t *ids, int32_t n, dl_error *err)
{
    dl_slot *slot = s->slot;
    int32_t common = 0;
    while (common < n && common < slot->n_tokens && slot->tokens[common] == ids[common]) common++;
    if (common == n) common = n - 1; /* the last token must be run again for its logits */
    slot->n_tokens = common;
    return dl_batch_decode(s->L->batch, slot, ids + common, n - common, s->logits, err);
}

static dl_src_status lsrc_next(void *self, dl_buf *piece, double *logprob, dl_error *err)
{
    lsrc *s = self;
    local *L = s->L;
    if (s->pending >= 0) {
        int32_t t = s->pending;
        s->pending = -1;
        if (dl_batch_decode(L->batch, s->slot, &t, 1, s->logits, err) != 0) return DL_SRC_ERROR;
    }
    /* a token is only sampled when it fits in the context, so prompt +
     * completion never exceed n_ctx */
    if (s->slot->n_tokens >= L->n_ctx) return DL_SRC_FULL;
    const float *logits = s->logits;
    int32_t t = dl_sampler_sample(s->smp, logits);
    dl_sampler_accept(s->smp, t);
    /* log p(t) under the model's own distribution (before sampling filters) */
    float mx = -INFINITY;
    for (int32_t i = 0; i < L->n_vocab; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0;
    for (int32_t i = 0; i < L->n_vocab; i++) sum += exp((double)logits[i] - mx);
    *logprob = (double)logits[t] - mx - log(sum);
    if (dl_tokenizer_is_eog(L->tok, t)) return DL_SRC_EOG;
    dl_detok_push(&s->detok, t, piece);
    s->pending = t;
    return DL_SRC_TOKEN;
}

/* The pending token (if any) and the forced text's tokens go in one decode. */
static int lsrc_force(void *self, const char *text, size_t len, int32_t *n_tok, dl_error *err)
{
    lsrc *s = self;
    local *L = s->L;
    *n_tok = 0;
    int32_t *ids = NULL;
    size_t n = 0;
    if (dl_tokenize(L->tok, text, len, false, true, &ids, &n, err) != 0) return -1;
    int32_t *run = dl_xmalloc((n + 1) * sizeof(int32_t));
    size_t n_run = 0;
    if (s->pending >= 0) run[n_run++] = s->pending;
    if (n) memcpy(run + n_run, ids, n * sizeof(int32_t));
    n_run += n;
    int rc = 0;
    if ((size_t)s->slot->n_tokens + n_run > (size_t)L->n_ctx)
        rc = dl_error_set(err, 400, "the context is full");
    else if (n_run > 0)
        rc = dl_batch_decode(L->batch, s->slot, run, (int32_t)n_run, s->logits, err);
    free(run);
    if (rc == 0) {
        s->pending = -1;
        for (size_t i = 0; i < n; i++) dl_sampler_accept(s->smp, ids[i]);
        *n_tok = (int32_t)n;
        dl_detok_init(&s->detok, L->tok, true);
        s->detok.first = false;
    }
    free(ids);
    return rc;
}

static void lsrc_rollback(void *self, int32_t n)
{
    lsrc *s = self;
    local *L = s->L;
    if (n <= 0) return;
    if (s->pending >= 0) {
        s->pending = -1;
        n--;
    }
    dl_detok_init(&s->detok, L->tok, true);
    s->detok.first = false;
    if (n == 0) return; /* the logits are still those of the last cached token */
    dl_slot *slot = s->slot;
    int32_t keep = slot->n_tokens - n;
    if (keep < 1) keep = 1;
    /* the last kept token is run again so that its logits are current; the
     * sequence itself is cut by the next decode */
    s->pending = slot->tokens[keep - 1];
    slot->n_tokens = keep - 1;
}

static int local_chat(dl_backend *b, const dl_chat_request *req, const dl_chat_sink *sink,
                      dl_chat_result *res, dl_error *err)
{
    local *L = (local *)b;
    int32_t *ids = NULL;
    size_t n = 0;
    if (prompt_tokens(L, req, &ids, &n, err) != 0) return -1;
    if (n == 0) {
        free(ids);
        return dl_error_set(err, 400, "the prompt is empty");
    }
    if (n >= (size_t)L->n_ctx) {
        free(ids);
        dl_error_set(err, 400, "the prompt is %zu tokens but the context holds %d (context overflow)",
                     n, L->n_ctx);
        if (err) err->code = "context_length_exceeded";
        return -1;
    }

    lsrc s = {0};
    s.L = L;
    s.pending = -1;
    s.logits = dl_xmalloc((size_t)L->n_vocab * sizeof(float));
    s.slot = dl_batch_acquire(L->batch, ids, (int32_t)n);
    int rc = eval_prompt(&s, ids, (int32_t)n, err);
    free(ids);
    if (rc == 0) {
        s.smp = dl_sampler_new(&req->gen.sampling, L->n_vocab);
        dl_detok_init(&s.detok, L->tok, true);
        s.detok.first = false;
        dl_token_source src = {&s, lsrc_next, lsrc_force, lsrc_rollback};
        dl_chat_opts o = request_opts(req);
        dl_chat_markers m = dl_chat_markers_for(&L->fmt, &o);
        rc = dl_generate(&src, &m, &req->gen, sink, res, err);
        /* the sampled-but-undecoded token is not in the cache: nothing to undo */
        dl_sampler_free(s.smp);
        if (rc != 0) dl_chat_result_free(res);
    }
    dl_batch_release(L->batch, s.slot, rc == 0 ? res->usage.completion_tokens : 0);
    free(s.logits);
    if (rc != 0) return -1;
    res->usage.prompt_tokens = (int32_t)n;
    return 0;
}

static int local_prompt(dl_backend *b, const dl_chat_request *req, char **text, dl_error *err)
{
    local *L = (local *)b;
    dl_chat_opts o = request_opts(req);
    dl_chat_prompt p = {0};
    if (dl_chat_render(&L->fmt, req->msgs, req->n_msgs, &o, &p, err) != 0) return -1;
    *text = p.text;
    p.text = NULL;
    dl_chat_prompt_free(&p);
    return 0;
}

static int32_t local_budget_hint(const dl_backend *b, const char *level)
{
    const local *L = (const local *)b;
    char key[96];
    snprintf(key, sizeof(key), "deliberate.reasoning.budget.%s", level);
    uint32_t v = 0;
    if (dl_gguf_get_u32(dl_model_gguf(L->model), key, &v) && v <= INT32_MAX) return (int32_t)v;
    return -1;
}

static void local_stats(const dl_backend *b, dl_backend_stats *st)
{
    dl_batch_stats(((const local *)b)->batch, st);
}

static void local_free(dl_backend *b)
{
    local *L = (local *)b;
    dl_batch_free(L->batch);
    dl_context_free(L->ctx);
    dl_model_free(L->model);
    free(L);
}

static const dl_backend_ops local_ops = {
    "local", local_chat, local_prompt, local_budget_hint, local_stats, local_free,
};

dl_backend *dl_backend_local_open(const char *path, const dl_local_opts *o, dl_error *err)
{
    dl_local_opts def = {0};
    if (!o) o = &def;
    dl_model *model = dl_model_load(path, o->progress, o->progress_ud, err);
    if (!model) return NULL;
    const dl_gguf *g = dl_model_gguf(model);
    const dl_tokenizer *tok = dl_model_tokenizer(model);
    dl_chat_format fmt = o->format;
    if (fmt.id == DL_CHAT_UNKNOWN) {
        const char *tmpl = dl_gguf_get_str(g, "tokenizer.chat_template");
        if (tmpl) fmt = dl_chat_format_from_template(tmpl);
        if (fmt.id == DL_CHAT_UNKNOWN)
            fmt = dl_chat_format_guess(dl_model_hparams(model)->arch_name, has_token_cb,
                                       (void *)tok);
    }
    if (fmt.id == DL_CHAT_UNKNOWN) {
        dl_error_set(err, 400,
                     "%s: cannot tell the model's chat format (%s); pass --chat-format "
                     "(chatml, qwen3, qwq, deepseek-r1, llama3, gpt-oss, ...)",
                     path,
                     dl_gguf_get_str(g, "tokenizer.chat_template") ? "its chat template is not one "
                                                                      "deliberate knows"
                                                                    : "it has no chat template");
        dl_model_free(model);
        return NULL;
    }
    if (o->n_parallel < 0 || o->n_parallel > 256) {
        dl_error_set(err, 400, "n_parallel must be between 1 and 256 (got %d)", o->n_parallel);
        dl_model_free(model);
        return NULL;
    }
    int32_t n_parallel = o->n_parallel ? o->n_parallel : 1;
    dl_context_params cp = {0};
    cp.n_ctx = o->n_ctx;
    cp.n_seq = n_parallel;
    cp.n_threads = o->n_threads;
    cp.kv_type = o->kv_type;
    dl_context *ctx = dl_context_create(model, &cp, err);
    if (!ctx) {
        dl_model_free(model);
        return NULL;
    }
    int32_t n_vocab = dl_model_hparams(model)->n_vocab;
    dl_batch *batch = dl_batch_new(ctx, n_parallel, n_vocab, err);
    if (!batch) {
        dl_context_free(ctx);
        dl_model_free(model);
        return NULL;
    }
    local *L = dl_xcalloc(1, sizeof(*L));
    const char *name = dl_gguf_get_str(g, "general.name");
    if (!name) {
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
    }
    dl_backend_init(&L->base, &local_ops, name);
    L->model = model;
    L->ctx = ctx;
    L->batch = batch;
    L->tok = tok;
    L->fmt = fmt;
    L->n_ctx = dl_context_n_ctx(ctx);
    L->n_vocab = n_vocab;
    return &L->base;
}

dl_chat_format dl_backend_local_format(const dl_backend *b)
{
    return ((const local *)b)->fmt;
}
