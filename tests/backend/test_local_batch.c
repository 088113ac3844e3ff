/* Continuous batching in the local backend, on the tiny random-weight Qwen3
 * from ../shared (QwQ format, so the model reasons from its first token):
 * several threads at once give exactly what each request gives alone; one
 * decode pass serves several requests; more requests than slots wait their
 * turn in arrival order; a prompt that overflows the context and a
 * cancelled request fail alone. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/testutil.h"
#include "backend/backend.h"

#define MODEL "models/tiny-qwen3-f32.gguf"

static dl_backend *open_model(int32_t n_parallel, int32_t n_ctx)
{
    dl_local_opts o = {0};
    o.n_parallel = n_parallel;
    o.n_ctx = n_ctx;
    o.n_threads = 2;
    dl_error err = {0};
    if (dl_chat_format_parse("qwq", &o.format, &err) != 0) fail_msg("%s", err.msg);
    dl_backend *b = dl_backend_local_open(dl_test_fixture(MODEL), &o, &err);
    if (!b) fail_msg("open: %s", err.msg);
    return b;
}

static dl_gen_params greedy(int32_t max_tokens, int32_t budget)
{
    dl_gen_params g = dl_gen_default_params();
    g.sampling.temperature = 0;
    g.max_tokens = max_tokens;
    g.reasoning_budget = budget;
    return g;
}

/* One request and what became of it. */
typedef struct job {
    dl_chat_msg msg;
    dl_gen_params g;
    int cancel_after; /* the sink says stop after this many tokens; 0 = never */
    int rc;
    dl_error err;
    dl_chat_result res;
    int n_tokens;      /* on_token calls */
    int finished_seen; /* requests finished when this one's first token came (-1 = none) */
} job;

typedef struct worker {
    dl_backend *b;
    job *jobs;
    size_t n_jobs;
} worker;

static atomic_int g_finished;   /* requests returned from dl_backend_chat */
static atomic_int g_max_active; /* largest stats.active seen from a sink */
static dl_backend *g_watched;

static bool on_token(void *ud, dl_channel ch, int32_t n_reasoning, int32_t n_completion)
{
    job *j = ud;
    if (j->n_tokens++ == 0) j->finished_seen = atomic_load(&g_finished);
    if (g_watched) {
        dl_backend_stats st;
        dl_backend_get_stats(g_watched, &st);
        int prev = atomic_load(&g_max_active);
        while (st.active > prev && !atomic_compare_exchange_weak(&g_max_active, &prev, st.active)) {
        }
    }
    return !(j->cancel_after > 0 && j->n_tokens >= j->cancel_after);
}

static void run_job(dl_backend *b, job *j)
{
    dl_chat_request req = {&j->msg, 1, j->g};
    dl_chat_sink sink = {NULL, on_token, j};
    j->n_tokens = 0;
    j->finished_seen = -1;
    dl_error_clear(&j->err);
    memset(&j->res, 0, sizeof(j->res));
    j->rc = dl_backend_chat(b, &req, &sink, &j->res, &j->err);
    atomic_fetch_add(&g_finished, 1);
}

static void *worker_main(void *p)
{
    worker *w = p;
    for (size_t i = 0; i < w->n_jobs; i++) run_job(w->b, &w->jobs[i]);
    return NULL;
}

/* Runs each worker's jobs in its own thread, all at once. */
static void run_workers(worker *w, size_t n)
{
    pthread_t *t = calloc(n, sizeof(*t));
    for (size_t i = 0; i < n; i++) assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    for (size_t i = 0; i < n; i++) pthread_join(t[i], NULL);
    free(t);
}

/* The same request's result, bit for bit: text, usage, finish, log-probabilities. */
static void assert_same(const job *a, const job *ref, const char *what)
{
    if (a->rc != 0) fail_msg("%s: %s", what, a->err.msg);
    assert_int_equal(ref->rc, 0);
    if (strcmp(a->res.reasoning, ref->res.reasoning) || strcmp(a->res.answer, ref->res.answer))
        fail_msg("%s: batched reasoning/answer differ from alone:\n[%s|%s]\n[%s|%s]", what,
                 a->res.reasoning, a->res.answer, ref->res.reasoning, ref->res.answer);
    assert_int_equal(a->res.usage.prompt_tokens, ref->res.usage.prompt_tokens);
    assert_int_equal(a->res.usage.completion_tokens, ref->res.usage.completion_tokens);
    assert_int_equal(a->res.usage.reasoning_tokens, ref->res.usage.reasoning_tokens);
    assert_int_equal(a->res.finish, ref->res.finish);
    assert_int_equal(a->res.n_sampled, ref->res.n_sampled);
    assert_int_equal(a->res.n_forced_closes, ref->res.n_forced_closes);
    assert_int_equal(a->res.n_continuations, ref->res.n_continuations);
    if (a->res.logprob_sum != ref->res.logprob_sum)
        fail_msg("%s: logprob_sum %.17g batched vs %.17g alone", what, a->res.logprob_sum,
                 ref->res.logprob_sum);
}

