/* The upstream backend: an OpenAI-compatible server (vLLM, llama.cpp's
 * server, OpenAI, ...) produces the reply; this file turns a dl_chat_request
 * into a streamed POST <base_url>/chat/completions and the server's event
 * stream back into the two channels, usage and the finish reason.
 *
 * One CURL easy handle per request (nothing shared but read-only settings),
 * so requests run in parallel from any number of threads. The reply is read
 * in the write callback as it arrives: the SSE reader (sse.c) cuts it into
 * events, each event's JSON chunk is handled at once, its text goes to the
 * sink at once. A sink that returns false aborts the transfer (the write
 * callback returns 0). docs/upstream.md has the mappings and the limits. */
#include "backend_int.h"
#include "sse.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum {
    EVENT_MAX = 8 << 20,        /* one event of the stream */
    JSON_REPLY_MAX = 32 << 20,  /* a non-streamed reply */
    ERROR_BODY_MAX = 64 << 10,  /* an error reply, kept for its message */
    TEXT_MAX = 64 << 20,        /* the answer, and the reasoning */
    EXCERPT_MAX = 320,          /* bytes of a body or message quoted in an error */
    CONNECT_TIMEOUT_MS = 10000, /* at most; never more than the whole timeout */
    DEFAULT_TIMEOUT_MS = 600000,
};

typedef struct upstream {
    dl_backend base;
    char *url;                /* <base_url>/chat/completions */
    char *shown;              /* the URL for messages: base URL without user:password@ */
    char *model;
    struct curl_slist *headers; /* read-only once built; shared by all requests */
    long timeout_ms;
    atomic_int active;
    atomic_uint_fast64_t tokens;
} upstream;

/* ---- the request ------------------------------------------------------------ */

/* reasoning_effort sent upstream (NULL = leave it out). The upstream cannot
 * honour a token budget, only an effort level; see docs/upstream.md. */
static const char *effort_for(const dl_gen_params *g)
{
    if (!g->thinking) return "low";
    const char *e = g->effort_hint;
    if (!e) return NULL;
    if (strcmp(e, "low") == 0 || strcmp(e, "medium") == 0 || strcmp(e, "high") == 0) return e;
    if (strcmp(e, "none") == 0 || strcmp(e, "minimal") == 0) return "low";
    return NULL;
}

/* Sets key to a JSON string of s; 400 when s is not valid UTF-8. */
static int set_str(json_t *obj, const char *key, const char *s, const char *what, dl_error *err)
{
    json_t *v = json_string(s ? s : "");
    if (!v) return dl_error_set(err, 400, "%s is not valid UTF-8", what);
    json_object_set_new(obj, key, v);
    return 0;
}

