/* POST /v1/chat/completions: OpenAI's wire format over reason/.
 *
 * `n` choices are n independent samples (seed, seed+1, ...). The answer is
 * message.content; the raw reasoning goes out as message.reasoning_content
 * (delta.reasoning_content when streaming) only when the request sets
 * "include_reasoning": true and the deployment allows it (403 otherwise).
 * max_completion_tokens (or the older max_tokens) counts reasoning and
 * answer together. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"

typedef struct chat_job {
    dl_server *srv;
    const srv_model *model;
    json_t *req;            /* keeps the message strings alive */
    srv_convo convo;
    dl_gen_params gen;
    dl_reason_params rp;
    int n;
    bool stream, include_usage, want_reasoning;
    char id[64];
    int64_t created;
    srv_guard guard;        /* the safety checks around the generation */
    char locale[32];
} chat_job;

static void job_free(chat_job *j)
{
    srv_guard_end(&j->guard);
    srv_convo_free(&j->convo);
    json_decref(j->req);
    free(j);
}

static const char *const text_part_types[] = {"text", NULL};

static int parse_messages(chat_job *j, json_t *msgs, srv_err *e)
{
    if (!msgs) return srv_fail(e, 400, "missing_required_parameter", "messages", "'messages' is required");
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return srv_fail(e, 400, "invalid_value", "messages", "'messages' must be a non-empty array");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        char param[64];
        snprintf(param, sizeof param, "messages[%zu]", i);
        if (!json_is_object(m)) return srv_fail(e, 400, "invalid_type", param, "'%s' must be an object", param);
        const char *role = json_string_value(json_object_get(m, "role"));
        snprintf(param, sizeof param, "messages[%zu].role", i);
        dl_role rl;
        if (!role) return srv_fail(e, 400, "invalid_value", param, "'%s' must be a string", param);
        if (dl_role_parse(role, &rl) != 0)
            return srv_fail(e, 400, "invalid_value", param,
                            "'%s': unknown role '%s' (system, developer, user, assistant, tool)",
                            param, role);
        snprintf(param, sizeof param, "messages[%zu].content", i);
        const char *content = "";
        if (srv_content_text(&j->convo, json_object_get(m, "content"), text_part_types, param,
                             &content, e) != 0)
            return -1;
        const char *reasoning = NULL, *name = NULL;
        json_t *rc = json_object_get(m, "reasoning_content");
        if (rl == DL_ROLE_ASSISTANT && json_is_string(rc)) reasoning = json_string_value(rc);
        if (rl == DL_ROLE_TOOL) {
            name = json_string_value(json_object_get(m, "name"));
            if (!name) name = json_string_value(json_object_get(m, "tool_call_id"));
        }
        srv_convo_add(&j->convo, rl, content, reasoning, name);
    }
    return 0;
}

