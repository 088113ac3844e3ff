/* The upstream backend against a fake OpenAI-compatible server run in this
 * process (libmicrohttpd on 127.0.0.1, a free port). The fake server records
 * every request (path, headers, body) and answers by scenario: the scenario
 * is the path segment after /v1/ ("/v1/<scenario>/chat/completions").
 * Streams are sent a few bytes at a time so SSE lines, "\r\n" pairs and
 * JSON are cut at arbitrary places. Also: the SSE reader on its own, fed
 * one stream split at every position. */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "backend/backend.h"
#include "backend/sse.h"

#define API_KEY "sk-test-secret-123"

/* ---- canned replies ---------------------------------------------------------- */

/* reasoning_content deltas, then content (starting with vLLM's "\n\n"); a
 * comment, an event name, CRLF lines, an empty first delta, the usage chunk,
 * [DONE]. */
static const char S_REASON[] =
    ": keep-alive\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"Two plus\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\" two is four.\"},"
    "\"finish_reason\":null}]}\n\n"
    "event: message\r\nid: 7\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\n\\n\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The answer\"},"
    "\"finish_reason\":null}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" is 4 \\u00fc\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,"
    "\"total_tokens\":21,\"completion_tokens_details\":{\"reasoning_tokens\":5}}}\n\n"
    "data: [DONE]\n\n";

/* <think> tags inside content, the markers cut across chunks; usage without
 * reasoning_tokens. */
static const char S_THINK[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"<thi\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"nk>\\nLet me\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" think.</th\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"ink>\\n\\nIt is 4.\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7}}\n\n"
    "data: [DONE]\n\n";