/* The JSON body of the request (malloc'd) or NULL + err. */
static char *build_body(const upstream *U, const dl_chat_request *req, dl_error *err)
{
    const dl_gen_params *g = &req->gen;
    json_t *root = json_object();
    json_t *msgs = json_array();
    json_object_set_new(root, "model", json_string(U->model));
    json_object_set_new(root, "messages", msgs);
    char what[64];
    for (size_t i = 0; i < req->n_msgs; i++) {
        const dl_chat_msg *m = &req->msgs[i];
        if ((unsigned)m->role > DL_ROLE_TOOL) {
            dl_error_set(err, 400, "message %zu has an unknown role %d", i, (int)m->role);
            goto fail;
        }
        json_t *jm = json_object();
        json_array_append_new(msgs, jm);
        json_object_set_new(jm, "role", json_string(dl_role_name(m->role)));
        snprintf(what, sizeof what, "the content of message %zu", i);
        if (set_str(jm, "content", m->content, what, err) != 0) goto fail;
        if (m->role == DL_ROLE_TOOL && m->name) {
            snprintf(what, sizeof what, "the name of message %zu", i);
            if (set_str(jm, "tool_call_id", m->name, what, err) != 0) goto fail;
        }
    }
    json_object_set_new(root, "stream", json_true());
    json_t *so = json_object();
    json_object_set_new(so, "include_usage", json_true());
    json_object_set_new(root, "stream_options", so);
    if (g->max_tokens > 0)
        json_object_set_new(root, "max_completion_tokens", json_integer(g->max_tokens));
    const dl_sampler_params *sp = &g->sampling;
    json_object_set_new(root, "temperature",
                        json_real(sp->temperature > 0 ? (double)sp->temperature : 0.0));
    json_object_set_new(root, "top_p", json_real(sp->top_p > 0 && sp->top_p < 1
                                                     ? (double)sp->top_p : 1.0));
    json_object_set_new(root, "seed", json_integer((json_int_t)(sp->seed & INT64_MAX)));
    if (sp->presence_penalty != 0)
        json_object_set_new(root, "presence_penalty", json_real((double)sp->presence_penalty));
    if (sp->freq_penalty != 0)
        json_object_set_new(root, "frequency_penalty", json_real((double)sp->freq_penalty));
    if (g->n_stop > 0) {
        json_t *stop = json_array();
        json_object_set_new(root, "stop", stop);
        for (size_t i = 0; i < g->n_stop; i++) {
            if (!g->stop[i] || !g->stop[i][0]) continue;
            json_t *s = json_string(g->stop[i]);
            if (!s) {
                dl_error_set(err, 400, "stop string %zu is not valid UTF-8", i);
                goto fail;
            }
            json_array_append_new(stop, s);
        }
        if (json_array_size(stop) == 0) json_object_del(root, "stop");
    }
    const char *effort = effort_for(g);
    if (effort) json_object_set_new(root, "reasoning_effort", json_string(effort));

    /* 6 significant digits: temperature 0.8f goes out as 0.8 */
    char *body = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (!body) dl_error_set(err, 500, "cannot encode the upstream request");
    return body;
fail:
    json_decref(root);
    return NULL;
}

/* ---- one call: the reply as it arrives --------------------------------------- */

typedef enum body_kind {
    BODY_UNKNOWN = 0, /* no byte yet */
    BODY_SSE,         /* the event stream */
    BODY_JSON,        /* one JSON reply (the server ignored stream=true) */
    BODY_ERROR,       /* a status other than 2xx: kept for the message */
} body_kind;

/* Why the SSE reader was stopped (event callback returns). */
enum { STOP_DONE = 1, STOP_CANCEL = 2, STOP_FAIL = 3 };

typedef struct call {
    upstream *U;
    CURL *curl;
    const dl_chat_sink *sink;
    body_kind kind;
    long status;
    dl_sse sse;
    dl_buf body;             /* BODY_JSON / BODY_ERROR */
    char head[EXCERPT_MAX];  /* the first bytes of the body, for messages */
    size_t head_len;
    dl_chan_parser *parser;  /* <think> tags inside content */
    dl_buf answer, reasoning;
    dl_channel last_ch;      /* channel of the last text */
    bool chunk_reasoning;    /* the current chunk produced reasoning text */
    int32_t n_chunks;        /* chunks that carried text */
    int32_t n_reasoning_chunks;
    bool have_usage, have_reasoning_tokens;
    dl_usage usage;
    bool have_finish;
    dl_finish finish;
    int n_events;
    bool done;               /* "[DONE]" seen */
    bool cancelled;          /* the sink said stop */
    bool failed;             /* err holds the reason */
    dl_error err;
} call;

