/* Supervised fine-tuning on generated traces: data, vocabulary, model,
 * the training loop with its log (and loss.svg), checkpoint and export. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train_int.h"

dl_sft_params dl_sft_default_params(void) {
    dl_sft_params p = {0};
    p.out_dir = "train-out";
    p.steps = 200;
    p.threads = 2;
    p.seed = 1;
    p.vocab_size = 512;
    p.n_samples = 4000;
    p.n_valid = 64;
    p.batch = 8;
    p.min_level = 1;
    p.max_level = 2;
    p.model = (dl_tconfig){.n_embd = 64, .n_layer = 2, .n_head = 4, .n_head_kv = 2, .head_dim = 16,
                           .n_ff = 192, .n_ctx = 256, .rope_base = 10000.0f, .rms_eps = 1e-6f};
    p.optim = dl_optim_default_params();
    return p;
}


/* n problems of the allowed kinds/levels from `split`, rendered. */
static dl_problem *make_problems(const dl_sft_params *p, dl_split split, uint64_t seed, int32_t n,
                                 dl_error *err) {
    int kinds[DL_TASK__COUNT], nk = 0;
    for (int k = 0; k < DL_TASK__COUNT; k++)
        if (!p->task_mask || (p->task_mask >> k & 1)) kinds[nk++] = k;
    if (nk == 0) {
        dl_error_set(err, 400, "sft: no task selected");
        return NULL;
    }
    dl_trng r;
    dl_trng_seed(&r, seed);
    dl_problem *probs = dl_xcalloc((size_t)n, sizeof(dl_problem));
    for (int32_t i = 0; i < n; i++) {
        int kind = kinds[dl_trng_range(&r, 0, nk - 1)];
        int level = (int)dl_trng_range(&r, p->min_level, p->max_level);
        if (dl_task_generate((dl_task_kind)kind, level, split, &r, &probs[i], err)) {
            for (int32_t j = 0; j < i; j++) dl_problem_free(&probs[j]);
            free(probs);
            return NULL;
        }
    }
    return probs;
}

static void free_problems(dl_problem *p, int32_t n) {
    if (!p) return;
    for (int32_t i = 0; i < n; i++) dl_problem_free(&p[i]);
    free(p);
}

/* Tokenised examples that fit n_ctx; *dropped counts the others. */
static dl_example *make_examples(const dl_tokenizer *tok, const dl_problem *probs, int32_t n,
                                 int32_t n_ctx, int32_t *n_out, int32_t *dropped, dl_error *err) {
    dl_example *ex = dl_xcalloc((size_t)DL_MAX(n, 1), sizeof(dl_example));
    int32_t k = 0;
    *dropped = 0;
    for (int32_t i = 0; i < n; i++) {
        if (dl_example_from_problem(tok, &probs[i], &ex[k], err)) {
            for (int32_t j = 0; j < k; j++) dl_example_free(&ex[j]);
            free(ex);
            return NULL;
        }
        if (ex[k].n > n_ctx) {
            dl_example_free(&ex[k]);
            (*dropped)++;
        } else {
            k++;
        }
    }
    *n_out = k;
    return ex;
}

/* The parameters that decide the training data, one "key value" line each:
 * written next to the checkpoint, compared on resume (resuming with other
 * data would silently train on something else). */
static void data_signature(const dl_sft_params *p, char *out, size_t cap) {
    snprintf(out, cap,
             "seed %llu\nsamples %d\nvalid %d\nlevels %d-%d\ntasks %u\nvocab %d\nbatch %d\nthreads %d\n",
             (unsigned long long)p->seed, p->n_samples, p->n_valid, p->min_level, p->max_level,
             (unsigned)p->task_mask, p->vocab_size, p->batch, p->threads);
}


