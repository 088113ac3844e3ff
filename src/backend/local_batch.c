/* Continuous batching for the local backend: slots and the batcher thread.
 *
 * With several slots, request threads never touch the context: they hand the batcher a
 * submission (tokens to append to their slot's sequence) and sleep on their
 * slot's condition variable. The batcher thread sleeps until a submission
 * arrives, waits a moment for the other active slots to submit too (until
 * every slot holder has, or the straggler limit passes), then runs one
 * decode holding a piece of every pending submission — one token for a
 * request that is generating, a chunk of at most STEP_PREFILL tokens shared
 * by requests that are reading a prompt — copies each finished submission's
 * last logits row into the request's own buffer and wakes it. Submissions
 * go into a step in arrival order. A request that leaves lowers the active
 * count and wakes the batcher, so nobody waits for it.
 *
 * With one slot there is nobody to batch with: no thread is started and the
 * slot's holder decodes in its own thread.
 *
 * Slots are handed out first come, first served (a ticket queue); see
 * local_int.h for which free slot a request gets. */
#include "local_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prompt / forced tokens run per step, shared by all slots (tokens being
 * generated, one per slot, come on top). Bounds both how long a long prompt
 * holds up the others and the logits rows a step needs. */
#define STEP_PREFILL 64
/* How long the batcher waits for slots that have not submitted yet: twice
 * the average step, within these bounds (microseconds). Those that miss a
 * step are in the next one. */
#define STRAGGLER_MIN_US 200
#define STRAGGLER_MAX_US 5000

struct dl_batch_sub {
    const int32_t *tokens; /* to append (owned by the submitter) */
    int32_t n;
    int32_t base;          /* the sequence is cut to base tokens before the first */
    int32_t done;          /* tokens decoded so far */
    float *logits;         /* receives the last token's logits (n_vocab) */
    int32_t seq;           /* the slot's sequence */
    uint64_t arrival;      /* order among submissions */
    bool finished;
    int rc;
    dl_error err;
    /* the current step (batcher only) */
    int32_t take; /* tokens of this submission in the step */
    int32_t row;  /* logits row of its last token in the step */
};

struct dl_batch {
    dl_context *ctx;
    int32_t n_parallel, n_vocab, n_ctx;
    dl_slot *slots;

    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* batcher: a submission came, a request left, or stop */
    pthread_cond_t slot_cv; /* queued requests: a slot was freed or the queue moved */
    pthread_t thread;
    bool has_thread; /* n_parallel > 1 */
    bool stop;

    uint64_t next_ticket, serve_ticket; /* the queue for slots */
    uint64_t n_arrivals;                /* submissions so far (their order) */
    uint64_t n_uses;                    /* slot acquisitions (least recently used) */
    int n_active;                       /* slots held */
    int n_waiting;                      /* submissions not finished */
    uint64_t tokens_generated, batches;
    double step_ms;                     /* running average of a step's duration */

    /* the step being built / run (batcher only) */
    dl_batch_sub **step_subs; /* (n_parallel) */
    int32_t n_step_subs;
    int32_t *step_tok, *step_seq; /* (n_parallel + STEP_PREFILL) */
};

/* ---- slots ---- */

static int32_t common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
    int32_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

dl_slot *dl_batch_acquire(dl_batch *b, const int32_t *prompt, int32_t n)
{
    pthread_mutex_lock(&b->mu);
    uint64_t ticket = b->next_ticket++;
    while (ticket != b->serve_ticket || b->n_active == b->n_parallel)
        pthread_cond_wait(&b->slot_cv, &b->mu);
    dl_slot *best = NULL;
    int32_t best_common = -1;
    for (int32_t i = 0; i < b->n_parallel; i++) {
        dl_slot *s = &b->slots[i];
        if (s->busy) continue;
        int32_t c = common_prefix(s->tokens, s->n_tokens, prompt, n);
        if (c > best_common || (c == best_common && s->last_used < best->last_used)) {
            best = s;
            best_common = c;
        }
    }
    best->busy = true;
    best->last_used = ++b->n_uses;
    b->n_active++;
    b->serve_ticket++;
    pthread_cond_broadcast(&b->slot_cv); /* the next in the queue may find a slot too */
    pthread_mutex_unlock(&b->mu);
    return best;
}

void dl_batch_release(dl_batch *b, dl_slot *s, int32_t n_generated)
{
    pthread_mutex_lock(&b->mu);
    assert(s->busy && !s->sub);
    s->busy = false;
    b->n_active--;
    if (n_generated > 0) b->tokens_generated += (uint64_t)n_generated;
    pthread_cond_broadcast(&b->slot_cv);
    pthread_cond_signal(&b->work_cv); /* the batcher may be waiting for this slot */
    pthread_mutex_unlock(&b->mu);
}

