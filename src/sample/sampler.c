/* The sampler chain: penalties -> top-k -> top-p -> min-p -> temperature ->
 * softmax and a seeded draw (greedy argmax when temperature <= 0).
 *
 * Every buffer is sized for n_vocab at creation; dl_sampler_sample and
 * dl_sampler_accept do not allocate. Nothing sorts the whole vocabulary:
 * top-k selects with a bounded heap (dl_top_k_indices), top-p with a
 * quickselect weighted by probability mass, min-p is a linear filter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

struct dl_sampler {
    dl_sampler_params p;
    int32_t n_vocab;
    dl_rng rng;
    float *logit;    /* [n_vocab] penalised copy of the input (NaN -> -inf) */
    float *val;      /* [n_vocab] candidate values, parallel to id */
    int32_t *id;     /* [n_vocab] candidate token ids */
    int32_t *count;  /* [n_vocab] occurrences in the penalty window */
    uint8_t *mark;   /* [n_vocab] scratch: penalty already applied */
    int32_t *hist;   /* ring buffer of the last penalty_last_n tokens */
    int32_t hist_cap, hist_len, hist_pos;
};

dl_sampler_params dl_sampler_default_params(void) {
    return (dl_sampler_params){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .freq_penalty = 0.0f,
        .presence_penalty = 0.0f,
        .penalty_last_n = 64,
        .seed = 0,
    };
}

dl_sampler *dl_sampler_new(const dl_sampler_params *p, int32_t n_vocab) {
    if (!p || n_vocab <= 0) return NULL;
    dl_sampler *s = dl_xcalloc(1, sizeof *s);
    s->p = *p;
    s->n_vocab = n_vocab;
    dl_rng_seed(&s->rng, p->seed);
    size_t n = (size_t)n_vocab;
    s->logit = dl_xmalloc(n * sizeof *s->logit);
    s->val = dl_xmalloc(n * sizeof *s->val);
    s->id = dl_xmalloc(n * sizeof *s->id);
    s->count = dl_xcalloc(n, sizeof *s->count);
    s->mark = dl_xcalloc(n, sizeof *s->mark);
    s->hist_cap = p->penalty_last_n > 0 ? p->penalty_last_n : 0;
    s->hist = dl_xmalloc((size_t)DL_MAX(s->hist_cap, 1) * sizeof *s->hist);
    return s;
}

void dl_sampler_free(dl_sampler *s) {
    if (!s) return;
    free(s->logit);
    free(s->val);
    free(s->id);
    free(s->count);
    free(s->mark);
    free(s->hist);
    free(s);
}

void dl_sampler_reset(dl_sampler *s) {
    for (int32_t i = 0; i < s->hist_len; i++) s->count[s->hist[i]] = 0;
    s->hist_len = s->hist_pos = 0;
    dl_rng_seed(&s->rng, s->p.seed);
}

void dl_sampler_accept(dl_sampler *s, int32_t id) {
    if (!s || id < 0 || id >= s->n_vocab || s->hist_cap == 0) return;
    if (s->hist_len == s->hist_cap) {
        s->count[s->hist[s->hist_pos]]--; /* evict the oldest */
    } else {
        s->hist_len++;
    }
    s->hist[s->hist_pos] = id;
    s->count[id]++;
    s->hist_pos = (s->hist_pos + 1) % s->hist_cap;
}

static bool penalties_on(const dl_sampler_params *p) {
    return p->repeat_penalty != 1.0f || p->freq_penalty != 0.0f || p->presence_penalty != 0.0f;
}

/* Applies the penalties to s->logit, once per distinct token of the window,
 * as llama.cpp does: repetition divides positive logits and multiplies the
 * others; then count*freq + presence is subtracted. */
void dl_sampler_apply_penalties(dl_sampler *s, float *logit) {
    const dl_sampler_params *p = &s->p;
    if (!penalties_on(p) || s->hist_len == 0) return;
    for (int32_t i = 0; i < s->hist_len; i++) {
        int32_t t = s->hist[i];
        if (s->mark[t]) continue;
        s->mark[t] = 1;
        int32_t c = s->count[t];
        float l = logit[t];
        if (p->repeat_penalty != 1.0f && p->repeat_penalty > 0.0f)
            l = l <= 0.0f ? l * p->repeat_penalty : l / p->repeat_penalty;
        l -= (float)c * p->freq_penalty + (c > 0 ? p->presence_penalty : 0.0f);
        logit[t] = l;
    }
    for (int32_t i = 0; i < s->hist_len; i++) s->mark[s->hist[i]] = 0;
}

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    float bv = x[0];
    for (int32_t i = 1; i < n; i++)
        if (x[i] > bv) bv = x[i], best = i;
    return best;
}

/* Replaces the candidate set by the best k of all n_vocab tokens, sorted. */
static int32_t select_best(dl_sampler *s, int32_t k) {
    dl_top_k_indices(s->logit, s->n_vocab, k, s->id);
    for (int32_t i = 0; i < k; i++) s->val[i] = s->logit[s->id[i]];
    return k;
}

