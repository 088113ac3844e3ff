/* Tests for src/sample: RNG, top-k selection, the sampler chain. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "sample/sample.h"

/* Params with every filter off and the given temperature. */
static dl_sampler_params plain(float temp, uint64_t seed) {
    dl_sampler_params p = dl_sampler_default_params();
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

static void random_logits(dl_rng *r, float *x, int n, float scale) {
    for (int i = 0; i < n; i++) x[i] = (float)(dl_rng_uniform(r) * 2.0 - 1.0) * scale;
}

static void test_rng(void **state) {
    dl_rng a, b, c;
    dl_rng_seed(&a, 42);
    dl_rng_seed(&b, 42);
    dl_rng_seed(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = dl_rng_next(&a), y = dl_rng_next(&b), z = dl_rng_next(&c);
        assert_true(x == y);
        same_c += x == z;
    }
    assert_int_equal(same_c, 0);
    /* uniform in [0,1) with mean ~0.5 */
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = dl_rng_uniform(&a);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    assert_true(fabs(sum / 100000 - 0.5) < 0.01);
    /* seed 0 does not give a stuck state */
    dl_rng_seed(&a, 0);
    assert_true(dl_rng_next(&a) != dl_rng_next(&a));
}

static int cmp_desc_idx(const float *x, int a, int b) {
    return x[a] > x[b] || (x[a] == x[b] && a < b);
}

static void test_top_k_indices(void **state) {
    dl_rng r;
    dl_rng_seed(&r, 7);
    enum { N = 1000 };
    float x[N];
    int32_t out[N], ref[N];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i++) x[i] = (float)(dl_rng_next(&r) % 50); /* many ties */
        /* reference: selection sort of all indices */
        for (int i = 0; i < N; i++) ref[i] = i;
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++)
                if (cmp_desc_idx(x, ref[j], ref[i])) {
                    int32_t t = ref[i];
                    ref[i] = ref[j];
                    ref[j] = t;
                }
        int k = 1 + (int)(dl_rng_next(&r) % N);
        dl_top_k_indices(x, N, k, out);
        for (int i = 0; i < k; i++) assert_int_equal(out[i], ref[i]);
    }
    /* k > n clamps; NaN ranks last */
    float y[4] = {1.0f, NAN, 3.0f, 1.0f};
    int32_t o[4] = {-1, -1, -1, -1};
    dl_top_k_indices(y, 4, 10, o);
    assert_int_equal(o[0], 2);
    assert_int_equal(o[1], 0);
    assert_int_equal(o[2], 3);
    assert_int_equal(o[3], 1);
    dl_top_k_indices(y, 4, 0, o); /* no-op */
}

static void test_determinism(void **state) {
    enum { V = 500, T = 300 };
    float logits[V];
    dl_rng r;
    dl_rng_seed(&r, 1);
    random_logits(&r, logits, V, 3.0f);
    dl_sampler_params p = dl_sampler_default_params();
    p.top_k = 0;
    p.repeat_penalty = 1.1f;
    int32_t seq[3][T];
    uint64_t seeds[3] = {123, 123, 124};
    for (int k = 0; k < 3; k++) {
        p.seed = seeds[k];
        dl_sampler *s = dl_sampler_new(&p, V);
        for (int t = 0; t < T; t++) {
            seq[k][t] = dl_sampler_sample(s, logits);
            assert_true(seq[k][t] >= 0 && seq[k][t] < V);
            dl_sampler_accept(s, seq[k][t]);
        }
        dl_sampler_free(s);
    }
    assert_memory_equal(seq[0], seq[1], sizeof seq[0]);
    assert_true(memcmp(seq[0], seq[2], sizeof seq[0]) != 0);
    /* reset replays the same sequence */
    p.seed = 123;
    dl_sampler *s = dl_sampler_new(&p, V);
    for (int t = 0; t < 10; t++) dl_sampler_accept(s, dl_sampler_sample(s, logits));
    dl_sampler_reset(s);
    for (int t = 0; t < T; t++) {
        int32_t id = dl_sampler_sample(s, logits);
        assert_int_equal(id, seq[0][t]);
        dl_sampler_accept(s, id);
    }
    dl_sampler_free(s);
}