int dl_sft_run(const dl_sft_params *p, dl_sft_result *res, dl_error *err) {
    memset(res, 0, sizeof *res);
    if (p->steps < 1 || p->batch < 1 || p->n_samples < 1 || p->threads < 1 || p->min_level < 1 ||
        p->max_level > DL_TASK_MAX_LEVEL || p->min_level > p->max_level)
        return dl_error_set(err, 400, "sft: invalid parameters");
    if (mkdir(p->out_dir, 0755) != 0 && errno != EEXIST)
        return dl_error_set(err, 500, "sft: cannot create %s: %s", p->out_dir, strerror(errno));
    char tok_path[1024], ckpt_path[1024], log_path[1024];
    dl_tpath_in(tok_path, sizeof tok_path, p->out_dir, "tokenizer.gguf");
    dl_tpath_in(ckpt_path, sizeof ckpt_path, p->out_dir, "checkpoint.bin");
    dl_tpath_in(log_path, sizeof log_path, p->out_dir, "train_log.csv");
    dl_tpath_in(res->model_path, sizeof res->model_path, p->out_dir, "model.gguf");

    int rc = -1;
    double t0 = dl_time_ms();
    dl_problem *train_p = NULL, *valid_p = NULL;
    dl_example *train_ex = NULL, *valid_ex = NULL;
    int32_t n_train = 0, n_valid = 0, dropped = 0, dropped_v = 0;
    dl_bpe_vocab vocab = {0};
    dl_gguf *tg = NULL;
    dl_tokenizer *tok = NULL;
    dl_trainer *t = NULL;
    dl_pool *pool = NULL;
    FILE *log = NULL;
    bool resuming = p->resume && dl_tfile_exists(ckpt_path) && dl_tfile_exists(tok_path);
    char sig_path[1024], sig[512];
    dl_tpath_in(sig_path, sizeof sig_path, p->out_dir, "data_params.txt");
    data_signature(p, sig, sizeof sig);
    bool same;
    if (dl_tparams_file(sig_path, sig, resuming, &same, err)) return -1;
    if (!same)
        return dl_error_set(err, 400,
                            "sft: %s was trained with other data parameters (seed, samples, levels, tasks, "
                            "vocabulary, batch or threads; see its data_params.txt): resume with the same ones",
                            p->out_dir);

    train_p = make_problems(p, DL_SPLIT_TRAIN, p->seed, p->n_samples, err);
    valid_p = make_problems(p, DL_SPLIT_VALID, p->seed + 1, p->n_valid, err);
    if (!train_p || !valid_p) goto out;
    if (!resuming) {
        /* the vocabulary is learnt from the rendered training samples */
        char **texts = dl_xcalloc((size_t)p->n_samples, sizeof(char *));
        int brc = 0;
        for (int32_t i = 0; i < p->n_samples && !brc; i++) {
            dl_buf b = {0};
            brc = dl_sample_render(&train_p[i], &b, NULL, err);
            dl_buf_append(&b, "", 1);
            texts[i] = b.data;
        }
        if (!brc) brc = dl_bpe_train((const char *const *)texts, (size_t)p->n_samples, p->vocab_size, &vocab, err);
        for (int32_t i = 0; i < p->n_samples; i++) free(texts[i]);
        free(texts);
        if (brc || dl_bpe_save(&vocab, tok_path, err)) goto out;
    }
    tg = dl_gguf_open(tok_path, err);
    if (!tg) goto out;
    if (resuming && dl_bpe_load(tg, &vocab, err)) goto out;
    tok = dl_tokenizer_load(tg, err);
    if (!tok) goto out;
    train_ex = make_examples(tok, train_p, p->n_samples, p->model.n_ctx, &n_train, &dropped, err);
    valid_ex = train_ex ? make_examples(tok, valid_p, p->n_valid, p->model.n_ctx, &n_valid, &dropped_v, err) : NULL;
    if (!train_ex || !valid_ex) goto out;
    if (n_train == 0) {
        dl_error_set(err, 400, "sft: every sample is longer than the context of %d tokens", p->model.n_ctx);
        goto out;
    }
    res->n_train = n_train;
    res->n_dropped = dropped;

    if (resuming) {
        t = dl_trainer_load(ckpt_path, err);
        if (!t) goto out;
        if (dl_tmodel_config(t->m)->n_vocab != vocab.n_tokens) {
            dl_error_set(err, 400, "sft: checkpoint and tokenizer in %s disagree on the vocabulary", p->out_dir);
            goto out;
        }
    } else {
        dl_tconfig cfg = p->model;
        cfg.n_vocab = vocab.n_tokens;
        dl_tmodel *m = dl_tmodel_new(&cfg, p->seed, err);
        if (!m) goto out;
        dl_optim_params op = p->optim;
        op.total = p->steps;
        t = dl_trainer_new(m, &op, p->seed ^ 0x5F7A11ull);
    }
    t->op.total = p->steps;
    res->n_params = dl_tmodel_n_params(t->m);
    res->n_vocab = vocab.n_tokens;
    pool = dl_pool_create(p->threads);
    log = fopen(log_path, resuming ? "a" : "w");
    if (!log) {
        dl_error_set(err, 500, "sft: cannot write %s", log_path);
        goto out;
    }
    if (!resuming) fprintf(log, "step,lr,loss,grad_norm,elapsed_ms\n");

    int64_t done_here = 0;
    while (t->step < p->steps) {
        if (p->max_seconds > 0 && dl_time_ms() - t0 > p->max_seconds * 1000.0) break;
        double loss, gn;
        float lr = dl_optim_lr(&t->op, t->step);
        if (dl_trainer_sft_step(t, train_ex, (size_t)n_train, p->batch, pool, &loss, &gn, err)) goto out;
        if (done_here++ == 0) res->first_loss = loss;
        res->last_loss = loss;
        double el = dl_time_ms() - t0;
        fprintf(log, "%lld,%.6g,%.6f,%.6f,%.1f\n", (long long)t->step, (double)lr, loss, gn, el);
        if (p->progress) {
            dl_sft_progress pr = {t->step, p->steps, loss, gn, (double)lr, el};
            p->progress(&pr, p->ud);
        }
    }
    res->steps = t->step;
    /* validation loss over the held-out samples */
    dl_batch vb = {valid_ex, n_valid};
    if (n_valid > 0 && dl_tmodel_loss_grad(t->m, &vb, pool, &res->val_loss, NULL, err)) goto out;
    if (dl_trainer_save(t, ckpt_path, err)) goto out;
    if (dl_budget_hints_from(tok, valid_p, p->n_valid, &res->hints, err)) goto out;
    if (dl_tmodel_export(t->m, &vocab, "deliberate-mini", &res->hints, res->model_path, err)) goto out;
    fclose(log);
    log = NULL;
    char svg_path[1024];
    dl_tpath_in(svg_path, sizeof svg_path, p->out_dir, "loss.svg");
    if (dl_sft_plot_log(log_path, svg_path, err)) goto out;
    res->seconds = (dl_time_ms() - t0) / 1000.0;
    rc = 0;
out:
    if (log) fclose(log);
    dl_pool_free(pool);
    dl_trainer_free(t);
    if (train_ex)
        for (int32_t i = 0; i < n_train; i++) dl_example_free(&train_ex[i]);
    if (valid_ex)
        for (int32_t i = 0; i < n_valid; i++) dl_example_free(&valid_ex[i]);
    free(train_ex);
    free(valid_ex);
    free_problems(train_p, p->n_samples);
    free_problems(valid_p, p->n_valid);
    dl_tokenizer_free(tok);
    dl_gguf_close(tg);
    dl_bpe_vocab_free(&vocab);
    return rc;
}