static const char S_LENGTH[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"Once upon\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" a\"},\"finish_reason\":\"length\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":3,"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n\n"
    "data: [DONE]\n\n";

/* The `reasoning` field; no usage; [DONE] without the final blank line. */
static const char S_NOUSAGE[] =
    "data: {\"choices\":[{\"delta\":{\"reasoning\":\"a\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"reasoning\":\" b\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"c\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\" d\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]";

static const char S_401[] =
    "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
    "\"param\":null,\"code\":\"invalid_api_key\"}}";

static const char S_500[] = "<html><body><h1>Internal Server Error</h1>\xff\x01</body></html>\n";

static const char S_MALFORMED[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
    "data: {\"choices\":[{\"delta\":{\"content\":\"bro\n\n"
    "data: [DONE]\n\n";

static const char S_JSON[] =
    "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"<think>Capital of France.</think>\\n\\nParis.\","
    "\"reasoning_content\":null},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,"
    "\"completion_tokens\":4,\"completion_tokens_details\":{\"reasoning_tokens\":2}}}";

/* An error event in the middle of a stream (a server's overload, say). */
static const char S_MIDERROR[] =
    "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n\n"
    "data: {\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}\n\n";

/* A 200 reply that is not the API at all. */
static const char S_HTML200[] = "<html>hello</html>\n";

/* Ends without [DONE] or a finish reason. */
static const char S_EARLY[] = "data: {\"choices\":[{\"delta\":{\"content\":\"cut\"}}]}\n\n";

enum { N_CANCEL_CHUNKS = 40 };
static char g_cancel_stream[8192];

typedef struct scenario_t {
    const char *name;
    unsigned status;
    const char *ctype;
    const char *body;   /* NULL: built per request */
    size_t piece;       /* bytes per write (0: the whole body at once) */
    int piece_delay_us;
    int first_delay_ms; /* before the first byte */
    bool cut;           /* close the connection instead of ending the reply */
} scenario_t;

static const scenario_t g_scenarios[] = {
    {"reason", 200, "text/event-stream", S_REASON, 7, 100, 0, false},
    {"think", 200, "text/event-stream", S_THINK, 3, 100, 0, false},
    {"length", 200, "text/event-stream; charset=utf-8", S_LENGTH, 11, 100, 0, false},
    {"nousage", 200, "text/event-stream", S_NOUSAGE, 5, 100, 0, false},
    {"e401", 401, "application/json", S_401, 0, 0, 0, false},
    {"e500", 500, "text/html", S_500, 0, 0, 0, false},
    {"malformed", 200, "text/event-stream", S_MALFORMED, 9, 100, 0, false},
    {"json", 200, "application/json", S_JSON, 0, 0, 0, false},
    {"miderror", 200, "text/event-stream", S_MIDERROR, 0, 0, 0, false},
    {"html200", 200, "text/html", S_HTML200, 0, 0, 0, false},
    {"early", 200, "text/event-stream", S_EARLY, 0, 0, 0, false},
    {"cancel", 200, "text/event-stream", g_cancel_stream, 16, 1000, 0, false},
    {"cut", 200, "text/event-stream", S_EARLY, 8, 100, 0, true},
    {"slow", 200, "text/event-stream", S_LENGTH, 0, 0, 3000, false},
    {"echo", 200, "text/event-stream", NULL, 6, 100, 0, false},
};

/* ---- the fake server ------------------------------------------------------------- */

typedef struct seen {
    char path[256];
    char auth[256];
    char accept[64];
    char ctype[64];
    char *body;
} seen;

static struct MHD_Daemon *g_daemon;
static unsigned g_port;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static seen g_last;            /* the last request (under g_mu) */
static int g_requests;         /* requests seen (under g_mu) */
static int g_echo_arrived;     /* echo requests that reached the barrier (under g_mu) */
static int g_echo_seen_max;    /* arrivals counted when the first echo was released */
static atomic_int g_release;   /* ends the slow scenario's wait */

typedef struct conn {
    dl_buf body;
} conn;

typedef struct stream {
    char *data;
    size_t len;
    const scenario_t *sc;
} stream;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    stream *s = cls;
    if (pos == 0 && s->sc->first_delay_ms > 0) {
        for (int t = 0; t < s->sc->first_delay_ms && !atomic_load(&g_release); t += 10)
            sleep_ms(10);
    }
    if (pos >= s->len)
        return s->sc->cut ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = s->len - (size_t)pos;
    if (s->sc->piece && n > s->sc->piece) n = s->sc->piece;
    if (n > max) n = max;
    memcpy(buf, s->data + pos, n);
    if (s->sc->piece_delay_us) usleep((useconds_t)s->sc->piece_delay_us);
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    stream *s = cls;
    free(s->data);
    free(s);
}

/* The echo scenario: waits until 4 echo requests are in the server at once
 * (at most 5 s), then streams "echo: <last message>". */
static char *echo_body(const char *req_body)
{
    pthread_mutex_lock(&g_mu);
    g_echo_arrived++;
    pthread_cond_broadcast(&g_cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (g_echo_arrived < 4)
        if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0) break;
    if (g_echo_seen_max == 0) g_echo_seen_max = g_echo_arrived;
    pthread_mutex_unlock(&g_mu);

    json_t *root = json_loads(req_body, 0, NULL);
    json_t *msgs = json_object_get(root, "messages");
    json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *q = json_string_value(json_object_get(last, "content"));
    dl_buf out = {0};
    const char *parts[3] = {"echo: ", q ? q : "?", "."};
    for (int i = 0; i < 3; i++) {
        json_t *chunk = json_pack("{s:[{s:{s:s}}]}", "choices", "delta", "content", parts[i]);
        char *js = json_dumps(chunk, JSON_COMPACT);
        dl_buf_printf(&out, "data: %s\n\n", js);
        free(js);
        json_decref(chunk);
    }
    dl_buf_printf(&out, "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],"
                        "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":3}}\n\n"
                        "data: [DONE]\n\n");
    json_decref(root);
    return out.data;
}

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t cap)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    conn *k = *con_cls;
    if (!k) {
        *con_cls = calloc(1, sizeof(conn));
        return MHD_YES;
    }
    if (*upload_size) {
        dl_buf_append(&k->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    const char *body = k->body.data ? k->body.data : "";
    pthread_mutex_lock(&g_mu);
    g_requests++;
    snprintf(g_last.path, sizeof g_last.path, "%s %s", method, url);
    copy_header(c, "Authorization", g_last.auth, sizeof g_last.auth);
    copy_header(c, "Accept", g_last.accept, sizeof g_last.accept);
    copy_header(c, "Content-Type", g_last.ctype, sizeof g_last.ctype);
    free(g_last.body);
    g_last.body = strdup(body);
    pthread_mutex_unlock(&g_mu);

    /* "/v1/<scenario>/chat/completions" */
    const scenario_t *sc = NULL;
    char name[64] = "";
    if (strncmp(url, "/v1/", 4) == 0) {
        const char *e = strchr(url + 4, '/');
        if (e && (size_t)(e - url - 4) < sizeof name) {
            memcpy(name, url + 4, (size_t)(e - url - 4));
            name[e - url - 4] = '\0';
            if (strcmp(e, "/chat/completions") != 0) name[0] = '\0';
        }
    }
    for (size_t i = 0; i < DL_ARRAY_LEN(g_scenarios); i++)
        if (strcmp(g_scenarios[i].name, name) == 0) sc = &g_scenarios[i];
    struct MHD_Response *r;
    unsigned status;
    if (!sc) {
        static const char nf[] = "{\"error\":{\"message\":\"no such route\"}}";
        r = MHD_create_response_from_buffer(strlen(nf), (void *)nf, MHD_RESPMEM_PERSISTENT);
        status = 404;
    } else {
        stream *s = calloc(1, sizeof(*s));
        s->sc = sc;
        s->data = sc->body ? strdup(sc->body) : echo_body(body);
        s->len = strlen(s->data);
        status = sc->status;
        if (sc->piece == 0 && sc->first_delay_ms == 0) {
            r = MHD_create_response_from_buffer(s->len, s->data, MHD_RESPMEM_MUST_FREE);
            free(s);
        } else {
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, stream_read, s,
                                                  stream_free);
        }
        MHD_add_response_header(r, "Content-Type", sc->ctype);
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    conn *k = *con_cls;
    if (!k) return;
    dl_buf_free(&k->body);
    free(k);
    *con_cls = NULL;
}

static int server_start(void **state)
{
    /* requests to 127.0.0.1 must not go through a proxy of the environment */
    const char *proxies[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                             "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < DL_ARRAY_LEN(proxies); i++) unsetenv(proxies[i]);

    size_t pos = 0;
    for (int i = 0; i < N_CANCEL_CHUNKS; i++)
        pos += (size_t)snprintf(g_cancel_stream + pos, sizeof g_cancel_stream - pos,
                                "data: {\"choices\":[{\"delta\":{\"content\":\"w%d \"}}]}\n\n", i);
    snprintf(g_cancel_stream + pos, sizeof g_cancel_stream - pos,
             "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");

    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &addr,
                                MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
    if (!g_daemon) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(g_daemon, MHD_DAEMON_INFO_BIND_PORT);
    g_port = info ? info->port : 0;
    return g_port ? 0 : -1;
}

static int server_stop(void **state)
{
    atomic_store(&g_release, 1);
    MHD_stop_daemon(g_daemon);
    free(g_last.body);
    g_last.body = NULL;
    return 0;
}

/* ---- the client side ------------------------------------------------------------ */

typedef struct capture {
    dl_buf reasoning, answer;
    int switches;     /* channel changes between on_text calls */
    dl_channel last;
    bool any;
    int tokens;       /* on_token calls */
    int32_t last_n_reasoning, last_n_completion;
    int cancel_after; /* > 0: on_token returns false at that call */
} capture;

static bool cap_text(void *ud, dl_channel ch, const char *t, size_t n)
{
    capture *c = ud;
    if (c->any && c->last != ch) c->switches++;
    c->last = ch;
    c->any = true;
    dl_buf_append(ch == DL_CHANNEL_REASONING ? &c->reasoning : &c->answer, t, n);
    return true;
}

static bool cap_token(void *ud, dl_channel ch, int32_t n_reasoning, int32_t n_completion)
{
    capture *c = ud;
    c->tokens++;
    c->last_n_reasoning = n_reasoning;
    c->last_n_completion = n_completion;
    return !(c->cancel_after > 0 && c->tokens >= c->cancel_after);
}

static void cap_free(capture *c)
{
    dl_buf_free(&c->reasoning);
    dl_buf_free(&c->answer);
}

static const char *text_of(const dl_buf *b) { return b->len ? b->data : ""; }

static char g_url[128];

static const char *base_url(const char *scenario)
{
    snprintf(g_url, sizeof g_url, "http://127.0.0.1:%u/v1/%s", g_port, scenario);
    return g_url;
}

static dl_backend *new_backend(const char *scenario, const char *key, long timeout_ms)
{
    dl_upstream_opts o = {base_url(scenario), key, "test-model", NULL, timeout_ms};
    dl_error err = {0};
    dl_backend *b = dl_backend_upstream_new(&o, &err);
    if (!b) fail_msg("upstream_new: %s", err.msg);
    return b;
}

/* One user message to the scenario; returns chat's result code. */
static int run1(const char *scenario, const dl_gen_params *g, capture *c, dl_chat_result *r,
                dl_error *err)
{
    dl_backend *b = new_backend(scenario, NULL, 5000);
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "What is 2 + 2?", NULL, NULL}};
    dl_chat_request req = {msgs, 1, *g};
    dl_chat_sink sink = {cap_text, cap_token, c};
    int rc = dl_backend_chat(b, &req, &sink, r, err);
    dl_backend_free(b);
    return rc;
}

