/* backend: the one interface everything above it (reason/, safety/, eval/,
 * server/) uses to get a chat reply, whatever produces it.
 *
 *   dl_backend_chat(backend, request, sink, result)
 *
 * The request holds the conversation (roles kept apart, see chat.h), sampling
 * and the reasoning mechanism's settings; the sink receives reasoning and
 * answer text as two streams, piece by piece; the result carries both texts,
 * usage and the finish reason.
 *
 * Implementations: local (a GGUF run by the engine in this process, with its
 * chat format) and scripted (deterministic replies, for tests). Reasoning
 * budget forcing is done by the backend because only it can act between two
 * tokens; reason/ decides the numbers (effort -> budget). */
#ifndef DL_BACKEND_H
#define DL_BACKEND_H

#include "../base/base.h"
#include "../chat/chat.h"
#include "../sample/sample.h"

typedef struct dl_gen_params {
    dl_sampler_params sampling;
    /* Reasoning + answer tokens together (OpenAI max_completion_tokens);
     * 0 = until the context is full. */
    int32_t max_tokens;
    /* false: ask the format to skip reasoning (where it can); the reasoning
     * budget is then 0. */
    bool thinking;
    /* Reasoning tokens allowed; when spent, the backend closes the reasoning
     * block (the format's force_close text) and the model answers. < 0 = no
     * limit other than max_tokens. */
    int32_t reasoning_budget;
    /* If the model closes its reasoning before min_reasoning tokens, the
     * closing marker is replaced by continue_cue (e.g. "Wait") and the model
     * thinks on, at most max_continuations times. NULL / 0 = off. */
    int32_t min_reasoning;
    const char *continue_cue;
    int32_t max_continuations;
    /* gpt-oss prints "Reasoning: low|medium|high" in its system message;
     * NULL = the format's default. */
    const char *effort_hint;
    /* Stop strings for the answer channel (not included in the answer). */
    const char *const *stop;
    size_t n_stop;
} dl_gen_params;
/* Defaults: the sampler's defaults, thinking on, no budget, no cue. */
dl_gen_params dl_gen_default_params(void);

typedef struct dl_chat_request {
    const dl_chat_msg *msgs;
    size_t n_msgs;
    dl_gen_params gen;
} dl_chat_request;

typedef enum dl_finish {
    DL_FINISH_STOP = 0,      /* end of turn or a stop string */
    DL_FINISH_LENGTH = 1,    /* max_tokens or the context ran out */
    DL_FINISH_CANCELLED = 2, /* the sink asked to stop */
} dl_finish;
const char *dl_finish_name(dl_finish f); /* "stop", "length", "cancelled" */

typedef struct dl_usage {
    int32_t prompt_tokens;
    int32_t reasoning_tokens;  /* part of completion_tokens */
    int32_t completion_tokens; /* reasoning + answer (+ any forced text) */
} dl_usage;

/* Receives the reply as it is produced. Returning false cancels the
 * generation (finish = cancelled). Any callback may be NULL. */
typedef struct dl_chat_sink {
    bool (*on_text)(void *ud, dl_channel ch, const char *text, size_t len);
    /* After every generated token, with the running reasoning-token count. */
    bool (*on_token)(void *ud, dl_channel ch, int32_t n_reasoning, int32_t n_completion);
    void *ud;
} dl_chat_sink;

typedef struct dl_chat_result {
    char *answer;        /* owned; never NULL after success */
    char *reasoning;     /* owned; "" when the model did not reason */
    dl_usage usage;
    dl_finish finish;
    double logprob_sum;  /* sum of log p(token) of the sampled tokens (answer and reasoning) */
    int32_t n_sampled;   /* tokens that logprob_sum covers */
    int32_t n_forced_closes;  /* 0 or 1: the budget ended the reasoning */
    int32_t n_continuations;  /* continuation cues inserted */
} dl_chat_result;
void dl_chat_result_free(dl_chat_result *r);

typedef struct dl_backend dl_backend;

/* Runs one request. 0 = ok (*res filled, free with dl_chat_result_free);
 * -1 + err on bad input (400: e.g. a conversation the format cannot express,
 * a prompt longer than the context) or failure (500). */
int dl_backend_chat(dl_backend *b, const dl_chat_request *req, const dl_chat_sink *sink,
                    dl_chat_result *res, dl_error *err);
/* Renders the prompt the backend would give the model, without running it.
 * *text is malloc'd. 501 if the backend has no prompt (e.g. an upstream). */
int dl_backend_prompt(dl_backend *b, const dl_chat_request *req, char **text, dl_error *err);
const char *dl_backend_name(const dl_backend *b);   /* model name as served */
/* Thinking-token budget the model's metadata suggests for an effort level
 * ("deliberate.reasoning.budget.<level>"), or -1 when it suggests none. */