/* Records the first failure of the call (later ones are consequences). */
static void call_fail(call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_fail(call *c, int status, const char *fmt, ...)
{
    if (c->failed) return;
    c->failed = true;
    char msg[sizeof c->err.msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dl_error_set(&c->err, status, "%s", msg);
}

/* Copies at most max (<= EXCERPT_MAX) bytes of s into out (EXCERPT_MAX + 1
 * bytes) as one printable line of valid UTF-8: control characters become
 * spaces, bytes that are not UTF-8 become '?', no character is cut. */
static void excerpt(const char *s, size_t n, char *out, size_t max)
{
    while (n > 0 && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++, n--;
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        int k = dl_utf8_decode(s + i, n - i, &cp);
        if (k <= 0) k = 1, cp = '?';
        if (o + (size_t)k > max) break;
        if (cp < 0x20 || cp == '?') out[o++] = cp < 0x20 ? ' ' : '?';
        else memcpy(out + o, s + i, (size_t)k), o += (size_t)k;
        i += (size_t)k;
    }
    while (o > 0 && out[o - 1] == ' ') o--;
    out[o] = '\0';
}

/* Appends text of channel ch to the result and passes it to the sink. After
 * a cancel nothing more is taken. */
static void add_text(call *c, dl_channel ch, const char *t, size_t len)
{
    if (c->cancelled || c->failed) return;
    if (ch == DL_CHANNEL_ANSWER && c->answer.len == 0 && c->reasoning.len > 0) {
        /* the whitespace between reasoning and answer (vLLM's "\n\n" after
         * </think>) is dropped, as the channel parser does after a </think> */
        while (len > 0 && (*t == ' ' || *t == '\n' || *t == '\r' || *t == '\t')) t++, len--;
    }
    if (len == 0) return;
    if (dl_buf_append(ch == DL_CHANNEL_REASONING ? &c->reasoning : &c->answer, t, len) != 0) {
        call_fail(c, 502, "the reply from the upstream %s is larger than %d MiB", c->U->shown,
                  TEXT_MAX >> 20);
        return;
    }
    c->last_ch = ch;
    if (ch == DL_CHANNEL_REASONING) c->chunk_reasoning = true;
    const dl_chat_sink *k = c->sink;
    if (k && k->on_text && !k->on_text(k->ud, ch, t, len)) c->cancelled = true;
}

static void on_channel(void *ud, dl_chan_event ev, dl_channel ch, const char *text, size_t len,
                       size_t raw_off)
{
    if (ev == DL_CHAN_TEXT) add_text(ud, ch, text, len);
}

/* The string at obj[key], or NULL. */
static const char *str_at(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The message of an OpenAI-style error body ({"error":{"message"}}, or
 * {"error":"..."}, {"message"}, {"detail"}), or NULL. */
static const char *error_message(const json_t *root)
{
    const json_t *e = json_object_get(root, "error");
    if (json_is_object(e) && str_at(e, "message")) return str_at(e, "message");
    if (json_is_string(e)) return json_string_value(e);
    if (str_at(root, "message")) return str_at(root, "message");
    return str_at(root, "detail");
}

static int32_t int_at(const json_t *obj, const char *key, bool *found)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) return 0;
    json_int_t x = json_integer_value(v);
    if (found) *found = true;
    return x < 0 ? 0 : x > INT32_MAX ? INT32_MAX : (int32_t)x;
}

static void read_usage(call *c, const json_t *u)
{
    c->have_usage = true;
    c->usage.prompt_tokens = int_at(u, "prompt_tokens", NULL);
    c->usage.completion_tokens = int_at(u, "completion_tokens", NULL);
    const json_t *d = json_object_get(u, "completion_tokens_details");
    bool found = false;
    int32_t r = json_is_object(d) ? int_at(d, "reasoning_tokens", &found) : 0;
    if (found) {
        c->have_reasoning_tokens = true;
        c->usage.reasoning_tokens = r;
    }
}

/* Handles one reply object: a stream chunk (`delta`) or a whole reply
 * (`message`). Returns 0, STOP_CANCEL or STOP_FAIL. */
static int handle_reply(call *c, const json_t *root, bool streamed)
{
    const char *url = c->U->shown;
    if (!json_is_object(root)) {
        call_fail(c, 502, "the upstream %s sent JSON that is not an object", url);
        return STOP_FAIL;
    }
    const json_t *e = json_object_get(root, "error");
    if (e && !json_is_null(e)) {
        const char *m = error_message(root);
        call_fail(c, 502, "the upstream %s reported an error: %s", url, m ? m : "(no message)");
        return STOP_FAIL;
    }
    const json_t *u = json_object_get(root, "usage");
    if (json_is_object(u)) read_usage(c, u);

    const json_t *choices = json_object_get(root, "choices"), *choice = NULL;
    if (choices && !json_is_null(choices) && !json_is_array(choices)) {
        call_fail(c, 502, "the upstream %s sent \"choices\" that is not an array", url);
        return STOP_FAIL;
    }
    for (size_t i = 0; i < json_array_size(choices); i++) {
        const json_t *ch = json_array_get(choices, i);
        const json_t *idx = json_object_get(ch, "index");
        if (json_is_object(ch) && (!idx || json_integer_value(idx) == 0)) {
            choice = ch;
            break;
        }
    }
    if (!choice) {
        if (!streamed && !json_is_object(u)) {
            call_fail(c, 502, "the reply from the upstream %s has no choices", url);
            return STOP_FAIL;
        }
        return 0; /* e.g. the usage chunk at the end of a stream */
    }
    const json_t *d = json_object_get(choice, streamed ? "delta" : "message");
    const char *reasoning = str_at(d, "reasoning_content");
    if (!reasoning) reasoning = str_at(d, "reasoning");
    const char *content = str_at(d, "content");

    c->chunk_reasoning = false;
    bool was_reasoning = dl_chan_parser_channel(c->parser) == DL_CHANNEL_REASONING;
    bool text = false;
    if (reasoning && reasoning[0]) {
        add_text(c, DL_CHANNEL_REASONING, reasoning, strlen(reasoning));
        text = true;
    }
    if (content && content[0] && !c->cancelled) {
        dl_chan_parser_feed(c->parser, content, strlen(content), on_channel, c);
        text = true;
    }
    if (c->failed) return STOP_FAIL;

    const char *fr = str_at(choice, "finish_reason");
    if (fr) {
        c->have_finish = true;
        c->finish = strcmp(fr, "length") == 0 ? DL_FINISH_LENGTH : DL_FINISH_STOP;
    }
    if (text) {
        if (streamed) {
            c->n_chunks++;
            if (c->chunk_reasoning || (content && content[0] && was_reasoning))
                c->n_reasoning_chunks++;
        } else { /* no chunks to count: about 4 bytes per token */
            size_t rl = reasoning ? strlen(reasoning) : 0, cl = content ? strlen(content) : 0;
            c->n_chunks = (int32_t)DL_MIN((rl + cl + 3) / 4, (size_t)INT32_MAX);
            c->n_reasoning_chunks = (int32_t)DL_MIN((rl + 3) / 4, (size_t)INT32_MAX);
        }
        const dl_chat_sink *k = c->sink;
        if (!c->cancelled && k && k->on_token &&
            !k->on_token(k->ud, c->last_ch, c->n_reasoning_chunks, c->n_chunks))
            c->cancelled = true;
    }
    return c->cancelled ? STOP_CANCEL : 0;
}

/* One SSE event: "[DONE]" or a JSON chunk. */
static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    call *c = ud;
    c->n_events++;
    size_t a = 0, b = len;
    while (a < b && (data[a] == ' ' || data[a] == '\t')) a++;
    while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t')) b--;
    if (b - a == 6 && memcmp(data + a, "[DONE]", 6) == 0) {
        c->done = true;
        return STOP_DONE;
    }
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!root) {
        char ex[EXCERPT_MAX + 1];
        excerpt(data, len, ex, 80);
        call_fail(c, 502, "the upstream %s sent malformed JSON in its event stream: %s, in \"%s\"",
                  c->U->shown, je.text, ex);
        return STOP_FAIL;
    }
    int rc = handle_reply(c, root, true);
    json_decref(root);
    return rc;
}

