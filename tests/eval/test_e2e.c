/* End-to-end eval cases: every tests/eval/cases/<eval>.json runs its eval
 * through the real runner (dl_eval_run) against a scripted backend whose
 * replies are chosen by substrings of the last user message, with a
 * scripted judge chosen by substrings of the judge prompt, on mini datasets
 * (tests/eval/data), and every metric listed in the case must equal the
 * value computed by hand (within 1e-9). One cmocka test per case file.
 *
 * Case file: {"eval", "data_dir", "replies": [[substring, reply], ...],
 *             "judge_replies": [[substring, output], ...], "options":
 *             {"effort", "n", "safety", "seed", "limit", "concurrency"},
 *             "metrics": {name: value}, "why": "..."} */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "eval/eval.h"

#define CASES_DIR "tests/eval/cases"

#define TOLERANCE 1e-9

/* A scripted reply table: the first pair whose substring occurs in the
 * text looked at wins; misses are counted and remembered. */
typedef struct table {
    const json_t *pairs;   /* [[substring, reply], ...] */
    bool judge;            /* look at every message (the judge prompt), else the last user one */
    pthread_mutex_t mu;
    int misses;
    char first_miss[200];
} table;

static const char *reply_for(void *ud, const dl_chat_request *req) {
    table *t = ud;
    dl_buf text = {0};
    for (size_t i = 0; i < req->n_msgs; i++) {
        const dl_chat_msg *m = &req->msgs[i];
        if (!m->content) continue;
        if (t->judge) {
            dl_buf_printf(&text, "%s\n", m->content);
        } else if (m->role == DL_ROLE_USER) {
            text.len = 0;
            dl_buf_printf(&text, "%s", m->content);
        }
    }
    const char *s = text.data ? text.data : "";
    size_t i;
    json_t *pair;
    const char *found = NULL;
    json_array_foreach(t->pairs, i, pair) {
        const char *sub = json_string_value(json_array_get(pair, 0));
        if (sub && strstr(s, sub)) {
            found = json_string_value(json_array_get(pair, 1));
            break;
        }
    }
    if (!found) {
        pthread_mutex_lock(&t->mu);
        if (!t->misses++) snprintf(t->first_miss, sizeof t->first_miss, "%.199s", s);
        pthread_mutex_unlock(&t->mu);
        found = "";
    }
    dl_buf_free(&text);
    return found;
}

static dl_backend *scripted_table(table *t, const json_t *pairs, bool judge) {
    memset(t, 0, sizeof *t);
    t->pairs = pairs;
    t->judge = judge;
    pthread_mutex_init(&t->mu, NULL);
    static const char *const none[] = {""};
    dl_scripted_opts so = {0};
    so.replies = none;
    so.n_replies = 1;
    so.reply_for = reply_for;
    so.reply_ud = t;
    return dl_backend_scripted_new(&so);
}

static const char *db_path(const char *name) {
    char file[300];
    snprintf(file, sizeof file, "e2e-%s.db", name);
    return dl_test_fresh_db(file);
}