/* Reads the request into *j; -1 + e on bad input. */
static int parse_chat(srv_req *r, json_t *req, chat_job *j, srv_err *e)
{
    j->model = srv_request_model(r, req, e);
    if (!j->model) return -1;
    if (parse_messages(j, json_object_get(req, "messages"), e) != 0) return -1;

    srv_default_params(j->model, &j->gen, &j->rp);
    j->n = 1;

    const char *effort = NULL;
    if (srv_get_string(req, "reasoning_effort", &effort, e) < 0) return -1;
    if (effort) {
        dl_error de = {0};
        if (dl_effort_parse(effort, &j->rp.effort, &de) != 0)
            return srv_fail(e, 400, "invalid_value", "reasoning_effort", "%s", de.msg);
    }
    long v;
    int got = srv_get_int(req, "max_completion_tokens", 1, 1 << 24, &v, e);
    if (got < 0) return -1;
    if (got == 0) {
        got = srv_get_int(req, "max_tokens", 1, 1 << 24, &v, e);
        if (got < 0) return -1;
    }
    if (got) j->gen.max_tokens = (int32_t)v;
    if ((got = srv_get_int(req, "n", 1, 16, &v, e)) < 0) return -1;
    if (got) j->n = (int)v;
    if ((got = srv_get_int(req, "seed", INT64_MIN / 2, INT64_MAX / 2, &v, e)) < 0) return -1;
    if (got) j->gen.sampling.seed = (uint64_t)v;
    double d;
    if ((got = srv_get_number(req, "temperature", 0, 2, &d, e)) < 0) return -1;
    if (got) j->gen.sampling.temperature = (float)d;
    if ((got = srv_get_number(req, "top_p", 0, 1, &d, e)) < 0) return -1;
    if (got) j->gen.sampling.top_p = (float)d;
    if ((got = srv_get_number(req, "frequency_penalty", -2, 2, &d, e)) < 0) return -1;
    if (got) j->gen.sampling.freq_penalty = (float)d;
    if ((got = srv_get_number(req, "presence_penalty", -2, 2, &d, e)) < 0) return -1;
    if (got) j->gen.sampling.presence_penalty = (float)d;
    if (srv_get_bool(req, "stream", &j->stream, e) < 0) return -1;
    json_t *so = json_object_get(req, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so))
            return srv_fail(e, 400, "invalid_type", "stream_options", "'stream_options' must be an object");
        if (srv_get_bool(so, "include_usage", &j->include_usage, e) < 0) {
            snprintf(e->param, sizeof e->param, "stream_options.include_usage");
            return -1;
        }
    }
    if (srv_get_bool(req, "include_reasoning", &j->want_reasoning, e) < 0) return -1;
    if (j->want_reasoning && !r->srv->cfg.allow_raw_reasoning)
        return srv_fail(e, 403, "reasoning_not_allowed", "include_reasoning",
                        "this deployment does not return raw reasoning (start the server with "
                        "--allow-raw-reasoning to allow it)");
    j->rp.want_reasoning = j->want_reasoning;
    j->rp.allow_reasoning = r->srv->cfg.allow_raw_reasoning;

    json_t *stop = json_object_get(req, "stop");
    if (stop && !json_is_null(stop)) {
        size_t ns = 0;
        const char **list = dl_xcalloc(4, sizeof(char *));
        if (json_is_string(stop)) {
            list[ns++] = json_string_value(stop);
        } else if (json_is_array(stop) && json_array_size(stop) <= 4) {
            size_t i;
            json_t *s1;
            json_array_foreach(stop, i, s1) {
                if (!json_is_string(s1)) {
                    free(list);
                    return srv_fail(e, 400, "invalid_type", "stop", "'stop' entries must be strings");
                }
                list[ns++] = json_string_value(s1);
            }
        } else {
            free(list);
            return srv_fail(e, 400, "invalid_type", "stop",
                            "'stop' must be a string or an array of at most 4 strings");
        }
        j->gen.stop = list;
        srv_convo_own(&j->convo, (char *)list);
        j->gen.n_stop = ns;
    }
    j->created = (int64_t)time(NULL);
    srv_new_id("chatcmpl-", j->id, sizeof j->id);
    return 0;
}

static json_t *chunk(const chat_job *j, json_t *choices)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "id", j->id, "object",
                     "chat.completion.chunk", "created", (json_int_t)j->created, "model",
                     j->model->name, "system_fingerprint", "deliberate", "choices", choices);
}

static json_t *delta_choice(int index, json_t *delta, const char *finish)
{
    return json_pack("{s:i, s:o, s:n, s:o}", "index", index, "delta", delta, "logprobs",
                     "finish_reason", finish ? json_string(finish) : json_null());
}

/* ---- streaming ---- */

typedef struct stream_ctx {
    chat_job *j;
    srv_stream *st;
    int index;
} stream_ctx;