/* Decides how to read the body from the status and Content-Type. */
static void choose_kind(call *c, const char *p, size_t n)
{
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (c->status < 200 || c->status >= 300) {
        c->kind = BODY_ERROR;
        c->body.max = ERROR_BODY_MAX;
        return;
    }
    char *ct = NULL;
    curl_easy_getinfo(c->curl, CURLINFO_CONTENT_TYPE, &ct);
    if (ct && strstr(ct, "event-stream")) {
        c->kind = BODY_SSE;
    } else if (ct && strstr(ct, "json")) {
        c->kind = BODY_JSON;
    } else { /* no or another type: a JSON object, else try it as a stream */
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) i++;
        c->kind = i < n && p[i] == '{' ? BODY_JSON : BODY_SSE;
    }
    if (c->kind == BODY_JSON) c->body.max = JSON_REPLY_MAX;
}

/* libcurl's write callback: the reply's bytes as they arrive. Returning less
 * than given aborts the transfer (done, cancelled or failed). */
static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    call *c = ud;
    size_t n = size * nmemb;
    if (n == 0) return 0;
    if (c->kind == BODY_UNKNOWN) choose_kind(c, p, n);
    if (c->head_len < sizeof c->head) {
        size_t k = DL_MIN(n, sizeof c->head - c->head_len);
        memcpy(c->head + c->head_len, p, k);
        c->head_len += k;
    }
    switch (c->kind) {
    case BODY_SSE: {
        int rc = dl_sse_feed(&c->sse, p, n);
        if (rc == -1)
            call_fail(c, 502, "the upstream %s sent an event larger than %d MiB", c->U->shown,
                      EVENT_MAX >> 20);
        return rc == 0 ? n : 0;
    }
    case BODY_JSON:
        if (dl_buf_append(&c->body, p, n) != 0) {
            call_fail(c, 502, "the reply from the upstream %s is larger than %d MiB",
                      c->U->shown, JSON_REPLY_MAX >> 20);
            return 0;
        }
        return n;
    case BODY_ERROR: /* keep the start; the rest is read and dropped */
        dl_buf_append(&c->body, p, DL_MIN(n, c->body.max - c->body.len));
        return n;
    case BODY_UNKNOWN: break;
    }
    return 0;
}

