/* POST /v1/responses, GET and DELETE /v1/responses/{id}.
 *
 * The output is a reasoning item (its `summary` holds the model-written
 * summary when `reasoning.summary` asks for one; the raw reasoning is never
 * returned) and a message item with the answer. `store` (default true) keeps
 * the response and the conversation it answered, so `previous_response_id`
 * can continue it. `instructions` become the system message of this request
 * only (not carried to the next one, as in OpenAI's API).
 *
 * Streaming follows OpenAI's event sequence. Without a summary the answer
 * streams as it is written; with one, the summary is written after the answer
 * (it summarises the finished reasoning), so the summary deltas stream first
 * and the answer follows in one delta — the order of the output items stays
 * reasoning, then message. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"

typedef struct resp_job {
    dl_server *srv;
    const srv_model *model;
    json_t *req;
    srv_convo convo;     /* instructions (if any) + history + input */
    size_t first_item;   /* index of the first message that is not the instructions */
    dl_gen_params gen;
    dl_reason_params rp;
    bool stream, store;
    const char *instructions;
    const char *previous_id;
    const char *summary_name; /* as requested, or NULL */
    long max_output_tokens;
    double temperature, top_p;
    int64_t project_id;
    char id[64], rs_id[64], msg_id[64];
    int64_t created;
    dl_stored_response prev;  /* loaded previous response (owned strings) */
    json_t *prev_items;       /* its conversation */
    srv_guard guard;          /* the safety checks around the generation */
    char locale[32];
} resp_job;

static void job_free(resp_job *j)
{
    srv_guard_end(&j->guard);
    srv_convo_free(&j->convo);
    json_decref(j->req);
    json_decref(j->prev_items);
    dl_stored_response_free(&j->prev);
    free(j);
}

static const char *const input_part_types[] = {"input_text", "output_text", "text", NULL};

/* One input item -> a message (or nothing for reasoning items). */
static int parse_item(resp_job *j, json_t *it, size_t i, srv_err *e)
{
    char param[64];
    snprintf(param, sizeof param, "input[%zu]", i);
    if (!json_is_object(it)) return srv_fail(e, 400, "invalid_type", param, "'%s' must be an object", param);
    const char *type = json_string_value(json_object_get(it, "type"));
    if (type && !strcmp(type, "reasoning")) return 0; /* earlier reasoning items: not replayed */
    if (type && !strcmp(type, "function_call_output")) {
        const char *out = json_string_value(json_object_get(it, "output"));
        const char *call = json_string_value(json_object_get(it, "call_id"));
        if (!out) return srv_fail(e, 400, "invalid_value", param, "'%s.output' must be a string", param);
        srv_convo_add(&j->convo, DL_ROLE_TOOL, out, NULL, call);
        return 0;
    }
    if (type && strcmp(type, "message") != 0)
        return srv_fail(e, 400, "unsupported_item", param,
                        "'%s': item type '%s' is not supported (message, function_call_output, "
                        "reasoning)", param, type);
    const char *role = json_string_value(json_object_get(it, "role"));
    dl_role rl;
    snprintf(param, sizeof param, "input[%zu].role", i);
    if (!role || dl_role_parse(role, &rl) != 0 || rl == DL_ROLE_TOOL)
        return srv_fail(e, 400, "invalid_value", param,
                        "'%s' must be one of user, assistant, system, developer", param);
    snprintf(param, sizeof param, "input[%zu].content", i);
    const char *content = "";
    if (srv_content_text(&j->convo, json_object_get(it, "content"), input_part_types, param, &content,
                         e) != 0)
        return -1;
    srv_convo_add(&j->convo, rl, content, NULL, NULL);
    return 0;
}

/* The answer text of a stored response object. */
static const char *stored_answer(json_t *resp)
{
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(resp, "output"), i, it) {
        const char *type = json_string_value(json_object_get(it, "type"));
        if (type && !strcmp(type, "message")) {
            json_t *c0 = json_array_get(json_object_get(it, "content"), 0);
            const char *t = json_string_value(json_object_get(c0, "text"));
            if (t) return t;
        }
    }
    return "";
}

