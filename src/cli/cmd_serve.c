/* deliberate serve: the OpenAI-compatible API server. Settings come from a
 * JSON config file (--config) and flags (flags win). */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../gguf/gguf.h"
#include "../server/server.h"
#include "cli.h"

static const char SERVE_HELP[] =
    "usage: deliberate serve [options]\n"
    "\n"
    "Serves the OpenAI API (chat completions, responses, models, moderations,\n"
    "/health, /metrics) for local GGUF models and upstream OpenAI-compatible\n"
    "servers. Clients authenticate with API keys made by 'deliberate keys create'.\n"
    "Stops cleanly on Ctrl-C / SIGTERM.\n"
    "\n"
    "  -m, --model [NAME=]PATH   serve the GGUF at PATH as NAME (default: the file name\n"
    "                            without .gguf); repeat for several models. With no -m,\n"
    "                            --upstream or config models: the built-in\n"
    "                            models/deliberate-mini.gguf (or $DELIBERATE_MODEL), served\n"
    "                            as deliberate-mini\n"
    "  --no-default-model        with no model given, serve none instead of the built-in\n"
    "                            one (/health, /metrics, /v1/models and keys still work)\n"
    "  --upstream NAME=URL[,model=REMOTE][,key-env=VAR]\n"
    "                            serve NAME by forwarding to the OpenAI-compatible server at\n"
    "                            URL (e.g. http://10.0.0.2:8000/v1), as model REMOTE (default\n"
    "                            NAME), with the API key in environment variable VAR\n"
    "  --config FILE             JSON settings (see README: host, port, db, models, ...)\n"
    "  --host ADDR               address to listen on (default 127.0.0.1)\n"
    "  --port N                  port (default 8080; 0 = any free port)\n"
    "  --db FILE                 SQLite store for keys and responses (default\n"
    "                            $DELIBERATE_DB or deliberate.db)\n"
    "  --no-auth                 accept requests without a key (loopback addresses only)\n"
    "  --allow-raw-reasoning     let requests ask for the raw reasoning (include_reasoning)\n"
    "  --parallel N              sequences a local model serves at once (default 4)\n"
    "  --max-concurrent N        requests in flight before answering 429 (default 64)\n"
    "  --max-body BYTES          request body limit (default 4194304)\n"
    "  --idle-timeout S          drop a client silent for S seconds (default 60)\n"
    "  -c, --ctx-size N          context per sequence (default: min(model's, 4096))\n"
    "  -t, --threads N           threads (default: number of cores)\n"
    "  --kv-type T               KV cache: f32 (default) or f16\n"
    "  --chat-format NAME        prompt format for local models instead of the recognised one\n"
    "  --port-file FILE          write the port listened on to FILE once ready (for scripts)\n"
    "  --no-safety               no safety stack: no input/output checks, /v1/moderations 501\n"
    "  --classifier FILE         stage-1 safety weights (default: models/safety/classifier.bin)\n"
    "  --safety-policy FILE      a policy for the stage-2 reasoner (repeatable; needs\n"
    "                            --safety-model)\n"
    "  --safety-model NAME       the served model that reasons over the policies\n";

typedef struct model_spec {
    char *name;
    char *path;      /* local */
    char *url;       /* upstream */
    char *remote;
    char *key_env;
    dl_chat_format format;
} model_spec;

typedef struct serve_opts {
    char *host, *db, *port_file, *classifier, *safety_model;
    char *policies[16];
    size_t n_policies;
    bool no_safety;
    long port, parallel, max_concurrent, max_body, idle_timeout, n_ctx, n_threads;
    int kv_type;
    bool no_auth, allow_raw, no_default_model;
    char *no_model_why; /* why no model is served (the default was not found) */
    dl_chat_format format;
    model_spec *models;
    size_t n_models;
} serve_opts;

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = v ? dl_xstrdup(v) : NULL;
}

static model_spec *add_model(serve_opts *o)
{
    o->models = dl_xrealloc(o->models, (o->n_models + 1) * sizeof(model_spec));
    model_spec *m = &o->models[o->n_models++];
    memset(m, 0, sizeof(*m));
    return m;
}