/* The error for a non-2xx reply: its status (>= 400) or 502 (anything
 * else), with the upstream's message or the start of its body. */
static int status_error(call *c, dl_error *err)
{
    int status = c->status >= 400 && c->status <= 599 ? (int)c->status : 502;
    json_t *root = c->body.len ? json_loadb(c->body.data, c->body.len, 0, NULL) : NULL;
    const char *m = root ? error_message(root) : NULL;
    char ex[EXCERPT_MAX + 1];
    if (m) excerpt(m, strlen(m), ex, EXCERPT_MAX);
    else if (c->body.len) excerpt(c->body.data, c->body.len, ex, 120);
    else snprintf(ex, sizeof ex, "(empty body)");
    dl_error_set(err, status, "the upstream %s answered HTTP %ld: %s", c->U->shown, c->status, ex);
    json_decref(root);
    return -1;
}

/* After the transfer: everything but a clean reply becomes the error. */
static int finish_call(call *c, CURLcode rc, const char *curl_msg, dl_error *err)
{
    const char *url = c->U->shown;
    if (c->failed) {
        if (err) *err = c->err;
        return -1;
    }
    if (c->cancelled) return 0;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return dl_error_set(err, 504, "the upstream %s did not complete the request within %ld ms",
                            url, c->U->timeout_ms);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && c->done))
        return dl_error_set(err, 502, c->kind == BODY_UNKNOWN
                                          ? "cannot reach the upstream %s: %s"
                                          : "the connection to the upstream %s failed mid-reply: %s",
                            url, curl_msg[0] ? curl_msg : curl_easy_strerror(rc));
    if (c->kind == BODY_UNKNOWN) curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
    if (c->status < 200 || c->status >= 300) return status_error(c, err);
    char ex[EXCERPT_MAX + 1];
    if (c->kind == BODY_UNKNOWN)
        return dl_error_set(err, 502, "the upstream %s sent an empty reply", url);
    if (c->kind == BODY_JSON) {
        json_error_t je;
        json_t *root = json_loadb(c->body.data, c->body.len, 0, &je);
        if (!root) {
            excerpt(c->body.data, c->body.len, ex, 120);
            return dl_error_set(err, 502, "the upstream %s sent a reply that is not JSON (%s): %s",
                                url, je.text, ex);
        }
        handle_reply(c, root, false);
        json_decref(root);
        if (c->failed) {
            if (err) *err = c->err;
            return -1;
        }
        return 0;
    }
    /* the stream ended: an event still open counts */
    if (!c->done) {
        dl_sse_finish(&c->sse);
        if (c->failed) {
            if (err) *err = c->err;
            return -1;
        }
        if (c->cancelled) return 0;
    }
    if (c->n_events == 0) {
        excerpt(c->head, c->head_len, ex, 120);
        return dl_error_set(err, 502, "the upstream %s did not send an event stream: %s", url,
                            ex[0] ? ex : "(empty body)");
    }
    if (!c->done && !c->have_finish)
        return dl_error_set(err, 502, "the event stream from the upstream %s ended early", url);
    return 0;
}

