/* deliberate eval run: runs evals against a local GGUF or an
 * OpenAI-compatible server, with or without the safety stack, over a sweep
 * of efforts and sample counts (one run per combination), storing every
 * sample so an interrupted run resumes. Ctrl-C finishes the requests in
 * flight, leaves the run resumable and exits 130. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../eval/eval.h"
#include "cli.h"

static const char RUN_HELP[] =
    "usage: deliberate eval run EVAL... [options]\n"
    "       deliberate eval run --all [options]\n"
    "\n"
    "Runs each EVAL (a name from 'deliberate eval list' or a definition file)\n"
    "against a model and stores every sample's answer and grade. Running the\n"
    "same command again resumes the latest unfinished run with the same\n"
    "configuration; finished runs stay in the history.\n"
    "\n"
    "the model (one of; default: the built-in models/deliberate-mini.gguf or\n"
    "$DELIBERATE_MODEL):\n"
    "  -m FILE.gguf            a local GGUF (with --parallel N, -c/--ctx-size N,\n"
    "                          -t/--threads N, --kv-type f32|f16)\n"
    "  --upstream URL          an OpenAI-compatible server (e.g. http://host:8080/v1,\n"
    "                          or a running 'deliberate serve')\n"
    "  --upstream-model NAME   the model name sent upstream (required with --upstream)\n"
    "  --api-key KEY           sent as a bearer token (default $DELIBERATE_API_KEY)\n"
    "  --model-name NAME       the name runs are recorded under (default the backend's)\n"
    "\n"
    "mitigation and grading:\n"
    "  --safety                post-mitigation: questions and answers go through the\n"
    "                          safety stack (default classifier)\n"
    "  --policy FILE           a stage-2 policy for --safety (repeatable; needs --reasoner)\n"
    "  --reasoner FILE|URL     the stage-2 policy model (--reasoner-model NAME for a URL)\n"
    "  --judge FILE|URL        the judge for model-graded rubrics (--judge-model NAME for a URL)\n"
    "\n"
    "what is run:\n"
    "  --all                   every shipped eval\n"
    "  --effort LIST           reasoning efforts, comma-separated (none, minimal, low,\n"
    "                          medium, high; default medium)\n"
    "  --n LIST                samples per question with a majority vote, comma-separated\n"
    "                          (default 1); one run per effort x n: the test-time compute sweep\n"
    "  --limit N               the first N samples of the seeded order (default all)\n"
    "  --seed N                order and sampling seed (default 0)\n"
    "  --max-tokens N          per request (default the backend's)\n"
    "  --data-dir DIR          the datasets root (default ../shared/datasets or $DL_DATASETS)\n"
    "\n"
    "how it runs:\n"
    "  --concurrency N         requests in flight (default --parallel for -m, 4 upstream)\n"
    "  --retries N             attempts after a 5xx or 429, backoff 0.5 s doubling (default 3)\n"
    "  --db FILE               the results store (default $DELIBERATE_DB, else ./deliberate.db)\n"
    "  --resume RUN            resume this run (it must have the same configuration)\n"
    "  --new                   start a new run even if an unfinished one exists\n"
    "  --json                  one JSON object per run (metrics with 95% intervals)\n"
    "\n"
    "Exit status: 0 done, 1 error or failed samples, 2 usage, 130 interrupted.\n";

typedef struct run_args {
    const char **evals;
    size_t n_evals;
    bool all, json, safety, fresh;
    const char *model, *upstream, *upstream_model, *api_key, *model_name;
    const char *judge, *judge_model, *reasoner, *reasoner_model;
    const char **policies;
    size_t n_policies;
    dl_effort efforts[8];
    size_t n_efforts;
    int ns[16];
    size_t n_ns;
    long limit, concurrency, retries, max_tokens, parallel;
    uint64_t seed;
    const char *data_dir, *db, *resume;
    cli_engine_opts e;
} run_args;

static volatile int g_stop;

static void on_sigint(int sig) {
    (void)sig;
    g_stop = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

/* Parses "low,high" into a->efforts; 2 on a usage error. */
static int parse_efforts(const char *v, run_args *a) {
    char *copy = dl_xstrdup(v), *save = NULL;
    int rc = 0;
    a->n_efforts = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        dl_error err = {0};
        if (a->n_efforts == DL_ARRAY_LEN(a->efforts)) {
            rc = cli_usage_error("eval run", "--effort: at most %zu values", DL_ARRAY_LEN(a->efforts));
            break;
        }
        if (dl_effort_parse(t, &a->efforts[a->n_efforts], &err)) {
            rc = cli_usage_error("eval run", "--effort: %s", err.msg);
            break;
        }
        a->n_efforts++;
    }
    if (!rc && !a->n_efforts) rc = cli_usage_error("eval run", "--effort: empty list");
    free(copy);
    return rc;
}

