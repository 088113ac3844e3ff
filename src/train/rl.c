/* GRPO-style reinforcement learning on the generated tasks: the run
 * (policy and frozen reference loaded, steps of rl_step.c, log, chart,
 * checkpoints, resume) and the group advantages. Per step, P prompts from
 * the train split, G completions each sampled by the engine on the
 * exported policy, rewards from dl_task_reward, group-normalised
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



/* What decides the run besides the step count (compared on resume). */
static void rl_signature(const dl_rl_params *p, char *out, size_t cap) {
    char rs[40] = ""; /* only when set: older runs' signatures stay valid */
    if (p->resample_flat) snprintf(rs, sizeof rs, "resample_flat %d\n", p->resample_flat);
    snprintf(out, cap,
             "from %s\nseed %llu\ngroup %d\nprompts %d\ninner %d\nclip %g\nkl %g\nadv_eps %g\nmax_tokens %d\n"
             "threads %d\nlevels %d-%d\ntasks %u\nreward %g %g %g\nlr %g\nwarmup %d\nadv_std %d\ndrop_flat %d\n%s",
             p->from_dir, (unsigned long long)p->seed, p->group, p->prompts, p->inner, (double)p->clip_eps,
             (double)p->kl_beta, (double)p->adv_eps, p->max_tokens, p->threads, p->min_level, p->max_level,
             (unsigned)p->task_mask, (double)p->reward.w_correct, (double)p->reward.w_format,
             (double)p->reward.w_length, (double)p->optim.lr, p->optim.warmup, !p->adv_no_std, p->drop_flat, rs);
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
        p->inner < 1 || p->threads < 1 || p->max_tokens < 1 || p->min_level < 1 || p->resample_flat < 0 ||
        p->max_level > DL_TASK_MAX_LEVEL || p->min_level > p->max_level || !(p->clip_eps > 0.0f) ||
        !(p->kl_beta >= 0.0f) || !(p->adv_eps > 0.0f))
        return dl_error_set(err, 400, "rl: invalid parameters");
    char from_ckpt[1024], from_tok[1024], ckpt[1024], tok_path[1024], log_path[1024], sig_path[1024],
        policy_path[1024], svg_path[1024], sig[1024];
    dl_tpath_in(from_ckpt, sizeof from_ckpt, p->from_dir, "checkpoint.bin");
    dl_tpath_in(from_tok, sizeof from_tok, p->from_dir, "tokenizer.gguf");
    dl_tpath_in(ckpt, sizeof ckpt, p->out_dir, "checkpoint.bin");
    dl_tpath_in(tok_path, sizeof tok_path, p->out_dir, "tokenizer.gguf");
    dl_tpath_in(log_path, sizeof log_path, p->out_dir, "rl_log.csv");
    dl_tpath_in(sig_path, sizeof sig_path, p->out_dir, "rl_params.txt");
    dl_tpath_in(policy_path, sizeof policy_path, p->out_dir, "policy.gguf");
    dl_tpath_in(svg_path, sizeof svg_path, p->out_dir, "rl.svg");
    dl_tpath_in(res->model_path, sizeof res->model_path, p->out_dir, "model.gguf");
    struct stat sa, sb;
    if (stat(p->from_dir, &sa) == 0 && stat(p->out_dir, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return dl_error_set(err, 400, "rl: --out must differ from --from (the starting model is the KL reference)");
    if (!dl_tfile_exists(from_ckpt) || !dl_tfile_exists(from_tok))
        return dl_error_set(err, 404, "rl: %s has no checkpoint.bin and tokenizer.gguf (train sft first)", p->from_dir);
    if (mkdir(p->out_dir, 0755) != 0 && errno != EEXIST)
        return dl_error_set(err, 500, "rl: cannot create %s: %s", p->out_dir, strerror(errno));
    bool resuming = p->resume && dl_tfile_exists(ckpt) && dl_tfile_exists(tok_path);
    rl_signature(p, sig, sizeof sig);
    bool same;
    if (dl_tparams_file(sig_path, sig, resuming, &same, err)) return -1;
    if (!same)
        return dl_error_set(err, 400, "rl: %s was trained with other parameters (see its rl_params.txt): "
                            "resume with the same ones", p->out_dir);

    int rc = -1;
    double t0 = dl_time_ms();
    dl_bpe_vocab vocab = {0};
    dl_gguf *tg = NULL;
    dl_tokenizer *tok = NULL;
    dl_trainer *t = NULL;
    dl_tmodel *ref = NULL;
    dl_pool *pool = NULL;
    FILE *log = NULL;
    dl_rl_ctx x = {.p = p, .policy_path = policy_path};
    dl_budget_hints hints = {0};
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
    {
        /* the SFT model's thinking-budget hints carry over to the RL model */
        char from_model[1024];
        dl_tpath_in(from_model, sizeof from_model, p->from_dir, "model.gguf");
        if (dl_tfile_exists(from_model)) { /* a broken one is an error, not "no hints" */
            dl_gguf *fg = dl_gguf_open(from_model, err);
            if (!fg) goto out;
            hints = dl_budget_hints_read(fg);
            dl_gguf_close(fg);
        }
    }
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
    if (!resuming)
        fprintf(log, "step,lr,reward,accuracy,format,kl,clip_frac,mean_len,kept,loss,grad_norm,sample_ms,update_ms,"
                     "elapsed_ms\n");
    x.t = t, x.ref = ref, x.tok = tok, x.vocab = &vocab, x.pool = pool;
    int64_t done_here = 0;
    while (t->step / p->inner < p->steps) {
        if (p->max_seconds > 0 && dl_time_ms() - t0 > p->max_seconds * 1000.0) break;
        float lr = dl_optim_lr(&t->op, t->step);
        dl_rl_stats st;
        if (dl_rl_step(&x, &st, err)) goto out;
        if (done_here++ == 0) res->first_reward = st.reward, res->first_accuracy = st.accuracy;
        res->last_reward = st.reward, res->last_accuracy = st.accuracy;
        double el = elapsed0 + dl_time_ms() - t0;
        int64_t step = t->step / p->inner;
        fprintf(log, "%lld,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,%.4f,%.6f,%.6f,%.1f,%.1f,%.1f\n", (long long)step,
                (double)lr, st.reward, st.accuracy, st.format, st.kl, st.clip_frac, st.mean_len, st.kept, st.loss,
                st.grad_norm, st.sample_ms, st.update_ms, el);
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
    if (dl_tmodel_export(t->m, &vocab, "deliberate-mini", &hints, res->model_path, err)) goto out;
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