static int load_previous(srv_req *r, resp_job *j, srv_err *e)
{
    dl_error de = {0};
    if (dl_store_response_get(r->srv->cfg.store, j->previous_id, r->project_id, &j->prev, &de) != 0) {
        if (de.status == 404)
            return srv_fail(e, 404, "previous_response_not_found", "previous_response_id",
                            "previous response '%s' not found", j->previous_id);
        return srv_fail_dl(e, &de, "previous_response_id");
    }
    json_error_t je;
    j->prev_items = json_loads(j->prev.input_json, 0, &je);
    json_t *prev_resp = json_loads(j->prev.response_json, 0, &je);
    if (!json_is_array(j->prev_items) || !prev_resp) {
        json_decref(prev_resp);
        return srv_fail(e, 500, "store_corrupt", "previous_response_id",
                        "stored response '%s' cannot be read back", j->previous_id);
    }
    size_t i;
    json_t *it;
    json_array_foreach(j->prev_items, i, it) {
        dl_role rl = DL_ROLE_USER;
        dl_role_parse(json_string_value(json_object_get(it, "role")), &rl);
        const char *c = json_string_value(json_object_get(it, "content"));
        srv_convo_add(&j->convo, rl, c ? c : "", NULL, json_string_value(json_object_get(it, "name")));
    }
    srv_convo_add(&j->convo, DL_ROLE_ASSISTANT, srv_convo_own(&j->convo, dl_xstrdup(stored_answer(prev_resp))),
                  NULL, NULL);
    json_decref(prev_resp);
    return 0;
}

static int parse_responses(srv_req *r, json_t *req, resp_job *j, srv_err *e)
{
    j->model = srv_request_model(r, req, e);
    if (!j->model) return -1;
    j->project_id = r->project_id;
    j->store = true;
    if (srv_get_string(req, "instructions", &j->instructions, e) < 0) return -1;
    if (srv_get_string(req, "previous_response_id", &j->previous_id, e) < 0) return -1;
    if (srv_get_bool(req, "store", &j->store, e) < 0) return -1;
    if (srv_get_bool(req, "stream", &j->stream, e) < 0) return -1;
    if (j->instructions) srv_convo_add(&j->convo, DL_ROLE_SYSTEM, j->instructions, NULL, NULL);
    j->first_item = j->convo.n;
    if (j->previous_id && load_previous(r, j, e) != 0) return -1;

    json_t *input = json_object_get(req, "input");
    if (!input || json_is_null(input))
        return srv_fail(e, 400, "missing_required_parameter", "input", "'input' is required");
    if (json_is_string(input)) {
        srv_convo_add(&j->convo, DL_ROLE_USER, json_string_value(input), NULL, NULL);
    } else if (json_is_array(input)) {
        size_t i;
        json_t *it;
        json_array_foreach(input, i, it) if (parse_item(j, it, i, e) != 0) return -1;
    } else {
        return srv_fail(e, 400, "invalid_type", "input", "'input' must be a string or an array of items");
    }
    if (j->convo.n == j->first_item)
        return srv_fail(e, 400, "invalid_value", "input", "'input' holds no message");

    srv_default_params(j->model, &j->gen, &j->rp);
    j->temperature = 1.0;
    j->top_p = 1.0;

    json_t *reasoning = json_object_get(req, "reasoning");
    if (reasoning && !json_is_null(reasoning)) {
        if (!json_is_object(reasoning))
            return srv_fail(e, 400, "invalid_type", "reasoning", "'reasoning' must be an object");
        const char *effort = NULL;
        if (srv_get_string(reasoning, "effort", &effort, e) < 0) goto reasoning_param;
        if (effort) {
            dl_error de = {0};
            if (dl_effort_parse(effort, &j->rp.effort, &de) != 0)
                return srv_fail(e, 400, "invalid_value", "reasoning.effort", "%s", de.msg);
        }
        const char *summary = NULL;
        if (srv_get_string(reasoning, "summary", &summary, e) < 0) goto reasoning_param;
        if (summary) {
            dl_error de = {0};
            if (dl_summary_parse(summary, &j->rp.summary, &de) != 0 || j->rp.summary == DL_SUMMARY_OFF)
                return srv_fail(e, 400, "invalid_value", "reasoning.summary",
                                "'reasoning.summary' must be auto, concise or detailed");
            j->summary_name = summary;
        }
    }
    long v;
    int got;
    if ((got = srv_get_int(req, "max_output_tokens", 1, 1 << 24, &v, e)) < 0) return -1;
    if (got) j->gen.max_tokens = (int32_t)(j->max_output_tokens = v);
    if ((got = srv_get_number(req, "temperature", 0, 2, &j->temperature, e)) < 0) return -1;
    j->gen.sampling.temperature = (float)j->temperature;
    if ((got = srv_get_number(req, "top_p", 0, 1, &j->top_p, e)) < 0) return -1;
    j->gen.sampling.top_p = (float)j->top_p;
    if ((got = srv_get_int(req, "seed", INT64_MIN / 2, INT64_MAX / 2, &v, e)) < 0) return -1;
    if (got) j->gen.sampling.seed = (uint64_t)v;

    j->created = (int64_t)time(NULL);
    srv_new_id("resp_", j->id, sizeof j->id);
    srv_new_id("rs_", j->rs_id, sizeof j->rs_id);
    srv_new_id("msg_", j->msg_id, sizeof j->msg_id);
    return 0;
reasoning_param: {
    char p[64];
    memcpy(p, e->param, sizeof p - 1);
    p[sizeof p - 1] = 0;
    snprintf(e->param, sizeof e->param, "reasoning.%s", p);
    return -1;
}
}

