/* One GRPO step (train_int.h, dl_rl_step): the step's prompts, rollouts
 * with the engine on the exported policy, rewards, group advantages, the
 * old and reference log-probabilities, then the inner optimiser updates
 * of the clipped objective; the step's figures for the log. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

/* Everything one RL step allocates, sized for P*G rows. */
typedef struct rl_batch {
    int32_t rows;
    dl_problem *probs;  /* (P) */
    dl_rollout *ro;     /* (rows) */
    float *reward, *correct, *format, *adv; /* (rows) */
    bool *flat;         /* (P) the prompt's group got equal rewards: no signal */
    dl_example *ex;     /* (rows) ids borrowed from ro */
    dl_pg_terms *pg;    /* (rows) */
    float **old_lp, **ref_lp, **cur_lp; /* (rows) x (n-1) */
    /* every completion sampled, including the groups replaced by
     * resample_flat: the step's honest reward and accuracy */
    double sampled_reward, sampled_correct;
    int64_t sampled;
} rl_batch;

static void rl_batch_free(rl_batch *b, int32_t n_probs) {
    for (int32_t i = 0; i < b->rows; i++) {
        dl_rollout_free(&b->ro[i]);
        free(b->ex[i].mask);
        free(b->old_lp[i]);
        free(b->ref_lp[i]);
        free(b->cur_lp[i]);
    }
    for (int32_t i = 0; i < n_probs; i++) dl_problem_free(&b->probs[i]);
    free(b->probs), free(b->ro), free(b->reward), free(b->correct), free(b->format), free(b->adv), free(b->flat);
    free(b->ex), free(b->pg), free(b->old_lp), free(b->ref_lp), free(b->cur_lp);
    memset(b, 0, sizeof *b);
}

/* The prompt of a problem (everything up to "<|im_start|>assistant\n",
 * plus the empty think block when thinking is off) as token ids. */
static int prompt_ids(const dl_tokenizer *tok, const dl_problem *pr, int32_t **ids, size_t *n, dl_error *err) {
    dl_buf text = {0};
    size_t at = 0;
    int rc = dl_sample_render(pr, &text, &at, err);
    if (!rc) rc = dl_tokenize(tok, text.data, at, false, true, ids, n, err);
    dl_buf_free(&text);
    return rc;
}

/* Samples the step's rollouts with the engine on the current policy. */
static int rl_sample(dl_rl_ctx *x, rl_batch *b, dl_error *err) {
    const dl_rl_params *p = x->p;
    const dl_tconfig *cfg = dl_tmodel_config(x->t->m);
    if (dl_tmodel_export(x->t->m, x->vocab, "deliberate-rl", NULL, x->policy_path, err)) return -1;
    dl_model *em = dl_model_load(x->policy_path, NULL, NULL, err);
    if (!em) return -1;
    dl_context_params cp = {.n_ctx = cfg->n_ctx, .n_seq = p->group, .n_threads = p->threads};
    dl_context *c = dl_context_create(em, &cp, err);
    int rc = -1;
    if (!c) goto out;
    for (int32_t i = 0, redraws = 0; i < p->prompts;) {
        int32_t *ids = NULL;
        size_t n = 0;
        for (int tries = 0;; tries++) { /* a prompt must leave room for a reply */
            int kind = x->kinds[dl_trng_range(&x->t->rng, 0, x->n_kinds - 1)];
            int level = (int)dl_trng_range(&x->t->rng, p->min_level, p->max_level);
            if (dl_task_generate((dl_task_kind)kind, level, DL_SPLIT_TRAIN, &x->t->rng, &b->probs[i], err)) goto out;
            if (prompt_ids(x->tok, &b->probs[i], &ids, &n, err)) goto out;
            if ((int32_t)n + 16 <= cfg->n_ctx) break;
            free(ids);
            ids = NULL;
            dl_problem_free(&b->probs[i]);
            if (tries == 20) {
                dl_error_set(err, 400, "rl: prompts do not fit the context of %d tokens", cfg->n_ctx);
                goto out;
            }
        }
        int32_t max_new = DL_MIN(p->max_tokens, cfg->n_ctx - (int32_t)n);
        dl_rollout *ro = b->ro + (size_t)i * p->group;
        int e = dl_rl_rollout_group(c, x->tok, cfg->n_vocab, ids, (int32_t)n, p->group, max_new, &x->t->rng, ro, err);
        free(ids);
        if (e) goto out;
        bool *flat = &b->flat[i];
        *flat = true;
        for (int32_t g = 0; g < p->group; g++) {
            dl_reward r = dl_task_reward(&b->probs[i], ro[g].text, &p->reward);
            int32_t k = i * p->group + g;
            b->reward[k] = r.total, b->correct[k] = r.correct, b->format[k] = r.format;
            b->sampled_reward += r.total, b->sampled_correct += r.correct, b->sampled++;
            *flat = *flat && b->reward[k] == b->reward[i * p->group];
        }
        if (*flat && redraws < p->resample_flat) { /* no signal: draw this prompt again */
            redraws++;
            for (int32_t g = 0; g < p->group; g++) dl_rollout_free(&ro[g]);
            dl_problem_free(&b->probs[i]);
            continue;
        }
        i++, redraws = 0;
    }
    rc = 0;
out:
    dl_context_free(c);
    dl_model_free(em);
    return rc;
}