void dl_batch_stats(dl_batch *b, dl_backend_stats *st)
{
    pthread_mutex_lock(&b->mu);
    st->active = b->n_active;
    st->queued = (int)(b->next_ticket - b->serve_ticket);
    st->tokens_generated = b->tokens_generated;
    st->batches = b->batches;
    pthread_mutex_unlock(&b->mu);
}

/* ---- submitting ---- */

int dl_batch_decode(dl_batch *b, dl_slot *s, const int32_t *tokens, int32_t n, float *logits,
                    dl_error *err)
{
    if (n <= 0) return 0;
    if ((int64_t)s->n_tokens + n > b->n_ctx) return dl_error_set(err, 400, "the context is full");
    if (b->n_parallel == 1) {
        /* one slot: its holder is the context's only user, no hand-off */
        dl_context_seq_truncate(b->ctx, s->seq, s->n_tokens);
        if (dl_context_decode(b->ctx, tokens, n, false, err) != 0) return -1;
        memcpy(logits, dl_context_logits(b->ctx, 0), (size_t)b->n_vocab * sizeof(float));
        memcpy(s->tokens + s->n_tokens, tokens, (size_t)n * sizeof(int32_t));
        s->n_tokens += n;
        pthread_mutex_lock(&b->mu);
        b->batches++;
        pthread_mutex_unlock(&b->mu);
        return 0;
    }
    dl_batch_sub sub = {0};
    sub.tokens = tokens;
    sub.n = n;
    sub.base = s->n_tokens;
    sub.logits = logits;
    sub.seq = s->seq;
    pthread_mutex_lock(&b->mu);
    sub.arrival = ++b->n_arrivals;
    s->sub = &sub;
    b->n_waiting++;
    pthread_cond_signal(&b->work_cv);
    while (!sub.finished) pthread_cond_wait(&s->done_cv, &b->mu);
    s->sub = NULL;
    pthread_mutex_unlock(&b->mu);
    if (sub.rc != 0) {
        if (err) *err = sub.err;
        return -1;
    }
    memcpy(s->tokens + sub.base, tokens, (size_t)n * sizeof(int32_t));
    s->n_tokens = sub.base + n;
    return 0;
}

/* ---- the batcher ---- */

static void deadline_after_us(struct timespec *ts, long us)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += us * 1000L;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

/* Under the lock: picks the pending submissions in arrival order and how
 * many tokens each gets in this step; fills step_subs / step_tok /
 * step_seq. Returns the number of tokens. */
static int32_t build_step(dl_batch *b)
{
    int32_t ns = 0;
    for (int32_t i = 0; i < b->n_parallel; i++) {
        dl_batch_sub *sub = b->slots[i].sub;
        if (!sub || sub->finished) continue;
        int32_t j = ns++; /* insertion by arrival */
        while (j > 0 && b->step_subs[j - 1]->arrival > sub->arrival) {
            b->step_subs[j] = b->step_subs[j - 1];
            j--;
        }
        b->step_subs[j] = sub;
    }
    b->n_step_subs = ns;
    int32_t n_tok = 0, budget = STEP_PREFILL;
    for (int32_t k = 0; k < ns; k++) {
        dl_batch_sub *sub = b->step_subs[k];
        int32_t left = sub->n - sub->done;
        int32_t take = left < budget ? left : budget;
        if (take < 1) take = 1; /* every submission moves each step */
        budget -= take;
        if (budget < 0) budget = 0;
        sub->take = take;
        for (int32_t t = 0; t < take; t++) {
            b->step_tok[n_tok] = sub->tokens[sub->done + t];
            b->step_seq[n_tok] = sub->seq;
            n_tok++;
        }
        sub->row = n_tok - 1;
    }
    return n_tok;
}

/* Without the lock (the context is the batcher's alone): cuts every
 * sequence to what its slot counts, runs the step and copies the logits of
 * submissions that end in it. 0 or -1 + err. */
