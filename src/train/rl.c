/* GRPO-style reinforcement learning on the generated tasks: per step, P
 * prompts from the train split, G completions each sampled by the engine
 * on the exported policy, rewards from dl_task_reward, group-normalised
 * advantages, then `inner` AdamW updates of the clipped policy-gradient
 * objective with a k3 KL penalty to the frozen starting (SFT) model. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train_int.h"

dl_rl_params dl_rl_default_params(void) {
    dl_rl_params p = {0};
    p.out_dir = "train-rl";
    p.steps = 50;
    p.group = 8;
    p.prompts = 8;
    p.inner = 2;
    p.clip_eps = 0.2f;
    p.kl_beta = 0.04f;
    p.adv_eps = 1e-4f;
    p.max_tokens = 192;
    p.threads = 2;
    p.save_every = 25;
    p.seed = 1;
    p.min_level = 1;
    p.max_level = 2;
    p.reward = dl_reward_default_params();
    p.optim = dl_optim_default_params();
    p.optim.lr = 1e-4f; /* ~30x below SFT: Adam moves every weight ~lr per update */
    p.optim.min_lr_frac = 1.0f; /* constant after warm-up: a resumed run does not depend on --steps */
    p.optim.warmup = 0;
    p.optim.weight_decay = 0.0f;
    return p;
}