/* The last request's body, parsed. */
static json_t *last_body(void)
{
    pthread_mutex_lock(&g_mu);
    json_t *j = json_loads(g_last.body ? g_last.body : "", 0, NULL);
    pthread_mutex_unlock(&g_mu);
    assert_non_null(j);
    return j;
}

static void test_reasoning_stream(void **state)
{
    dl_backend *b = new_backend("reason", API_KEY, 5000);
    assert_string_equal(dl_backend_name(b), "test-model");
    dl_chat_msg msgs[] = {
        {DL_ROLE_SYSTEM, "Be brief.", NULL, NULL},
        {DL_ROLE_DEVELOPER, "Numbers only.", NULL, NULL},
        {DL_ROLE_USER, "What is 1 + 1?", NULL, NULL},
        {DL_ROLE_ASSISTANT, "2", "one and one", NULL},
        {DL_ROLE_TOOL, "{\"sum\": 4}", NULL, "call_1"},
        {DL_ROLE_USER, "And 2 + 2? \xc3\xa9", NULL, NULL},
    };
    dl_gen_params g = dl_gen_default_params();
    g.max_tokens = 100;
    g.sampling.temperature = 0.5f;
    g.sampling.top_p = 0.9f;
    g.sampling.seed = 42;
    g.effort_hint = "high";
    g.reasoning_budget = 64; /* not sent */
    const char *stops[] = {"END"};
    g.stop = stops;
    g.n_stop = 1;
    dl_chat_request req = {msgs, DL_ARRAY_LEN(msgs), g};
    capture c = {0};
    dl_chat_sink sink = {cap_text, cap_token, &c};
    dl_chat_result r;
    dl_error err = {0};
    int rc = dl_backend_chat(b, &req, &sink, &r, &err);
    if (rc != 0) fail_msg("chat: %s", err.msg);

    assert_string_equal(r.reasoning, "Two plus two is four.");
    assert_string_equal(r.answer, "The answer is 4 \xc3\xbc");
    assert_string_equal(text_of(&c.reasoning), "Two plus two is four.");
    assert_string_equal(text_of(&c.answer), "The answer is 4 \xc3\xbc");
    assert_int_equal(c.switches, 1);
    assert_int_equal(c.tokens, 5); /* one per chunk with text ("\n\n" too) */
    assert_int_equal(c.last_n_completion, 5);
    assert_int_equal(c.last_n_reasoning, 2);
    assert_int_equal(r.usage.prompt_tokens, 12);
    assert_int_equal(r.usage.completion_tokens, 9);
    assert_int_equal(r.usage.reasoning_tokens, 5);
    assert_int_equal(r.finish, DL_FINISH_STOP);
    assert_int_equal(r.n_sampled, 0);
    dl_chat_result_free(&r);

    /* the request */
    pthread_mutex_lock(&g_mu);
    assert_string_equal(g_last.path, "POST /v1/reason/chat/completions");
    assert_string_equal(g_last.auth, "Bearer " API_KEY);
    assert_string_equal(g_last.accept, "text/event-stream");
    assert_string_equal(g_last.ctype, "application/json");
    pthread_mutex_unlock(&g_mu);
    json_t *j = last_body();
    assert_string_equal(json_string_value(json_object_get(j, "model")), "test-model");
    json_t *jm = json_object_get(j, "messages");
    assert_int_equal(json_array_size(jm), 6);
    const char *roles[] = {"system", "developer", "user", "assistant", "tool", "user"};
    for (size_t i = 0; i < 6; i++) {
        json_t *m = json_array_get(jm, i);
        assert_string_equal(json_string_value(json_object_get(m, "role")), roles[i]);
        assert_string_equal(json_string_value(json_object_get(m, "content")), msgs[i].content);
        /* past reasoning is not sent; only tool turns carry an id */
        assert_null(json_object_get(m, "reasoning_content"));
        assert_int_equal(json_object_size(m), i == 4 ? 3 : 2);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(jm, 4), "tool_call_id")),
                        "call_1");
    assert_true(json_is_true(json_object_get(j, "stream")));
    assert_true(json_is_true(
        json_object_get(json_object_get(j, "stream_options"), "include_usage")));
    assert_int_equal(json_integer_value(json_object_get(j, "max_completion_tokens")), 100);
    assert_true(json_real_value(json_object_get(j, "temperature")) == 0.5);
    assert_true(json_real_value(json_object_get(j, "top_p")) == 0.9);
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 42);
    json_t *st = json_object_get(j, "stop");
    assert_int_equal(json_array_size(st), 1);
    assert_string_equal(json_string_value(json_array_get(st, 0)), "END");
    assert_string_equal(json_string_value(json_object_get(j, "reasoning_effort")), "high");
    assert_null(json_object_get(j, "max_tokens"));
    assert_null(json_object_get(j, "reasoning_budget"));
    json_decref(j);

    dl_backend_stats s;
    dl_backend_get_stats(b, &s);
    assert_int_equal(s.active, 0);
    assert_int_equal(s.tokens_generated, 9);
    char *text = NULL;
    assert_int_equal(dl_backend_prompt(b, &req, &text, &err), -1);
    assert_int_equal(err.status, 501);
    assert_null(text);
    dl_backend_free(b);
    cap_free(&c);
}

