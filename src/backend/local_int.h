/* Private to the local backend: slots and the batcher (local_batch.c).
 *
 * A dl_batch serves n_parallel slots over one dl_context made with
 * n_seq = n_parallel; slot i is sequence i. A request takes a slot
 * (dl_batch_acquire, waiting in arrival order while none is free), decodes
 * through it (dl_batch_decode: the call blocks while a batcher thread runs
 * the tokens of every waiting request in one dl_context_decode_seqs pass;
 * with one slot the caller decodes itself) and gives it back
 * (dl_batch_release). See docs/batching.md. */
#ifndef DL_LOCAL_INT_H
#define DL_LOCAL_INT_H

#include "backend_int.h"
#include "../model/model.h"

#include <pthread.h>

typedef struct dl_batch dl_batch;
typedef struct dl_batch_sub dl_batch_sub; /* a slot's outstanding submission (local_batch.c) */

/* One sequence of the context. Between acquire and release the owning
 * request may read and write `tokens` / `n_tokens` (e.g. lower n_tokens to
 * take tokens back); nobody else touches them then. */
typedef struct dl_slot {
    int32_t seq;       /* sequence id in the context */
    int32_t *tokens;   /* (n_ctx) the tokens of the sequence's KV cache, in order */
    /* Tokens of the cache that count. The context may hold more (taken back,
     * or left by a failed decode); the next decode cuts them first. */
    int32_t n_tokens;
    /* private to local_batch.c */
    bool busy;
    uint64_t last_used;
    pthread_cond_t done_cv; /* the owner waits here for its submission */
    dl_batch_sub *sub;      /* outstanding submission or NULL */
} dl_slot;

/* n_parallel >= 1 slots over ctx (made with n_seq >= n_parallel); starts the
 * batcher thread when n_parallel > 1. NULL + err (500) if it cannot start. ctx stays
 * owned by the caller and must outlive the dl_batch. */
dl_batch *dl_batch_new(dl_context *ctx, int32_t n_parallel, int32_t n_vocab, dl_error *err);
/* Stops the batcher. No request may hold a slot. */
void dl_batch_free(dl_batch *b);

/* Waits (first come, first served) for a free slot and takes it: the free
 * slot whose tokens share the longest prefix with prompt[0..n), ties going
 * to the least recently used. Never fails. */
dl_slot *dl_batch_acquire(dl_batch *b, const int32_t *prompt, int32_t n);
/* Gives the slot back; n_generated completion tokens go to the statistics. */
void dl_batch_release(dl_batch *b, dl_slot *s, int32_t n_generated);

/* Appends tokens[0..n) (n >= 1) to the slot's sequence after its first
 * n_tokens tokens, in as many batcher steps as it takes (long inputs go in
 * chunks, sharing each step with the other slots), and copies the logits of
 * the last token (n_vocab floats) to `logits`. On success the tokens are
 * recorded in s->tokens and n_tokens grows by n. -1 + err: 400 when they do
 * not fit in the context (nothing runs), 500 when the decode failed; nothing
 * is recorded then. Blocks; no busy-waiting. */
int dl_batch_decode(dl_batch *b, dl_slot *s, const int32_t *tokens, int32_t n, float *logits,
                    dl_error *err);

/* active, queued, tokens_generated, batches. */
void dl_batch_stats(dl_batch *b, dl_backend_stats *st);

#endif
