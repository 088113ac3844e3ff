/* The scripted backend: deterministic replies for tests of everything above
 * the backend interface (reason/, safety/, eval/, server/). It runs the same
 * generation loop as the local backend, so budget forcing, continuation
 * cues, stop strings and usage behave alike; only the token source differs.
 * Prompts are rendered in the Qwen3 format (kept for assertions). */
#include "backend_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct scripted {
    dl_backend base;
    char **replies;
    double *logprobs;
    size_t n_replies;
    int32_t prompt_tokens;
    const char *(*reply_for)(void *ud, const dl_chat_request *req);
    void *reply_ud;
    const struct dl_scripted_hint *hints;
    size_t calls;
    char *last_prompt;
    pthread_mutex_t mu; /* guards calls and last_prompt */
} scripted;

/* Token boundaries of a reply: "<think>" and "</think>" are tokens of their
 * own; other text splits before each space. starts[n] = strlen(text). */
static size_t split_tokens(const char *text, size_t len, size_t *starts)
{
    size_t n = 0, i = 0;
    while (i < len) {
        if (starts) starts[n] = i;
        n++;
        if (strncmp(text + i, "<think>", 7) == 0) { i += 7; continue; }
        if (strncmp(text + i, "</think>", 8) == 0) { i += 8; continue; }
        size_t j = i + 1;
        while (j < len && text[j] != ' ' && strncmp(text + j, "<think>", 7) != 0 &&
               strncmp(text + j, "</think>", 8) != 0)
            j++;
        i = j;
    }
    if (starts) starts[n] = len;
    return n;
}

typedef struct ssrc {
    const char *text;
    size_t *starts;
    size_t n_tok;
    size_t cursor;
    size_t reason_start; /* first token after "<think>" (0 if none) */
    size_t close_idx;    /* index of the "</think>" token, or n_tok */
    double logprob;
    size_t *hist;        /* cursor before each output token, for rollback */
    size_t n_hist, cap_hist;
} ssrc;

static void hist_push(ssrc *s, size_t v)
{
    if (s->n_hist == s->cap_hist) {
        s->cap_hist = s->cap_hist ? s->cap_hist * 2 : 64;
        s->hist = dl_xrealloc(s->hist, s->cap_hist * sizeof(size_t));
    }
    s->hist[s->n_hist++] = v;
}

static dl_src_status ssrc_next(void *self, dl_buf *piece, double *logprob, dl_error *err)
{
    ssrc *s = self;
    if (s->cursor >= s->n_tok) return DL_SRC_EOG;
    size_t a = s->starts[s->cursor], b = s->starts[s->cursor + 1];
    dl_buf_append(piece, s->text + a, b - a);
    *logprob = s->logprob;
    hist_push(s, s->cursor);
    s->cursor++;
    return DL_SRC_TOKEN;
}

static int ssrc_force(void *self, const char *text, size_t len, int32_t *n_tok, dl_error *err)
{
    ssrc *s = self;
    size_t n = split_tokens(text, len, NULL);
    for (size_t i = 0; i < n; i++) hist_push(s, s->cursor);
    *n_tok = (int32_t)n;
    bool closes = false;
    for (size_t i = 0; i + 8 <= len; i++)
        if (memcmp(text + i, "</think>", 8) == 0) closes = true;
    if (closes)
        s->cursor = s->close_idx < s->n_tok ? s->close_idx + 1 : s->n_tok; /* on to the answer */
    else
        s->cursor = s->reason_start; /* a cue: the reasoning starts over */
    return 0;
}

static void ssrc_rollback(void *self, int32_t n)
{
    ssrc *s = self;
    while (n-- > 0 && s->n_hist > 0) s->cursor = s->hist[--s->n_hist];
}

static int scripted_prompt(dl_backend *b, const dl_chat_request *req, char **text, dl_error *err)
{
    dl_chat_format f = {DL_CHAT_QWEN3, 0};
    dl_chat_opts o = dl_chat_default_opts();
    o.enable_thinking = req->gen.thinking;
    dl_chat_prompt p = {0};
    if (dl_chat_render(&f, req->msgs, req->n_msgs, &o, &p, err) != 0) return -1;
    *text = p.text;
    p.text = NULL;
    dl_chat_prompt_free(&p);
    return 0;
}