/* "NAME=PATH" or "PATH". */
static int parse_model_arg(serve_opts *o, const char *v)
{
    model_spec *m = add_model(o);
    const char *eq = strchr(v, '=');
    if (eq && eq != v) {
        m->name = dl_xstrndup(v, (size_t)(eq - v));
        m->path = dl_xstrdup(eq + 1);
    } else {
        m->path = dl_xstrdup(v);
        const char *base = strrchr(v, '/');
        base = base ? base + 1 : v;
        size_t n = strlen(base);
        if (n > 5 && !strcmp(base + n - 5, ".gguf")) n -= 5;
        m->name = dl_xstrndup(base, n);
    }
    if (!m->path[0] || !m->name[0]) return cli_usage_error("serve", "-m: '%s' is not NAME=PATH", v);
    return 0;
}

/* "NAME=URL[,model=REMOTE][,key-env=VAR]". */
static int parse_upstream_arg(serve_opts *o, const char *v)
{
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || !eq[1]) return cli_usage_error("serve", "--upstream: '%s' is not NAME=URL", v);
    model_spec *m = add_model(o);
    m->name = dl_xstrndup(v, (size_t)(eq - v));
    char *rest = dl_xstrdup(eq + 1), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(rest, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!m->url) m->url = dl_xstrdup(tok);
        else if (!strncmp(tok, "model=", 6)) m->remote = dl_xstrdup(tok + 6);
        else if (!strncmp(tok, "key-env=", 8)) m->key_env = dl_xstrdup(tok + 8);
        else rc = cli_usage_error("serve", "--upstream: unknown setting '%s' (model=, key-env=)", tok);
    }
    free(rest);
    if (rc == 0 && strncmp(m->url, "http://", 7) != 0 && strncmp(m->url, "https://", 8) != 0)
        rc = cli_usage_error("serve", "--upstream: '%s' is not an http(s) URL", m->url);
    return rc;
}

/* ---- config file ---- */

static int cfg_fail(const char *file, const char *key, const char *what)
{
    return cli_fail("%s: '%s' must be %s", file, key, what);
}