static void test_greedy_ties(void **state) {
    float logits[10] = {0, 1, 2, 5, 1, 0, -3, 5, 4, 5};
    float temps[3] = {0.0f, -1.0f, -0.0f};
    for (int i = 0; i < 3; i++) {
        dl_sampler_params p = dl_sampler_default_params();
        p.temperature = temps[i];
        dl_sampler *s = dl_sampler_new(&p, 10);
        for (int t = 0; t < 5; t++) assert_int_equal(dl_sampler_sample(s, logits), 3);
        dl_sampler_free(s);
    }
    /* NaN counts as -inf; a +inf logit wins even when sampling */
    float z[4] = {NAN, -1.0f, INFINITY, INFINITY};
    dl_sampler_params p = plain(1.0f, 5);
    dl_sampler *s = dl_sampler_new(&p, 4);
    for (int t = 0; t < 20; t++) assert_int_equal(dl_sampler_sample(s, z), 2);
    float all_ninf[4] = {-INFINITY, -INFINITY, NAN, -INFINITY};
    assert_int_equal(dl_sampler_sample(s, all_ninf), 0);
    dl_sampler_free(s);
}

static void test_top_k1_is_greedy(void **state) {
    enum { V = 300 };
    float logits[V];
    dl_rng r;
    dl_rng_seed(&r, 9);
    dl_sampler_params pk = plain(1.5f, 77);
    pk.top_k = 1;
    dl_sampler_params pg = plain(0.0f, 77);
    dl_sampler *sk = dl_sampler_new(&pk, V), *sg = dl_sampler_new(&pg, V);
    for (int t = 0; t < 200; t++) {
        for (int i = 0; i < V; i++) logits[i] = (float)(dl_rng_next(&r) % 20); /* ties */
        assert_int_equal(dl_sampler_sample(sk, logits), dl_sampler_sample(sg, logits));
    }
    dl_sampler_free(sk);
    dl_sampler_free(sg);
}

/* Samples n times and fills seen[V] with counts. */
static void sample_counts(const dl_sampler_params *p, const float *logits, int V, int n, int *seen) {
    dl_sampler *s = dl_sampler_new(p, V);
    assert_non_null(s);
    memset(seen, 0, (size_t)V * sizeof *seen);
    for (int t = 0; t < n; t++) {
        int32_t id = dl_sampler_sample(s, logits);
        assert_true(id >= 0 && id < V);
        seen[id]++;
    }
    dl_sampler_free(s);
}

/* Asserts that exactly the ids with want[id] != 0 were drawn. */
static void assert_seen_set(const int *seen, const int *want, int V) {
    for (int i = 0; i < V; i++) {
        if (want[i] && !seen[i]) fail_msg("id %d expected but never drawn", i);
        if (!want[i] && seen[i]) fail_msg("id %d drawn %d times but should be filtered", i, seen[i]);
    }
}

static void test_top_p_set(void **state) {
    /* probabilities 1/2, 1/4, 1/8, ... on shuffled ids: top_p 0.8 keeps 3 */
    enum { V = 16 };
    int order[V] = {9, 2, 14, 0, 5, 11, 7, 3, 15, 1, 8, 12, 4, 6, 10, 13};
    float logits[V];
    for (int r = 0; r < V; r++) logits[order[r]] = -(float)r * logf(2.0f);
    int seen[V], want[V] = {0};
    want[9] = want[2] = want[14] = 1;
    for (int k = 0; k < 2; k++) {
        dl_sampler_params p = plain(1.0f, 3);
        p.top_p = 0.8f;
        p.top_k = k ? 10 : 0; /* unsorted and sorted paths */
        sample_counts(&p, logits, V, 5000, seen);
        assert_seen_set(seen, want, V);
    }
    /* temperature does not change the kept set (applied after top-p) */
    dl_sampler_params p = plain(5.0f, 3);
    p.top_p = 0.8f;
    sample_counts(&p, logits, V, 5000, seen);
    assert_seen_set(seen, want, V);

    /* flat distribution over 2000 ids: the selection must widen past its
     * first guess; p = 0.4996 needs 1000 tokens, ties keep the lowest ids */
    enum { W = 2000 };
    static float flat[W];
    static int seen2[W], want2[W];
    for (int i = 0; i < W; i++) {
        flat[i] = 0.0f;
        want2[i] = i < 1000;
    }
    p = plain(1.0f, 11);
    p.top_p = 0.4996f;
    sample_counts(&p, flat, W, 20000, seen2);
    assert_seen_set(seen2, want2, W);
}

