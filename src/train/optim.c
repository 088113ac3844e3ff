/* AdamW with warm-up + cosine schedule and global-norm clipping, and the
 * trainer's checkpoints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

dl_optim_params dl_optim_default_params(void) {
    return (dl_optim_params){.lr = 3e-3f, .min_lr_frac = 0.1f, .warmup = 20, .total = 1000,
                             .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f,
                             .clip = 1.0f};
}

float dl_optim_lr(const dl_optim_params *p, int64_t step) {
    if (p->warmup > 0 && step < p->warmup) return p->lr * (float)(step + 1) / (float)p->warmup;
    int64_t span = (int64_t)p->total - p->warmup;
    double frac = span > 0 ? (double)(step - p->warmup) / (double)span : 1.0;
    if (frac > 1.0) frac = 1.0;
    double floor_lr = (double)p->lr * (double)p->min_lr_frac;
    return (float)(floor_lr + 0.5 * ((double)p->lr - floor_lr) * (1.0 + cos(3.141592653589793 * frac)));
}

dl_trainer *dl_trainer_new(dl_tmodel *m, const dl_optim_params *op, uint64_t data_seed) {
    dl_trainer *t = dl_xcalloc(1, sizeof *t);
    size_t n = dl_tmodel_n_params(m);
    t->m = m;
    t->op = op ? *op : dl_optim_default_params();
    t->adam_m = dl_xcalloc(n, sizeof(float));
    t->adam_v = dl_xcalloc(n, sizeof(float));
    t->decay = dl_xmalloc(n);
    for (size_t i = 0; i < n; i++) t->decay[i] = dl_tmodel_is_matrix(m, i);
    dl_trng_seed(&t->rng, data_seed);
    return t;
}

void dl_trainer_free(dl_trainer *t) {
    if (!t) return;
    dl_tmodel_free(t->m);
    free(t->adam_m);
    free(t->adam_v);
    free(t->decay);
    free(t);
}

void dl_trainer_update(dl_trainer *t, double *grad_norm) {
    size_t n = dl_tmodel_n_params(t->m);
    float *p = dl_tmodel_params(t->m), *g = dl_tmodel_grads(t->m);
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * (double)g[i];
    double norm = sqrt(ss);
    if (grad_norm) *grad_norm = norm;
    float gs = t->op.clip > 0.0f && norm > (double)t->op.clip ? (float)((double)t->op.clip / norm) : 1.0f;
    const float lr = dl_optim_lr(&t->op, t->step), b1 = t->op.beta1, b2 = t->op.beta2;
    t->step++;
    const float c1 = 1.0f - powf(b1, (float)t->step), c2 = 1.0f - powf(b2, (float)t->step);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gs;
        float mi = t->adam_m[i] = b1 * t->adam_m[i] + (1.0f - b1) * gi;
        float vi = t->adam_v[i] = b2 * t->adam_v[i] + (1.0f - b2) * gi * gi;
        float upd = (mi / c1) / (sqrtf(vi / c2) + t->op.eps);
        if (t->decay[i]) upd += t->op.weight_decay * p[i];
        p[i] -= lr * upd;
    }
}

int dl_trainer_sft_step(dl_trainer *t, const dl_example *pool, size_t n_pool, int32_t n_rows,
                        dl_pool *threads, double *loss, double *grad_norm, dl_error *err) {
    if (n_pool == 0 || n_rows < 1 || n_rows > 4096)
        return dl_error_set(err, 400, "sft: empty example pool or bad batch size %d", n_rows);
    dl_example *rows = dl_xmalloc((size_t)n_rows * sizeof(dl_example));
    for (int32_t i = 0; i < n_rows; i++) rows[i] = pool[dl_trng_range(&t->rng, 0, (int64_t)n_pool - 1)];
    dl_batch b = {rows, n_rows};
    int rc = dl_tmodel_loss_grad(t->m, &b, threads, loss, NULL, err);
    free(rows);
    if (rc) return -1;
    dl_trainer_update(t, grad_norm);
    return 0;
}

/* ---- checkpoints ---- */

#define CKPT_MAGIC "DLTRAIN1"

typedef struct ckpt_header {
    char magic[8];
    uint32_t version, reserved;
    dl_tconfig cfg;
    dl_optim_params op;
    int64_t step;
    uint64_t rng[4];
    uint64_t n_params;
} ckpt_header;

int dl_trainer_save(const dl_trainer *t, const char *path, dl_error *err) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return dl_error_set(err, 400, "checkpoint: path too long");
    ckpt_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CKPT_MAGIC, 8);
    h.version = 1;
    h.cfg = *dl_tmodel_config(t->m);
    h.op = t->op;
    h.step = t->step;
    memcpy(h.rng, t->rng.r.s, sizeof h.rng);
    size_t n = dl_tmodel_n_params(t->m);
    h.n_params = n;
    FILE *f = fopen(tmp, "wb");
    if (!f) return dl_error_set(err, 500, "checkpoint: cannot write %s", tmp);
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 &&
              fwrite(dl_tmodel_params(t->m), sizeof(float), n, f) == n &&
              fwrite(t->adam_m, sizeof(float), n, f) == n && fwrite(t->adam_v, sizeof(float), n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return dl_error_set(err, 500, "checkpoint: writing %s failed", path);
    }
    return 0;
}

dl_trainer *dl_trainer_load(const char *path, dl_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        dl_error_set(err, 404, "checkpoint: cannot open %s", path);
        return NULL;
    }
    ckpt_header h;
    dl_trainer *t = NULL;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, CKPT_MAGIC, 8) != 0 || h.version != 1) {
        dl_error_set(err, 400, "checkpoint: %s is not a deliberate training checkpoint", path);
        goto out;
    }
    dl_tmodel *m = dl_tmodel_new(&h.cfg, 0, err);
    if (!m) goto out;
    size_t n = dl_tmodel_n_params(m);
    if (h.n_params != n) {
        dl_error_set(err, 400, "checkpoint: %s holds %llu parameters, its configuration needs %zu", path,
                     (unsigned long long)h.n_params, n);
        dl_tmodel_free(m);
        goto out;
    }
    t = dl_trainer_new(m, &h.op, 0);
    t->step = h.step;
    memcpy(t->rng.r.s, h.rng, sizeof h.rng);
    if (fread(dl_tmodel_params(m), sizeof(float), n, f) != n || fread(t->adam_m, sizeof(float), n, f) != n ||
        fread(t->adam_v, sizeof(float), n, f) != n) {
        dl_error_set(err, 400, "checkpoint: %s is truncated", path);
        dl_trainer_free(t);
        t = NULL;
    }
out:
    fclose(f);
    return t;
}