static int parse_ns(const char *v, run_args *a) {
    char *copy = dl_xstrdup(v), *save = NULL;
    int rc = 0;
    a->n_ns = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long n;
        if (a->n_ns == DL_ARRAY_LEN(a->ns)) {
            rc = cli_usage_error("eval run", "--n: at most %zu values", DL_ARRAY_LEN(a->ns));
            break;
        }
        if (!cli_parse_long(t, 1, 64, &n)) {
            rc = cli_usage_error("eval run", "--n: '%s' is not a count from 1 to 64", t);
            break;
        }
        a->ns[a->n_ns++] = (int)n;
    }
    if (!rc && !a->n_ns) rc = cli_usage_error("eval run", "--n: empty list");
    free(copy);
    return rc;
}

/* 0 ok, 1 help shown, 2 usage error. */
static int parse(int argc, char **argv, run_args *a) {
    a->limit = 0;
    a->retries = 3;
    a->concurrency = 0;
    a->parallel = 0;
    a->efforts[0] = DL_EFFORT_MEDIUM;
    a->n_efforts = 1;
    a->ns[0] = 1;
    a->n_ns = 1;
    a->evals = dl_xcalloc((size_t)argc, sizeof *a->evals);
    a->policies = dl_xcalloc((size_t)argc, sizeof *a->policies);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED()                                                                                    \
    do {                                                                                         \
        if (!v) return cli_usage_error("eval run", "option %s needs a value", s);               \
        i++;                                                                                     \
    } while (0)
#define NUM(dst, lo, hi, what)                                                                   \
    do {                                                                                         \
        NEED();                                                                                  \
        if (!cli_parse_long(v, lo, hi, &(dst)))                                                  \
            return cli_usage_error("eval run", "%s: '%s' is not " what, s, v);                  \
    } while (0)
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(RUN_HELP, stdout);
            return 1;
        } else if (!strcmp(s, "-m") || !strcmp(s, "--model")) {
            NEED();
            a->model = v;
        } else if (!strcmp(s, "--upstream")) {
            NEED();
            a->upstream = v;
        } else if (!strcmp(s, "--upstream-model")) {
            NEED();
            a->upstream_model = v;
        } else if (!strcmp(s, "--api-key")) {
            NEED();
            a->api_key = v;
        } else if (!strcmp(s, "--model-name")) {
            NEED();
            a->model_name = v;
        } else if (!strcmp(s, "--safety")) {
            a->safety = true;
        } else if (!strcmp(s, "--policy")) {
            NEED();
            a->policies[a->n_policies++] = v;
        } else if (!strcmp(s, "--reasoner")) {
            NEED();
            a->reasoner = v;
        } else if (!strcmp(s, "--reasoner-model")) {
            NEED();
            a->reasoner_model = v;
        } else if (!strcmp(s, "--judge")) {
            NEED();
            a->judge = v;
        } else if (!strcmp(s, "--judge-model")) {
            NEED();
            a->judge_model = v;
        } else if (!strcmp(s, "--all")) {
            a->all = true;
        } else if (!strcmp(s, "--effort")) {
            NEED();
            int rc = parse_efforts(v, a);
            if (rc) return rc;
        } else if (!strcmp(s, "--n")) {
            NEED();
            int rc = parse_ns(v, a);
            if (rc) return rc;
        } else if (!strcmp(s, "--limit")) {
            NUM(a->limit, 0, 1L << 40, "a count");
        } else if (!strcmp(s, "--seed")) {
            NEED();
            if (!cli_parse_u64(v, &a->seed)) return cli_usage_error("eval run", "--seed: '%s' is not an unsigned integer", v);
        } else if (!strcmp(s, "--concurrency")) {
            NUM(a->concurrency, 1, 256, "a count from 1 to 256");
        } else if (!strcmp(s, "--parallel")) {
            NUM(a->parallel, 1, 256, "a count from 1 to 256");
        } else if (!strcmp(s, "--retries")) {
            NUM(a->retries, 0, 20, "a count from 0 to 20");
        } else if (!strcmp(s, "--max-tokens")) {
            NUM(a->max_tokens, 1, 1 << 24, "a token count");
        } else if (!strcmp(s, "--data-dir")) {
            NEED();
            a->data_dir = v;
        } else if (!strcmp(s, "--db")) {
            NEED();
            a->db = v;
        } else if (!strcmp(s, "--resume")) {
            NEED();
            a->resume = v;
        } else if (!strcmp(s, "--new")) {
            a->fresh = true;
        } else if (!strcmp(s, "--json")) {
            a->json = true;
        } else if (!strcmp(s, "--ctx")) {
            NUM(a->e.n_ctx, 0, 1 << 24, "a context length");
        } else if (!strcmp(s, "-c") || !strcmp(s, "--ctx-size") || !strcmp(s, "-t") ||
                   !strcmp(s, "--threads") || !strcmp(s, "--kv-type")) {
            if (cli_parse_engine_opt("eval run", argc, argv, &i, &a->e) != 1) return 2;
        } else if (s[0] == '-' && s[1]) {
            return cli_usage_error("eval run", "unknown option '%s'", s);
        } else {
            a->evals[a->n_evals++] = s;
        }
