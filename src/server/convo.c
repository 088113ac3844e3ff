/* Conversations parsed from requests, and the usage object. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

void srv_convo_add(srv_convo *c, dl_role role, const char *content, const char *reasoning,
                   const char *name)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->msgs = dl_xrealloc(c->msgs, c->cap * sizeof(*c->msgs));
    }
    c->msgs[c->n++] = (dl_chat_msg){role, content, reasoning, name};
}

const char *srv_convo_own(srv_convo *c, char *s)
{
    c->owned = dl_xrealloc(c->owned, (c->n_owned + 1) * sizeof(char *));
    c->owned[c->n_owned++] = s;
    return s;
}

void srv_convo_free(srv_convo *c)
{
    for (size_t i = 0; i < c->n_owned; i++) free(c->owned[i]);
    free(c->owned);
    free(c->msgs);
    memset(c, 0, sizeof(*c));
}

int srv_content_text(srv_convo *c, json_t *content, const char *const *types, const char *param,
                     const char **out, srv_err *e)
{
    if (!content || json_is_null(content)) {
        *out = "";
        return 0;
    }
    if (json_is_string(content)) {
        *out = json_string_value(content);
        return 0;
    }
    if (!json_is_array(content))
        return srv_fail(e, 400, "invalid_type", param, "'%s' must be a string or an array of parts",
                        param);
    dl_buf b = {0};
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        const char *text = json_string_value(json_object_get(part, "text"));
        bool ok = false;
        for (const char *const *t = types; type && *t; t++) ok |= !strcmp(type, *t);
        if (!ok || !text) {
            dl_buf_free(&b);
            return srv_fail(e, 400, "unsupported_content", param,
                            "'%s[%zu]': only text parts are supported (type '%s'%s)", param, i,
                            types[0], text ? "" : " with a string 'text'");
        }
        dl_buf_append(&b, text, strlen(text));
    }
    dl_buf_append(&b, "", 1);
    *out = srv_convo_own(c, b.data);
    return 0;
}

json_t *srv_usage_json(const dl_usage *u)
{
    return json_pack("{s:i, s:i, s:i, s:{s:i}, s:{s:i}}", "prompt_tokens", u->prompt_tokens,
                     "completion_tokens", u->completion_tokens, "total_tokens",
                     u->prompt_tokens + u->completion_tokens, "completion_tokens_details",
                     "reasoning_tokens", u->reasoning_tokens, "prompt_tokens_details",
                     "cached_tokens", 0);
}

const srv_model *srv_request_model(srv_req *r, json_t *req, srv_err *e)
{
    const char *model = NULL;
    if (srv_get_string(req, "model", &model, e) < 0) return NULL;
    if (!model) {
        srv_fail(e, 400, "missing_required_parameter", "model", "'model' is required");
        return NULL;
    }
    const srv_model *m = srv_find_model(r->srv, model);
    if (!m)
        srv_fail(e, 404, "model_not_found", "model", "the model '%s' does not exist%s", model,
                 r->srv->n_models ? ""
                                  : " (this server has no model configured: start it with "
                                    "-m NAME=PATH)");
    return m;
}

void srv_default_params(const srv_model *m, dl_gen_params *gen, dl_reason_params *rp)
{
    *gen = dl_gen_default_params();
    gen->sampling.temperature = 1.0f; /* OpenAI's defaults: plain sampling */
    gen->sampling.top_p = 1.0f;
    gen->sampling.top_k = 0;
    gen->sampling.min_p = 0.0f;
    gen->sampling.seed = randombytes_random();
    *rp = dl_reason_default_params();
    rp->budgets = m->budgets;
    rp->summary = DL_SUMMARY_OFF;
}
