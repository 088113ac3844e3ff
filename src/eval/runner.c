/* eval/runner: dl_eval_run — one eval against one backend, resumable.
 *
 *   samples = kind.load(definition)      deterministic
 *   order   = by hash(seed, key)         the seeded order; the first `limit`
 *   run     = the latest unfinished run with the same configuration hash
 *             (or resume_id, or a new one)
 *   todo    = samples whose key has no graded result in the store
 *   workers (concurrency) answer, grade and store each todo sample
 *   metrics = kind.metrics(every stored graded sample of the run)
 *
 * The configuration hash covers the eval's name and definition file, the
 * model, mitigation, effort, n, seed, limit, max_tokens and data_dir:
 * anything that changes what a sample's stored result means. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner_int.h"

#define BACKOFF_MS 500.0

void dl_eval_run_result_free(dl_eval_run_result *r) {
    if (!r) return;
    free(r->metrics);
    r->metrics = NULL;
    r->n_metrics = 0;
}

/* ---- the seeded order ----------------------------------------------------- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct order_item {
    uint64_t h;
    size_t idx;
    const char *key;
} order_item;

static int cmp_order(const void *a, const void *b) {
    const order_item *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int cmp_key_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Indices of the run's samples in the seeded order, cut at limit; 500 when
 * the kind made two samples with one key. *sel malloc'd. */
static int select_samples(const dl_eval_samples *all, uint64_t seed, int64_t limit, size_t **sel,
                          size_t *n, dl_error *err) {
    *sel = NULL;
    *n = 0;
    order_item *it = dl_xcalloc(all->n ? all->n : 1, sizeof *it);
    const char **keys = dl_xcalloc(all->n ? all->n : 1, sizeof *keys);
    for (size_t i = 0; i < all->n; i++) {
        it[i] = (order_item){mix64(seed ^ mix64(dl_eval_hash_str(all->v[i].key))), i, all->v[i].key};
        keys[i] = all->v[i].key;
    }
    qsort(keys, all->n, sizeof *keys, cmp_key_ptr);
    for (size_t i = 1; i < all->n; i++) {
        if (!strcmp(keys[i - 1], keys[i])) {
            dl_error_set(err, 500, "two samples have the key '%s' (keys must be unique)", keys[i]);
            free(keys);
            free(it);
            return -1;
        }
    }
    free(keys);
    qsort(it, all->n, sizeof *it, cmp_order);
    size_t m = all->n;
    if (limit > 0 && (uint64_t)limit < m) m = (size_t)limit;
    *sel = dl_xcalloc(m ? m : 1, sizeof **sel);
    for (size_t i = 0; i < m; i++) (*sel)[i] = it[i].idx;
    *n = m;
    free(it);
    return 0;
}

/* ---- configuration ---------------------------------------------------------- */

/* The configuration document and its hash (hex of BLAKE2b-256 over the
 * document and the definition file's bytes). */
static void config_of(const dl_eval_def *d, const dl_eval_run_opts *o, char **json,
                      char hash[72]) {
    json_t *c = json_object();
    json_object_set_new(c, "eval", json_string(d->name));
    json_object_set_new(c, "model", json_string(o->model_name ? o->model_name : ""));
    json_object_set_new(c, "mitigation", json_string(o->safety ? "post" : "pre"));
    json_object_set_new(c, "effort", json_string(dl_effort_name(o->effort)));
    json_object_set_new(c, "n", json_integer(o->n > 0 ? o->n : 1));
    json_object_set_new(c, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(c, "limit", json_integer((json_int_t)o->limit));
    json_object_set_new(c, "max_tokens", json_integer(o->max_tokens));
    json_object_set_new(c, "data_dir", o->data_dir ? json_string(o->data_dir) : json_null());
    *json = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(c);

    size_t len = 0;
    char *def = d->path ? dl_read_file(d->path, &len, NULL) : NULL;
    if (!def) { /* a definition built in memory: its JSON */
        def = json_dumps(d->json, JSON_COMPACT | JSON_SORT_KEYS);
        len = def ? strlen(def) : 0;
    }
    if (sodium_init() < 0) dl_log(DL_LOG_WARN, "eval: libsodium did not initialise");
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)*json, strlen(*json));
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    if (def) crypto_generichash_update(&st, (const unsigned char *)def, len);
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(hash, 72, h, sizeof h);
    free(def);
}