#undef NUM
#undef NEED
    }
    if (!a->n_evals && !a->all) return cli_usage_error("eval run", "name at least one eval (or --all)");
    if (a->n_evals && a->all) return cli_usage_error("eval run", "--all runs every eval: name none");
    if (a->model && a->upstream)
        return cli_usage_error("eval run", "give the model as -m FILE.gguf or --upstream URL, not both");
    if (a->upstream_model && !a->upstream)
        return cli_usage_error("eval run", "--upstream-model belongs to --upstream URL");
    if (a->upstream && !a->upstream_model)
        return cli_usage_error("eval run", "--upstream needs --upstream-model NAME");
    if (a->resume && a->fresh) return cli_usage_error("eval run", "--resume and --new exclude each other");
    if (a->resume && (a->n_evals + (a->all ? 2 : 0) != 1 || a->n_efforts * a->n_ns != 1))
        return cli_usage_error("eval run", "--resume RUN resumes one run: name one eval, one effort, one n");
    if (a->n_policies && !a->reasoner) return cli_usage_error("eval run", "--policy needs --reasoner");
    if ((a->n_policies || a->reasoner) && !a->safety)
        return cli_usage_error("eval run", "--policy/--reasoner belong to --safety");
    return 0;
}

static bool is_url(const char *s) { return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8); }

/* A backend from "FILE.gguf" or "URL" (+ remote model name). NULL after a
 * message. */
static dl_backend *open_backend(const char *what, const char *spec, const char *remote,
                                const char *api_key, const run_args *a, int parallel, bool quiet) {
    dl_error err = {0};
    dl_backend *b;
    if (is_url(spec)) {
        if (!remote) {
            cli_fail("%s %s: name the remote model (%s-model NAME)", what, spec, what);
            return NULL;
        }
        dl_upstream_opts uo = {0};
        uo.base_url = spec;
        uo.model = remote;
        uo.api_key = api_key;
        b = dl_backend_upstream_new(&uo, &err);
    } else {
        dl_local_opts lo = {0};
        lo.n_parallel = parallel;
        lo.n_ctx = (int32_t)a->e.n_ctx;
        lo.n_threads = (int)a->e.n_threads;
        lo.kv_type = a->e.kv_type;
        lo.progress = quiet ? NULL : cli_progress;
        lo.progress_ud = (void *)"loading";
        b = dl_backend_local_open(spec, &lo, &err);
    }
    if (!b) cli_fail("%s: %s", what, err.msg);
    return b;
}