int dl_rl_step(dl_rl_ctx *x, dl_rl_stats *st, dl_error *err) {
    const dl_rl_params *p = x->p;
    rl_batch b = {0};
    int32_t R = p->prompts * p->group;
    b.probs = dl_xcalloc((size_t)p->prompts, sizeof(dl_problem));
    b.ro = dl_xcalloc((size_t)R, sizeof(dl_rollout));
    b.reward = dl_xcalloc((size_t)R, sizeof(float));
    b.correct = dl_xcalloc((size_t)R, sizeof(float));
    b.format = dl_xcalloc((size_t)R, sizeof(float));
    b.adv = dl_xcalloc((size_t)R, sizeof(float));
    b.flat = dl_xcalloc((size_t)p->prompts, sizeof(bool));
    b.ex = dl_xcalloc((size_t)R, sizeof(dl_example));
    b.pg = dl_xcalloc((size_t)R, sizeof(dl_pg_terms));
    b.old_lp = dl_xcalloc((size_t)R, sizeof(float *));
    b.ref_lp = dl_xcalloc((size_t)R, sizeof(float *));
    b.cur_lp = dl_xcalloc((size_t)R, sizeof(float *));
    b.rows = R;
    int rc = -1;
    memset(st, 0, sizeof *st);
    double t0 = dl_time_ms();
    if (rl_sample(x, &b, err)) goto out;
    double t1 = dl_time_ms();
    st->sample_ms = t1 - t0;
    dl_rl_advantages(b.reward, R, p->group, p->adv_no_std ? -1.0f : p->adv_eps, b.adv);
    if (p->show) {
        fprintf(p->show, "=== step %lld: %s (expected %s)\n", (long long)(x->t->step / p->inner + 1),
                b.probs[0].question, b.probs[0].answer);
        for (int32_t g = 0; g < p->group; g++)
            fprintf(p->show, "--- reward %.3f correct %.0f advantage %+.3f\n%s\n", (double)b.reward[g],
                    (double)b.correct[g], (double)b.adv[g], b.ro[g].text);
    }
    int64_t n_tok = 0, n_keep_tok = 0;
    int32_t n_keep = 0;
    for (int32_t k = 0; k < R; k++) {
        const dl_rollout *r = &b.ro[k];
        dl_example *e = &b.ex[k];
        e->ids = r->ids;
        e->n = r->n;
        e->mask = dl_xcalloc((size_t)r->n, 1);
        for (int32_t i = r->n_prompt - 1; i < r->n - 1; i++) e->mask[i] = 1;
        b.old_lp[k] = dl_xcalloc((size_t)r->n, sizeof(float));
        b.ref_lp[k] = dl_xcalloc((size_t)r->n, sizeof(float));
        b.cur_lp[k] = dl_xcalloc((size_t)r->n, sizeof(float));
        /* first update: the current parameters sampled the tokens (ratio 1),
         * and the pass records their log-probabilities as old_logp */
        b.pg[k] = (dl_pg_terms){.old_logp = NULL, .ref_logp = b.ref_lp[k], .adv = b.adv[k],
                                .clip_eps = p->clip_eps, .kl_beta = p->kl_beta, .cur_logp = b.old_lp[k]};
        e->pg = &b.pg[k];
        n_tok += r->n - r->n_prompt;
        st->format += b.format[k];
    }
    st->reward = b.sampled_reward / (double)b.sampled, st->accuracy = b.sampled_correct / (double)b.sampled;
    st->format /= R;
    st->mean_len = (double)n_tok / R;
    /* the rows trained on, in order: all, or those of groups with a signal */
    dl_example *keep = dl_xmalloc((size_t)R * sizeof(dl_example));
    float **keep_ref = dl_xmalloc((size_t)R * sizeof(float *));
    int32_t *keep_idx = dl_xmalloc((size_t)R * sizeof(int32_t));
    for (int32_t k = 0; k < R; k++) {
        if (p->drop_flat && b.flat[k / p->group]) continue;
        keep[n_keep] = b.ex[k], keep_ref[n_keep] = b.ref_lp[k], keep_idx[n_keep++] = k;
        n_keep_tok += b.ro[k].n - b.ro[k].n_prompt;
    }
    dl_batch batch = {keep, n_keep};
    int64_t clipped = 0;
    if (n_keep > 0 && dl_tmodel_batch_logprobs(x->ref, &batch, x->pool, keep_ref, err)) goto out_keep;
    for (int32_t it = 0; it < p->inner; it++) {
        double loss = 0.0, gn;
        if (n_keep > 0 && dl_tmodel_loss_grad(x->t->m, &batch, x->pool, &loss, NULL, err)) goto out_keep;
        if (n_keep == 0) memset(dl_tmodel_grads(x->t->m), 0, dl_tmodel_n_params(x->t->m) * sizeof(float));
        for (int32_t j = 0; j < n_keep; j++) {
            int32_t k = keep_idx[j];
            if (it == 0) { /* from now on, against the sampling policy */
                b.pg[k].old_logp = b.old_lp[k];
                b.pg[k].cur_logp = b.cur_lp[k];
                continue;
            }
            for (int32_t i = b.ro[k].n_prompt - 1; i < b.ro[k].n - 1; i++) { /* the min took the clipped term */
                double ratio = exp((double)b.cur_lp[k][i] - (double)b.old_lp[k][i]);
                clipped += (b.adv[k] > 0 && ratio > 1.0 + p->clip_eps) || (b.adv[k] < 0 && ratio < 1.0 - p->clip_eps);
            }
        }
        dl_trainer_update(x->t, &gn);
        st->loss += loss / p->inner, st->grad_norm += gn / p->inner;
    }
    double kl = 0.0; /* k3 of the sampling policy against the reference, over the rows trained on */
    for (int32_t j = 0; j < n_keep; j++) {
        int32_t k = keep_idx[j];
        for (int32_t i = b.ro[k].n_prompt - 1; i < b.ro[k].n - 1; i++) {
            double d = (double)b.ref_lp[k][i] - (double)b.old_lp[k][i];
            kl += exp(d) - d - 1.0;
        }
    }
    st->kl = n_keep_tok ? kl / (double)n_keep_tok : 0.0;
    st->clip_frac = n_keep_tok ? (double)clipped / ((double)n_keep_tok * p->inner) : 0.0;
    st->kept = R ? (double)n_keep / R : 0.0;
    st->update_ms = dl_time_ms() - t1;
    rc = 0;
out_keep:
    free(keep), free(keep_ref), free(keep_idx);
out:
    rl_batch_free(&b, p->prompts);
    return rc;
}