/* Finds or creates the run; *run filled (owned strings). */
static int resolve_run(dl_store *st, const dl_eval_def *d, const dl_eval_run_opts *o,
                       const char *cfg, const char *hash, int64_t n_samples,
                       dl_store_eval_run *run, dl_error *err) {
    memset(run, 0, sizeof *run);
    if (o->resume_id && o->fresh) return dl_error_set(err, 400, "resume and fresh exclude each other");
    if (o->resume_id) {
        if (dl_store_eval_run_get(st, o->resume_id, run, err)) return -1;
        if (strcmp(run->config_hash, hash)) {
            dl_error_set(err, 409,
                         "run %s was made with another configuration (%s); resume it with the same "
                         "eval definition and options",
                         run->id, run->config_json ? run->config_json : "?");
            dl_store_eval_run_free(run);
            return -1;
        }
        return 0;
    }
    if (!o->fresh) {
        dl_error e = {0};
        if (dl_store_eval_run_find_unfinished(st, hash, run, &e) == 0) return 0;
        if (e.status != 404) {
            *err = e;
            return -1;
        }
    }
    dl_store_eval_run r = {0};
    r.eval = d->name;
    r.kind = d->kind;
    r.category = d->category;
    r.primary = d->primary;
    r.model = (char *)(o->model_name ? o->model_name : "");
    snprintf(r.mitigation, sizeof r.mitigation, "%s", o->safety ? "post" : "pre");
    snprintf(r.effort, sizeof r.effort, "%s", dl_effort_name(o->effort));
    r.n = o->n > 0 ? o->n : 1;
    r.seed = o->seed;
    r.limit = o->limit;
    r.n_samples = n_samples;
    r.config_json = (char *)cfg;
    snprintf(r.config_hash, sizeof r.config_hash, "%s", hash);
    if (dl_store_eval_run_create(st, &r, err)) return -1;
    return dl_store_eval_run_get(st, r.id, run, err);
}

/* ---- workers ------------------------------------------------------------------- */

typedef struct pool_state {
    const dl_eval_job *job;
    const dl_eval_samples *all;
    const size_t *todo;
    size_t n_todo;
    volatile int *stop;
    pthread_mutex_t mu;
    size_t next;
    int64_t done, failed;  /* counted from the start of the run (stored before included) */
    bool fatal;
    dl_error fatal_err;
    dl_eval_progress *prog;
} pool_state;