static void test_think_tags_in_content(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    dl_chat_result r;
    dl_error err = {0};
    if (run1("think", &g, &c, &r, &err) != 0) fail_msg("chat: %s", err.msg);
    assert_string_equal(r.reasoning, "Let me think.");
    assert_string_equal(r.answer, "It is 4.");
    assert_string_equal(text_of(&c.reasoning), "\nLet me think.");
    assert_string_equal(text_of(&c.answer), "It is 4.");
    assert_int_equal(c.switches, 1);
    assert_int_equal(c.tokens, 4);
    assert_int_equal(r.usage.prompt_tokens, 3);
    assert_int_equal(r.usage.completion_tokens, 7);
    /* no reasoning_tokens upstream: the chunks that were reasoning (the one
     * holding the closing marker included) */
    assert_int_equal(r.usage.reasoning_tokens, 3);
    assert_int_equal(r.finish, DL_FINISH_STOP);
    dl_chat_result_free(&r);
    cap_free(&c);
}

static void test_length_and_mapping(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    g.thinking = false;          /* -> reasoning_effort "low" */
    g.sampling.temperature = 0;  /* greedy */
    g.sampling.top_p = 1.0f;
    capture c = {0};
    dl_chat_result r;
    dl_error err = {0};
    if (run1("length", &g, &c, &r, &err) != 0) fail_msg("chat: %s", err.msg);
    assert_string_equal(r.answer, "Once upon a");
    assert_string_equal(r.reasoning, "");
    assert_int_equal(r.finish, DL_FINISH_LENGTH);
    assert_int_equal(r.usage.prompt_tokens, 4);
    assert_int_equal(r.usage.completion_tokens, 3);
    assert_int_equal(r.usage.reasoning_tokens, 0);
    dl_chat_result_free(&r);
    cap_free(&c);

    pthread_mutex_lock(&g_mu);
    assert_string_equal(g_last.auth, ""); /* no key: no header */
    pthread_mutex_unlock(&g_mu);
    json_t *j = last_body();
    assert_null(json_object_get(j, "max_completion_tokens")); /* max_tokens 0 */
    assert_null(json_object_get(j, "stop"));
    assert_string_equal(json_string_value(json_object_get(j, "reasoning_effort")), "low");
    assert_true(json_number_value(json_object_get(j, "temperature")) == 0.0);
    assert_true(json_number_value(json_object_get(j, "top_p")) == 1.0);
    assert_int_equal(json_integer_value(json_object_get(j, "seed")), 0);
    json_decref(j);

    /* thinking on without a hint: no reasoning_effort; none/minimal -> low */
    const char *hints[] = {NULL, "minimal", "medium"};
    const char *sent[] = {NULL, "low", "medium"};
    for (int i = 0; i < 3; i++) {
        g = dl_gen_default_params();
        g.effort_hint = hints[i];
        capture c2 = {0};
        if (run1("length", &g, &c2, &r, &err) != 0) fail_msg("chat: %s", err.msg);
        dl_chat_result_free(&r);
        cap_free(&c2);
        j = last_body();
        json_t *e = json_object_get(j, "reasoning_effort");
        if (sent[i]) assert_string_equal(json_string_value(e), sent[i]);
        else assert_null(e);
        json_decref(j);
    }
}