static int load_config(serve_opts *o, const char *file)
{
    json_error_t je;
    json_t *root = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!root) return cli_fail("%s: line %d column %d: %s", file, je.line, je.column, je.text);
    int rc = 0;
    if (!json_is_object(root)) {
        rc = cli_fail("%s: the configuration must be a JSON object", file);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "host") || !strcmp(key, "db")) {
            if (!json_is_string(v)) { rc = cfg_fail(file, key, "a string"); goto out; }
            set_str(!strcmp(key, "host") ? &o->host : &o->db, json_string_value(v));
        } else if (!strcmp(key, "no_auth") || !strcmp(key, "allow_raw_reasoning")) {
            if (!json_is_boolean(v)) { rc = cfg_fail(file, key, "true or false"); goto out; }
            *(!strcmp(key, "no_auth") ? &o->no_auth : &o->allow_raw) = json_is_true(v);
        } else if (!strcmp(key, "port") || !strcmp(key, "parallel") || !strcmp(key, "max_concurrent") ||
                   !strcmp(key, "max_body_bytes") || !strcmp(key, "idle_timeout_s") ||
                   !strcmp(key, "ctx_size") || !strcmp(key, "threads")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                rc = cfg_fail(file, key, "a non-negative integer");
                goto out;
            }
            long x = (long)json_integer_value(v);
            if (!strcmp(key, "port")) o->port = x;
            else if (!strcmp(key, "parallel")) o->parallel = x;
            else if (!strcmp(key, "max_concurrent")) o->max_concurrent = x;
            else if (!strcmp(key, "max_body_bytes")) o->max_body = x;
            else if (!strcmp(key, "idle_timeout_s")) o->idle_timeout = x;
            else if (!strcmp(key, "ctx_size")) o->n_ctx = x;
            else o->n_threads = x;
        } else if (!strcmp(key, "kv_type")) {
            const char *t = json_string_value(v);
            if (t && !strcmp(t, "f32")) o->kv_type = DL_TYPE_F32;
            else if (t && !strcmp(t, "f16")) o->kv_type = DL_TYPE_F16;
            else { rc = cfg_fail(file, key, "\"f32\" or \"f16\""); goto out; }
        } else if (!strcmp(key, "models")) {
            if (!json_is_array(v)) { rc = cfg_fail(file, key, "an array"); goto out; }
            size_t i;
            json_t *m;
            json_array_foreach(v, i, m) {
                const char *name = json_string_value(json_object_get(m, "name"));
                const char *path = json_string_value(json_object_get(m, "path"));
                const char *up = json_string_value(json_object_get(m, "upstream"));
                if (!name || (!path == !up)) {
                    rc = cli_fail("%s: models[%zu] needs \"name\" and one of \"path\" or \"upstream\"",
                                  file, i);
                    goto out;
                }
                model_spec *ms = add_model(o);
                ms->name = dl_xstrdup(name);
                if (path) ms->path = dl_xstrdup(path);
                if (up) ms->url = dl_xstrdup(up);
                const char *remote = json_string_value(json_object_get(m, "model"));
                const char *kenv = json_string_value(json_object_get(m, "api_key_env"));
                const char *fmt = json_string_value(json_object_get(m, "chat_format"));
                if (remote) ms->remote = dl_xstrdup(remote);
                if (kenv) ms->key_env = dl_xstrdup(kenv);
                if (fmt) {
                    dl_error err = {0};
                    if (dl_chat_format_parse(fmt, &ms->format, &err) != 0) {
                        rc = cli_fail("%s: models[%zu].chat_format: %s", file, i, err.msg);
                        goto out;
                    }
                }
            }
        } else {
            rc = cli_fail("%s: unknown setting '%s' (host, port, db, no_auth, allow_raw_reasoning, "
                          "parallel, max_concurrent, max_body_bytes, idle_timeout_s, ctx_size, "
                          "threads, kv_type, models)", file, key);
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

/* No model given: the built-in one as DL_DEFAULT_MODEL_NAME. When
 * $DELIBERATE_MODEL names a missing file that is an error (1); when the
 * built-in model is not there, the server runs without a model and
 * o->no_model_why says why. */
static int add_default_model(serve_opts *o)
{
    char path[4200];
    dl_error err = {0};
    if (!dl_default_model_path(path, sizeof path, &err)) {
        const char *env = getenv("DELIBERATE_MODEL");
        if (env && *env)
            return cli_fail("no model given (-m NAME=PATH or --upstream NAME=URL), and %s", err.msg);
        o->no_model_why = dl_xstrdup(err.msg);
        return 0;
    }
    model_spec *m = add_model(o);
    m->name = dl_xstrdup(DL_DEFAULT_MODEL_NAME);
    m->path = dl_xstrdup(path);
    return 0;
}

/* 0 ok, -1 help shown, 1 error (a bad config file), 2 usage error. */
static int parse(int argc, char **argv, serve_opts *o)
{
    o->port = 8080;
    o->parallel = 4;
    /* the config file first, so that flags override it */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config")) {
            int rc = load_config(o, argv[i + 1]);
            if (rc) return rc;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                               \
    do {                                                                           \
        if (!v) return cli_usage_error("serve", "option %s needs a value", a);    \
        i++;                                                                       \
    } while (0)
#define BAD(what) return cli_usage_error("serve", "%s: '%s' is not " what, a, v)
        int rc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(SERVE_HELP, stdout);
            return -1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            NEED_VALUE();
            if ((rc = parse_model_arg(o, v))) return rc;
        } else if (!strcmp(a, "--upstream")) {
            NEED_VALUE();
            if ((rc = parse_upstream_arg(o, v))) return rc;
        } else if (!strcmp(a, "--config")) {
            NEED_VALUE(); /* read above */
        } else if (!strcmp(a, "--host")) {
            NEED_VALUE();
            set_str(&o->host, v);
        } else if (!strcmp(a, "--port")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 0, 65535, &o->port)) BAD("a port from 0 to 65535");
        } else if (!strcmp(a, "--db")) {
            NEED_VALUE();
            set_str(&o->db, v);
        } else if (!strcmp(a, "--port-file")) {
            NEED_VALUE();
            set_str(&o->port_file, v);
        } else if (!strcmp(a, "--no-safety")) {
            o->no_safety = true;
        } else if (!strcmp(a, "--classifier")) {
            NEED_VALUE();
            set_str(&o->classifier, v);
        } else if (!strcmp(a, "--safety-model")) {
            NEED_VALUE();
            set_str(&o->safety_model, v);
        } else if (!strcmp(a, "--safety-policy")) {
            NEED_VALUE();
            if (o->n_policies == 16) return cli_usage_error("serve", "at most 16 --safety-policy files");
            o->policies[o->n_policies++] = dl_xstrdup(v);
        } else if (!strcmp(a, "--no-default-model")) {
            o->no_default_model = true;
        } else if (!strcmp(a, "--no-auth")) {
            o->no_auth = true;
        } else if (!strcmp(a, "--allow-raw-reasoning")) {
            o->allow_raw = true;
        } else if (!strcmp(a, "--parallel")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1, 64, &o->parallel)) BAD("a count from 1 to 64");
        } else if (!strcmp(a, "--max-concurrent")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1, 100000, &o->max_concurrent)) BAD("a count >= 1");
        } else if (!strcmp(a, "--max-body")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1024, 1L << 30, &o->max_body)) BAD("a size from 1024 bytes to 1 GiB");
        } else if (!strcmp(a, "--idle-timeout")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1, 86400, &o->idle_timeout)) BAD("a number of seconds >= 1");
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 0, 1 << 24, &o->n_ctx)) BAD("a context length");
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1, 256, &o->n_threads)) BAD("a thread count from 1 to 256");
        } else if (!strcmp(a, "--kv-type")) {
            NEED_VALUE();
            if (!strcmp(v, "f32")) o->kv_type = DL_TYPE_F32;
            else if (!strcmp(v, "f16")) o->kv_type = DL_TYPE_F16;
            else BAD("a KV cache type (f32 or f16)");
        } else if (!strcmp(a, "--chat-format")) {
            NEED_VALUE();
            dl_error err = {0};
            if (dl_chat_format_parse(v, &o->format, &err) != 0)
                return cli_usage_error("serve", "%s", err.msg);
        } else {
            return cli_usage_error("serve", "unknown argument '%s'", a);
        }
