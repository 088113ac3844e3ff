/* Rollouts for RL: a group of completions of one prompt sampled with the
 * local engine (src/model) on the exported policy, all sequences of the
 * group decoded together (one pass over the weights per token position). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

void dl_rollout_free(dl_rollout *r) {
    if (!r) return;
    free(r->ids);
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* A token drawn from softmax(logits) (temperature 1: the policy itself),
 * in double, with one uniform number from rng. */
static int32_t sample_token(const float *logits, int32_t V, dl_trng *rng) {
    double mx = logits[0];
    for (int32_t v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
    double sum = 0.0;
    for (int32_t v = 0; v < V; v++) sum += exp((double)logits[v] - mx);
    double u = dl_trng_unif(rng) * sum, acc = 0.0;
    int32_t last = 0;
    for (int32_t v = 0; v < V; v++) {
        double e = exp((double)logits[v] - mx);
        if (e <= 0.0) continue;
        last = v;
        acc += e;
        if (u < acc) return v;
    }
    return last; /* rounding left u at the very top */
}

int dl_rl_rollout_group(dl_context *c, const dl_tokenizer *tok, int32_t n_vocab, const int32_t *prompt,
                        int32_t n_prompt, int32_t g, int32_t max_new, dl_trng *rng, dl_rollout *out,
                        dl_error *err) {
    if (g < 1 || g > dl_context_n_seq(c) || n_prompt < 1 || max_new < 1 ||
        n_prompt + max_new > dl_context_n_ctx(c))
        return dl_error_set(err, 400, "rl: rollout of %d + %d tokens x %d does not fit the context", n_prompt,
                            max_new, g);
    memset(out, 0, (size_t)g * sizeof *out);
    int32_t *tokens = dl_xmalloc((size_t)g * (size_t)n_prompt * sizeof(int32_t));
    int32_t *seq = dl_xmalloc((size_t)g * (size_t)n_prompt * sizeof(int32_t));
    int32_t *row = dl_xmalloc((size_t)g * sizeof(int32_t)); /* logits index of each active sequence */
    dl_buf *text = dl_xcalloc((size_t)g, sizeof(dl_buf));
    int rc = -1;
    for (int32_t s = 0; s < g; s++) {
        dl_context_seq_truncate(c, s, 0);
        memcpy(tokens + (size_t)s * n_prompt, prompt, (size_t)n_prompt * sizeof(int32_t));
        for (int32_t i = 0; i < n_prompt; i++) seq[(size_t)s * n_prompt + i] = s;
        out[s].ids = dl_xmalloc((size_t)(n_prompt + max_new) * sizeof(int32_t));
        memcpy(out[s].ids, prompt, (size_t)n_prompt * sizeof(int32_t));
        out[s].n = out[s].n_prompt = n_prompt;
        row[s] = s * n_prompt + n_prompt - 1;
    }
    if (dl_context_decode_seqs(c, tokens, seq, g * n_prompt, err)) goto out;
    for (int32_t step = 0; step < max_new; step++) {
        int32_t n_next = 0;
        for (int32_t s = 0; s < g; s++) {
            if (row[s] < 0) continue;
            int32_t id = sample_token(dl_context_logits(c, row[s]), n_vocab, rng);
            out[s].ids[out[s].n++] = id;
            row[s] = -1;
            if (dl_tokenizer_is_eog(tok, id)) {
                out[s].finished = true;
                continue;
            }
            char piece[256];
            size_t len = dl_token_to_piece(tok, id, true, piece, sizeof piece);
            dl_buf_append(&text[s], piece, DL_MIN(len, sizeof piece));
            if (step + 1 < max_new) {
                tokens[n_next] = id;
                seq[n_next] = s;
                row[s] = n_next++;
            }
        }
        if (n_next == 0) break;
        if (dl_context_decode_seqs(c, tokens, seq, n_next, err)) goto out;
    }
    for (int32_t s = 0; s < g; s++) {
        dl_buf_append(&text[s], "", 1);
        out[s].text = text[s].data;
        text[s].data = NULL;
    }
    rc = 0;
out:
    if (rc)
        for (int32_t s = 0; s < g; s++) dl_rollout_free(&out[s]);
    for (int32_t s = 0; s < g; s++) dl_buf_free(&text[s]);
    free(text);
    free(tokens);
    free(seq);
    free(row);
    return rc;
}