/* top-p on random logits with many ties against a full sort: at a high
 * temperature every kept id shows up, and no other. */
static void test_top_p_against_sort(void **state) {
    enum { V = 200, N = 20000 };
    float logits[V];
    int32_t order[V];
    int seen[V], want[V];
    float ps[3] = {0.3f, 0.7f, 0.9f};
    dl_rng r;
    dl_rng_seed(&r, 31);
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < V; i++) logits[i] = (float)(dl_rng_next(&r) % 12) * 0.25f;
        float p = ps[round % 3];
        dl_top_k_indices(logits, V, V, order); /* full sort: logit desc, id asc */
        int K = round >= 3 ? 150 : V; /* top-k first: top-p renormalises over K */
        double sum = 0, cum = 0;
        for (int i = 0; i < K; i++) sum += exp((double)logits[order[i]] - logits[order[0]]);
        memset(want, 0, sizeof want);
        for (int i = 0; i < V; i++) {
            want[order[i]] = 1;
            cum += exp((double)logits[order[i]] - logits[order[0]]);
            if (cum >= p * sum) break;
        }
        dl_sampler_params sp = plain(1000.0f, 50 + (uint64_t)round);
        sp.top_p = p;
        sp.top_k = round >= 3 ? K : 0;
        sample_counts(&sp, logits, V, N, seen);
        assert_seen_set(seen, want, V);
    }
}

static void test_min_p_set(void **state) {
    enum { V = 8 };
    float prob[V] = {0.02f, 0.3f, 0.04f, 0.4f, 0.06f, 0.2f, 0.03f, 0.01f};
    float logits[V];
    for (int i = 0; i < V; i++) logits[i] = logf(prob[i]) + 1.7f;
    int seen[V], want[V] = {0, 1, 0, 1, 0, 1, 0, 0}; /* >= 0.2*0.4 = 0.08 */
    dl_sampler_params p = plain(1.0f, 21);
    p.min_p = 0.2f;
    sample_counts(&p, logits, V, 5000, seen);
    assert_seen_set(seen, want, V);
    p.min_p = 0.1f; /* threshold 0.04: keeps 0.04 too */
    int want2[V] = {0, 1, 1, 1, 1, 1, 0, 0};
    sample_counts(&p, logits, V, 5000, seen);
    assert_seen_set(seen, want2, V);
    /* top-p then min-p: top-p 0.85 keeps {3,1,5} (0.9), min-p 0.6 keeps {3,1} */
    p.top_p = 0.85f;
    p.min_p = 0.6f;
    int want3[V] = {0, 1, 0, 1, 0, 0, 0, 0};
    sample_counts(&p, logits, V, 5000, seen);
    assert_seen_set(seen, want3, V);
    /* top-k 2 alone */
    p = plain(1.0f, 22);
    p.top_k = 2;
    sample_counts(&p, logits, V, 5000, seen);
    assert_seen_set(seen, want3, V);
}