#undef NEED_VALUE
#undef BAD
    }
    if (o->n_policies && !o->safety_model)
        return cli_usage_error("serve", "--safety-policy needs --safety-model NAME (a served model)");
    if (!o->host) o->host = dl_xstrdup("127.0.0.1");
    if (!o->db) o->db = dl_xstrdup(getenv("DELIBERATE_DB") ? getenv("DELIBERATE_DB") : "deliberate.db");
    if (o->no_auth && !dl_server_host_is_loopback(o->host))
        return cli_usage_error("serve", "--no-auth is only allowed on a loopback address (127.0.0.1, "
                                        "::1), not %s", o->host);
    if (o->n_models == 0 && !o->no_default_model) {
        int rc = add_default_model(o);
        if (rc) return rc;
    }
    for (size_t i = 0; i < o->n_models; i++)
        for (size_t k = 0; k < i; k++)
            if (!strcmp(o->models[i].name, o->models[k].name))
                return cli_usage_error("serve", "the model name '%s' is used twice", o->models[i].name);
    return 0;
}

static void free_opts(serve_opts *o)
{
    for (size_t i = 0; i < o->n_models; i++) {
        model_spec *m = &o->models[i];
        free(m->name);
        free(m->path);
        free(m->url);
        free(m->remote);
        free(m->key_env);
    }
    free(o->models);
    for (size_t i = 0; i < o->n_policies; i++) free(o->policies[i]);
    free(o->classifier);
    free(o->safety_model);
    free(o->host);
    free(o->db);
    free(o->port_file);
    free(o->no_model_why);
}

