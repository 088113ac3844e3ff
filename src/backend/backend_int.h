/* backend internals: the vtable every implementation fills, and the
 * generation loop shared by the implementations that produce tokens
 * themselves (local, scripted). */
#ifndef DL_BACKEND_INT_H
#define DL_BACKEND_INT_H

#include "backend.h"

typedef struct dl_backend_ops {
    const char *kind; /* "local", "scripted", ... */
    int (*chat)(dl_backend *b, const dl_chat_request *req, const dl_chat_sink *sink,
                dl_chat_result *res, dl_error *err);
    int (*prompt)(dl_backend *b, const dl_chat_request *req, char **text, dl_error *err);
    int32_t (*budget_hint)(const dl_backend *b, const char *level); /* may be NULL */
    void (*stats)(const dl_backend *b, dl_backend_stats *st);       /* may be NULL */
    void (*free)(dl_backend *b);
} dl_backend_ops;

/* Every implementation's struct starts with this. */
struct dl_backend {
    const dl_backend_ops *ops;
    char *name; /* owned */
};

/* What dl_generate needs from a model. */
typedef enum dl_src_status {
    DL_SRC_TOKEN = 0, /* a token was produced */
    DL_SRC_EOG = 1,   /* the model ended its turn */
    DL_SRC_FULL = 2,  /* no room left in the context */
    DL_SRC_ERROR = -1,
} dl_src_status;

typedef struct dl_token_source {
    void *self;
    /* Produces the next token: appends its text (special tokens as text) to
     * *piece and sets *logprob (log p of the token under the model). */
    dl_src_status (*next)(void *self, dl_buf *piece, double *logprob, dl_error *err);
    /* Appends text to the output as if the model had written it (budget
     * forcing, continuation cues); *n_tok = tokens it took. 0 / -1 + err
     * (e.g. 400 when the context is full). */
    int (*force)(void *self, const char *text, size_t len, int32_t *n_tok, dl_error *err);
    /* Takes back the last n tokens produced or forced. */
    void (*rollback)(void *self, int32_t n);
} dl_token_source;

/* The generation loop: channel parsing, reasoning budget forcing,
 * continuation cues, stop strings, usage, streaming to the sink. *res is
 * filled except usage.prompt_tokens. */
int dl_generate(dl_token_source *src, const dl_chat_markers *m, const dl_gen_params *g,
                const dl_chat_sink *sink, dl_chat_result *res, dl_error *err);

/* Sets up the common part of a backend. */
void dl_backend_init(dl_backend *b, const dl_backend_ops *ops, const char *name);

#endif