/* Sends answer text the guard has checked. */
static bool st_release(void *ud, const char *text, size_t len)
{
    stream_ctx *c = ud;
    if (srv_stream_cancelled(c->st)) return false;
    if (len == 0) return true;
    json_t *delta = json_pack("{s:s%}", "content", text, len);
    srv_stream_event(c->st, NULL, chunk(c->j, json_pack("[o]", delta_choice(c->index, delta, NULL))));
    return true;
}

static bool st_answer(void *ud, const char *text, size_t len)
{
    stream_ctx *c = ud;
    if (srv_stream_cancelled(c->st)) return false;
    return srv_guard_stream(&c->j->guard, text, len, st_release, c);
}

static bool st_reasoning(void *ud, const char *text, size_t len)
{
    stream_ctx *c = ud;
    if (srv_stream_cancelled(c->st)) return false;
    json_t *delta = json_pack("{s:s%}", "reasoning_content", text, len);
    srv_stream_event(c->st, NULL, chunk(c->j, json_pack("[o]", delta_choice(c->index, delta, NULL))));
    return true;
}

static bool st_progress(void *ud, int sample, dl_channel ch, int32_t n)
{
    stream_ctx *c = ud;
    return !srv_stream_cancelled(c->st);
}

static void stream_job(srv_stream *st, void *arg)
{
    chat_job *j = arg;
    dl_usage total = {0};
    double t0 = srv_now();
    for (int i = 0; i < j->n && !srv_stream_cancelled(st); i++) {
        stream_ctx c = {j, st, i};
        json_t *first = json_pack("{s:s, s:s}", "role", "assistant", "content", "");
        srv_stream_event(st, NULL, chunk(j, json_pack("[o]", delta_choice(i, first, NULL))));
        srv_guard_next_answer(&j->guard);
        if (j->guard.refusal) { /* the input check answered */
            st_release(&c, j->guard.refusal, strlen(j->guard.refusal));
            srv_stream_event(st, NULL, chunk(j, json_pack("[o]", delta_choice(i, json_object(), "stop"))));
            continue;
        }
        dl_reason_sink sink = {st_progress, st_answer, j->want_reasoning ? st_reasoning : NULL, NULL, &c};
        dl_gen_params gen = j->gen;
        gen.sampling.seed = j->gen.sampling.seed + (uint64_t)i;
        dl_reason_result res;
        dl_error de = {0};
        if (dl_reason_run(j->model->backend, j->guard.msgs, j->guard.n_msgs, &gen, &j->rp, &sink,
                          &res, &de) != 0) {
            srv_err e;
            srv_fail_dl(&e, &de, NULL);
            json_t *err = json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", e.msg, "type",
                                    e.type, "param", json_null(), "code",
                                    e.code ? json_string(e.code) : json_null());
            srv_stream_event(st, NULL, err);
            break;
        }
        total.prompt_tokens += res.usage.prompt_tokens;
        total.completion_tokens += res.usage.completion_tokens;
        total.reasoning_tokens += res.usage.reasoning_tokens;
        const char *fin = res.finish == DL_FINISH_LENGTH ? "length" : "stop";
        bool withheld = j->guard.withheld;
        if (!withheld) srv_guard_flush(&j->guard, st_release, &c);
        withheld = j->guard.withheld;
        srv_guard_reasoning(&j->guard, res.reasoning);
        bool cancelled = res.finish == DL_FINISH_CANCELLED && !withheld;
        if (withheld) fin = "content_filter";
        dl_reason_result_free(&res);
        if (cancelled) break;
        srv_stream_event(st, NULL, chunk(j, json_pack("[o]", delta_choice(i, json_object(), fin))));
    }
    srv_metrics_tokens(j->srv->metrics, total.completion_tokens, srv_now() - t0);
    if (!srv_stream_cancelled(st)) {
        if (j->include_usage) {
            json_t *c = chunk(j, json_array());
            json_object_set_new(c, "usage", srv_usage_json(&total));
            srv_stream_event(st, NULL, c);
        }
        srv_stream_printf(st, "data: [DONE]\n\n");
    }
    job_free(j);
}

/* ---- plain ---- */