/* Human output: one block per run. */
static void print_run(const dl_eval_def *d, const char *model, const run_args *a, dl_effort effort,
                      int n, const dl_eval_run_result *r) {
    printf("%s  %s  model=%s  %s  effort=%s  n=%d  %lld/%lld samples%s%s\n", r->run_id, d->name,
           model, a->safety ? "post-mitigation" : "pre-mitigation", dl_effort_name(effort), n,
           (long long)r->n_done, (long long)r->n_samples, r->complete ? "" : "  (unfinished)",
           r->n_failed ? "  FAILED SAMPLES" : "");
    if (r->n_failed)
        printf("  %lld sample(s) failed; 'deliberate eval show %s --samples' shows why, rerunning retries them\n",
               (long long)r->n_failed, r->run_id);
    printf("  %-28s %8s   %-19s %6s\n", "metric", "value", "95% CI", "n");
    for (size_t i = 0; i < r->n_metrics; i++) {
        const dl_metric *m = &r->metrics[i];
        printf("  %-28s %8.4f   [%.4f, %.4f] %6lld%s\n", m->name, m->value, m->lo, m->hi,
               (long long)m->n, strcmp(m->name, d->primary) ? "" : "  *");
    }
    fflush(stdout);
}

static void print_run_json(const dl_eval_def *d, const char *model, const run_args *a,
                           dl_effort effort, int n, const dl_eval_run_result *r) {
    json_t *metrics = json_object();
    for (size_t i = 0; i < r->n_metrics; i++)
        json_object_set_new(metrics, r->metrics[i].name, dl_metric_to_json(&r->metrics[i]));
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:b,s:o}", "run_id",
                          r->run_id, "eval", d->name, "category", d->category, "primary",
                          d->primary, "model", model, "mitigation", a->safety ? "post" : "pre", "n",
                          n, "seed", (json_int_t)a->seed, "limit", (json_int_t)a->limit,
                          "n_samples", (json_int_t)r->n_samples, "n_done", (json_int_t)r->n_done,
                          "n_failed", (json_int_t)r->n_failed, "complete", r->complete, "metrics",
                          metrics);
    json_object_set_new(j, "effort", json_string(dl_effort_name(effort)));
    json_dumpf(j, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(j);
}

/* The definitions to run (names/paths, or every one with --all). */
static int load_defs(const run_args *a, dl_eval_def **defs, size_t *n) {
    dl_error err = {0};
    if (a->all) {
        if (dl_eval_def_list(defs, n, &err)) return cli_fail("%s", err.msg);
        if (!*n) return cli_fail("no eval definitions found");
        return 0;
    }
    *defs = dl_xcalloc(a->n_evals, sizeof **defs);
    for (size_t i = 0; i < a->n_evals; i++) {
        if (dl_eval_def_find(a->evals[i], &(*defs)[i], &err)) {
            for (size_t k = 0; k < i; k++) dl_eval_def_free(&(*defs)[k]);
            free(*defs);
            *defs = NULL;
            *n = 0;
            return cli_fail("%s", err.msg);
        }
        *n = i + 1;
    }
    return 0;
}

typedef struct world {
    dl_backend *model, *judge, *reasoner;
    dl_classifier *clf;
    dl_policy *policies;
    size_t n_policies;
    dl_safety *safety;
    dl_store *store;
} world;

static void world_free(world *w) {
    dl_store_close(w->store);
    dl_safety_free(w->safety);
    for (size_t i = 0; i < w->n_policies; i++) dl_policy_free(&w->policies[i]);
    free(w->policies);
    dl_classifier_free(w->clf);
    dl_backend_free(w->reasoner);
    dl_backend_free(w->judge);
    dl_backend_free(w->model);
}

