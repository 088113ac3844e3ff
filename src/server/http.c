/* The HTTP layer: libmicrohttpd daemon (a thread per connection), request
 * bodies with a size limit, authentication, routing, admission (429),
 * replies in OpenAI's error shape, and the SSE stream between a worker
 * thread and the connection. */
#include <arpa/inet.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_int.h"

/* ---- small helpers ---- */

double srv_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void srv_new_id(const char *prefix, char *out, size_t cap)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[24];
    randombytes_buf(rnd, sizeof rnd);
    size_t p = (size_t)snprintf(out, cap, "%s", prefix);
    for (size_t i = 0; i < sizeof rnd && p + 1 < cap; i++) out[p++] = b62[rnd[i] % 62];
    out[p < cap ? p : cap - 1] = 0;
}

int srv_fail(srv_err *e, int status, const char *code, const char *param, const char *fmt, ...)
{
    e->status = status;
    e->type = status == 401   ? "invalid_request_error"
              : status == 404 ? "invalid_request_error"
              : status == 429 ? "rate_limit_error"
              : status == 501 ? "not_implemented"
              : status >= 500 ? "server_error"
                              : "invalid_request_error";
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int srv_fail_dl(srv_err *e, const dl_error *de, const char *param)
{
    srv_fail(e, de->status ? de->status : 500, de->code, param, "%s", de->msg);
    return -1;
}

bool dl_server_host_is_loopback(const char *host)
{
    if (!host) return true;
    return !strcmp(host, "localhost") || !strcmp(host, "::1") || !strncmp(host, "127.", 4);
}

const srv_model *srv_find_model(const dl_server *s, const char *name)
{
    for (size_t i = 0; i < s->n_models; i++)
        if (!strcmp(s->models[i].name, name)) return &s->models[i];
    return NULL;
}

/* ---- replies ---- */

static enum MHD_Result queue(srv_req *r, int status, struct MHD_Response *resp)
{
    r->status = status;
    MHD_add_response_header(resp, "Server", "deliberate");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result srv_reply_text(srv_req *r, int status, const char *ctype, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", ctype);
    return queue(r, status, resp);
}

enum MHD_Result srv_reply_json(srv_req *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return queue(r, status, resp);
}

enum MHD_Result srv_reply_err(srv_req *r, const srv_err *e)
{
    json_t *err = json_pack("{s:s, s:s, s:o, s:o}", "message", e->msg, "type", e->type, "param",
                            e->param[0] ? json_string(e->param) : json_null(), "code",
                            e->code ? json_string(e->code) : json_null());
    json_t *body = json_pack("{s:o}", "error", err);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    if (e->status == 429) MHD_add_response_header(resp, "Retry-After", "1");
    if (e->status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    return queue(r, e->status, resp);
}

bool srv_admit(srv_req *r, enum MHD_Result *ret)
{
    dl_server *s = r->srv;
    int max = s->cfg.max_concurrent > 0 ? s->cfg.max_concurrent : 64;
    int cur = atomic_fetch_add(&s->in_flight, 1);
    if (cur >= max) {
        atomic_fetch_sub(&s->in_flight, 1);
        srv_err e;
        srv_fail(&e, 429, "rate_limit_exceeded", NULL,
                 "too many concurrent requests (%d in flight, the limit is %d); retry later", cur,
                 max);
        *ret = srv_reply_err(r, &e);
        return false;
    }
    r->admitted = true;
    return true;
}

/* ---- streams ---- */

struct srv_stream {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dl_buf buf;   /* [off, len) not yet sent */
    size_t off;
    bool done;
    atomic_bool cancelled;
    int refs;     /* worker + response */
    dl_server *srv;
    srv_stream_job job;
    void *arg;
    bool admitted; /* holds one of the server's in_flight places */
};

static void stream_unref(srv_stream *st)
{
    pthread_mutex_lock(&st->mu);
    int left = --st->refs;
    pthread_mutex_unlock(&st->mu);
    if (left > 0) return;
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->cv);
    dl_buf_free(&st->buf);
    free(st);
}

void srv_stream_write(srv_stream *st, const char *data, size_t len)
{
    pthread_mutex_lock(&st->mu);
    if (!atomic_load(&st->cancelled)) {
        if (st->off > 0 && st->off == st->buf.len) st->off = st->buf.len = 0;
        dl_buf_append(&st->buf, data, len);
        pthread_cond_broadcast(&st->cv);
    }
    pthread_mutex_unlock(&st->mu);
}

void srv_stream_printf(srv_stream *st, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        srv_stream_write(st, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    srv_stream_write(st, big, (size_t)n);
    free(big);
}

void srv_stream_event(srv_stream *st, const char *event, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (event) srv_stream_printf(st, "event: %s\ndata: %s\n\n", event, text);
    else srv_stream_printf(st, "data: %s\n\n", text);
    free(text);
}

bool srv_stream_cancelled(const srv_stream *st)
{
    return atomic_load(&st->cancelled) || atomic_load(&st->srv->stopping);
}

/* MHD asks for more of the body: waits for the worker, sending an SSE
 * comment every 5 s of silence so that idle timeouts and proxies see life. */
static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    srv_stream *st = cls;
    pthread_mutex_lock(&st->mu);
    while (st->off == st->buf.len && !st->done) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += 5;
        if (pthread_cond_timedwait(&st->cv, &st->mu, &t) != 0 && st->off == st->buf.len &&
            !st->done) {
            pthread_mutex_unlock(&st->mu);
            static const char ka[] = ": keep-alive\n\n";
            size_t n = sizeof ka - 1 < max ? sizeof ka - 1 : max;
            memcpy(out, ka, n);
            return (ssize_t)n;
        }
    }
    if (st->off == st->buf.len) {
        pthread_mutex_unlock(&st->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = st->buf.len - st->off;
    if (n > max) n = max;
    memcpy(out, st->buf.data + st->off, n);
    st->off += n;
    pthread_mutex_unlock(&st->mu);
    return (ssize_t)n;
}

/* MHD is done with the response: finished, or the client went away. */
static void stream_response_freed(void *cls)
{
    srv_stream *st = cls;
    atomic_store(&st->cancelled, true);
    pthread_mutex_lock(&st->mu);
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    stream_unref(st);
}

static void *stream_worker(void *p)
{
    srv_stream *st = p;
    dl_server *s = st->srv;
    st->job(st, st->arg);
    pthread_mutex_lock(&st->mu);
    st->done = true;
    pthread_cond_broadcast(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (st->admitted) atomic_fetch_sub(&s->in_flight, 1);
    stream_unref(st);
    pthread_mutex_lock(&s->mu);
    s->workers--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

enum MHD_Result srv_reply_stream(srv_req *r, srv_stream_job job, void *arg)
{
    srv_stream *st = dl_xcalloc(1, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st->refs = 2;
    st->srv = r->srv;
    st->job = job;
    st->arg = arg;
    st->admitted = r->admitted;
    r->admitted = false; /* the worker gives the place back when it ends */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
                                          stream_response_freed);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    pthread_mutex_lock(&r->srv->mu);
    r->srv->workers++;
    pthread_mutex_unlock(&r->srv->mu);
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, stream_worker, st) != 0)
        stream_worker(st); /* no thread to be had: produce the whole stream here */
    pthread_attr_destroy(&attr);
    return queue(r, 200, resp);
}

/* ---- JSON request helpers ---- */

json_t *srv_parse_body(const srv_req *r, srv_err *e)
{
    if (r->body.len == 0) {
        srv_fail(e, 400, "invalid_json", NULL, "the request body is empty; a JSON object is expected");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        bool utf8 = strstr(je.text, "decode byte") || strstr(je.text, "UTF-8");
        srv_fail(e, 400, "invalid_json", NULL, "invalid JSON at line %d column %d: %s%s", je.line,
                 je.column, utf8 ? "the body is not valid UTF-8: " : "", je.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        srv_fail(e, 400, "invalid_json", NULL, "the request body must be a JSON object");
        return NULL;
    }
    return j;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

int srv_get_string(json_t *o, const char *key, const char **out, srv_err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v))
        return srv_fail(e, 400, "invalid_type", key, "'%s' must be a string, not %s", key,
                        json_kind(v));
    *out = json_string_value(v);
    return 1;
}

int srv_get_bool(json_t *o, const char *key, bool *out, srv_err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v))
        return srv_fail(e, 400, "invalid_type", key, "'%s' must be a boolean, not %s", key,
                        json_kind(v));
    *out = json_is_true(v);
    return 1;
}

int srv_get_int(json_t *o, const char *key, long lo, long hi, long *out, srv_err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v))
        return srv_fail(e, 400, "invalid_type", key, "'%s' must be an integer, not %s", key,
                        json_kind(v));
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return srv_fail(e, 400, "invalid_value", key, "'%s' must be between %ld and %ld (got %lld)",
                        key, lo, hi, (long long)x);
    *out = (long)x;
    return 1;
}