static void test_penalties(void **state) {
    enum { V = 8 };
    dl_sampler_params p = plain(0.0f, 1);
    p.repeat_penalty = 1.5f;
    p.freq_penalty = 0.1f;
    p.presence_penalty = 0.2f;
    p.penalty_last_n = 4;
    dl_sampler *s = dl_sampler_new(&p, V);
    int32_t hist[5] = {5, 2, 2, 3, 1}; /* window of 4: 2, 2, 3, 1 (5 evicted) */
    for (int i = 0; i < 5; i++) dl_sampler_accept(s, hist[i]);
    dl_sampler_accept(s, -1);   /* ignored */
    dl_sampler_accept(s, V);    /* ignored */
    float x[V] = {0.5f, 0.0f, 3.0f, -1.0f, 2.0f, 4.0f, -2.0f, 1.0f};
    float y[V];
    memcpy(y, x, sizeof y);
    dl_sampler_apply_penalties(s, y);
    float expect[V] = {0.5f, 0.0f * 1.5f - 0.1f - 0.2f, 3.0f / 1.5f - 0.2f - 0.2f,
                       -1.0f * 1.5f - 0.1f - 0.2f, 2.0f, 4.0f, -2.0f, 1.0f};
    for (int i = 0; i < V; i++) assert_float_equal(y[i], expect[i], 1e-6);
    /* greedy sampling sees the penalised logits; input untouched */
    float z[V] = {0, 0, 3.0f, 0, 2.5f, 0, 0, 0};
    float z0[V];
    memcpy(z0, z, sizeof z);
    assert_int_equal(dl_sampler_sample(s, z), 4); /* 3.0 -> 1.6 < 2.5 */
    assert_memory_equal(z, z0, sizeof z);
    dl_sampler_free(s);

    /* penalty_last_n = 0 disables */
    p.penalty_last_n = 0;
    s = dl_sampler_new(&p, V);
    dl_sampler_accept(s, 2);
    assert_int_equal(dl_sampler_sample(s, z), 2);
    dl_sampler_free(s);
}

static void test_frequencies(void **state) {
    enum { V = 8, N = 20000 };
    float logits[V] = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -2.0f, 0.7f};
    float temps[2] = {1.0f, 0.7f};
    int ks[2] = {0, 4};
    for (int ti = 0; ti < 2; ti++) {
        for (int ki = 0; ki < 2; ki++) {
            dl_sampler_params p = plain(temps[ti], 1000 + (uint64_t)ti * 2 + (uint64_t)ki);
            p.top_k = ks[ki];
            int seen[V];
            sample_counts(&p, logits, V, N, seen);
            /* expected: softmax(l / T) over the kept ids */
            int32_t keep[V];
            int nk = ks[ki] ? ks[ki] : V;
            dl_top_k_indices(logits, V, nk, keep);
            double pr[V] = {0}, sum = 0;
            for (int i = 0; i < nk; i++) sum += pr[keep[i]] = exp(logits[keep[i]] / temps[ti]);
            for (int i = 0; i < V; i++) {
                double q = pr[i] / sum, f = (double)seen[i] / N;
                double tol = 4.5 * sqrt(q * (1 - q) / N) + 1e-9;
                if (fabs(f - q) > tol)
                    fail_msg("T=%g k=%d id %d: freq %.4f expected %.4f (tol %.4f)", temps[ti], ks[ki],
                             i, f, q, tol);
            }
        }
    }
}

static void test_bad_args(void **state) {
    dl_sampler_params p = dl_sampler_default_params();
    assert_null(dl_sampler_new(&p, 0));
    assert_null(dl_sampler_new(NULL, 10));
    dl_sampler_free(NULL);
    /* a vocabulary of one */
    dl_sampler *s = dl_sampler_new(&p, 1);
    float x = 0.3f;
    assert_int_equal(dl_sampler_sample(s, &x), 0);
    dl_sampler_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng),
        cmocka_unit_test(test_top_k_indices),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_greedy_ties),
        cmocka_unit_test(test_top_k1_is_greedy),
        cmocka_unit_test(test_top_p_set),
        cmocka_unit_test(test_top_p_against_sort),
        cmocka_unit_test(test_min_p_set),
        cmocka_unit_test(test_penalties),
        cmocka_unit_test(test_frequencies),
        cmocka_unit_test(test_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