int32_t dl_backend_budget_hint(const dl_backend *b, const char *level);
void dl_backend_free(dl_backend *b);

/* Load figures for /metrics. */
typedef struct dl_backend_stats {
    int active;               /* requests generating now */
    int queued;               /* requests waiting for a free slot */
    uint64_t tokens_generated;/* completion tokens since start */
    uint64_t batches;         /* decode passes over the weights since start */
} dl_backend_stats;
void dl_backend_get_stats(const dl_backend *b, dl_backend_stats *st);

/* ---- local: a GGUF in this process ----
 * dl_backend_chat may be called from several threads at once. Up to
 * n_parallel requests run together: each has its own sequence (KV cache) in
 * one context, and every step decodes the next token of all of them in one
 * pass over the weights (continuous batching, dl_context_decode_seqs); a
 * request that finishes frees its slot for the next waiting one. Further
 * calls wait for a slot (in arrival order). */

typedef struct dl_local_opts {
    int32_t n_parallel;/* sequences served at once; 0 = 1 */
    int32_t n_ctx;     /* per sequence; 0 = min(training context, 4096) */
    int n_threads;     /* 0 = all cores */
    int kv_type;       /* DL_TYPE_F32 / DL_TYPE_F16 (0 = F32) */
    /* Prompt format; id DL_CHAT_UNKNOWN = recognise from the GGUF. */
    dl_chat_format format;
    void (*progress)(float done, void *ud); /* model loading, may be NULL */
    void *progress_ud;
} dl_local_opts;

/* Loads the model. Fails (400) when the file is bad or no chat format can be
 * chosen (the message says to pass --chat-format). */
dl_backend *dl_backend_local_open(const char *path, const dl_local_opts *o, dl_error *err);
dl_chat_format dl_backend_local_format(const dl_backend *b);

/* ---- upstream: any OpenAI-compatible server (vLLM, llama.cpp, OpenAI) ----
 * Requests go to POST <base_url>/chat/completions with stream=true over
 * libcurl; deltas stream to the sink as they arrive (`reasoning_content` or
 * `reasoning` fields -> reasoning channel; <think> tags inside `content` are
 * split too). The budget mechanism cannot act inside a remote generation:
 * reasoning_budget is sent as nothing, the effort as `reasoning_effort`
 * (none/minimal -> "low", see docs/upstream.md). Errors: the upstream's HTTP
 * status and error message are passed on (status 502 when it cannot be
 * reached or answers something that is not the API). Cancelling (the sink
 * returns false) aborts the transfer. Safe to call from several threads. */
typedef struct dl_upstream_opts {
    const char *base_url;  /* e.g. "http://127.0.0.1:8080/v1" (no trailing slash needed) */
    const char *api_key;   /* sent as "Authorization: Bearer"; NULL = none */
    const char *model;     /* model name sent upstream */
    const char *name;      /* name this backend is served as; NULL = model */
    long timeout_ms;       /* whole request; 0 = 600000 */
} dl_upstream_opts;
dl_backend *dl_backend_upstream_new(const dl_upstream_opts *o, dl_error *err);

/* ---- scripted: deterministic replies, for tests ---- */

/* Each reply is raw model output in the "<think>...</think>answer" form
 * (reasoning optional). Replies are used in turn, wrapping around; every
 * request takes the next one. Tokens are split at spaces ("a b" = 2 tokens:
 * "a", " b"). Budget forcing acts as in the local backend: at the budget the
 * reasoning is closed and the reply continues after its "</think>"; a cue
 * replaces an early "</think>" and the reply's reasoning continues from its
 * start. With thinking off the reply starts after its "</think>". Token i's log-probability is logprobs[reply] (or -1 each). */
typedef struct dl_scripted_opts {
    const char *const *replies;
    size_t n_replies;
    const double *logprobs; /* per reply mean log-probability; NULL = -1 */
    int32_t prompt_tokens;  /* reported usage.prompt_tokens (0 = length of the prompt / 4) */
    /* Optional: the reply for a request (copied at once; called from the
     * requesting thread, so it must be thread-safe). NULL return = the next
     * reply in turn. The request still counts as a call. */
    const char *(*reply_for)(void *ud, const dl_chat_request *req);
    void *reply_ud;
    /* Optional: "budget.*" hints as a model's GGUF gives them (NULL name = end);
     * levels not listed have none (-1). */
    const struct dl_scripted_hint {
        const char *level;
        int32_t value;
    } *hints;
} dl_scripted_opts;
dl_backend *dl_backend_scripted_new(const dl_scripted_opts *o); /* thread-safe */
/* Number of requests the scripted backend has served; the last request's
 * prompt, rendered in the Qwen3 format, for assertions (owned by the backend). */
size_t dl_backend_scripted_calls(const dl_backend *b);
const char *dl_backend_scripted_last_prompt(const dl_backend *b);

#endif