static void *worker(void *arg) {
    pool_state *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->fatal || (p->stop && *p->stop) || p->next >= p->n_todo;
        size_t i = stop ? 0 : p->todo[p->next++];
        pthread_mutex_unlock(&p->mu);
        if (stop) break;
        bool graded;
        dl_error e = {0};
        int rc = dl_eval_job_sample(p->job, &p->all->v[i], &graded, &e);
        pthread_mutex_lock(&p->mu);
        if (rc) {
            if (!p->fatal) p->fatal_err = e;
            p->fatal = true;
        } else if (graded) {
            p->done++;
        } else {
            p->failed++;
        }
        dl_eval_progress_update(p->prog, p->done, p->failed, false);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Runs the todo list on `threads` threads (the caller's included). */
static void run_pool(pool_state *p, int threads) {
    if (threads < 1) threads = 1;
    if ((size_t)threads > p->n_todo) threads = p->n_todo ? (int)p->n_todo : 1;
    pthread_t *th = dl_xcalloc((size_t)threads, sizeof *th);
    int started = 0;
    for (int t = 1; t < threads; t++)
        if (pthread_create(&th[t], NULL, worker, p) == 0) started = t;
        else break;
    worker(p);
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    free(th);
}

/* ---- metrics ---------------------------------------------------------------------- */

static int cmp_stored_key(const void *key, const void *elem) {
    return strcmp((const char *)key, ((const dl_store_eval_sample *)elem)->key);
}

/* Metrics over every graded sample of the run that belongs to the
 * selection (in selection order); counts done/failed. */
static int compute_metrics(dl_store *st, const char *run_id, const dl_eval_def *d,
                           const dl_eval_kind *kind, const dl_eval_samples *all,
                           const size_t *sel, size_t n_sel, dl_eval_run_result *out,
                           char **metrics_json, dl_error *err) {
    dl_store_eval_sample *rec;
    size_t n_rec;
    if (dl_store_eval_samples_load(st, run_id, &rec, &n_rec, err)) return -1;
    dl_eval_graded *g = dl_xcalloc(n_sel ? n_sel : 1, sizeof *g);
    json_t **grades = dl_xcalloc(n_sel ? n_sel : 1, sizeof *grades);
    size_t ng = 0;
    out->n_done = out->n_failed = 0;
    for (size_t i = 0; i < n_sel; i++) {
        const dl_eval_sample *s = &all->v[sel[i]];
        const dl_store_eval_sample *r =
            n_rec ? bsearch(s->key, rec, n_rec, sizeof *rec, cmp_stored_key) : NULL;
        if (!r) continue;
        if (r->error || !r->grade_json) {
            out->n_failed++;
            continue;
        }
        json_t *gj = json_loads(r->grade_json, 0, NULL);
        if (!json_is_object(gj)) {
            json_decref(gj);
            out->n_failed++;
            continue;
        }
        grades[ng] = gj;
        g[ng] = (dl_eval_graded){s, r->response ? r->response : "", gj};
        ng++;
        out->n_done++;
    }
    /* responses point into rec: metrics before freeing it */
    dl_metric *m = NULL;
    size_t nm = 0;
    int rc = kind->metrics(d, g, ng, &m, &nm, err);
    if (rc == 0) {
        bool has_primary = false;
        json_t *mj = json_object();
        for (size_t i = 0; i < nm; i++) {
            json_object_set_new(mj, m[i].name, dl_metric_to_json(&m[i]));
            has_primary |= !strcmp(m[i].name, d->primary);
        }
        if (!has_primary)
            dl_log(DL_LOG_WARN, "eval %s: the primary metric '%s' is not among the kind's metrics",
                   d->name, d->primary);
        *metrics_json = json_dumps(mj, JSON_COMPACT);
        json_decref(mj);
        out->metrics = m;
        out->n_metrics = nm;
    }
    for (size_t i = 0; i < ng; i++) json_decref(grades[i]);
    free(grades);
    free(g);
    dl_store_eval_samples_free(rec, n_rec);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------------- */

int dl_eval_run(dl_store *st, const dl_eval_def *d, const dl_eval_run_opts *o,
                dl_eval_run_result *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    if (!st || !d || !o || !o->backend)
        return dl_error_set(err, 400, "eval run: a store, a definition and a backend are required");
    if (o->limit < 0) return dl_error_set(err, 400, "limit must be >= 0 (got %lld)", (long long)o->limit);
    if (o->n < 0) return dl_error_set(err, 400, "n must be >= 1 (got %d)", o->n);
    const dl_eval_kind *kind = dl_eval_kind_find(d->kind);
    if (!kind) return dl_error_set(err, 400, "eval %s: kind '%s' is not in this build", d->name, d->kind);

    dl_eval_samples all = {0};
    size_t *sel = NULL, n_sel = 0, *todo = NULL, n_todo = 0;
    char *cfg = NULL, **done_keys = NULL, *metrics_json = NULL;
    size_t n_done_keys = 0;
    dl_store_eval_run run = {0};
    int rc = -1;
    char hash[72];

    if (kind->load(d, o->data_dir, o->seed, &all, err)) goto out;
    if (select_samples(&all, o->seed, o->limit, &sel, &n_sel, err)) goto out;
    config_of(d, o, &cfg, hash);
    if (resolve_run(st, d, o, cfg, hash, (int64_t)n_sel, &run, err)) goto out;
    snprintf(out->run_id, sizeof out->run_id, "%s", run.id);
    out->n_samples = (int64_t)n_sel;

    if (dl_store_eval_done_keys(st, run.id, &done_keys, &n_done_keys, err)) goto out;
    todo = dl_xcalloc(n_sel ? n_sel : 1, sizeof *todo);
    for (size_t i = 0; i < n_sel; i++) {
        const char *k = all.v[sel[i]].key;
        if (!n_done_keys || !bsearch(&k, done_keys, n_done_keys, sizeof *done_keys, cmp_key_ptr))
            todo[n_todo++] = sel[i];
    }

    dl_eval_job job = {0};
    job.d = d;
    job.kind = kind;
    job.o = o;
    job.st = st;
    job.run_id = run.id;
    job.backoff_ms = BACKOFF_MS;
    job.rp = dl_reason_default_params();
    job.rp.effort = o->effort;
    job.rp.budgets = dl_effort_budgets_for(o->backend);
    job.rp.n = o->n > 0 ? o->n : 1;
    job.rp.strategy = DL_STRATEGY_VOTE;
    job.rp.summary = DL_SUMMARY_OFF;
    const char *ex = dl_json_str(d->json, "extract");
    if (ex && dl_extract_kind_parse(ex, &job.rp.extract, err)) goto out;
    job.gen = dl_gen_default_params();
    job.gen.max_tokens = o->max_tokens > 0 ? o->max_tokens : 0;

    dl_eval_progress prog;
    int64_t before = (int64_t)(n_sel - n_todo);
    dl_eval_progress_start(&prog, o->progress && n_todo > 0, d->name, (int64_t)n_sel, before);
    pool_state p = {0};
    p.job = &job;
    p.all = &all;
    p.todo = todo;
    p.n_todo = n_todo;
    p.stop = o->stop;
    p.done = before;
    p.prog = &prog;
    pthread_mutex_init(&p.mu, NULL);
    run_pool(&p, o->concurrency > 0 ? o->concurrency : 1);
    pthread_mutex_destroy(&p.mu);
    dl_eval_progress_update(&prog, p.done, p.failed, true);
    dl_eval_progress_end(&prog);
    if (p.fatal) {
        *err = p.fatal_err;
        goto out;
    }
    bool stopped = p.next < p.n_todo;

    if (compute_metrics(st, run.id, d, kind, &all, sel, n_sel, out, &metrics_json, err)) goto out;
    out->complete = !stopped && out->n_done == out->n_samples;
    if (dl_store_eval_run_finish(st, run.id, metrics_json, out->complete, err)) goto out;
    rc = 0;
out:
    if (rc) dl_eval_run_result_free(out);
    free(metrics_json);
    dl_store_eval_keys_free(done_keys, n_done_keys);
    dl_store_eval_run_free(&run);
    free(cfg);
    free(todo);
    free(sel);
    dl_eval_samples_free(&all);
    return rc;
}
