/* safety/classifier_train.c: trains the stage-1 classifier — SGD on the
 * logistic loss of every head with L2 (applied to the weights an example
 * touches) and positive-class weighting, int8 quantisation, then Platt
 * scaling and per-category thresholds fitted on a calibration split.
 * Single-threaded and deterministic given the seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "classifier_int.h"

typedef struct feats {
    uint32_t *b;    /* buckets of all samples, concatenated */
    size_t *off;    /* sample i: b[off[i] .. off[i+1]) */
    size_t n, cap;
} feats;

static void push_bucket(void *ctx, uint32_t bucket) {
    feats *f = ctx;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1 << 16;
        f->b = dl_xrealloc(f->b, f->cap * sizeof *f->b);
    }
    f->b[f->n++] = bucket;
}

static void featurise(const dl_dataset *d, feats *f) {
    memset(f, 0, sizeof *f);
    f->off = dl_xmalloc((d->n + 1) * sizeof *f->off);
    for (size_t i = 0; i < d->n; i++) {
        f->off[i] = f->n;
        dl_norm nm;
        dl_normalize(d->v[i].text, strlen(d->v[i].text), &nm);
        dl_clf_features(nm.text, strlen(nm.text), push_bucket, f);
        dl_norm_free(&nm);
    }
    f->off[d->n] = f->n;
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline float label(const dl_sample *s, int h) { return (s->mask >> h) & 1u ? 1.0f : 0.0f; }

/* Fits p = sigmoid(a z + b) to labels y by Newton's method on Platt's
 * smoothed targets. */
static void platt_fit(const float *z, const float *y, size_t n, float *a_out, float *b_out) {
    double np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] > 0.5f) np += 1;
        else nn += 1;
    }
    double tp = (np + 1) / (np + 2), tn = 1 / (nn + 2);
    double a = 1, b = 0;
    for (int it = 0; it < 50; it++) {
        double ga = 0, gb = 0, haa = 1e-6, hab = 0, hbb = 1e-6;
        for (size_t i = 0; i < n; i++) {
            double t = y[i] > 0.5f ? tp : tn;
            double p = 1 / (1 + exp(-(a * z[i] + b)));
            double r = p - t, w = p * (1 - p);
            ga += r * z[i];
            gb += r;
            haa += w * z[i] * z[i];
            hab += w * z[i];
            hbb += w;
        }
        double det = haa * hbb - hab * hab;
        if (fabs(det) < 1e-12) break;
        double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if (fabs(da) + fabs(db) < 1e-7) break;
    }
    if (!isfinite(a) || !isfinite(b) || a <= 0) a = 1, b = 0;
    *a_out = (float)a;
    *b_out = (float)b;
}

/* The threshold maximising F(beta=0.7, leaning to precision) on p/y, in
 * [0.25, 0.9]; 0.5 with fewer than 5 positives. */
static float pick_threshold(const float *p, const float *y, size_t n) {
    size_t np = 0;
    for (size_t i = 0; i < n; i++) np += y[i] > 0.5f;
    if (np < 5) return 0.5f;
    const double b2 = 0.49;
    float best_t = 0.5f;
    double best = -1;
    for (int k = 25; k <= 90; k++) {
        float t = (float)k / 100.0f;
        double tp = 0, fp = 0, fn = 0;
        for (size_t i = 0; i < n; i++) {
            bool f = p[i] >= t, pos = y[i] > 0.5f;
            tp += f && pos;
            fp += f && !pos;
            fn += !f && pos;
        }
        double denom = (1 + b2) * tp + b2 * fn + fp;
        double fb = denom > 0 ? (1 + b2) * tp / denom : 0;
        if (fb > best + 1e-9) best = fb, best_t = t;
    }
    return best_t;
}

static void calibrate(dl_classifier *c, const dl_dataset *calib) {
    if (calib->n < 20) return;
    size_t n = calib->n;
    float *z = dl_xmalloc(n * DL_CLF_HEADS * sizeof *z);
    float *zh = dl_xmalloc(n * sizeof *zh), *yh = dl_xmalloc(n * sizeof *yh), *ph = dl_xmalloc(n * sizeof *ph);
    for (size_t i = 0; i < n; i++) {
        dl_norm nm;
        dl_normalize(calib->v[i].text, strlen(calib->v[i].text), &nm);
        dl_clf_logits(c, nm.text, strlen(nm.text), z + i * DL_CLF_HEADS);
        dl_norm_free(&nm);
    }
    for (int h = 0; h < DL_CLF_HEADS; h++) {
        size_t np = 0;
        for (size_t i = 0; i < n; i++) {
            zh[i] = z[i * DL_CLF_HEADS + h];
            yh[i] = label(&calib->v[i], h);
            np += yh[i] > 0.5f;
        }
        if (np >= 3) platt_fit(zh, yh, n, &c->platt_a[h], &c->platt_b[h]);
        if (h < DL_CAT__COUNT) {
            for (size_t i = 0; i < n; i++) ph[i] = dl_clf_sigmoid(c->platt_a[h] * zh[i] + c->platt_b[h]);
            c->thresh[h] = pick_threshold(ph, yh, n);
        }
    }
    free(z);
    free(zh);
    free(yh);
    free(ph);
}