static const char *const PROMPTS[] = {
    "What is 17 * 23?", "Tell me a story.", "Name three rivers.", "Why is the sky blue?",
    "Count to ten.", "Write a haiku about rain.", "hi", "Explain recursion briefly.",
    "What day is it?", "Translate 'cat' to French.", "Is 91 prime?", "Summarise the plot of Hamlet.",
};

/* Request k of the mix: prompts, lengths and budgets vary. (The random
 * model never closes its reasoning by itself, so continuation cues never
 * fire; the take-back path is reached through a budget that leaves no room
 * for the closing text, see below.) */
static void make_job(job *j, size_t k)
{
    memset(j, 0, sizeof(*j));
    j->msg = (dl_chat_msg){DL_ROLE_USER, PROMPTS[k % DL_ARRAY_LEN(PROMPTS)], NULL, NULL};
    const int32_t max_tokens[] = {24, 40, 17, 60, 33};
    const int32_t budgets[] = {-1, 0, 5, 12, 30};
    j->g = greedy(max_tokens[k % 5], budgets[(k / 2) % 5]);
    if (k % 3 == 1) /* the closing text does not fit: it is forced, then taken back */
        j->g.reasoning_budget = j->g.max_tokens - 1;
}

static void free_jobs(job *j, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (j[i].rc == 0) dl_chat_result_free(&j[i].res);
}

/* Reference results: each job alone on a one-slot backend. */
static void run_alone(job *jobs, size_t n)
{
    dl_backend *b = open_model(1, 512);
    for (size_t i = 0; i < n; i++) run_job(b, &jobs[i]);
    dl_backend_free(b);
}

enum { N_THREADS = 4, PER_THREAD = 3, N_JOBS = N_THREADS * PER_THREAD };

static void test_four_parallel_match_alone(void **state)
{
    DL_REQUIRE_FIXTURES();
    static job ref[N_JOBS], got[N_JOBS];
    for (size_t k = 0; k < N_JOBS; k++) {
        make_job(&ref[k], k);
        make_job(&got[k], k);
    }
    run_alone(ref, N_JOBS);

    dl_backend *b = open_model(4, 512);
    dl_backend_stats before, after;
    dl_backend_get_stats(b, &before);
    worker w[N_THREADS];
    for (size_t t = 0; t < N_THREADS; t++) w[t] = (worker){b, got + t * PER_THREAD, PER_THREAD};
    double t0 = dl_time_ms();
    run_workers(w, N_THREADS);
    double ms = dl_time_ms() - t0;
    dl_backend_get_stats(b, &after);

    int32_t total = 0, taken_back = 0, forced = 0;
    for (size_t k = 0; k < N_JOBS; k++) {
        char what[64];
        snprintf(what, sizeof(what), "request %zu", k);
        assert_same(&got[k], &ref[k], what);
        total += got[k].res.usage.completion_tokens;
        forced += got[k].res.n_forced_closes;
        if (got[k].res.n_forced_closes == 0 && got[k].res.finish == DL_FINISH_LENGTH &&
            got[k].res.usage.completion_tokens == got[k].g.max_tokens - 1)
            taken_back++;
    }
    /* the mix does exercise forcing and taking back */
    assert_true(forced > 0);
    assert_true(taken_back > 0);
    uint64_t tokens = after.tokens_generated - before.tokens_generated;
    uint64_t batches = after.batches - before.batches;
    assert_int_equal(tokens, (uint64_t)total);
    print_message("  %d tokens in %llu decode passes (%.2f per pass), %.0f tokens/s\n", total,
                  (unsigned long long)batches, (double)tokens / (double)batches,
                  1000.0 * (double)tokens / ms);
    /* alone it takes one pass per token plus one per prompt */
    assert_true(batches * 3 < tokens * 2);
    assert_int_equal(after.active, 0);
    assert_int_equal(after.queued, 0);
    free_jobs(ref, N_JOBS);
    free_jobs(got, N_JOBS);
    dl_backend_free(b);
}

/* 8 requests on 2 slots: all complete, at most 2 run at once, and slots go
 * in arrival order (a request never starts after one that arrived later
 * and started when fewer requests had finished). */