static void test_no_usage(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    dl_chat_result r;
    dl_error err = {0};
    if (run1("nousage", &g, &c, &r, &err) != 0) fail_msg("chat: %s", err.msg);
    assert_string_equal(r.reasoning, "a b");
    assert_string_equal(r.answer, "c d");
    /* one token per chunk with text */
    assert_int_equal(r.usage.prompt_tokens, 0);
    assert_int_equal(r.usage.completion_tokens, 4);
    assert_int_equal(r.usage.reasoning_tokens, 2);
    assert_int_equal(c.tokens, 4);
    assert_int_equal(r.finish, DL_FINISH_STOP);
    dl_chat_result_free(&r);
    cap_free(&c);
}

static void test_http_errors(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    dl_chat_result r;
    dl_error err = {0};
    dl_backend *b = new_backend("e401", API_KEY, 5000);
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "hi", NULL, NULL}};
    dl_chat_request req = {msgs, 1, g};
    assert_int_equal(dl_backend_chat(b, &req, NULL, &r, &err), -1);
    assert_int_equal(err.status, 401);
    assert_non_null(strstr(err.msg, "Incorrect API key provided."));
    assert_null(strstr(err.msg, API_KEY));
    assert_null(strstr(err.msg, "secret"));
    dl_backend_free(b);

    dl_error_clear(&err);
    assert_int_equal(run1("e500", &g, &c, &r, &err), -1);
    assert_int_equal(err.status, 500);
    assert_non_null(strstr(err.msg, "Internal Server Error"));
    assert_non_null(strstr(err.msg, base_url("e500")));
    assert_null(strchr(err.msg, '\n'));
    assert_true(dl_utf8_valid(err.msg, strlen(err.msg), NULL)); /* the 0xff byte became '?' */
    assert_non_null(strstr(err.msg, "</h1>? </body>"));

    /* an unknown route: the fake server's 404 with an error message */
    dl_error_clear(&err);
    assert_int_equal(run1("nosuch", &g, &c, &r, &err), -1);
    assert_int_equal(err.status, 404);
    assert_non_null(strstr(err.msg, "no such route"));
    assert_int_equal(c.tokens, 0);
    cap_free(&c);
}