/* Fills *res from a successful call. */
static void fill_result(call *c, dl_chat_result *res)
{
    if (!c->cancelled) dl_chan_parser_finish(c->parser, on_channel, c);
    res->answer = dl_xstrndup(c->answer.data ? c->answer.data : "", c->answer.len);
    /* as in the generation loop: the reasoning without surrounding whitespace */
    const char *rs = c->reasoning.data ? c->reasoning.data : "";
    size_t rl = c->reasoning.len;
    while (rl > 0 && (*rs == ' ' || *rs == '\n' || *rs == '\r' || *rs == '\t')) rs++, rl--;
    while (rl > 0 && (rs[rl - 1] == ' ' || rs[rl - 1] == '\n' || rs[rl - 1] == '\r' ||
                      rs[rl - 1] == '\t'))
        rl--;
    res->reasoning = dl_xstrndup(rs, rl);
    res->finish = c->cancelled ? DL_FINISH_CANCELLED
                  : c->have_finish ? c->finish
                                   : DL_FINISH_STOP;
    if (c->have_usage) {
        res->usage = c->usage;
        if (!c->have_reasoning_tokens)
            res->usage.reasoning_tokens = DL_MIN(c->n_reasoning_chunks, c->usage.completion_tokens);
    } else { /* no usage from the upstream: one token per chunk */
        res->usage.completion_tokens = c->n_chunks;
        res->usage.reasoning_tokens = c->n_reasoning_chunks;
    }
}

static int upstream_chat(dl_backend *b, const dl_chat_request *req, const dl_chat_sink *sink,
                         dl_chat_result *res, dl_error *err)
{
    upstream *U = (upstream *)b;
    char *body = build_body(U, req, err);
    if (!body) return -1;
    CURL *curl = curl_easy_init();
    if (!curl) {
        free(body);
        return dl_error_set(err, 500, "cannot start an HTTP request (libcurl)");
    }
    call c = {0};
    c.U = U;
    c.curl = curl;
    c.sink = sink;
    c.last_ch = DL_CHANNEL_ANSWER;
    c.answer.max = TEXT_MAX;
    c.reasoning.max = TEXT_MAX;
    dl_sse_init(&c.sse, EVENT_MAX, on_event, &c);
    dl_chat_markers m = {0};
    m.has_reasoning = true;
    m.open = "<think>";
    m.close = "</think>";
    c.parser = dl_chan_parser_new(&m);

    char curl_msg[CURL_ERROR_SIZE] = "";
    long connect_ms = DL_MIN(U->timeout_ms, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_URL, U->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, U->headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "deliberate");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &c);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, U->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);

    atomic_fetch_add(&U->active, 1);
    CURLcode rc = curl_easy_perform(curl);
    atomic_fetch_sub(&U->active, 1);

    int ret = finish_call(&c, rc, curl_msg, err);
    if (ret == 0) {
        fill_result(&c, res);
        atomic_fetch_add(&U->tokens, (uint_fast64_t)res->usage.completion_tokens);
    }
    curl_easy_cleanup(curl);
    free(body);
    dl_sse_free(&c.sse);
    dl_buf_free(&c.body);
    dl_buf_free(&c.answer);
    dl_buf_free(&c.reasoning);
    dl_chan_parser_free(c.parser);
    return ret;
}