/* Runs one case file; fails the test naming the case and metric. */
static void run_case(void **state) {
    const char *path = *state;
    json_error_t je;
    json_t *c = json_load_file(path, 0, &je);
    if (!c) fail_msg("%s: line %d: %s", path, je.line, je.text);
    const char *eval = json_string_value(json_object_get(c, "eval"));
    const char *data_dir = json_string_value(json_object_get(c, "data_dir"));
    json_t *replies = json_object_get(c, "replies"), *jr = json_object_get(c, "judge_replies");
    json_t *opts = json_object_get(c, "options"), *want = json_object_get(c, "metrics");
    if (!eval || !json_is_array(replies) || !json_is_object(want))
        fail_msg("%s: needs \"eval\", \"replies\" and \"metrics\"", path);

    dl_error err = {0};
    /* evals/<name>.json directly when it exists (a listing would load
     * every definition), else the lookup by name */
    dl_eval_def d;
    char def_path[600];
    snprintf(def_path, sizeof def_path, "evals/%s.json", eval);
    int drc = !strchr(eval, '/') && access(def_path, R_OK) == 0 ? dl_eval_def_load(def_path, &d, &err)
                                                                 : dl_eval_def_find(eval, &d, &err);
    if (drc) fail_msg("%s: %s", path, err.msg);
    table bt, jt;
    dl_backend *b = scripted_table(&bt, replies, false);
    dl_backend *judge = json_is_array(jr) ? scripted_table(&jt, jr, true) : NULL;
    dl_classifier *clf = NULL;
    dl_safety *sf = NULL;
    if (json_is_true(json_object_get(opts, "safety"))) {
        clf = dl_classifier_load_default(&err);
        if (!clf) fail_msg("%s: safety classifier: %s", path, err.msg);
        dl_safety_config sc = {0};
        sc.classifier = clf;
        sf = dl_safety_new(&sc, &err);
        if (!sf) fail_msg("%s: safety: %s", path, err.msg);
    }
    dl_store *st = dl_store_open(db_path(d.name), &err);
    if (!st) fail_msg("%s: store: %s", path, err.msg);

    dl_eval_run_opts o = {0};
    o.model_name = "scripted";
    o.backend = b;
    o.safety = sf;
    o.grade.judge = judge;
    o.grade.classifier = clf;
    o.effort = DL_EFFORT_MEDIUM;
    const char *effort = json_string_value(json_object_get(opts, "effort"));
    if (effort && dl_effort_parse(effort, &o.effort, &err)) fail_msg("%s: %s", path, err.msg);
    json_t *v;
    o.n = (v = json_object_get(opts, "n")) ? (int)json_integer_value(v) : 1;
    o.seed = (v = json_object_get(opts, "seed")) ? (uint64_t)json_integer_value(v) : 0;
    o.limit = (v = json_object_get(opts, "limit")) ? json_integer_value(v) : 0;
    o.concurrency = (v = json_object_get(opts, "concurrency")) ? (int)json_integer_value(v) : 2;
    o.retries = 0;
    o.data_dir = data_dir;
    dl_eval_run_result r;
    if (dl_eval_run(st, &d, &o, &r, &err)) fail_msg("%s: run: %d %s", path, err.status, err.msg);

    int bad = 0;
    if (bt.misses) {
        print_error("%s: %d request(s) matched no reply, e.g. the message:\n  %s\n", path, bt.misses,
                    bt.first_miss);
        bad++;
    }
    if (judge && jt.misses) {
        print_error("%s: %d judge prompt(s) matched no judge reply, e.g.:\n  %s\n", path, jt.misses,
                    jt.first_miss);
        bad++;
    }
    if (r.n_failed || !r.complete) {
        print_error("%s: %lld of %lld samples failed (complete: %d)\n", path, (long long)r.n_failed,
                    (long long)r.n_samples, r.complete);
        bad++;
    }
    const char *name;
    json_t *val;
    json_object_foreach(want, name, val) {
        const dl_metric *m = NULL;
        for (size_t i = 0; i < r.n_metrics; i++)
            if (!strcmp(r.metrics[i].name, name)) m = &r.metrics[i];
        if (!m) {
            print_error("%s: metric %s: missing from the run's metrics\n", path, name);
            bad++;
        } else if (!json_is_number(val) || fabs(m->value - json_number_value(val)) > TOLERANCE) {
            print_error("%s: metric %s: got %.12g, want %.12g\n", path, name, m->value,
                        json_number_value(val));
            bad++;
        }
    }
    if (bad) {
        print_error("%s: the run's metrics:", path);
        for (size_t i = 0; i < r.n_metrics; i++)
            print_error(" %s=%.12g", r.metrics[i].name, r.metrics[i].value);
        print_error("\n");
    }
    dl_eval_run_result_free(&r);
    dl_store_close(st);
    dl_safety_free(sf);
    dl_classifier_free(clf);
    dl_backend_free(b);
    pthread_mutex_destroy(&bt.mu);
    if (judge) {
        dl_backend_free(judge);
        pthread_mutex_destroy(&jt.mu);
    }
    dl_eval_def_free(&d);
    json_decref(c);
    if (bad) fail_msg("%s: %d check(s) failed", path, bad);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    DIR *dh = opendir(CASES_DIR);
    if (!dh) {
        fprintf(stderr, "%s: cannot open (run from the repository root)\n", CASES_DIR);
        return 1;
    }
    char **paths = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dh))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 6 || strcmp(e->d_name + l - 5, ".json")) continue;
        paths = realloc(paths, (n + 1) * sizeof *paths);
        size_t cap = strlen(CASES_DIR) + l + 2;
        paths[n] = malloc(cap);
        snprintf(paths[n], cap, "%s/%s", CASES_DIR, e->d_name);
        n++;
    }
    closedir(dh);
    qsort(paths, n, sizeof *paths, cmp_str);
    struct CMUnitTest *tests = calloc(n ? n : 1, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = paths[i] + strlen(CASES_DIR) + 1;
        tests[i].test_func = run_case;
        tests[i].initial_state = paths[i];
    }
    int rc = _cmocka_run_group_tests("e2e", tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    free(tests);
    return rc;
}