/* ---- the response object ---- */

static json_t *reasoning_item(const resp_job *j, const char *summary)
{
    json_t *parts = json_array();
    if (summary) json_array_append_new(parts, json_pack("{s:s, s:s}", "type", "summary_text", "text", summary));
    return json_pack("{s:s, s:s, s:o}", "id", j->rs_id, "type", "reasoning", "summary", parts);
}

static json_t *message_item(const resp_job *j, const char *text, const char *status)
{
    json_t *content = json_array();
    if (text)
        json_array_append_new(content, json_pack("{s:s, s:s, s:[]}", "type", "output_text", "text",
                                                 text, "annotations"));
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", j->msg_id, "type", "message", "status",
                     status, "role", "assistant", "content", content);
}

static json_t *usage_json(const dl_usage *u)
{
    return json_pack("{s:i, s:{s:i}, s:i, s:{s:i}, s:i}", "input_tokens", u->prompt_tokens,
                     "input_tokens_details", "cached_tokens", 0, "output_tokens",
                     u->completion_tokens, "output_tokens_details", "reasoning_tokens",
                     u->reasoning_tokens, "total_tokens", u->prompt_tokens + u->completion_tokens);
}

/* status: "in_progress", "completed", "incomplete", "failed". */
static json_t *response_object(const resp_job *j, const char *status, json_t *output,
                               const dl_usage *usage, const char *answer)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "object", json_string("response"));
    json_object_set_new(o, "created_at", json_integer(j->created));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "error", json_null());
    json_object_set_new(o, "incomplete_details",
                        !strcmp(status, "incomplete")
                            ? json_pack("{s:s}", "reason", "max_output_tokens")
                            : json_null());
    json_object_set_new(o, "instructions", j->instructions ? json_string(j->instructions) : json_null());
    json_object_set_new(o, "max_output_tokens",
                        j->max_output_tokens ? json_integer(j->max_output_tokens) : json_null());
    json_object_set_new(o, "model", json_string(j->model->name));
    json_object_set_new(o, "output", output ? output : json_array());
    if (answer) json_object_set_new(o, "output_text", json_string(answer));
    json_object_set_new(o, "parallel_tool_calls", json_true());
    json_object_set_new(o, "previous_response_id", j->previous_id ? json_string(j->previous_id) : json_null());
    json_object_set_new(o, "reasoning",
                        json_pack("{s:s, s:o}", "effort", dl_effort_name(j->rp.effort), "summary",
                                  j->summary_name ? json_string(j->summary_name) : json_null()));
    json_object_set_new(o, "store", json_boolean(j->store));
    json_object_set_new(o, "temperature", json_real(j->temperature));
    json_object_set_new(o, "text", json_pack("{s:{s:s}}", "format", "type", "text"));
    json_object_set_new(o, "tool_choice", json_string("auto"));
    json_object_set_new(o, "tools", json_array());
    json_object_set_new(o, "top_p", json_real(j->top_p));
    json_object_set_new(o, "truncation", json_string("disabled"));
    json_object_set_new(o, "usage", usage ? usage_json(usage) : json_null());
    json_object_set_new(o, "user", json_null());
    json_object_set_new(o, "metadata", json_object());
    return o;
}

