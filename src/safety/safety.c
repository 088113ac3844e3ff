/* safety/safety: the layered check — stage 1 (the fast classifier) for every
 * text, stage 2 (the policy reasoner) for the uncertain band under a cap on
 * the share of checks escalated, a cache of stage-2 results by content hash,
 * and the response style for what was flagged. docs/safety.md. */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safety_int.h"

/* Stage-2 cache: CACHE_SETS sets of CACHE_WAYS entries, LRU within a set. */
enum { CACHE_SETS = 64, CACHE_WAYS = 4, KEY_BYTES = 16 };

/* What stage 2 concluded about one text. */
typedef struct stage2 {
    bool violation;
    bool malformed;
    dl_category category;
    uint32_t covered;     /* bit c: a policy of category c was asked */
    char rationale[512];
    int32_t tokens;
} stage2;

typedef struct cache_entry {
    unsigned char key[KEY_BYTES];
    bool used;
    uint64_t stamp;       /* last use, for LRU */
    stage2 r;
} cache_entry;

struct dl_safety {
    const dl_classifier *clf;
    dl_backend *reasoner;
    const dl_policy *policies;
    size_t n_policies;
    float band_low, band_high, share;
    bool fail_closed;
    dl_styles styles;
    _Atomic uint64_t checks, escalated;
    pthread_mutex_t lock; /* guards cache and tick */
    uint64_t tick;
    cache_entry cache[CACHE_SETS][CACHE_WAYS];
};

