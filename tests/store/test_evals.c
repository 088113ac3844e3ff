/* Tests of the eval-run tables of the store: creating runs, finding the
 * unfinished one by configuration, sample puts (replace on the same key),
 * done keys, loading samples, finishing, listing with filters, and that the
 * data survives closing the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "store/store.h"

static dl_store *open_ok(const char *path) {
    dl_error err = {0};
    dl_store *s = dl_store_open(path, &err);
    if (!s) fail_msg("dl_store_open(%s): %d %s", path, err.status, err.msg);
    return s;
}

/* A run description with every required field (strings not owned). */
static dl_store_eval_run make_run(const char *eval, const char *model, const char *hash) {
    dl_store_eval_run r = {0};
    r.eval = (char *)eval;
    r.kind = (char *)"math";
    r.category = (char *)"reasoning";
    r.primary = (char *)"accuracy";
    r.model = (char *)model;
    snprintf(r.mitigation, sizeof r.mitigation, "pre");
    snprintf(r.effort, sizeof r.effort, "medium");
    r.n = 3;
    r.seed = 0xFFFFFFFFFFFFFFF0ull; /* above INT64_MAX: kept exactly */
    r.limit = 10;
    r.n_samples = 10;
    r.config_json = (char *)"{\"eval\":\"x\"}";
    snprintf(r.config_hash, sizeof r.config_hash, "%s", hash);
    return r;
}

static void create_ok(dl_store *s, dl_store_eval_run *r) {
    dl_error err = {0};
    if (dl_store_eval_run_create(s, r, &err) != 0) fail_msg("create: %s", err.msg);
    assert_int_equal(strncmp(r->id, "run_", 4), 0);
    assert_int_equal(strlen(r->id), 4 + 24);
}

static void test_run_create_get(void **state) {
    dl_store *s = open_ok(dl_test_fresh_db("evals1.db"));
    dl_store_eval_run r = make_run("gsm8k", "m1", "h1");
    create_ok(s, &r);
    dl_store_eval_run g;
    dl_error err = {0};
    assert_int_equal(dl_store_eval_run_get(s, r.id, &g, &err), 0);
    assert_string_equal(g.id, r.id);
    assert_string_equal(g.eval, "gsm8k");
    assert_string_equal(g.kind, "math");
    assert_string_equal(g.category, "reasoning");
    assert_string_equal(g.primary, "accuracy");
    assert_string_equal(g.model, "m1");
    assert_string_equal(g.mitigation, "pre");
    assert_string_equal(g.effort, "medium");
    assert_int_equal(g.n, 3);
    assert_true(g.seed == 0xFFFFFFFFFFFFFFF0ull);
    assert_int_equal(g.limit, 10);
    assert_int_equal(g.n_samples, 10);
    assert_string_equal(g.config_json, "{\"eval\":\"x\"}");
    assert_string_equal(g.config_hash, "h1");
    assert_int_equal(g.created_at, r.created_at);
    assert_int_equal(g.finished_at, 0);
    assert_false(g.complete);
    assert_null(g.metrics_json);
    dl_store_eval_run_free(&g);

    assert_int_equal(dl_store_eval_run_get(s, "run_nope", &g, &err), -1);
    assert_int_equal(err.status, 404);
    dl_store_eval_run bad = make_run("gsm8k", "m1", "h1");
    snprintf(bad.mitigation, sizeof bad.mitigation, "mid");
    assert_int_equal(dl_store_eval_run_create(s, &bad, &err), -1);
    assert_int_equal(err.status, 400);
    bad = make_run("", "m1", "h1");
    assert_int_equal(dl_store_eval_run_create(s, &bad, &err), -1);
    assert_int_equal(err.status, 400);
    dl_store_close(s);
}

static void put(dl_store *s, const char *run, const char *key, const char *resp, double score,
                const char *error) {
    dl_store_eval_sample x = {0};
    x.key = (char *)key;
    x.response = (char *)resp;
    x.grade_json = error ? NULL : (char *)"{\"score\":1}";
    x.score = score;
    x.attempts = 2;
    x.error = (char *)error;
    x.prompt_tokens = 11;
    x.completion_tokens = 22;
    x.reasoning_tokens = 7;
    dl_error err = {0};
    if (dl_store_eval_sample_put(s, run, &x, &err) != 0) fail_msg("put %s: %s", key, err.msg);
}