/* The conversation this response answered, for previous_response_id. */
static char *conversation_json(const resp_job *j)
{
    json_t *a = json_array();
    for (size_t i = j->first_item; i < j->convo.n; i++) {
        const dl_chat_msg *m = &j->convo.msgs[i];
        json_t *it = json_pack("{s:s, s:s}", "role", dl_role_name(m->role), "content",
                               m->content ? m->content : "");
        if (m->name) json_object_set_new(it, "name", json_string(m->name));
        json_array_append_new(a, it);
    }
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

/* Builds the final response object and stores it when asked. */
static int finish_response(resp_job *j, const dl_reason_result *res, json_t **out, dl_error *de)
{
    json_t *output = json_array();
    if (j->rp.effort != DL_EFFORT_NONE) json_array_append_new(output, reasoning_item(j, res->summary));
    json_array_append_new(output, message_item(j, res->answer, "completed"));
    const char *status = res->finish == DL_FINISH_LENGTH ? "incomplete" : "completed";
    json_t *o = response_object(j, status, output, &res->usage, res->answer);
    if (j->store) {
        dl_stored_response sr = {0};
        snprintf(sr.id, sizeof sr.id, "%s", j->id);
        sr.model = (char *)j->model->name;
        sr.project_id = j->project_id;
        sr.created_at = j->created;
        sr.previous_id = (char *)j->previous_id;
        sr.input_json = conversation_json(j);
        sr.response_json = json_dumps(o, JSON_COMPACT);
        int rc = dl_store_response_put(j->srv->cfg.store, &sr, de);
        free(sr.input_json);
        free(sr.response_json);
        if (rc != 0) {
            json_decref(o);
            return -1;
        }
    }
    *out = o;
    return 0;
}

/* ---- the safety checks ---- */

static void replace_str(char **dst, const char *v)
{
    if (*dst == v) return;
    char *copy = v ? dl_xstrdup(v) : NULL;
    free(*dst);
    *dst = copy;
}

/* Runs the generation unless the input check answered; then applies the
 * output, summary and CoT checks to *res. */
static int run_guarded(resp_job *j, const dl_reason_sink *sink, dl_reason_result *res,
                       bool streaming, dl_error *de)
{
    if (j->guard.refusal) {
        memset(res, 0, sizeof(*res));
        res->answer = dl_xstrdup(j->guard.refusal);
        res->finish = DL_FINISH_STOP;
        return 0;
    }
    if (dl_reason_run(j->model->backend, j->guard.msgs, j->guard.n_msgs, &j->gen, &j->rp, sink, res,
                      de) != 0)
        return -1;
    srv_guard_reasoning(&j->guard, res->reasoning);
    free(res->reasoning); /* never returned by this endpoint */
    res->reasoning = NULL;
    if (!streaming) /* streamed answers are checked chunk by chunk as they go out */
        replace_str(&res->answer, srv_guard_final_answer(&j->guard, res->answer));
    replace_str(&res->summary, srv_guard_summary(&j->guard, res->summary));
    return 0;
}

/* ---- streaming ---- */

typedef struct rstream {
    resp_job *j;
    srv_stream *st;
    int seq;
    bool msg_started, reasoning_done, summary_started;
    dl_buf answer;   /* all answer text (buffered while a summary is pending) */
    size_t sent;     /* answer bytes sent as deltas */
    dl_buf summary;
} rstream;

static void ev(rstream *s, const char *type, json_t *j)
{
    json_object_set_new(j, "type", json_string(type));
    json_object_set_new(j, "sequence_number", json_integer(s->seq++));
    srv_stream_event(s->st, type, j);
}

static void reasoning_item_done(rstream *s, const char *summary)
{
    if (s->reasoning_done || s->j->rp.effort == DL_EFFORT_NONE) {
        s->reasoning_done = true;
        return;
    }
    s->reasoning_done = true;
    if (summary) {
        ev(s, "response.reasoning_summary_text.done",
           json_pack("{s:s, s:i, s:i, s:s}", "item_id", s->j->rs_id, "output_index", 0,
                     "summary_index", 0, "text", summary));
        ev(s, "response.reasoning_summary_part.done",
           json_pack("{s:s, s:i, s:i, s:{s:s, s:s}}", "item_id", s->j->rs_id, "output_index", 0,
                     "summary_index", 0, "part", "type", "summary_text", "text", summary));
    }
    ev(s, "response.output_item.done",
       json_pack("{s:i, s:o}", "output_index", 0, "item", reasoning_item(s->j, summary)));
}

static int msg_index(const rstream *s) { return s->j->rp.effort == DL_EFFORT_NONE ? 0 : 1; }

static void start_message(rstream *s)
{
    if (s->msg_started) return;
    s->msg_started = true;
    ev(s, "response.output_item.added",
       json_pack("{s:i, s:o}", "output_index", msg_index(s), "item", message_item(s->j, NULL, "in_progress")));
    ev(s, "response.content_part.added",
       json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:[]}}", "item_id", s->j->msg_id, "output_index",
                 msg_index(s), "content_index", 0, "part", "type", "output_text", "text", "",
                 "annotations"));
}