int srv_get_number(json_t *o, const char *key, double lo, double hi, double *out, srv_err *e)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v))
        return srv_fail(e, 400, "invalid_type", key, "'%s' must be a number, not %s", key,
                        json_kind(v));
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return srv_fail(e, 400, "invalid_value", key, "'%s' must be between %g and %g (got %g)", key,
                        lo, hi, x);
    *out = x;
    return 1;
}

/* ---- routing ---- */

static bool authenticate(srv_req *r, enum MHD_Result *ret)
{
    dl_server *s = r->srv;
    if (s->cfg.no_auth) {
        r->project_id = s->default_project;
        return true;
    }
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    srv_err e;
    if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7]) {
        srv_fail(&e, 401, "invalid_api_key", NULL,
                 "missing API key: send 'Authorization: Bearer <key>' (create one with "
                 "'deliberate keys create --project NAME')");
        *ret = srv_reply_err(r, &e);
        return false;
    }
    dl_key_info info;
    dl_error de = {0};
    if (!s->cfg.store || dl_store_key_verify(s->cfg.store, h + 7, &info, &de) != 0) {
        srv_fail(&e, 401, "invalid_api_key", NULL, "incorrect API key provided");
        *ret = srv_reply_err(r, &e);
        return false;
    }
    /* the project id: ensure is idempotent and cheap */
    int64_t pid = 0;
    if (dl_store_project_ensure(s->cfg.store, info.project, &pid, &de) != 0) {
        srv_fail_dl(&e, &de, NULL);
        *ret = srv_reply_err(r, &e);
        return false;
    }
    r->project_id = pid;
    return true;
}