static int run_step(dl_batch *b, int32_t n_tok, dl_error *err)
{
    for (int32_t k = 0; k < b->n_step_subs; k++) {
        const dl_batch_sub *sub = b->step_subs[k];
        int32_t want = sub->base + sub->done;
        assert(dl_context_seq_n_past(b->ctx, sub->seq) >= want);
        dl_context_seq_truncate(b->ctx, sub->seq, want);
    }
    if (b->n_step_subs == 1 && b->step_subs[0]->seq == 0) {
        /* one request on sequence 0: the single-sequence entry point, which
         * computes only the last token's logits */
        dl_batch_sub *sub = b->step_subs[0];
        if (dl_context_decode(b->ctx, sub->tokens + sub->done, sub->take, false, err) != 0)
            return -1;
        sub->row = 0;
    } else if (dl_context_decode_seqs(b->ctx, b->step_tok, b->step_seq, n_tok, err) != 0) {
        return -1;
    }
    for (int32_t k = 0; k < b->n_step_subs; k++) {
        dl_batch_sub *sub = b->step_subs[k];
        if (sub->done + sub->take == sub->n)
            memcpy(sub->logits, dl_context_logits(b->ctx, sub->row),
                   (size_t)b->n_vocab * sizeof(float));
    }
    return 0;
}

static void *batcher_main(void *arg)
{
    dl_batch *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->stop && b->n_waiting == 0) pthread_cond_wait(&b->work_cv, &b->mu);
        if (b->stop) break;
        if (b->n_waiting < b->n_active) {
            /* give the others a moment to submit: they are sampling */
            double lim = 2000.0 * b->step_ms;
            long us = lim < STRAGGLER_MIN_US ? STRAGGLER_MIN_US
                      : lim > STRAGGLER_MAX_US ? STRAGGLER_MAX_US : (long)lim;
            struct timespec dl;
            deadline_after_us(&dl, us);
            while (!b->stop && b->n_waiting < b->n_active)
                if (pthread_cond_timedwait(&b->work_cv, &b->mu, &dl) == ETIMEDOUT) break;
            if (b->stop) break;
        }
        int32_t n_tok = build_step(b);
        b->batches++;
        pthread_mutex_unlock(&b->mu);

        dl_error err = {0};
        double t0 = dl_time_ms();
        int rc = run_step(b, n_tok, &err);
        double dt = dl_time_ms() - t0;

        pthread_mutex_lock(&b->mu);
        b->step_ms = b->step_ms == 0 ? dt : 0.9 * b->step_ms + 0.1 * dt;
        for (int32_t k = 0; k < b->n_step_subs; k++) {
            dl_batch_sub *sub = b->step_subs[k];
            if (rc != 0) {
                sub->rc = -1;
                sub->err = err;
            } else {
                sub->done += sub->take;
                if (sub->done < sub->n) continue;
            }
            sub->finished = true;
            b->n_waiting--;
            pthread_cond_signal(&b->slots[sub->seq].done_cv);
        }
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* ---- setup ---- */

dl_batch *dl_batch_new(dl_context *ctx, int32_t n_parallel, int32_t n_vocab, dl_error *err)
{
    dl_batch *b = dl_xcalloc(1, sizeof(*b));
    b->ctx = ctx;
    b->n_parallel = n_parallel;
    b->n_vocab = n_vocab;
    b->n_ctx = dl_context_n_ctx(ctx);
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->work_cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&b->slot_cv, NULL);
    b->slots = dl_xcalloc((size_t)n_parallel, sizeof(dl_slot));
    for (int32_t i = 0; i < n_parallel; i++) {
        b->slots[i].seq = i;
        b->slots[i].tokens = dl_xmalloc((size_t)b->n_ctx * sizeof(int32_t));
        pthread_cond_init(&b->slots[i].done_cv, NULL);
    }
    b->step_subs = dl_xmalloc((size_t)n_parallel * sizeof(*b->step_subs));
    b->step_tok = dl_xmalloc((size_t)(n_parallel + STEP_PREFILL) * sizeof(int32_t));
    b->step_seq = dl_xmalloc((size_t)(n_parallel + STEP_PREFILL) * sizeof(int32_t));
    if (n_parallel > 1) {
        int rc = pthread_create(&b->thread, NULL, batcher_main, b);
        if (rc != 0) {
            dl_error_set(err, 500, "local backend: cannot start the batcher thread (%s)",
                         strerror(rc));
            dl_batch_free(b);
            return NULL;
        }
        b->has_thread = true;
    }
    return b;
}

void dl_batch_free(dl_batch *b)
{
    if (!b) return;
    if (b->has_thread) {
        pthread_mutex_lock(&b->mu);
        b->stop = true;
        pthread_cond_signal(&b->work_cv);
        pthread_mutex_unlock(&b->mu);
        pthread_join(b->thread, NULL);
    }
    for (int32_t i = 0; i < b->n_parallel; i++) {
        free(b->slots[i].tokens);
        pthread_cond_destroy(&b->slots[i].done_cv);
    }
    free(b->slots);
    free(b->step_subs);
    free(b->step_tok);
    free(b->step_seq);
    pthread_cond_destroy(&b->work_cv);
    pthread_cond_destroy(&b->slot_cv);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
