/* The backend interface's dispatch and the small shared pieces. */
#include "backend_int.h"

#include <stdlib.h>

dl_gen_params dl_gen_default_params(void)
{
    dl_gen_params g = {0};
    g.sampling = dl_sampler_default_params();
    g.thinking = true;
    g.reasoning_budget = -1;
    return g;
}

const char *dl_finish_name(dl_finish f)
{
    switch (f) {
    case DL_FINISH_STOP: return "stop";
    case DL_FINISH_LENGTH: return "length";
    case DL_FINISH_CANCELLED: return "cancelled";
    }
    return "unknown";
}

void dl_chat_result_free(dl_chat_result *r)
{
    if (!r) return;
    free(r->answer);
    free(r->reasoning);
    r->answer = r->reasoning = NULL;
}

void dl_backend_init(dl_backend *b, const dl_backend_ops *ops, const char *name)
{
    b->ops = ops;
    b->name = dl_xstrdup(name ? name : ops->kind);
}

int dl_backend_chat(dl_backend *b, const dl_chat_request *req, const dl_chat_sink *sink,
                    dl_chat_result *res, dl_error *err)
{
    *res = (dl_chat_result){0};
    if (!req->msgs || req->n_msgs == 0)
        return dl_error_set(err, 400, "the conversation has no messages");
    if (req->gen.max_tokens < 0)
        return dl_error_set(err, 400, "max_tokens must be >= 0 (got %d)", req->gen.max_tokens);
    return b->ops->chat(b, req, sink, res, err);
}

int dl_backend_prompt(dl_backend *b, const dl_chat_request *req, char **text, dl_error *err)
{
    *text = NULL;
    if (!b->ops->prompt)
        return dl_error_set(err, 501, "the %s backend does not build prompts itself", b->ops->kind);
    return b->ops->prompt(b, req, text, err);
}

const char *dl_backend_name(const dl_backend *b) { return b->name; }

int32_t dl_backend_budget_hint(const dl_backend *b, const char *level)
{
    return b->ops->budget_hint ? b->ops->budget_hint(b, level) : -1;
}

void dl_backend_get_stats(const dl_backend *b, dl_backend_stats *st)
{
    *st = (dl_backend_stats){0};
    if (b->ops->stats) b->ops->stats(b, st);
}

void dl_backend_free(dl_backend *b)
{
    if (!b) return;
    char *name = b->name;
    b->ops->free(b);
    free(name);
}