static void send_answer(rstream *s)
{
    if (s->sent == s->answer.len) return;
    start_message(s);
    ev(s, "response.output_text.delta",
       json_pack("{s:s, s:i, s:i, s:s%}", "item_id", s->j->msg_id, "output_index", msg_index(s),
                 "content_index", 0, "delta", s->answer.data + s->sent, s->answer.len - s->sent));
    s->sent = s->answer.len;
}

/* Answer text the guard has checked. */
static bool rs_release(void *ud, const char *text, size_t len)
{
    rstream *s = ud;
    if (srv_stream_cancelled(s->st)) return false;
    dl_buf_append(&s->answer, text, len);
    if (s->j->rp.summary == DL_SUMMARY_OFF) {
        reasoning_item_done(s, NULL);
        send_answer(s);
    }
    return true;
}

static bool rs_answer(void *ud, const char *text, size_t len)
{
    rstream *s = ud;
    if (srv_stream_cancelled(s->st)) return false;
    return srv_guard_stream(&s->j->guard, text, len, rs_release, s);
}

static bool rs_summary(void *ud, const char *text, size_t len)
{
    rstream *s = ud;
    if (srv_stream_cancelled(s->st)) return false;
    if (!s->summary_started) {
        s->summary_started = true;
        ev(s, "response.reasoning_summary_part.added",
           json_pack("{s:s, s:i, s:i, s:{s:s, s:s}}", "item_id", s->j->rs_id, "output_index", 0,
                     "summary_index", 0, "part", "type", "summary_text", "text", ""));
    }
    dl_buf_append(&s->summary, text, len);
    ev(s, "response.reasoning_summary_text.delta",
       json_pack("{s:s, s:i, s:i, s:s%}", "item_id", s->j->rs_id, "output_index", 0,
                 "summary_index", 0, "delta", text, len));
    return true;
}

static bool rs_progress(void *ud, int sample, dl_channel ch, int32_t n)
{
    rstream *s = ud;
    return !srv_stream_cancelled(s->st);
}

static void stream_job(srv_stream *st, void *arg)
{
    resp_job *j = arg;
    rstream s = {0};
    s.j = j;
    s.st = st;
    ev(&s, "response.created", json_pack("{s:o}", "response", response_object(j, "in_progress", NULL, NULL, NULL)));
    ev(&s, "response.in_progress", json_pack("{s:o}", "response", response_object(j, "in_progress", NULL, NULL, NULL)));
    if (j->rp.effort != DL_EFFORT_NONE)
        ev(&s, "response.output_item.added",
           json_pack("{s:i, s:o}", "output_index", 0, "item", reasoning_item(j, NULL)));
    dl_reason_sink sink = {rs_progress, rs_answer, NULL, rs_summary, &s};
    dl_reason_result res;
    dl_error de = {0};
    double t0 = srv_now();
    int rc = run_guarded(j, &sink, &res, true, &de);
    if (rc == 0 && !j->guard.refusal) {
        /* the answer is what went out: checked chunks, or the refusal */
        srv_guard_flush(&j->guard, rs_release, &s);
        free(res.answer);
        res.answer = dl_xstrndup(s.answer.data ? s.answer.data : "", s.answer.len);
        if (j->guard.withheld && res.finish == DL_FINISH_CANCELLED) res.finish = DL_FINISH_STOP;
    } else if (rc == 0) {
        rs_release(&s, res.answer, strlen(res.answer));
    }
    if (rc == 0 && res.finish == DL_FINISH_CANCELLED) {
        dl_reason_result_free(&res);
        goto out;
    }
    json_t *final = NULL;
    if (rc == 0) {
        srv_metrics_tokens(j->srv->metrics, res.usage.completion_tokens, srv_now() - t0);
        rc = finish_response(j, &res, &final, &de);
    }
    if (rc != 0) {
        srv_err e;
        srv_fail_dl(&e, &de, NULL);
        ev(&s, "error", json_pack("{s:o, s:s, s:o}", "code", e.code ? json_string(e.code) : json_null(),
                                  "message", e.msg, "param", json_null()));
        if (rc == 0) dl_reason_result_free(&res);
        goto out;
    }
    reasoning_item_done(&s, res.summary);
    send_answer(&s);
    start_message(&s);
    const char *answer = res.answer;
    ev(&s, "response.output_text.done",
       json_pack("{s:s, s:i, s:i, s:s}", "item_id", j->msg_id, "output_index", msg_index(&s),
                 "content_index", 0, "text", answer));
    ev(&s, "response.content_part.done",
       json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:[]}}", "item_id", j->msg_id, "output_index",
                 msg_index(&s), "content_index", 0, "part", "type", "output_text", "text", answer,
                 "annotations"));
    ev(&s, "response.output_item.done",
       json_pack("{s:i, s:o}", "output_index", msg_index(&s), "item", message_item(j, answer, "completed")));
    const char *status = json_string_value(json_object_get(final, "status"));
    ev(&s, !strcmp(status, "completed") ? "response.completed" : "response.incomplete",
       json_pack("{s:o}", "response", final));
    dl_reason_result_free(&res);
