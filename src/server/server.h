/* server: the OpenAI-compatible HTTP API (libmicrohttpd).
 *
 *   GET  /health, /metrics, /v1/models, /v1/models/{id}
 *   POST /v1/chat/completions, /v1/responses, /v1/moderations
 *   GET  /v1/responses/{id}, DELETE /v1/responses/{id}
 *
 * Every model is a dl_backend (local GGUF or upstream server); the server
 * never knows which. Requests run through reason/ (effort -> budget,
 * summaries). Keys and stored responses live in the store. Errors are
 * OpenAI's error JSON. docs/server.md has the details. */
#ifndef DL_SERVER_H
#define DL_SERVER_H

#include "../backend/backend.h"
#include "../base/base.h"
#include "../safety/safety.h"
#include "../store/store.h"

typedef struct dl_server_model {
    const char *name;     /* model id clients send */
    dl_backend *backend;  /* borrowed: the caller frees it after dl_server_stop */
} dl_server_model;

typedef struct dl_server_config {
    const char *host;            /* bind address; NULL = "127.0.0.1" */
    int port;                    /* 0 = any free port (dl_server_port tells) */
    bool no_auth;                /* only allowed on a loopback address */
    dl_store *store;             /* borrowed; keys and stored responses */
    const dl_server_model *models;
    size_t n_models;
    size_t max_body_bytes;       /* 0 = 4 MiB */
    int max_concurrent;          /* requests in flight before 429; 0 = 64 */
    int idle_timeout_s;          /* 0 = 60: a client silent this long is dropped */
    bool allow_raw_reasoning;    /* requests may ask for reasoning_content */
    /* The safety stack (borrowed). NULL: no checks, and /v1/moderations
     * answers 501. Otherwise inputs are checked before generation, answers
     * (released in checked chunks when streaming), summaries and secrets
     * after, and the reasoning goes through the CoT monitor. */
    dl_safety *safety;
} dl_server_config;

typedef struct dl_server dl_server;

/* Starts listening (threads of its own). NULL + err when the address cannot
 * be bound, or --no-auth is asked on a non-loopback address (400). */
dl_server *dl_server_start(const dl_server_config *c, dl_error *err);
int dl_server_port(const dl_server *s);
/* Stops accepting, cancels running generations, waits for them, frees. */
void dl_server_stop(dl_server *s);

/* Whether host names a loopback address ("127.0.0.1", "::1", "localhost",
 * any 127.x.y.z). */
bool dl_server_host_is_loopback(const char *host);

#endif