static void test_bad_streams(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    dl_chat_result r;
    struct {
        const char *scenario, *needle;
    } cases[] = {
        {"malformed", "malformed JSON"},
        {"miderror", "model overloaded"},
        {"html200", "did not send an event stream"},
        {"early", "ended early"},
        {"cut", "failed mid-reply"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        capture c = {0};
        dl_error err = {0};
        assert_int_equal(run1(cases[i].scenario, &g, &c, &r, &err), -1);
        assert_int_equal(err.status, 502);
        if (!strstr(err.msg, cases[i].needle)) fail_msg("%s: %s", cases[i].scenario, err.msg);
        assert_non_null(strstr(err.msg, base_url(cases[i].scenario)));
        cap_free(&c);
    }
}

static void test_connection_refused(void **state)
{
    /* a port that was free a moment ago */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    char url[128];
    snprintf(url, sizeof url, "http://user:pw@127.0.0.1:%u/v1/", (unsigned)ntohs(a.sin_port));
    dl_upstream_opts o = {url, API_KEY, "m", "served-name", 2000};
    dl_error err = {0};
    dl_backend *b = dl_backend_upstream_new(&o, &err);
    assert_non_null(b);
    assert_string_equal(dl_backend_name(b), "served-name");
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "hi", NULL, NULL}};
    dl_chat_request req = {msgs, 1, dl_gen_default_params()};
    dl_chat_result r;
    assert_int_equal(dl_backend_chat(b, &req, NULL, &r, &err), -1);
    assert_int_equal(err.status, 502);
    char shown[128];
    snprintf(shown, sizeof shown, "http://127.0.0.1:%u/v1", (unsigned)ntohs(a.sin_port));
    if (!strstr(err.msg, shown)) fail_msg("message: %s", err.msg);
    assert_null(strstr(err.msg, "pw@")); /* credentials in the URL are not shown */
    assert_null(strstr(err.msg, API_KEY));
    dl_backend_free(b);
}

static void test_cancel(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    c.cancel_after = 3;
    dl_chat_result r;
    dl_error err = {0};
    if (run1("cancel", &g, &c, &r, &err) != 0) fail_msg("chat: %s", err.msg);
    assert_int_equal(r.finish, DL_FINISH_CANCELLED);
    assert_string_equal(r.answer, "w0 w1 w2 ");
    assert_string_equal(text_of(&c.answer), "w0 w1 w2 ");
    assert_int_equal(c.tokens, 3);
    assert_int_equal(r.usage.completion_tokens, 3);
    dl_chat_result_free(&r);
    cap_free(&c);
}

static bool cancel_on_text(void *ud, dl_channel ch, const char *t, size_t n)
{
    int *calls = ud;
    return ++*calls < 2;
}

static void test_cancel_on_text(void **state)
{
    dl_backend *b = new_backend("cancel", NULL, 5000);
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "hi", NULL, NULL}};
    dl_chat_request req = {msgs, 1, dl_gen_default_params()};
    int calls = 0;
    dl_chat_sink sink = {cancel_on_text, NULL, &calls};
    dl_chat_result r;
    dl_error err = {0};
    if (dl_backend_chat(b, &req, &sink, &r, &err) != 0) fail_msg("chat: %s", err.msg);
    assert_int_equal(calls, 2);
    assert_int_equal(r.finish, DL_FINISH_CANCELLED);
    assert_string_equal(r.answer, "w0 w1 ");
    dl_chat_result_free(&r);
    dl_backend_free(b);
}