static void test_samples_and_resume_lookup(void **state) {
    const char *path = dl_test_fresh_db("evals2.db");
    dl_store *s = open_ok(path);
    dl_store_eval_run a = make_run("gsm8k", "m1", "hashA");
    create_ok(s, &a);
    put(s, a.id, "k2", "two", 1, NULL);
    put(s, a.id, "k1", "one", 0, NULL);
    put(s, a.id, "k3", NULL, 0, "backend: 500 boom");
    put(s, a.id, "k1", "one again", 1, NULL); /* replaces */
    dl_store_close(s);

    s = open_ok(path); /* durable across close */
    dl_error err = {0};
    char **keys;
    size_t nk;
    assert_int_equal(dl_store_eval_done_keys(s, a.id, &keys, &nk, &err), 0);
    assert_int_equal(nk, 2); /* the failed k3 is not done */
    assert_string_equal(keys[0], "k1");
    assert_string_equal(keys[1], "k2");
    dl_store_eval_keys_free(keys, nk);

    dl_store_eval_sample *v;
    size_t n;
    assert_int_equal(dl_store_eval_samples_load(s, a.id, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].key, "k1");
    assert_string_equal(v[0].response, "one again");
    assert_true(v[0].score == 1.0);
    assert_string_equal(v[0].grade_json, "{\"score\":1}");
    assert_int_equal(v[0].attempts, 2);
    assert_int_equal(v[0].prompt_tokens, 11);
    assert_int_equal(v[0].completion_tokens, 22);
    assert_int_equal(v[0].reasoning_tokens, 7);
    assert_null(v[0].error);
    assert_string_equal(v[2].key, "k3");
    assert_null(v[2].response);
    assert_null(v[2].grade_json);
    assert_string_equal(v[2].error, "backend: 500 boom");
    dl_store_eval_samples_free(v, n);

    /* unknown run: 404 */
    dl_store_eval_sample x = {.key = (char *)"k", .response = (char *)"r"};
    assert_int_equal(dl_store_eval_sample_put(s, "run_missing", &x, &err), -1);
    assert_int_equal(err.status, 404);

    /* the latest unfinished run with the hash */
    dl_store_eval_run b = make_run("gsm8k", "m1", "hashA");
    create_ok(s, &b);
    dl_store_eval_run f;
    assert_int_equal(dl_store_eval_run_find_unfinished(s, "hashA", &f, &err), 0);
    assert_string_equal(f.id, b.id);
    dl_store_eval_run_free(&f);
    assert_int_equal(dl_store_eval_run_finish(s, b.id, "{\"accuracy\":{\"value\":0.5}}", true, &err), 0);
    assert_int_equal(dl_store_eval_run_find_unfinished(s, "hashA", &f, &err), 0);
    assert_string_equal(f.id, a.id);
    dl_store_eval_run_free(&f);
    /* finishing incomplete keeps it findable, with metrics */
    assert_int_equal(dl_store_eval_run_finish(s, a.id, "{}", false, &err), 0);
    assert_int_equal(dl_store_eval_run_find_unfinished(s, "hashA", &f, &err), 0);
    assert_string_equal(f.id, a.id);
    assert_string_equal(f.metrics_json, "{}");
    assert_int_equal(f.finished_at, 0);
    dl_store_eval_run_free(&f);
    assert_int_equal(dl_store_eval_run_finish(s, a.id, "{}", true, &err), 0);
    assert_int_equal(dl_store_eval_run_find_unfinished(s, "hashA", &f, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(dl_store_eval_run_find_unfinished(s, "other", &f, &err), -1);
    assert_int_equal(err.status, 404);

    assert_int_equal(dl_store_eval_run_get(s, b.id, &f, &err), 0);
    assert_true(f.complete);
    assert_true(f.finished_at > 0);
    assert_string_equal(f.metrics_json, "{\"accuracy\":{\"value\":0.5}}");
    dl_store_eval_run_free(&f);
    assert_int_equal(dl_store_eval_run_finish(s, "run_x", "{}", true, &err), -1);
    assert_int_equal(err.status, 404);
    dl_store_close(s);
}

static void test_list_filters(void **state) {
    dl_store *s = open_ok(dl_test_fresh_db("evals3.db"));
    dl_store_eval_run r1 = make_run("gsm8k", "m1", "h1");
    dl_store_eval_run r2 = make_run("aime", "m1", "h2");
    dl_store_eval_run r3 = make_run("gsm8k", "m2", "h3");
    create_ok(s, &r1);
    create_ok(s, &r2);
    create_ok(s, &r3);
    dl_error err = {0};
    dl_store_eval_run *v;
    size_t n;
    assert_int_equal(dl_store_eval_runs_list(s, NULL, NULL, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, r3.id); /* latest first */
    assert_string_equal(v[2].id, r1.id);
    dl_store_eval_runs_free(v, n);
    assert_int_equal(dl_store_eval_runs_list(s, NULL, "m1", NULL, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, r2.id);
    dl_store_eval_runs_free(v, n);
    assert_int_equal(dl_store_eval_runs_list(s, NULL, "m1", "gsm8k", &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, r1.id);
    dl_store_eval_runs_free(v, n);
    char ids[200];
    snprintf(ids, sizeof ids, "%s, %s", r1.id, r3.id);
    assert_int_equal(dl_store_eval_runs_list(s, ids, NULL, NULL, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, r3.id);
    assert_string_equal(v[1].id, r1.id);
    dl_store_eval_runs_free(v, n);
    assert_int_equal(dl_store_eval_runs_list(s, NULL, "nobody", NULL, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    dl_store_eval_runs_free(v, n);
    dl_store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_create_get),
        cmocka_unit_test(test_samples_and_resume_lookup),
        cmocka_unit_test(test_list_filters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