dl_classifier *dl_classifier_train(const dl_dataset *train, const dl_dataset *calib,
                                   const dl_train_opts *opts, dl_error *err) {
    if (!train->n) {
        dl_error_set(err, 400, "no training samples");
        return NULL;
    }
    int epochs = opts->epochs > 0 ? opts->epochs : 6;
    float lr0 = opts->lr > 0 ? opts->lr : 0.5f;
    float l2 = opts->l2 > 0 ? opts->l2 : 1e-6f;
    feats f;
    featurise(train, &f);
    size_t n = train->n;

    /* positive-class weights: sqrt of the class ratio, in [1, 10] */
    float wpos[DL_CLF_HEADS];
    for (int h = 0; h < DL_CLF_HEADS; h++) {
        double np = 0;
        for (size_t i = 0; i < n; i++) np += label(&train->v[i], h);
        double r = np > 0 ? sqrt(((double)n - np) / np) : 1;
        wpos[h] = (float)(r < 1 ? 1 : r > 10 ? 10 : r);
    }

    float *W = dl_xcalloc((size_t)DL_CLF_BUCKETS * DL_CLF_HEADS, sizeof *W);
    float bias[DL_CLF_HEADS] = {0};
    size_t *order = dl_xmalloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = i;
    uint64_t rs = opts->seed * 0x2545F4914F6CDD1DULL + 1;
    for (int ep = 0; ep < epochs; ep++) {
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(rng_next(&rs) % i), t = order[i - 1];
            order[i - 1] = order[j];
            order[j] = t;
        }
        float lr = lr0 / (1.0f + 0.5f * (float)ep);
        for (size_t k = 0; k < n; k++) {
            size_t i = order[k];
            const uint32_t *b = f.b + f.off[i];
            size_t nb = f.off[i + 1] - f.off[i];
            if (!nb) continue;
            float x = 1.0f / sqrtf((float)nb), z[DL_CLF_HEADS], g[DL_CLF_HEADS];
            for (int h = 0; h < DL_CLF_HEADS; h++) z[h] = 0;
            for (size_t j = 0; j < nb; j++) {
                const float *row = W + (size_t)b[j] * DL_CLF_HEADS;
                for (int h = 0; h < DL_CLF_HEADS; h++) z[h] += row[h];
            }
            for (int h = 0; h < DL_CLF_HEADS; h++) {
                float y = label(&train->v[i], h);
                float p = dl_clf_sigmoid(bias[h] + x * z[h]);
                g[h] = (p - y) * (y > 0.5f ? wpos[h] : 1.0f);
                bias[h] -= 0.1f * lr * g[h];
            }
            for (size_t j = 0; j < nb; j++) {
                float *row = W + (size_t)b[j] * DL_CLF_HEADS;
                for (int h = 0; h < DL_CLF_HEADS; h++) row[h] -= lr * (g[h] * x + l2 * row[h]);
            }
            if (opts->progress && (k & 1023) == 0)
                opts->progress(((float)ep + (float)k / (float)n) / (float)epochs * 0.95f, opts->progress_ctx);
        }
    }
    free(order);
    free(f.b);
    free(f.off);

    /* quantise: per-head scale from the largest weight */
    dl_classifier *c = dl_clf_new();
    for (int h = 0; h < DL_CLF_HEADS; h++) {
        float mx = 0;
        for (size_t bkt = 0; bkt < DL_CLF_BUCKETS; bkt++) {
            float a = fabsf(W[bkt * DL_CLF_HEADS + h]);
            if (a > mx) mx = a;
        }
        c->scale[h] = mx > 0 ? mx / 127.0f : 1.0f / 127.0f;
        c->bias[h] = bias[h];
        for (size_t bkt = 0; bkt < DL_CLF_BUCKETS; bkt++) {
            float q = roundf(W[bkt * DL_CLF_HEADS + h] / c->scale[h]);
            c->w[bkt * DL_CLF_STRIDE + (size_t)h] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
    }
    free(W);
    c->seed = opts->seed;
    calibrate(c, calib);
    if (opts->progress) opts->progress(1.0f, opts->progress_ctx);
    return c;
}