static void test_json_reply(void **state)
{
    dl_gen_params g = dl_gen_default_params();
    capture c = {0};
    dl_chat_result r;
    dl_error err = {0};
    if (run1("json", &g, &c, &r, &err) != 0) fail_msg("chat: %s", err.msg);
    assert_string_equal(r.answer, "Paris.");
    assert_string_equal(r.reasoning, "Capital of France.");
    assert_string_equal(text_of(&c.answer), "Paris.");
    assert_string_equal(text_of(&c.reasoning), "Capital of France.");
    assert_int_equal(c.tokens, 1);
    assert_int_equal(r.usage.prompt_tokens, 5);
    assert_int_equal(r.usage.completion_tokens, 4);
    assert_int_equal(r.usage.reasoning_tokens, 2);
    assert_int_equal(r.finish, DL_FINISH_STOP);
    dl_chat_result_free(&r);
    cap_free(&c);
}

static void test_timeout(void **state)
{
    dl_backend *b = new_backend("slow", NULL, 300);
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "hi", NULL, NULL}};
    dl_chat_request req = {msgs, 1, dl_gen_default_params()};
    dl_chat_result r;
    dl_error err = {0};
    double t0 = dl_time_ms();
    assert_int_equal(dl_backend_chat(b, &req, NULL, &r, &err), -1);
    double dt = dl_time_ms() - t0;
    atomic_store(&g_release, 1); /* let the fake server's thread go */
    assert_int_equal(err.status, 504);
    assert_non_null(strstr(err.msg, "300 ms"));
    assert_non_null(strstr(err.msg, base_url("slow")));
    assert_true(dt >= 250 && dt < 2500);
    dl_backend_free(b);
}

static void test_bad_options(void **state)
{
    dl_error err = {0};
    dl_upstream_opts o = {NULL, NULL, "m", NULL, 0};
    assert_null(dl_backend_upstream_new(&o, &err));
    assert_int_equal(err.status, 400);
    o.base_url = "ftp://example.com/v1";
    assert_null(dl_backend_upstream_new(&o, &err));
    assert_int_equal(err.status, 400);
    o.base_url = "http://127.0.0.1:1/v1";
    o.model = NULL;
    assert_null(dl_backend_upstream_new(&o, &err));
    assert_int_equal(err.status, 400);
    o.model = "m";
    o.api_key = "abc\r\nX-Injected: 1";
    assert_null(dl_backend_upstream_new(&o, &err));
    assert_int_equal(err.status, 400);
    assert_null(strstr(err.msg, "Injected"));

    /* invalid UTF-8 in a message: 400 before anything is sent */
    dl_backend *b = new_backend("reason", NULL, 5000);
    pthread_mutex_lock(&g_mu);
    int before = g_requests;
    pthread_mutex_unlock(&g_mu);
    dl_chat_msg msgs[] = {{DL_ROLE_USER, "bad \xff byte", NULL, NULL}};
    dl_chat_request req = {msgs, 1, dl_gen_default_params()};
    dl_chat_result r;
    assert_int_equal(dl_backend_chat(b, &req, NULL, &r, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "message 0"));
    pthread_mutex_lock(&g_mu);
    assert_int_equal(g_requests, before);
    pthread_mutex_unlock(&g_mu);
    dl_backend_free(b);
}

/* ---- concurrency ------------------------------------------------------------------- */

typedef struct worker {
    dl_backend *b;
    char question[16];
    int rc;
    dl_error err;
    dl_chat_result r;
    capture c;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    dl_chat_msg msgs[] = {{DL_ROLE_USER, w->question, NULL, NULL}};
    dl_chat_request req = {msgs, 1, dl_gen_default_params()};
    dl_chat_sink sink = {cap_text, cap_token, &w->c};
    w->rc = dl_backend_chat(w->b, &req, &sink, &w->r, &w->err);
    return NULL;
}

static void test_concurrent(void **state)
{
    pthread_mutex_lock(&g_mu);
    g_echo_arrived = 0;
    g_echo_seen_max = 0;
    pthread_mutex_unlock(&g_mu);
    dl_backend *b = new_backend("echo", API_KEY, 10000);
    worker w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].b = b;
        snprintf(w[i].question, sizeof w[i].question, "q%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    /* the server held every request until all 4 were in at once */
    pthread_mutex_lock(&g_mu);
    int seen_max = g_echo_seen_max;
    pthread_mutex_unlock(&g_mu);
    assert_int_equal(seen_max, 4);
    for (int i = 0; i < 4; i++) {
        if (w[i].rc != 0) fail_msg("worker %d: %s", i, w[i].err.msg);
        char want[32];
        snprintf(want, sizeof want, "echo: q%d.", i);
        assert_string_equal(w[i].r.answer, want);
        assert_string_equal(text_of(&w[i].c.answer), want);
        assert_int_equal(w[i].r.usage.completion_tokens, 3);
        dl_chat_result_free(&w[i].r);
        cap_free(&w[i].c);
    }
    dl_backend_stats s;
    dl_backend_get_stats(b, &s);
    assert_int_equal(s.active, 0);
    assert_int_equal(s.tokens_generated, 12);
    dl_backend_free(b);
}