dl_safety *dl_safety_new(const dl_safety_config *c, dl_error *err) {
    if (!c || !c->classifier) {
        dl_error_set(err, 400, "safety: a stage-1 classifier is required");
        return NULL;
    }
    float lo = c->band_low, hi = c->band_high, share = c->max_escalation_share;
    if (lo == 0 && hi == 0) lo = 0.35f, hi = 0.65f;
    if (share == 0) share = 0.1f;
    if (!(lo >= 0 && lo < hi && hi <= 1)) {
        dl_error_set(err, 400, "safety: escalation band [%g, %g) is not within [0, 1]", lo, hi);
        return NULL;
    }
    if (!(share > 0 && share <= 1)) {
        dl_error_set(err, 400, "safety: max_escalation_share %g is not in (0, 1]", share);
        return NULL;
    }
    if (c->n_policies && !c->policies) {
        dl_error_set(err, 400, "safety: %zu policies but no array", c->n_policies);
        return NULL;
    }
    dl_styles st = {0};
    if (c->styles_file) {
        char *text = dl_read_file(c->styles_file, NULL, err);
        if (!text) return NULL;
        int rc = dl_styles_parse(text, &st, err);
        free(text);
        if (rc != 0) {
            char msg[sizeof err->msg];
            if (err) {
                snprintf(msg, sizeof msg, "%s", err->msg);
                dl_error_set(err, 400, "%s: %s", c->styles_file, msg);
            }
            return NULL;
        }
    }
    if (sodium_init() < 0) {
        dl_styles_free(&st);
        dl_error_set(err, 500, "safety: libsodium failed to initialise");
        return NULL;
    }
    dl_safety *s = dl_xcalloc(1, sizeof *s);
    s->clf = c->classifier;
    s->reasoner = c->reasoner;
    s->policies = c->policies;
    s->n_policies = c->n_policies;
    s->band_low = lo;
    s->band_high = hi;
    s->share = share;
    s->fail_closed = c->fail_closed;
    s->styles = st;
    atomic_init(&s->checks, 0);
    atomic_init(&s->escalated, 0);
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void dl_safety_free(dl_safety *s) {
    if (!s) return;
    dl_styles_free(&s->styles);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void dl_safety_counts(const dl_safety *s, uint64_t *checks, uint64_t *escalated) {
    dl_safety *m = (dl_safety *)s; /* atomic loads only */
    if (checks) *checks = s ? atomic_load(&m->checks) : 0;
    if (escalated) *escalated = s ? atomic_load(&m->escalated) : 0;
}

dl_action dl_style_for(const dl_safety *s, dl_category cat, float score) {
    return dl_styles_lookup(s ? &s->styles : NULL, cat, score);
}

/* ---- the cap and the cache ----------------------------------------------------------- */

/* Takes one escalation if escalated + 1 <= share * n (n = this check's
 * number); lock-free, so the share holds at every moment. */
static bool cap_take(dl_safety *s, uint64_t n) {
    uint64_t e = atomic_load(&s->escalated);
    do {
        if ((double)(e + 1) > (double)s->share * (double)n) return false;
    } while (!atomic_compare_exchange_weak(&s->escalated, &e, e + 1));
    return true;
}

static cache_entry *cache_set(dl_safety *s, const unsigned char *key) {
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return s->cache[h % CACHE_SETS];
}

static bool cache_get(dl_safety *s, const unsigned char *key, stage2 *r) {
    bool hit = false;
    pthread_mutex_lock(&s->lock);
    cache_entry *set = cache_set(s, key);
    for (int w = 0; w < CACHE_WAYS; w++)
        if (set[w].used && memcmp(set[w].key, key, KEY_BYTES) == 0) {
            set[w].stamp = ++s->tick;
            *r = set[w].r;
            hit = true;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

static void cache_put(dl_safety *s, const unsigned char *key, const stage2 *r) {
    pthread_mutex_lock(&s->lock);
    cache_entry *set = cache_set(s, key), *victim = &set[0];
    for (int w = 0; w < CACHE_WAYS; w++) {
        if (set[w].used && memcmp(set[w].key, key, KEY_BYTES) == 0) {
            victim = &set[w];
            break;
        }
        if (!set[w].used || set[w].stamp < victim->stamp) victim = &set[w];
        if (!set[w].used) break;
    }
    memcpy(victim->key, key, KEY_BYTES);
    victim->used = true;
    victim->stamp = ++s->tick;
    victim->r = *r;
    pthread_mutex_unlock(&s->lock);
}

/* ---- stage 2 ---------------------------------------------------------------------------- */

/* Asks the policies in order until one finds a violation. A backend failure
 * counts as malformed output (the fail_closed fallback); *cacheable is false
 * then. */
static void run_stage2(dl_safety *s, const char *text, size_t len, stage2 *r, bool *cacheable) {
    memset(r, 0, sizeof *r);
    *cacheable = true;
    char *content = dl_xstrndup(text, len);
    for (size_t i = 0; i < s->n_policies; i++) {
        const dl_policy *p = &s->policies[i];
        dl_policy_result pr;
        dl_error e = {0};
        r->covered |= 1u << p->category;
        if (dl_policy_check(s->reasoner, p, content, s->fail_closed, &pr, &e) != 0) {
            dl_log(DL_LOG_WARN, "safety: policy '%s': reasoner failed: %s", p->name, e.msg);
            *cacheable = false;
            memset(&pr, 0, sizeof pr);
            pr.malformed = true;
            pr.violation = s->fail_closed;
            pr.category = p->category;
            snprintf(pr.rationale, sizeof pr.rationale, "reasoner failed (%.400s); fail %s", e.msg,
                     s->fail_closed ? "closed" : "open");
        }
        r->tokens += pr.tokens;
        r->malformed |= pr.malformed;
        if (pr.violation || i + 1 == s->n_policies) {
            r->violation = pr.violation;
            r->category = pr.category;
            snprintf(r->rationale, sizeof r->rationale, "policy '%.80s': %.400s", p->name, pr.rationale);
            if (pr.violation) break;
        }
    }
    free(content);
}

/* ---- the check ------------------------------------------------------------------------------- */

int dl_safety_check_scores(dl_safety *s, const char *text, size_t len, const dl_scores *given,
                           dl_verdict *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    if (!s) return dl_error_set(err, 400, "safety check: no safety stack");
    if (!text && len) return dl_error_set(err, 400, "safety check: no text");
    if (!text) text = "";
    double t0 = dl_time_ms();
    uint64_t n = atomic_fetch_add(&s->checks, 1) + 1;

    if (given) out->scores = *given;
    else dl_classifier_score(s->clf, text, len, &out->scores);
    const float *p = out->scores.p;
    int top = 0;
    for (int c = 0; c < DL_CAT__COUNT; c++) {
        out->flagged[c] = p[c] >= dl_classifier_threshold(s->clf, (dl_category)c);
        if (p[c] > p[top]) top = c;
    }
    float m = p[top];
    out->layer = DL_LAYER_CLASSIFIER;
    const char *note = "";

    if (m >= s->band_low && m < s->band_high && s->reasoner && s->n_policies) {
        unsigned char key[KEY_BYTES];
        crypto_generichash(key, sizeof key, (const unsigned char *)text, len, NULL, 0);
        stage2 r;
        bool have = cache_get(s, key, &r);
        if (!have && cap_take(s, n)) {
            bool cacheable;
            run_stage2(s, text, len, &r, &cacheable);
            if (cacheable) cache_put(s, key, &r);
            out->cost_tokens = r.tokens;
            have = true;
        } else if (!have) {
            note = "; stage 2 skipped: escalation cap reached";
        }
        if (have) {
            /* Stage 2 decides the categories its policies cover. */
            out->escalated = true;
            out->layer = DL_LAYER_POLICY;
            for (int c = 0; c < DL_CAT__COUNT; c++)
                if (r.covered & (1u << c)) out->flagged[c] = false;
            if (r.violation) out->flagged[r.category] = true;
            snprintf(out->rationale, sizeof out->rationale, "%s", r.rationale);
        }
    }

    int best = -1;
    for (int c = 0; c < DL_CAT__COUNT; c++)
        if (out->flagged[c] && (best < 0 || p[c] > p[best])) best = c;
    out->any_flagged = best >= 0;
    /* The strictest style among the flagged categories, except that a soft
     * refusal (someone in distress) wins over the others. */
    out->action = DL_ACTION_ALLOW;
    bool soft = false;
    for (int c = 0; c < DL_CAT__COUNT; c++) {
        if (!out->flagged[c]) continue;
        dl_action a = dl_style_for(s, (dl_category)c, p[c]);
        if (a == DL_ACTION_SOFT_REFUSE) soft = true;
        if (a > out->action) out->action = a;
    }
    if (soft) out->action = DL_ACTION_SOFT_REFUSE;
    if (!out->escalated) {
        if (best >= 0)
            snprintf(out->rationale, sizeof out->rationale, "classifier: %s %.2f >= %.2f%s",
                     dl_category_name((dl_category)best), (double)p[best],
                     (double)dl_classifier_threshold(s->clf, (dl_category)best), note);
        else
            snprintf(out->rationale, sizeof out->rationale,
                     "classifier: no category over its threshold (max %s %.2f)%s",
                     dl_category_name((dl_category)top), (double)m, note);
    }
    out->cost_ms = dl_time_ms() - t0;
    return 0;
}

int dl_safety_check(dl_safety *s, const char *text, size_t len, dl_verdict *out, dl_error *err) {
    return dl_safety_check_scores(s, text, len, NULL, out, err);
}