/* Opens the model, judge, safety stack and store. 0 or 1 after a message. */
static int world_open(const run_args *a, world *w) {
    memset(w, 0, sizeof *w);
    dl_error err = {0};
    const char *db = a->db ? a->db : getenv("DELIBERATE_DB");
    if (!db || !*db) db = "deliberate.db";
    if (!(w->store = dl_store_open(db, &err))) return cli_fail("%s", err.msg);
    const char *key = a->api_key ? a->api_key : getenv("DELIBERATE_API_KEY");
    int parallel = a->parallel ? (int)a->parallel : a->concurrency ? (int)a->concurrency : 1;
    bool quiet = a->json || !isatty(2);
    w->model = a->model ? open_backend("-m", a->model, NULL, NULL, a, parallel, quiet)
                        : open_backend("--upstream", a->upstream, a->upstream_model, key, a, 1, quiet);
    if (!w->model) return 1;
    if (a->judge && !(w->judge = open_backend("--judge", a->judge, a->judge_model, key, a, 1, quiet)))
        return 1;
    if (a->safety) {
        if (!(w->clf = dl_classifier_load_default(&err))) return cli_fail("--safety: %s", err.msg);
        if (a->reasoner &&
            !(w->reasoner = open_backend("--reasoner", a->reasoner, a->reasoner_model, key, a, 1, quiet)))
            return 1;
        w->policies = dl_xcalloc(a->n_policies ? a->n_policies : 1, sizeof *w->policies);
        for (size_t i = 0; i < a->n_policies; i++, w->n_policies++)
            if (dl_policy_load(a->policies[i], &w->policies[i], &err)) return cli_fail("--policy: %s", err.msg);
        dl_safety_config sc = {0};
        sc.classifier = w->clf;
        sc.reasoner = w->reasoner;
        sc.policies = w->policies;
        sc.n_policies = w->n_policies;
        if (!(w->safety = dl_safety_new(&sc, &err))) return cli_fail("--safety: %s", err.msg);
    }
    return 0;
}

int cli_eval_run(int argc, char **argv) {
    run_args a = {0};
    int rc = parse(argc, argv, &a);
    if (rc) {
        free(a.evals);
        free(a.policies);
        return rc == 1 ? 0 : rc;
    }
    dl_eval_def *defs = NULL;
    size_t n_defs = 0;
    world w = {0};
    char default_model[4200];
    if (!a.model && !a.upstream &&
        !(a.model = cli_default_model("-m FILE.gguf or --upstream URL", default_model,
                                      sizeof default_model))) {
        rc = 1;
        goto out_defs;
    }
    if ((rc = load_defs(&a, &defs, &n_defs)) || (rc = world_open(&a, &w))) {
        world_free(&w);
        goto out_defs;
    }
    const char *model = a.model_name ? a.model_name : dl_backend_name(w.model);
    g_stop = 0;
    void (*old)(int) = signal(SIGINT, on_sigint);
    int failed = 0, errors = 0;
    for (size_t i = 0; i < n_defs && !g_stop; i++) {
        bool broken = false; /* an eval that cannot run is skipped; the others go on */
        for (size_t ei = 0; ei < a.n_efforts && !broken && !g_stop; ei++) {
            for (size_t ni = 0; ni < a.n_ns && !broken && !g_stop; ni++) {
                dl_eval_run_opts o = {0};
                o.model_name = model;
                o.backend = w.model;
                o.safety = w.safety;
                o.grade.judge = w.judge;
                o.grade.classifier = w.clf;
                o.grade.seed = a.seed;
                o.effort = a.efforts[ei];
                o.n = a.ns[ni];
                o.seed = a.seed;
                o.limit = a.limit;
                o.concurrency = a.concurrency ? (int)a.concurrency : a.model ? (a.parallel ? (int)a.parallel : 1) : 4;
                o.retries = (int)a.retries;
                o.max_tokens = (int32_t)a.max_tokens;
                o.data_dir = a.data_dir;
                o.resume_id = a.resume;
                o.fresh = a.fresh;
                o.progress = !a.json && isatty(2);
                o.stop = &g_stop;
                dl_eval_run_result r;
                dl_error err = {0};
                if (dl_eval_run(w.store, &defs[i], &o, &r, &err)) {
                    cli_fail("eval %s: %s", defs[i].name, err.msg);
                    errors++;
                    broken = true;
                    break;
                }
                if (a.json) print_run_json(&defs[i], model, &a, o.effort, o.n, &r);
                else print_run(&defs[i], model, &a, o.effort, o.n, &r);
                failed += r.n_failed > 0;
                dl_eval_run_result_free(&r);
            }
        }
    }
    signal(SIGINT, old == SIG_ERR ? SIG_DFL : old);
    if (g_stop) {
        fprintf(stderr, "deliberate: interrupted; the run is stored and resumes when the same command runs again\n");
        rc = 130;
    } else if (errors || failed) {
        rc = 1;
    }
    world_free(&w);
out_defs:
    for (size_t i = 0; i < n_defs; i++) dl_eval_def_free(&defs[i]);
    free(defs);
    free(a.evals);
    free(a.policies);
    return rc;
}