static enum MHD_Result route(srv_req *r)
{
    const char *p = r->path, *m = r->method;
    bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST"), del = !strcmp(m, "DELETE");
    srv_err e;
    enum MHD_Result ret;
    if (!strcmp(p, "/health")) {
        r->endpoint = "health";
        if (get) return srv_handle_health(r);
    } else if (!strcmp(p, "/metrics")) {
        r->endpoint = "metrics";
        if (get) {
            char *text = srv_metrics_render(r->srv->metrics, r->srv);
            ret = srv_reply_text(r, 200, "text/plain; version=0.0.4", text);
            free(text);
            return ret;
        }
    } else if (!strncmp(p, "/v1/", 4)) {
        if (!authenticate(r, &ret)) return ret;
        const char *q = p + 4;
        if (!strcmp(q, "models") || !strncmp(q, "models/", 7)) {
            r->endpoint = "models";
            if (get) return srv_handle_models(r, q[6] ? q + 7 : NULL);
        } else if (!strcmp(q, "chat/completions")) {
            r->endpoint = "chat_completions";
            if (post) return srv_handle_chat(r);
        } else if (!strcmp(q, "responses")) {
            r->endpoint = "responses";
            if (post) return srv_handle_responses(r);
        } else if (!strncmp(q, "responses/", 10) && q[10] && !strchr(q + 10, '/')) {
            r->endpoint = "responses";
            if (get || del) return srv_handle_response_get(r, q + 10, del);
        } else if (!strcmp(q, "moderations")) {
            r->endpoint = "moderations";
            if (post) return srv_handle_moderations(r);
        } else {
            r->endpoint = "other";
            srv_fail(&e, 404, "unknown_url", NULL, "unknown request URL: %s %s", m, p);
            return srv_reply_err(r, &e);
        }
    } else {
        r->endpoint = "other";
        srv_fail(&e, 404, "unknown_url", NULL, "unknown request URL: %s %s", m, p);
        return srv_reply_err(r, &e);
    }
    srv_fail(&e, 405, "method_not_allowed", NULL, "%s is not allowed on %s", m, p);
    return srv_reply_err(r, &e);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    dl_server *s = cls;
    srv_req *r = *req_cls;
    if (!r) {
        r = dl_xcalloc(1, sizeof(*r));
        r->srv = s;
        r->conn = conn;
        snprintf(r->method, sizeof r->method, "%s", method);
        r->path = dl_xstrdup(url);
        r->body.max = s->cfg.max_body_bytes ? s->cfg.max_body_bytes : 4u << 20;
        r->t0 = srv_now();
        r->endpoint = "other";
        *req_cls = r;
        return MHD_YES;
    }
    r->conn = conn;
    if (*upload_size) {
        if (!r->body_too_big && dl_buf_append(&r->body, upload, *upload_size) != 0)
            r->body_too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (atomic_load(&s->stopping)) {
        srv_err e;
        srv_fail(&e, 503, "server_stopping", NULL, "the server is shutting down");
        return srv_reply_err(r, &e);
    }
    if (r->body_too_big) {
        srv_err e;
        srv_fail(&e, 413, "request_too_large", NULL, "the request body is larger than %zu bytes",
                 r->body.max);
        return srv_reply_err(r, &e);
    }
    return route(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    dl_server *s = cls;
    srv_req *r = *req_cls;
    if (!r) return;
    srv_metrics_request(s->metrics, r->endpoint, r->status ? r->status : 499, srv_now() - r->t0);
    if (r->admitted) atomic_fetch_sub(&s->in_flight, 1);
    dl_buf_free(&r->body);
    free(r->path);
    free(r);
    *req_cls = NULL;
}

/* ---- start / stop ---- */

dl_server *dl_server_start(const dl_server_config *c, dl_error *err)
{
    const char *host = c->host ? c->host : "127.0.0.1";
    if (c->no_auth && !dl_server_host_is_loopback(host)) {
        dl_error_set(err, 400,
                     "--no-auth is only allowed on a loopback address (127.0.0.1, ::1), not %s", host);
        return NULL;
    }
    if (!c->no_auth && !c->store) {
        dl_error_set(err, 400, "a store is needed for API keys (or --no-auth on loopback)");
        return NULL;
    }
    if (sodium_init() < 0) {
        dl_error_set(err, 500, "libsodium failed to initialise");
        return NULL;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai != 0) {
        dl_error_set(err, 400, "cannot use address %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    dl_server *s = dl_xcalloc(1, sizeof(*s));
    s->cfg = *c;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->metrics = srv_metrics_new();
    s->n_models = c->n_models;
    s->models = dl_xcalloc(c->n_models ? c->n_models : 1, sizeof(srv_model));
    for (size_t i = 0; i < c->n_models; i++) {
        s->models[i].name = c->models[i].name;
        s->models[i].backend = c->models[i].backend;
        s->models[i].budgets = dl_effort_budgets_for(c->models[i].backend);
    }
    if (c->store) {
        dl_error de = {0};
        if (dl_store_project_ensure(c->store, "default", &s->default_project, &de) != 0) {
            *err = de;
            freeaddrinfo(ai);
            srv_metrics_free(s->metrics);
            free(s->models);
            free(s);
            return NULL;
        }
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    int idle = c->idle_timeout_s > 0 ? c->idle_timeout_s : 60;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                                 ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)idle,
                                 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                                 MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        dl_error_set(err, 500, "cannot listen on %s port %d (in use, or not an address of this "
                               "machine)", host, c->port);
        srv_metrics_free(s->metrics);
        free(s->models);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : c->port;
    return s;
}

int dl_server_port(const dl_server *s) { return s->port; }

void dl_server_stop(dl_server *s)
{
    if (!s) return;
    atomic_store(&s->stopping, true);
    MHD_quiesce_daemon(s->daemon);
    pthread_mutex_lock(&s->mu);
    while (s->workers > 0) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->daemon);
    srv_metrics_free(s->metrics);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->models);
    free(s);
}