static int scripted_chat(dl_backend *b, const dl_chat_request *req, const dl_chat_sink *sink,
                         dl_chat_result *res, dl_error *err)
{
    scripted *S = (scripted *)b;
    char *prompt = NULL;
    if (scripted_prompt(b, req, &prompt, err) != 0) return -1;
    const char *own = S->reply_for ? S->reply_for(S->reply_ud, req) : NULL;
    char *chosen = own ? dl_xstrdup(own) : NULL;
    if (!chosen && S->n_replies == 0) {
        free(prompt);
        return dl_error_set(err, 500, "the scripted backend has no replies");
    }
    size_t prompt_len = strlen(prompt);
    pthread_mutex_lock(&S->mu);
    free(S->last_prompt);
    S->last_prompt = prompt;
    size_t r = chosen ? 0 : S->calls % S->n_replies;
    S->calls++;
    pthread_mutex_unlock(&S->mu);

    ssrc s = {0};
    s.text = chosen ? chosen : S->replies[r];
    size_t len = strlen(s.text);
    s.starts = dl_xmalloc((len + 2) * sizeof(size_t));
    s.n_tok = split_tokens(s.text, len, s.starts);
    s.close_idx = s.n_tok;
    for (size_t i = 0; i < s.n_tok; i++) {
        const char *t = s.text + s.starts[i];
        if (strncmp(t, "<think>", 7) == 0 && s.reason_start == 0) s.reason_start = i + 1;
        if (strncmp(t, "</think>", 8) == 0 && s.close_idx == s.n_tok) s.close_idx = i;
    }
    /* thinking off: the scripted "model" skips its reasoning, as a model does
     * after the format's empty think block */
    if (!req->gen.thinking && s.close_idx < s.n_tok) s.cursor = s.close_idx + 1;
    s.logprob = S->logprobs && !chosen ? S->logprobs[r] : -1.0;
    dl_token_source src = {&s, ssrc_next, ssrc_force, ssrc_rollback};
    dl_chat_format f = {DL_CHAT_QWEN3, 0};
    dl_chat_opts o = dl_chat_default_opts();
    o.enable_thinking = req->gen.thinking;
    dl_chat_markers m = dl_chat_markers_for(&f, &o);
    int rc = dl_generate(&src, &m, &req->gen, sink, res, err);
    free(s.starts);
    free(s.hist);
    free(chosen);
    if (rc != 0) return -1;
    res->usage.prompt_tokens =
        S->prompt_tokens > 0 ? S->prompt_tokens : (int32_t)(prompt_len / 4);
    return 0;
}

static void scripted_free(dl_backend *b)
{
    scripted *S = (scripted *)b;
    for (size_t i = 0; i < S->n_replies; i++) free(S->replies[i]);
    free(S->replies);
    free(S->logprobs);
    free(S->last_prompt);
    pthread_mutex_destroy(&S->mu);
    free(S);
}

static int32_t scripted_budget_hint(const dl_backend *b, const char *level)
{
    const scripted *S = (const scripted *)b;
    for (const struct dl_scripted_hint *h = S->hints; h && h->level; h++)
        if (!strcmp(h->level, level)) return h->value;
    return -1;
}

static const dl_backend_ops scripted_ops = {
    "scripted", scripted_chat, scripted_prompt, scripted_budget_hint, NULL, scripted_free,
};

dl_backend *dl_backend_scripted_new(const dl_scripted_opts *o)
{
    scripted *S = dl_xcalloc(1, sizeof(*S));
    dl_backend_init(&S->base, &scripted_ops, "scripted");
    S->n_replies = o->n_replies;
    S->replies = dl_xcalloc(o->n_replies ? o->n_replies : 1, sizeof(char *));
    for (size_t i = 0; i < o->n_replies; i++) S->replies[i] = dl_xstrdup(o->replies[i]);
    if (o->logprobs) {
        S->logprobs = dl_xmalloc(o->n_replies * sizeof(double));
        memcpy(S->logprobs, o->logprobs, o->n_replies * sizeof(double));
    }
    S->prompt_tokens = o->prompt_tokens;
    S->reply_for = o->reply_for;
    S->reply_ud = o->reply_ud;
    S->hints = o->hints; /* the caller's array must outlive the backend */
    pthread_mutex_init(&S->mu, NULL);
    return &S->base;
}

size_t dl_backend_scripted_calls(const dl_backend *b) { return ((const scripted *)b)->calls; }

const char *dl_backend_scripted_last_prompt(const dl_backend *b)
{
    return ((const scripted *)b)->last_prompt;
}
