/* sample: turning logits into the next token.
 *
 * A sampler applies, in order: repetition/frequency/presence penalties over
 * the last `penalty_last_n` tokens, then top-k, top-p, min-p, temperature,
 * and draws with a seeded RNG (xoshiro256**; the same seed and inputs give
 * the same tokens on every machine). temperature <= 0 means greedy (argmax;
 * lowest id wins a tie). */
#ifndef DL_SAMPLE_H
#define DL_SAMPLE_H

#include "../base/base.h"

typedef struct dl_sampler_params {
    float temperature;     /* default 0.8; <= 0: greedy */
    int32_t top_k;         /* default 40; <= 0: off */
    float top_p;           /* default 0.95; >= 1: off */
    float min_p;           /* default 0.05; <= 0: off */
    float repeat_penalty;  /* default 1.0 (off) */
    float freq_penalty;    /* default 0.0 */
    float presence_penalty;/* default 0.0 */
    int32_t penalty_last_n;/* default 64; <= 0: penalties off */
    uint64_t seed;
} dl_sampler_params;

dl_sampler_params dl_sampler_default_params(void);

typedef struct dl_sampler dl_sampler;
dl_sampler *dl_sampler_new(const dl_sampler_params *p, int32_t n_vocab);
void dl_sampler_free(dl_sampler *s);
/* Records a token (prompt or generated) for the penalties. */
void dl_sampler_accept(dl_sampler *s, int32_t id);
/* Picks the next token from logits[0..n_vocab). logits is not modified.
 * NaN logits count as -inf. Does not allocate. */
int32_t dl_sampler_sample(dl_sampler *s, const float *logits);
/* Forgets the accepted tokens and reseeds the RNG with params.seed. */
void dl_sampler_reset(dl_sampler *s);
/* Applies the penalties for the accepted tokens to logits[0..n_vocab) in
 * place (the first step of dl_sampler_sample; exposed for tests/eval). */
void dl_sampler_apply_penalties(dl_sampler *s, float *logits);

/* Seeded RNG, exposed for other modules (eval, train). */
typedef struct dl_rng {
    uint64_t s[4];
} dl_rng;
void dl_rng_seed(dl_rng *r, uint64_t seed);
uint64_t dl_rng_next(dl_rng *r);
double dl_rng_uniform(dl_rng *r); /* [0, 1) */

/* Indices of the k largest values (descending; ties: lower index first). */
void dl_top_k_indices(const float *x, int32_t n, int32_t k, int32_t *out);

#endif