void dl_rl_advantages(const float *r, int32_t n, int32_t g, float eps, float *adv) {
    for (int32_t b = 0; b + g <= n; b += g) {
        double mean = 0.0, var = 0.0;
        for (int32_t i = 0; i < g; i++) mean += r[b + i];
        mean /= g;
        for (int32_t i = 0; i < g; i++) var += ((double)r[b + i] - mean) * ((double)r[b + i] - mean);
        double sd = sqrt(var / g);
        double div = eps < 0 ? 1.0 : sd + (double)eps;
        for (int32_t i = 0; i < g; i++) adv[b + i] = (float)(((double)r[b + i] - mean) / div);
    }
}

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void path_in(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

/* What decides the run besides the step count (compared on resume). */
static void rl_signature(const dl_rl_params *p, char *out, size_t cap) {
    snprintf(out, cap,
             "from %s\nseed %llu\ngroup %d\nprompts %d\ninner %d\nclip %g\nkl %g\nadv_eps %g\nmax_tokens %d\n"
             "threads %d\nlevels %d-%d\ntasks %u\nreward %g %g %g\nlr %g\nwarmup %d\nadv_std %d\n",
             p->from_dir, (unsigned long long)p->seed, p->group, p->prompts, p->inner, (double)p->clip_eps,
             (double)p->kl_beta, (double)p->adv_eps, p->max_tokens, p->threads, p->min_level, p->max_level,
             (unsigned)p->task_mask, (double)p->reward.w_correct, (double)p->reward.w_format,
             (double)p->reward.w_length, (double)p->optim.lr, p->optim.warmup, !p->adv_no_std);
}

/* Everything one RL step allocates, sized for P*G rows. */
typedef struct rl_batch {
    int32_t rows;
    dl_problem *probs;  /* (P) */
    dl_rollout *ro;     /* (rows) */
    float *reward, *correct, *format, *adv; /* (rows) */
    dl_example *ex;     /* (rows) ids borrowed from ro */
    dl_pg_terms *pg;    /* (rows) */
    float **old_lp, **ref_lp, **cur_lp; /* (rows) x (n-1) */
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
    free(b->probs), free(b->ro), free(b->reward), free(b->correct), free(b->format), free(b->adv);
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

typedef struct rl_ctx {
    const dl_rl_params *p;
    dl_trainer *t;
    dl_tmodel *ref;
    const dl_tokenizer *tok;
    const dl_bpe_vocab *vocab;
    dl_pool *pool;
    const char *policy_path;
    int kinds[DL_TASK__COUNT], n_kinds;
} rl_ctx;

/* Samples the step's rollouts with the engine on the current policy. */
static int rl_sample(rl_ctx *x, rl_batch *b, dl_error *err) {
    const dl_rl_params *p = x->p;
    const dl_tconfig *cfg = dl_tmodel_config(x->t->m);
    if (dl_tmodel_export(x->t->m, x->vocab, "deliberate-rl", x->policy_path, err)) return -1;
    dl_model *em = dl_model_load(x->policy_path, NULL, NULL, err);
    if (!em) return -1;
    dl_context_params cp = {.n_ctx = cfg->n_ctx, .n_seq = p->group, .n_threads = p->threads};
    dl_context *c = dl_context_create(em, &cp, err);
    int rc = -1;
    if (!c) goto out;
    for (int32_t i = 0; i < p->prompts; i++) {
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
        for (int32_t g = 0; g < p->group; g++) {
            dl_reward r = dl_task_reward(&b->probs[i], ro[g].text, &p->reward);
            int32_t k = i * p->group + g;
            b->reward[k] = r.total, b->correct[k] = r.correct, b->format[k] = r.format;
        }
    }
    rc = 0;
out:
    dl_context_free(c);
    dl_model_free(em);
    return rc;
}

typedef struct rl_stats {
    double reward, accuracy, format, kl, clip_frac, mean_len, loss, grad_norm;
} rl_stats;

/* One RL step: rollouts, advantages, reference and old log-probabilities,
 * then p->inner optimiser updates. */
static int rl_step(rl_ctx *x, rl_stats *st, dl_error *err) {
    const dl_rl_params *p = x->p;
    rl_batch b = {0};
    int32_t R = p->prompts * p->group;
    b.probs = dl_xcalloc((size_t)p->prompts, sizeof(dl_problem));
    b.ro = dl_xcalloc((size_t)R, sizeof(dl_rollout));
    b.reward = dl_xcalloc((size_t)R, sizeof(float));
    b.correct = dl_xcalloc((size_t)R, sizeof(float));
    b.format = dl_xcalloc((size_t)R, sizeof(float));
    b.adv = dl_xcalloc((size_t)R, sizeof(float));
    b.ex = dl_xcalloc((size_t)R, sizeof(dl_example));
    b.pg = dl_xcalloc((size_t)R, sizeof(dl_pg_terms));
    b.old_lp = dl_xcalloc((size_t)R, sizeof(float *));
    b.ref_lp = dl_xcalloc((size_t)R, sizeof(float *));
    b.cur_lp = dl_xcalloc((size_t)R, sizeof(float *));
    b.rows = R;
    int rc = -1;
    memset(st, 0, sizeof *st);
    if (rl_sample(x, &b, err)) goto out;
    dl_rl_advantages(b.reward, R, p->group, p->adv_no_std ? -1.0f : p->adv_eps, b.adv);
    if (p->show) {
        fprintf(p->show, "=== step %lld: %s (expected %s)\n", (long long)(x->t->step / p->inner + 1),
                b.probs[0].question, b.probs[0].answer);
        for (int32_t g = 0; g < p->group; g++)
            fprintf(p->show, "--- reward %.3f correct %.0f advantage %+.3f\n%s\n", (double)b.reward[g],
                    (double)b.correct[g], (double)b.adv[g], b.ro[g].text);
    }
    int64_t n_tok = 0;
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
        b.pg[k] = (dl_pg_terms){.old_logp = b.old_lp[k], .ref_logp = b.ref_lp[k], .adv = b.adv[k],
                                .clip_eps = p->clip_eps, .kl_beta = p->kl_beta, .cur_logp = b.cur_lp[k]};
        e->pg = &b.pg[k];
        n_tok += r->n - r->n_prompt;
        st->reward += b.reward[k], st->accuracy += b.correct[k], st->format += b.format[k];
    }
    st->reward /= R, st->accuracy /= R, st->format /= R;
    st->mean_len = (double)n_tok / R;
    dl_batch batch = {b.ex, R};
    if (dl_tmodel_batch_logprobs(x->t->m, &batch, x->pool, b.old_lp, err)) goto out;
    if (dl_tmodel_batch_logprobs(x->ref, &batch, x->pool, b.ref_lp, err)) goto out;
    double kl = 0.0; /* k3 of the sampling policy against the reference */
    for (int32_t k = 0; k < R; k++)
        for (int32_t i = b.ro[k].n_prompt - 1; i < b.ro[k].n - 1; i++) {
            double d = (double)b.ref_lp[k][i] - (double)b.old_lp[k][i];
            kl += exp(d) - d - 1.0;
        }
    st->kl = n_tok ? kl / (double)n_tok : 0.0;
    int64_t clipped = 0;
    for (int32_t it = 0; it < p->inner; it++) {
        double loss, gn;
        if (dl_tmodel_loss_grad(x->t->m, &batch, x->pool, &loss, NULL, err)) goto out;
        for (int32_t k = 0; k < R; k++) /* clipped: the min took the constant, clipped term */
            for (int32_t i = b.ro[k].n_prompt - 1; i < b.ro[k].n - 1; i++) {
                double ratio = exp((double)b.cur_lp[k][i] - (double)b.old_lp[k][i]);
                clipped += (b.adv[k] > 0 && ratio > 1.0 + p->clip_eps) || (b.adv[k] < 0 && ratio < 1.0 - p->clip_eps);
            }
        dl_trainer_update(x->t, &gn);
        st->loss += loss / p->inner, st->grad_norm += gn / p->inner;
    }
    st->clip_frac = n_tok ? (double)clipped / ((double)n_tok * p->inner) : 0.0;
    rc = 0;
out:
    rl_batch_free(&b, p->prompts);
    return rc;
}

/* On resume: keeps the log's header and the rows of steps <= `step` (a run
 * stopped after its last checkpoint logged steps that will be redone) and
 * returns the last kept row's elapsed milliseconds (0 if none). */
static int trim_log(const char *path, int64_t step, double *elapsed, dl_error *err) {
    *elapsed = 0.0;
    char *data = dl_read_file(path, NULL, NULL);
    if (!data) return 0; /* no log yet: a new one is started */
    dl_buf out = {0};
    char *line = data;
    for (int row = 0; *line; row++) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (row == 0 || strtoll(line, NULL, 10) <= step) {
            dl_buf_append(&out, line, n);
            const char *last = NULL;
            for (size_t i = 0; i < n; i++)
                if (line[i] == ',') last = line + i + 1;
            if (row > 0 && last) *elapsed = strtod(last, NULL);
        }
        line += n;
    }
    FILE *f = fopen(path, "w");
    bool ok = f && (out.len == 0 || fwrite(out.data, 1, out.len, f) == out.len);
    if (f && fclose(f) != 0) ok = false;
    dl_buf_free(&out);
    free(data);
    return ok ? 0 : dl_error_set(err, 500, "rl: cannot rewrite %s", path);
}