/* ---- the SSE reader on its own -------------------------------------------------- */

typedef struct events {
    dl_buf log; /* "name|data\n" per event */
    int n;
    int stop_at; /* > 0: return 7 at that event */
} events;

static int log_event(void *ud, const char *event, const char *data, size_t len)
{
    events *e = ud;
    assert_int_equal(strlen(data), len);
    dl_buf_printf(&e->log, "%s|%s\n", event, data);
    e->n++;
    return e->stop_at > 0 && e->n >= e->stop_at ? 7 : 0;
}

static const char SSE_IN[] =
    "\xEF\xBB\xBF" "data: one\n\n"
    ": comment\r\n"
    "event: named\r\n"
    "data:two\r\n"
    "data:  three\r\n\r\n"
    "id: 5\rretry: 10\rdata\r\r"
    "data: x\nevent: late-name\n\n"
    "\n\n\n"
    "data: {\"a\":\"b:c\"}\n\n"
    "data: last";
static const char SSE_OUT[] = "|one\n"
                              "named|two\n three\n"
                              "|\n"
                              "late-name|x\n"
                              "|{\"a\":\"b:c\"}\n"
                              "|last\n";

static void test_sse_splits(void **state)
{
    size_t n = strlen(SSE_IN);
    for (size_t cut = 0; cut <= n; cut++) { /* two pieces, cut everywhere */
        events e = {0};
        dl_sse s;
        dl_sse_init(&s, 0, log_event, &e);
        assert_int_equal(dl_sse_feed(&s, SSE_IN, cut), 0);
        assert_int_equal(dl_sse_feed(&s, SSE_IN + cut, n - cut), 0);
        assert_int_equal(dl_sse_finish(&s), 0);
        if (strcmp(text_of(&e.log), SSE_OUT) != 0)
            fail_msg("cut at %zu:\n%s", cut, text_of(&e.log));
        dl_sse_free(&s);
        dl_buf_free(&e.log);
    }
    events e = {0}; /* one byte at a time */
    dl_sse s;
    dl_sse_init(&s, 0, log_event, &e);
    for (size_t i = 0; i < n; i++) assert_int_equal(dl_sse_feed(&s, SSE_IN + i, 1), 0);
    assert_int_equal(dl_sse_finish(&s), 0);
    assert_string_equal(text_of(&e.log), SSE_OUT);
    assert_int_equal(e.n, 6);
    dl_sse_free(&s);
    dl_buf_free(&e.log);
}

static void test_sse_stop_and_limit(void **state)
{
    events e = {0};
    e.stop_at = 2;
    dl_sse s;
    dl_sse_init(&s, 0, log_event, &e);
    assert_int_equal(dl_sse_feed(&s, "data: a\n\ndata: b\n\ndata: c\n\n", 27), 7);
    assert_int_equal(e.n, 2);
    assert_int_equal(dl_sse_feed(&s, "data: d\n\n", 9), 7); /* stays stopped */
    assert_int_equal(dl_sse_finish(&s), 7);
    assert_int_equal(e.n, 2);
    dl_sse_free(&s);
    dl_buf_free(&e.log);

    events e2 = {0};
    dl_sse_init(&s, 16, log_event, &e2);
    assert_int_equal(dl_sse_feed(&s, "data: 0123456789\n\n", 18), 0);
    assert_int_equal(dl_sse_feed(&s, "data: 0123456789abcdef", 22), -1); /* a line > 16 */
    assert_int_equal(e2.n, 1);
    dl_sse_free(&s);
    dl_buf_free(&e2.log);

    events e3 = {0}; /* an event's data over the limit, in short lines */
    dl_sse_init(&s, 16, log_event, &e3);
    assert_int_equal(dl_sse_feed(&s, "data: 01234567\ndata: 01234567\n", 30), -1);
    assert_int_equal(e3.n, 0);
    dl_sse_free(&s);
    dl_buf_free(&e3.log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_splits),
        cmocka_unit_test(test_sse_stop_and_limit),
        cmocka_unit_test(test_reasoning_stream),
        cmocka_unit_test(test_think_tags_in_content),
        cmocka_unit_test(test_length_and_mapping),
        cmocka_unit_test(test_no_usage),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_bad_streams),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_cancel_on_text),
        cmocka_unit_test(test_json_reply),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_timeout),
    };
    return cmocka_run_group_tests(tests, server_start, server_stop);
}