static bool plain_progress(void *ud, int sample, dl_channel ch, int32_t n)
{
    const dl_server *s = ud;
    return !atomic_load(&s->stopping);
}

static enum MHD_Result reply_plain(srv_req *r, chat_job *j)
{
    json_t *choices = json_array();
    dl_usage total = {0};
    double t0 = srv_now();
    for (int i = 0; i < j->n; i++) {
        dl_reason_sink sink = {plain_progress, NULL, NULL, NULL, r->srv};
        dl_gen_params gen = j->gen;
        gen.sampling.seed = j->gen.sampling.seed + (uint64_t)i;
        srv_guard_next_answer(&j->guard);
        if (j->guard.refusal) { /* the input check answered */
            json_t *msg = json_pack("{s:s, s:s, s:n}", "role", "assistant", "content",
                                    j->guard.refusal, "refusal");
            json_array_append_new(choices, json_pack("{s:i, s:o, s:n, s:s}", "index", i, "message",
                                                     msg, "logprobs", "finish_reason", "stop"));
            continue;
        }
        dl_reason_result res;
        dl_error de = {0};
        if (dl_reason_run(j->model->backend, j->guard.msgs, j->guard.n_msgs, &gen, &j->rp, &sink,
                          &res, &de) != 0) {
            json_decref(choices);
            srv_err e;
            srv_fail_dl(&e, &de, de.code && !strcmp(de.code, "context_length_exceeded") ? "messages" : NULL);
            return srv_reply_err(r, &e);
        }
        const char *answer = srv_guard_final_answer(&j->guard, res.answer);
        srv_guard_reasoning(&j->guard, res.reasoning);
        json_t *msg = json_pack("{s:s, s:s, s:n}", "role", "assistant", "content", answer,
                                "refusal");
        if (res.reasoning && j->want_reasoning)
            json_object_set_new(msg, "reasoning_content", json_string(res.reasoning));
        const char *fin = j->guard.withheld ? "content_filter"
                          : res.finish == DL_FINISH_LENGTH ? "length" : "stop";
        json_array_append_new(choices, json_pack("{s:i, s:o, s:n, s:s}", "index", i, "message", msg,
                                                 "logprobs", "finish_reason", fin));
        total.prompt_tokens += res.usage.prompt_tokens;
        total.completion_tokens += res.usage.completion_tokens;
        total.reasoning_tokens += res.usage.reasoning_tokens;
        dl_reason_result_free(&res);
    }
    srv_metrics_tokens(r->srv->metrics, total.completion_tokens, srv_now() - t0);
    json_t *body = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:o}", "id", j->id, "object",
                             "chat.completion", "created", (json_int_t)j->created, "model",
                             j->model->name, "system_fingerprint", "deliberate", "choices", choices,
                             "usage", srv_usage_json(&total));
    return srv_reply_json(r, 200, body);
}

enum MHD_Result srv_handle_chat(srv_req *r)
{
    srv_err e;
    json_t *req = srv_parse_body(r, &e);
    if (!req) return srv_reply_err(r, &e);
    chat_job *j = dl_xcalloc(1, sizeof(*j));
    j->srv = r->srv;
    j->req = req;
    if (parse_chat(r, req, j, &e) != 0) {
        job_free(j);
        return srv_reply_err(r, &e);
    }
    enum MHD_Result ret;
    if (!srv_admit(r, &ret)) {
        job_free(j);
        return ret;
    }
    srv_guard_begin(&j->guard, r->srv, j->convo.msgs, j->convo.n,
                    srv_locale(r, j->locale, sizeof j->locale));
    if (j->guard.on) { /* the CoT monitor reads the reasoning; it is returned only if asked */
        j->rp.want_reasoning = j->rp.allow_reasoning = true;
    }
    if (j->stream) return srv_reply_stream(r, stream_job, j); /* the job frees j */
    ret = reply_plain(r, j);
    job_free(j);
    return ret;
}