static void test_more_requests_than_slots(void **state)
{
    DL_REQUIRE_FIXTURES();
    enum { N = 8 };
    static job jobs[N];
    for (size_t k = 0; k < N; k++) {
        memset(&jobs[k], 0, sizeof(jobs[k]));
        jobs[k].msg = (dl_chat_msg){DL_ROLE_USER, PROMPTS[k], NULL, NULL};
        jobs[k].g = greedy(48, -1);
    }
    dl_backend *b = open_model(2, 256);
    g_watched = b;
    atomic_store(&g_finished, 0);
    atomic_store(&g_max_active, 0);
    worker w[N];
    pthread_t t[N];
    int max_queued = 0;
    for (size_t k = 0; k < N; k++) {
        w[k] = (worker){b, &jobs[k], 1};
        assert_int_equal(pthread_create(&t[k], NULL, worker_main, &w[k]), 0);
        /* the next one starts once this one is in the queue or running */
        for (;;) {
            dl_backend_stats st;
            dl_backend_get_stats(b, &st);
            if (st.queued > max_queued) max_queued = st.queued;
            if (st.active + st.queued + atomic_load(&g_finished) >= (int)k + 1) break;
            usleep(100);
        }
    }
    for (size_t k = 0; k < N; k++) pthread_join(t[k], NULL);
    g_watched = NULL;
    assert_int_equal(atomic_load(&g_finished), N);
    for (size_t k = 0; k < N; k++) {
        if (jobs[k].rc != 0) fail_msg("request %zu: %s", k, jobs[k].err.msg);
        assert_true(jobs[k].res.usage.completion_tokens > 0);
    }
    assert_true(max_queued >= 1); /* requests did wait */
    assert_true(atomic_load(&g_max_active) <= 2);
    for (size_t i = 0; i < N; i++)
        for (size_t k = i + 1; k < N; k++)
            if (jobs[i].finished_seen > jobs[k].finished_seen + 1)
                fail_msg("request %zu started after %zu finished, request %zu after %d", i,
                         (size_t)jobs[i].finished_seen, k, jobs[k].finished_seen);
    dl_backend_stats st;
    dl_backend_get_stats(b, &st);
    assert_int_equal(st.active, 0);
    assert_int_equal(st.queued, 0);
    free_jobs(jobs, N);
    dl_backend_free(b);
}

/* A prompt longer than the context fails (400) while the others go on; a
 * request that fills its sequence stops at the context size. */
static void test_overflow_fails_alone(void **state)
{
    DL_REQUIRE_FIXTURES();
    enum { N_CTX = 64 };
    static char long_text[600];
    memset(long_text, 'a', sizeof(long_text) - 1);
    for (size_t i = 0; i + 1 < sizeof(long_text); i += 2) long_text[i] = ' ';
    long_text[sizeof(long_text) - 1] = 0;

    static job ref[3], got[3], big[2];
    for (size_t k = 0; k < 3; k++) {
        make_job(&ref[k], k);
        ref[k].g = greedy(k == 2 ? 0 : 20, -1); /* the third runs until the context is full */
        got[k] = ref[k];
    }
    for (size_t k = 0; k < 2; k++) {
        memset(&big[k], 0, sizeof(big[k]));
        big[k].msg = (dl_chat_msg){DL_ROLE_USER, long_text, NULL, NULL};
        big[k].g = greedy(8, -1);
    }
    dl_backend *alone = open_model(1, N_CTX);
    for (size_t k = 0; k < 3; k++) run_job(alone, &ref[k]);
    dl_backend_free(alone);

    dl_backend *b = open_model(3, N_CTX);
    worker w[4] = {{b, &got[0], 1}, {b, &got[1], 1}, {b, &got[2], 1}, {b, big, 2}};
    run_workers(w, 4);
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(big[k].rc, -1);
        assert_int_equal(big[k].err.status, 400);
        assert_non_null(strstr(big[k].err.msg, "context"));
    }
    for (size_t k = 0; k < 3; k++) assert_same(&got[k], &ref[k], "beside an overflowing prompt");
    assert_int_equal(got[2].res.finish, DL_FINISH_LENGTH);
    assert_int_equal(got[2].res.usage.prompt_tokens + got[2].res.usage.completion_tokens, N_CTX);
    dl_backend_stats st;
    dl_backend_get_stats(b, &st);
    assert_int_equal(st.active, 0);
    free_jobs(ref, 3);
    free_jobs(got, 3);
    dl_backend_free(b);
}

/* One request cancelled by its sink; the others give what they give alone. */
static void test_cancel_does_not_disturb(void **state)
{
    DL_REQUIRE_FIXTURES();
    static job ref[4], got[4];
    for (size_t k = 0; k < 4; k++) make_job(&ref[k], k + 3);
    run_alone(ref, 3);
    for (size_t k = 0; k < 4; k++) {
        got[k] = ref[k];
        memset(&got[k].res, 0, sizeof(got[k].res));
    }
    got[3].g = greedy(60, -1);
    got[3].cancel_after = 5;

    dl_backend *b = open_model(4, 512);
    worker w[4] = {{b, &got[0], 1}, {b, &got[1], 1}, {b, &got[2], 1}, {b, &got[3], 1}};
    run_workers(w, 4);
    assert_int_equal(got[3].rc, 0);
    assert_int_equal(got[3].res.finish, DL_FINISH_CANCELLED);
    assert_int_equal(got[3].n_tokens, 5);
    for (size_t k = 0; k < 3; k++) assert_same(&got[k], &ref[k], "beside a cancelled request");
    /* the backend goes on serving */
    job again;
    make_job(&again, 3);
    run_job(b, &again);
    assert_same(&again, &ref[0], "after the batch");
    free_jobs(ref, 3);
    free_jobs(got, 4);
    free_jobs(&again, 1);
    dl_backend_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_parallel_match_alone),
        cmocka_unit_test(test_more_requests_than_slots),
        cmocka_unit_test(test_overflow_fails_alone),
        cmocka_unit_test(test_cancel_does_not_disturb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