static void upstream_stats(const dl_backend *b, dl_backend_stats *st)
{
    upstream *U = (upstream *)b;
    st->active = atomic_load(&U->active);
    st->tokens_generated = (uint64_t)atomic_load(&U->tokens);
}

static void upstream_free(dl_backend *b)
{
    upstream *U = (upstream *)b;
    /* the key is in one header line: wipe it before freeing */
    for (struct curl_slist *h = U->headers; h; h = h->next)
        if (strncmp(h->data, "Authorization:", 14) == 0) memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(U->headers);
    free(U->url);
    free(U->shown);
    free(U->model);
    free(U);
}

static const dl_backend_ops upstream_ops = {
    "upstream", upstream_chat, NULL, NULL, upstream_stats, upstream_free,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* libcurl's global setup, once per process (never cleaned up: other threads
 * may still hold handles at exit). */
static void curl_init_once(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* base_url without "user:password@" (the text shown in messages). */
static char *shown_url(const char *url, size_t len)
{
    const char *scheme = strstr(url, "://");
    if (!scheme || (size_t)(scheme - url) >= len) return dl_xstrndup(url, len);
    const char *host = scheme + 3, *end = url + len;
    const char *slash = memchr(host, '/', (size_t)(end - host));
    const char *hend = slash ? slash : end;
    const char *at = NULL;
    for (const char *p = host; p < hend; p++)
        if (*p == '@') at = p;
    if (!at) return dl_xstrndup(url, len);
    dl_buf b = {0};
    dl_buf_append(&b, url, (size_t)(host - url));
    dl_buf_append(&b, at + 1, (size_t)(end - at - 1));
    return b.data;
}

dl_backend *dl_backend_upstream_new(const dl_upstream_opts *o, dl_error *err)
{
    if (!o || !o->base_url || !o->base_url[0]) {
        dl_error_set(err, 400, "the upstream backend needs a base URL");
        return NULL;
    }
    if (strncmp(o->base_url, "http://", 7) != 0 && strncmp(o->base_url, "https://", 8) != 0) {
        dl_error_set(err, 400, "the upstream base URL must start with http:// or https:// (got %.200s)",
                     o->base_url);
        return NULL;
    }
    if (!o->model || !o->model[0]) {
        dl_error_set(err, 400, "the upstream backend needs a model name to send");
        return NULL;
    }
    json_t *jm = json_string(o->model); /* checked once here, not per request */
    if (!jm) {
        dl_error_set(err, 400, "the upstream model name is not valid UTF-8");
        return NULL;
    }
    json_decref(jm);
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        dl_error_set(err, 500, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    if (o->api_key && (strchr(o->api_key, '\n') || strchr(o->api_key, '\r'))) {
        dl_error_set(err, 400, "the upstream API key contains a line break");
        return NULL;
    }

    upstream *U = dl_xcalloc(1, sizeof(*U));
    dl_backend_init(&U->base, &upstream_ops, o->name ? o->name : o->model);
    size_t len = strlen(o->base_url);
    while (len > 0 && o->base_url[len - 1] == '/') len--;
    dl_buf url = {0};
    dl_buf_append(&url, o->base_url, len);
    dl_buf_append(&url, "/chat/completions", 17);
    U->url = url.data;
    U->shown = shown_url(o->base_url, len);
    U->model = dl_xstrdup(o->model);
    U->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    atomic_init(&U->active, 0);
    atomic_init(&U->tokens, 0);

    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: text/event-stream");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip for long prompts */
    if (o->api_key && o->api_key[0]) {
        dl_buf auth = {0};
        dl_buf_printf(&auth, "Authorization: Bearer %s", o->api_key);
        h = curl_slist_append(h, auth.data);
        memset(auth.data, 0, auth.len);
        dl_buf_free(&auth);
    }
    U->headers = h;
    if (!h) {
        dl_error_set(err, 500, "out of memory building the upstream headers");
        dl_backend_free(&U->base);
        return NULL;
    }
    return &U->base;
}