/* Loads the model of a checkpoint alone (its optimiser state dropped). */
static dl_tmodel *load_model(const char *ckpt, dl_error *err) {
    dl_trainer *t = dl_trainer_load(ckpt, err);
    if (!t) return NULL;
    dl_tmodel *m = t->m;
    t->m = NULL;
    dl_trainer_free(t);
    return m;
}

int dl_rl_run(const dl_rl_params *p, dl_rl_result *res, dl_error *err) {
    memset(res, 0, sizeof *res);
    if (!p->from_dir || !p->out_dir || p->steps < 1 || p->group < 2 || p->group > 256 || p->prompts < 1 ||
        p->inner < 1 || p->threads < 1 || p->max_tokens < 1 || p->min_level < 1 ||
        p->max_level > DL_TASK_MAX_LEVEL || p->min_level > p->max_level || !(p->clip_eps > 0.0f) ||
        !(p->kl_beta >= 0.0f) || !(p->adv_eps > 0.0f))
        return dl_error_set(err, 400, "rl: invalid parameters");
    char from_ckpt[1024], from_tok[1024], ckpt[1024], tok_path[1024], log_path[1024], sig_path[1024],
        policy_path[1024], svg_path[1024], sig[1024];
    path_in(from_ckpt, sizeof from_ckpt, p->from_dir, "checkpoint.bin");
    path_in(from_tok, sizeof from_tok, p->from_dir, "tokenizer.gguf");
    path_in(ckpt, sizeof ckpt, p->out_dir, "checkpoint.bin");
    path_in(tok_path, sizeof tok_path, p->out_dir, "tokenizer.gguf");
    path_in(log_path, sizeof log_path, p->out_dir, "rl_log.csv");
    path_in(sig_path, sizeof sig_path, p->out_dir, "rl_params.txt");
    path_in(policy_path, sizeof policy_path, p->out_dir, "policy.gguf");
    path_in(svg_path, sizeof svg_path, p->out_dir, "rl.svg");
    path_in(res->model_path, sizeof res->model_path, p->out_dir, "model.gguf");
    struct stat sa, sb;
    if (stat(p->from_dir, &sa) == 0 && stat(p->out_dir, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return dl_error_set(err, 400, "rl: --out must differ from --from (the starting model is the KL reference)");
    if (!file_exists(from_ckpt) || !file_exists(from_tok))
        return dl_error_set(err, 404, "rl: %s has no checkpoint.bin and tokenizer.gguf (train sft first)", p->from_dir);
    if (mkdir(p->out_dir, 0755) != 0 && errno != EEXIST)
        return dl_error_set(err, 500, "rl: cannot create %s: %s", p->out_dir, strerror(errno));
    bool resuming = p->resume && file_exists(ckpt) && file_exists(tok_path);
    rl_signature(p, sig, sizeof sig);
    if (resuming) {
        char *old = dl_read_file(sig_path, NULL, NULL);
        bool same = old && strcmp(old, sig) == 0;
        free(old);
        if (!same)
            return dl_error_set(err, 400, "rl: %s was trained with other parameters (see its rl_params.txt): "
                                "resume with the same ones", p->out_dir);
    } else {
        FILE *f = fopen(sig_path, "w");
        bool ok = f && fputs(sig, f) >= 0;
        if (f && fclose(f) != 0) ok = false;
        if (!ok) return dl_error_set(err, 500, "rl: cannot write %s", sig_path);
    }

    int rc = -1;
    double t0 = dl_time_ms();
    dl_bpe_vocab vocab = {0};
    dl_gguf *tg = NULL;
    dl_tokenizer *tok = NULL;
    dl_trainer *t = NULL;
    dl_tmodel *ref = NULL;
    dl_pool *pool = NULL;
    FILE *log = NULL;
    rl_ctx x = {.p = p, .policy_path = policy_path};
    for (int k = 0; k < DL_TASK__COUNT; k++)
        if (!p->task_mask || (p->task_mask >> k & 1)) x.kinds[x.n_kinds++] = k;
    if (x.n_kinds == 0) {
        dl_error_set(err, 400, "rl: no task selected");
        goto out;
    }
    tg = dl_gguf_open(resuming ? tok_path : from_tok, err);
    if (!tg || dl_bpe_load(tg, &vocab, err)) goto out;
    tok = dl_tokenizer_load(tg, err);
    if (!tok) goto out;
    if (!resuming && dl_bpe_save(&vocab, tok_path, err)) goto out;
    ref = load_model(from_ckpt, err);
    if (!ref) goto out;
    if (resuming) {
        t = dl_trainer_load(ckpt, err);
        if (!t) goto out;
    } else {
        dl_tmodel *m = load_model(from_ckpt, err);
        if (!m) goto out;
        t = dl_trainer_new(m, &p->optim, p->seed ^ 0x61C8864680B583EBull);
    }
    t->op.total = p->steps * p->inner;
    const dl_tconfig *cfg = dl_tmodel_config(t->m), *rcfg = dl_tmodel_config(ref);
    if (cfg->n_vocab != vocab.n_tokens || memcmp(cfg, rcfg, sizeof *cfg) != 0) {
        dl_error_set(err, 400, "rl: the checkpoints and the tokenizer disagree on the model's shape");
        goto out;
    }
    pool = dl_pool_create(p->threads);
    double elapsed0 = 0.0; /* a resumed run's time carries on from the log */
    if (resuming && trim_log(log_path, t->step / p->inner, &elapsed0, err)) goto out;
    log = fopen(log_path, resuming ? "a" : "w");
    if (!log) {
        dl_error_set(err, 500, "rl: cannot write %s", log_path);
        goto out;
    }
    if (!resuming) fprintf(log, "step,lr,reward,accuracy,format,kl,clip_frac,mean_len,loss,grad_norm,elapsed_ms\n");
    x.t = t, x.ref = ref, x.tok = tok, x.vocab = &vocab, x.pool = pool;
    int64_t done_here = 0;
    while (t->step / p->inner < p->steps) {
        if (p->max_seconds > 0 && dl_time_ms() - t0 > p->max_seconds * 1000.0) break;
        float lr = dl_optim_lr(&t->op, t->step);
        rl_stats st;
        if (rl_step(&x, &st, err)) goto out;
        if (done_here++ == 0) res->first_reward = st.reward, res->first_accuracy = st.accuracy;
        res->last_reward = st.reward, res->last_accuracy = st.accuracy;
        double el = elapsed0 + dl_time_ms() - t0;
        int64_t step = t->step / p->inner;
        fprintf(log, "%lld,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,%.6f,%.6f,%.1f\n", (long long)step, (double)lr,
                st.reward, st.accuracy, st.format, st.kl, st.clip_frac, st.mean_len, st.loss, st.grad_norm, el);
        fflush(log);
        if (p->progress) {
            dl_rl_progress pr = {step, p->steps, st.reward, st.accuracy, st.kl, st.clip_frac, st.mean_len, el};
            p->progress(&pr, p->ud);
        }
        if (p->save_every > 0 && step % p->save_every == 0 && step < p->steps && dl_trainer_save(t, ckpt, err))
            goto out;
    }
    res->steps = t->step / p->inner;
    if (dl_trainer_save(t, ckpt, err)) goto out;
    if (dl_tmodel_export(t->m, &vocab, "deliberate-mini", res->model_path, err)) goto out;
    remove(policy_path);
    fclose(log);
    log = NULL;
    if (dl_rl_plot_log(log_path, svg_path, err)) goto out;
    res->seconds = (dl_time_ms() - t0) / 1000.0;
    rc = 0;
out:
    if (log) fclose(log);
    dl_pool_free(pool);
    dl_trainer_free(t);
    dl_tmodel_free(ref);
    dl_tokenizer_free(tok);
    dl_gguf_close(tg);
    dl_bpe_vocab_free(&vocab);
    return rc;
}