int cli_serve(int argc, char **argv)
{
    serve_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc) {
        free_opts(&o);
        return rc == -1 ? 0 : rc;
    }
    dl_error err = {0};
    dl_server_model *models = dl_xcalloc(o.n_models ? o.n_models : 1, sizeof(*models));
    size_t n_loaded = 0;
    dl_store *store = NULL;
    dl_server *srv = NULL;
    dl_classifier *clf = NULL;
    dl_safety *safety = NULL;
    dl_policy policies[16];
    size_t n_policies = 0;
    rc = 1;
    store = dl_store_open(o.db, &err);
    if (!store) {
        cli_fail("%s", err.msg);
        goto out;
    }
    for (size_t i = 0; i < o.n_models; i++, n_loaded++) {
        model_spec *m = &o.models[i];
        dl_backend *b;
        if (m->path) {
            dl_local_opts lo = {0};
            lo.n_parallel = (int32_t)o.parallel;
            lo.n_ctx = (int32_t)o.n_ctx;
            lo.n_threads = (int)o.n_threads;
            lo.kv_type = o.kv_type;
            lo.format = m->format.id != DL_CHAT_UNKNOWN ? m->format : o.format;
            lo.progress = cli_progress;
            lo.progress_ud = (void *)m->name;
            b = dl_backend_local_open(m->path, &lo, &err);
        } else {
            dl_upstream_opts uo = {0};
            uo.base_url = m->url;
            uo.model = m->remote ? m->remote : m->name;
            uo.name = m->name;
            uo.api_key = m->key_env ? getenv(m->key_env) : NULL;
            if (m->key_env && !uo.api_key) {
                cli_fail("model %s: environment variable %s (its API key) is not set", m->name, m->key_env);
                goto out;
            }
            b = dl_backend_upstream_new(&uo, &err);
        }
        if (!b) {
            cli_fail("model %s: %s", m->name, err.msg);
            goto out;
        }
        models[i] = (dl_server_model){m->name, b};
    }
    /* the safety stack */
    if (!o.no_safety) {
        dl_error serr = {0};
        clf = o.classifier ? dl_classifier_load(o.classifier, &serr) : dl_classifier_load_default(&serr);
        if (!clf && o.classifier) {
            cli_fail("%s", serr.msg);
            goto out;
        }
        if (!clf) {
            fprintf(stderr, "deliberate: warning: the safety stack is off (%s); /v1/moderations will "
                            "answer 501. Pass --classifier FILE, or --no-safety to silence this.\n",
                    serr.msg);
        } else {
            dl_safety_config sc = {0};
            sc.classifier = clf;
            sc.max_escalation_share = 0.1f;
            for (; n_policies < o.n_policies; n_policies++) {
                if (dl_policy_load(o.policies[n_policies], &policies[n_policies], &err) != 0) {
                    cli_fail("%s", err.msg);
                    goto out;
                }
            }
            if (o.safety_model) {
                for (size_t i = 0; i < o.n_models; i++)
                    if (!strcmp(o.models[i].name, o.safety_model)) sc.reasoner = models[i].backend;
                if (!sc.reasoner) {
                    cli_fail("--safety-model %s is not one of the served models", o.safety_model);
                    goto out;
                }
                sc.policies = policies;
                sc.n_policies = n_policies;
            }
            safety = dl_safety_new(&sc, &err);
            if (!safety) {
                cli_fail("%s", err.msg);
                goto out;
            }
        }
    }
    dl_server_config cfg = {0};
    cfg.safety = safety;
    cfg.host = o.host;
    cfg.port = (int)o.port;
    cfg.no_auth = o.no_auth;
    cfg.store = store;
    cfg.models = models;
    cfg.n_models = o.n_models;
    cfg.max_body_bytes = (size_t)o.max_body;
    cfg.max_concurrent = (int)o.max_concurrent;
    cfg.idle_timeout_s = (int)o.idle_timeout;
    cfg.allow_raw_reasoning = o.allow_raw;

    /* SIGINT / SIGTERM are waited for below; every thread inherits the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    srv = dl_server_start(&cfg, &err);
    if (!srv) {
        cli_fail("%s", err.msg);
        goto out;
    }
    int port = dl_server_port(srv);
    fprintf(stderr, "deliberate: serving on http://%s:%d (store %s%s%s)\n", o.host, port, o.db,
            o.no_auth ? ", no authentication" : "", safety ? ", safety stack on" : ", safety stack off");
    if (o.n_models == 0 && o.no_model_why)
        fprintf(stderr, "deliberate: warning: no model given (-m NAME=PATH or --upstream NAME=URL), "
                        "and %s\n", o.no_model_why);
    if (o.n_models == 0)
        fprintf(stderr, "deliberate: no model is configured: /v1/chat/completions and /v1/responses "
                        "need one (-m NAME=PATH or --upstream NAME=URL); /health, /metrics, "
                        "/v1/models and /v1/responses/{id} work without\n");
    for (size_t i = 0; i < o.n_models; i++)
        fprintf(stderr, "deliberate: model %s (%s)\n", o.models[i].name,
                o.models[i].path ? o.models[i].path : o.models[i].url);
    if (o.port_file) {
        FILE *f = fopen(o.port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "deliberate: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
out:
    dl_server_stop(srv);
    dl_safety_free(safety);
    for (size_t i = 0; i < n_policies; i++) dl_policy_free(&policies[i]);
    dl_classifier_free(clf);
    for (size_t i = 0; i < n_loaded; i++) dl_backend_free(models[i].backend);
    free(models);
    dl_store_close(store);
    free_opts(&o);
    return rc;
}