out:
    dl_buf_free(&s.answer);
    dl_buf_free(&s.summary);
    job_free(j);
}

/* ---- handlers ---- */

static bool plain_progress(void *ud, int sample, dl_channel ch, int32_t n)
{
    const dl_server *s = ud;
    return !atomic_load(&s->stopping);
}

enum MHD_Result srv_handle_responses(srv_req *r)
{
    srv_err e;
    json_t *req = srv_parse_body(r, &e);
    if (!req) return srv_reply_err(r, &e);
    resp_job *j = dl_xcalloc(1, sizeof(*j));
    j->srv = r->srv;
    j->req = req;
    if (parse_responses(r, req, j, &e) != 0) {
        job_free(j);
        return srv_reply_err(r, &e);
    }
    if (j->store && !r->srv->cfg.store) j->store = false;
    enum MHD_Result ret;
    if (!srv_admit(r, &ret)) {
        job_free(j);
        return ret;
    }
    srv_guard_begin(&j->guard, r->srv, j->convo.msgs, j->convo.n,
                    srv_locale(r, j->locale, sizeof j->locale));
    if (j->guard.on) j->rp.want_reasoning = j->rp.allow_reasoning = true; /* for the CoT monitor */
    if (j->stream) return srv_reply_stream(r, stream_job, j);
    dl_reason_sink sink = {plain_progress, NULL, NULL, NULL, r->srv};
    dl_reason_result res;
    dl_error de = {0};
    double t0 = srv_now();
    if (run_guarded(j, &sink, &res, false, &de) != 0) {
        job_free(j);
        srv_fail_dl(&e, &de, de.code && !strcmp(de.code, "context_length_exceeded") ? "input" : NULL);
        return srv_reply_err(r, &e);
    }
    srv_metrics_tokens(r->srv->metrics, res.usage.completion_tokens, srv_now() - t0);
    json_t *o = NULL;
    int rc = finish_response(j, &res, &o, &de);
    dl_reason_result_free(&res);
    job_free(j);
    if (rc != 0) {
        srv_fail_dl(&e, &de, NULL);
        return srv_reply_err(r, &e);
    }
    return srv_reply_json(r, 200, o);
}

enum MHD_Result srv_handle_response_get(srv_req *r, const char *id, bool del)
{
    srv_err e;
    dl_error de = {0};
    if (!r->srv->cfg.store) {
        srv_fail(&e, 404, "not_found", NULL, "response '%s' not found (no store)", id);
        return srv_reply_err(r, &e);
    }
    if (del) {
        if (dl_store_response_delete(r->srv->cfg.store, id, r->project_id, &de) != 0) {
            srv_fail_dl(&e, &de, NULL);
            if (de.status == 404) e.code = "not_found";
            return srv_reply_err(r, &e);
        }
        return srv_reply_json(r, 200, json_pack("{s:s, s:s, s:b}", "id", id, "object", "response", "deleted", 1));
    }
    dl_stored_response sr = {0};
    if (dl_store_response_get(r->srv->cfg.store, id, r->project_id, &sr, &de) != 0) {
        srv_fail_dl(&e, &de, NULL);
        if (de.status == 404) e.code = "not_found";
        return srv_reply_err(r, &e);
    }
    json_error_t je;
    json_t *o = json_loads(sr.response_json, 0, &je);
    dl_stored_response_free(&sr);
    if (!o) {
        srv_fail(&e, 500, "store_corrupt", NULL, "stored response '%s' cannot be read back", id);
        return srv_reply_err(r, &e);
    }
    return srv_reply_json(r, 200, o);
}