/* Candidate i ranks before candidate j: larger logit, then lower id. */
static inline bool cand_before(const dl_sampler *s, int32_t i, int32_t j) {
    return s->val[i] > s->val[j] || (s->val[i] == s->val[j] && s->id[i] < s->id[j]);
}

static inline void cand_swap(dl_sampler *s, int32_t i, int32_t j) {
    float v = s->val[i];
    s->val[i] = s->val[j];
    s->val[j] = v;
    int32_t t = s->id[i];
    s->id[i] = s->id[j];
    s->id[j] = t;
}

/* Top-p over candidates in any order: keeps the shortest best-first prefix
 * (by logit, then id) whose probability reaches p, moved to the front in
 * no particular order. A quickselect weighted by probability mass: expected
 * O(n), no sorting of the whole vocabulary. mx is the largest (finite)
 * logit. Returns the new count. */
static int32_t apply_top_p(dl_sampler *s, int32_t n, float mx) {
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += expf(s->val[i] - mx);
    double need = (double)s->p.top_p * sum; /* mass still to cover from [lo, hi) */
    int32_t lo = 0, hi = n;
    while (hi - lo > 16) {
        /* median-of-three pivot, moved to hi - 1 */
        int32_t a = lo, b = lo + (hi - lo) / 2, c = hi - 1;
        if (cand_before(s, b, a)) cand_swap(s, a, b);
        if (cand_before(s, c, b)) {
            cand_swap(s, b, c);
            if (cand_before(s, b, a)) cand_swap(s, a, b);
        }
        cand_swap(s, b, hi - 1);
        int32_t piv = hi - 1, m = lo;
        double left = 0.0;
        for (int32_t i = lo; i < piv; i++) {
            if (cand_before(s, i, piv)) {
                left += expf(s->val[i] - mx);
                cand_swap(s, i, m++);
            }
        }
        cand_swap(s, m, piv); /* pivot at m; [lo, m) ranks before it */
        if (left >= need) {
            hi = m; /* the cut lies among the better ones */
            continue;
        }
        need -= left + expf(s->val[m] - mx);
        if (need <= 0.0) return m + 1;
        lo = m + 1;
    }
    /* few left: insertion sort, then walk */
    for (int32_t i = lo + 1; i < hi; i++)
        for (int32_t j = i; j > lo && cand_before(s, j, j - 1); j--) cand_swap(s, j, j - 1);
    for (int32_t i = lo; i < hi; i++) {
        need -= expf(s->val[i] - mx);
        if (need <= 0.0) return i + 1;
    }
    return hi; /* rounding: keep everything that is left */
}

/* Min-p: keeps candidates whose probability is at least min_p times the
 * best one's, i.e. logit >= mx + log(min_p), mx being the best logit
 * (always among the candidates). Order is preserved. */
static int32_t apply_min_p(dl_sampler *s, int32_t n, float mx) {
    float thr = mx + logf(DL_MIN(s->p.min_p, 1.0f)); /* > 1 behaves as 1 */
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        if (s->val[i] >= thr) {
            s->val[k] = s->val[i];
            s->id[k] = s->id[i];
            k++;
        }
    }
    return k; /* >= 1: the best candidate has logit mx >= thr */
}

int32_t dl_sampler_sample(dl_sampler *s, const float *logits) {
    const dl_sampler_params *p = &s->p;
    int32_t nv = s->n_vocab;
    for (int32_t i = 0; i < nv; i++) {
        float v = logits[i];
        s->logit[i] = v == v ? v : -INFINITY; /* NaN -> -inf */
    }
    dl_sampler_apply_penalties(s, s->logit);
    int32_t best = argmax(s->logit, nv);
    /* greedy; also when no softmax is possible (all -inf, or a +inf logit) */
    if (!(p->temperature > 0.0f) || isinf(s->logit[best])) return best;

    int32_t n;
    if (p->top_k > 0 && p->top_k < nv) {
        n = select_best(s, p->top_k);
    } else {
        n = nv;
        for (int32_t i = 0; i < nv; i++) {
            s->id[i] = i;
            s->val[i] = s->logit[i];
        }
    }
    if (p->top_p < 1.0f && n > 1) n = apply_top_p(s, n, s->logit[best]);
    if (p->min_p > 0.0f && n > 1) n = apply_min_p(s, n, s->logit[best]);

    /* temperature, softmax, draw. The best token is always a candidate, so
     * the shifted values are <= 0 and the best one maps to exactly 1. */
    float mx = s->logit[best], inv_t = 1.0f / p->temperature;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        float d = s->val[i] - mx;
        float e = d == 0.0f ? 1.0f : (isinf(inv_t) ? 0.0f : expf(d * inv_t));
        s->val[i] = e;
        sum += e;
    }
    double r = dl_rng_uniform(&s->rng) * sum, cum = 0.0;
    int32_t last = 0;
    for (int32_t i = 0; i < n; i++) {
        if (s->val[i] <= 0.0f) continue;
        cum += s->val[i];
        last = i;
        if (r < cum) return s->id[i];
    }
    return s->id[last]; /* rounding at the very end */
}
