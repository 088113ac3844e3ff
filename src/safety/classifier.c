/* safety/classifier.c: the stage-1 fast classifier — hashed word and
 * character n-gram features, one quantised logistic-regression head per
 * category plus "any", Platt calibration, the model file format.
 *
 * File layout (little-endian):
 *   "DLSCLF01" | u32 version (1) | u32 buckets_log2 | u32 heads | u32 meta_len
 *   | u64 seed | f32 scale[heads] | f32 bias[heads] | f32 platt_a[heads]
 *   | f32 platt_b[heads] | f32 thresh[heads-1] | meta bytes
 *   | i8 w[buckets][heads] | u64 FNV-1a of everything before. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classifier_int.h"

static const char MAGIC[8] = {'D', 'L', 'S', 'C', 'L', 'F', '0', '1'};
#define FILE_VERSION 1u

float dl_clf_sigmoid(float x) {
    if (x > 30.0f) return 1.0f;
    if (x < -30.0f) return 0.0f;
    return 1.0f / (1.0f + expf(-x));
}

dl_classifier *dl_clf_new(void) {
    dl_classifier *c = dl_xcalloc(1, sizeof *c);
    c->w = dl_xcalloc(DL_CLF_BUCKETS, DL_CLF_STRIDE);
    for (int h = 0; h < DL_CLF_HEADS; h++) {
        c->scale[h] = 1.0f / 127.0f;
        c->platt_a[h] = 1.0f;
    }
    for (int k = 0; k < DL_CAT__COUNT; k++) c->thresh[k] = 0.5f;
    return c;
}

void dl_classifier_free(dl_classifier *c) {
    if (!c) return;
    free(c->w);
    free(c);
}

/* ---- features ---------------------------------------------------------- */

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static inline uint32_t bucket_of(uint64_t h) {
    return (uint32_t)(mix64(h) >> (64 - DL_CLF_BUCKETS_LOG2));
}

static inline bool word_byte(unsigned char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80 ||
           (ch >= 'A' && ch <= 'Z') || ch == '\'';
}

static inline unsigned char lower(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + 32) : ch;
}

size_t dl_clf_features(const char *text, size_t len, dl_clf_feature_fn fn, void *ctx) {
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0;
    /* character 3-5-grams over the text with whitespace runs collapsed to
     * one space and a space at both ends */
    unsigned char ring[8] = {0};
    size_t filled = 0;
    bool last_space = false;
    for (size_t i = 0; i <= len + 1; i++) {
        unsigned char ch;
        if (i == 0 || i > len) ch = ' ';
        else {
            ch = lower(s[i - 1]);
            if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v') ch = ' ';
        }
        if (ch == ' ') {
            if (last_space) continue;
            last_space = true;
        } else {
            last_space = false;
        }
        memmove(ring, ring + 1, 4);
        ring[4] = ch;
        filled++;
        if (filled < 3) continue;
        uint64_t h = 0xcbf29ce484222325ULL;
        /* the n-gram ending here, longest first: ring[2..4], ring[1..4], ring[0..4] */
        h = (h ^ ring[4]) * 0x100000001b3ULL;
        h = (h ^ ring[3]) * 0x100000001b3ULL;
        h = (h ^ ring[2]) * 0x100000001b3ULL;
        fn(ctx, bucket_of(h ^ 3));
        n++;
        if (filled >= 4) {
            h = (h ^ ring[1]) * 0x100000001b3ULL;
            fn(ctx, bucket_of(h ^ 4));
            n++;
        }
        if (filled >= 5) {
            h = (h ^ ring[0]) * 0x100000001b3ULL;
            fn(ctx, bucket_of(h ^ 5));
            n++;
        }
    }
    /* word unigrams and bigrams */
    uint64_t prev = 0;
    bool have_prev = false;
    size_t i = 0;
    while (i < len) {
        while (i < len && !word_byte(s[i])) i++;
        if (i >= len) break;
        uint64_t h = 0x84222325cbf29ce4ULL;
        while (i < len && word_byte(s[i])) {
            h = (h ^ lower(s[i])) * 0x100000001b3ULL;
            i++;
        }
        fn(ctx, bucket_of(h ^ 0x10));
        n++;
        if (have_prev) {
            fn(ctx, bucket_of((prev * 0x9e3779b97f4a7c15ULL) ^ h ^ 0x20));
            n++;
        }
        prev = h;
        have_prev = true;
    }
    return n;
}

typedef struct acc_ctx {
    const int8_t *w;
    int32_t acc[DL_CLF_STRIDE];
} acc_ctx;

static void acc_feature(void *ctx, uint32_t bucket) {
    acc_ctx *a = ctx;
    const int8_t *row = a->w + (size_t)bucket * DL_CLF_STRIDE;
    for (int k = 0; k < DL_CLF_STRIDE; k++) a->acc[k] += row[k];
}

void dl_clf_logits(const dl_classifier *c, const char *text, size_t len, float z[DL_CLF_HEADS]) {
    acc_ctx a;
    a.w = c->w;
    memset(a.acc, 0, sizeof a.acc);
    size_t n = dl_clf_features(text, len, acc_feature, &a);
    float inv = n ? 1.0f / sqrtf((float)n) : 0.0f;
    for (int h = 0; h < DL_CLF_HEADS; h++) z[h] = c->bias[h] + c->scale[h] * (float)a.acc[h] * inv;
}

static void score_view(const dl_classifier *c, const char *text, size_t len, float p[DL_CLF_HEADS]) {
    float z[DL_CLF_HEADS];
    dl_clf_logits(c, text, len, z);
    for (int h = 0; h < DL_CLF_HEADS; h++) p[h] = dl_clf_sigmoid(c->platt_a[h] * z[h] + c->platt_b[h]);
}

void dl_classifier_score(const dl_classifier *c, const char *text, size_t len, dl_scores *out) {
    dl_norm nm;
    dl_normalize(text, len, &nm);
    float best[DL_CLF_HEADS], p[DL_CLF_HEADS];
    score_view(c, nm.text, strlen(nm.text), best);
    for (size_t d = 0; d < nm.n_decoded; d++) {
        score_view(c, nm.decoded[d], strlen(nm.decoded[d]), p);
        for (int h = 0; h < DL_CLF_HEADS; h++)
            if (p[h] > best[h]) best[h] = p[h];
    }
    dl_norm_free(&nm);
    for (int k = 0; k < DL_CAT__COUNT; k++) out->p[k] = best[k];
    out->any = best[DL_CLF_ANY];
}

float dl_classifier_threshold(const dl_classifier *c, dl_category cat) {
    if ((int)cat < 0 || cat >= DL_CAT__COUNT) return 1.0f;
    return c->thresh[cat];
}

/* ---- file format ------------------------------------------------------- */

static uint64_t fnv_update(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

typedef struct writer {
    FILE *f;
    uint64_t h;
    bool bad;
} writer;

static void put(writer *w, const void *p, size_t n) {
    if (fwrite(p, 1, n, w->f) != n) w->bad = true;
    w->h = fnv_update(w->h, p, n);
}

int dl_classifier_save(const dl_classifier *c, const char *path, dl_error *err) {
    FILE *f = fopen(path, "wb");
    if (!f) return dl_error_set(err, 500, "cannot write %s", path);
    writer w = {f, 0xcbf29ce484222325ULL, false};
    uint32_t meta_len = (uint32_t)strnlen(c->meta, DL_CLF_META_MAX - 1);
    uint32_t hdr[4] = {FILE_VERSION, DL_CLF_BUCKETS_LOG2, DL_CLF_HEADS, meta_len};
    put(&w, MAGIC, 8);
    put(&w, hdr, sizeof hdr);
    put(&w, &c->seed, 8);
    put(&w, c->scale, sizeof c->scale);
    put(&w, c->bias, sizeof c->bias);
    put(&w, c->platt_a, sizeof c->platt_a);
    put(&w, c->platt_b, sizeof c->platt_b);
    put(&w, c->thresh, sizeof c->thresh);
    put(&w, c->meta, meta_len);
    for (size_t b = 0; b < DL_CLF_BUCKETS; b++) put(&w, c->w + b * DL_CLF_STRIDE, DL_CLF_HEADS);
    uint64_t h = w.h;
    if (fwrite(&h, 1, 8, f) != 8) w.bad = true;
    if (fclose(f) != 0) w.bad = true;
    if (w.bad) return dl_error_set(err, 500, "cannot write %s", path);
    return 0;
}

typedef struct reader {
    const unsigned char *p;
    size_t n, off;
} reader;

static bool get(reader *r, void *out, size_t n) {
    if (r->n - r->off < n) return false;
    memcpy(out, r->p + r->off, n);
    r->off += n;
    return true;
}

dl_classifier *dl_classifier_load(const char *path, dl_error *err) {
    size_t len = 0;
    dl_error rerr = {0};
    char *data = dl_read_file(path, &len, &rerr);
    if (!data) {
        dl_error_set(err, 400, "cannot read classifier %s: %s", path, rerr.msg);
        return NULL;
    }
    dl_classifier *c = NULL;
    const char *why = NULL;
    reader r = {(const unsigned char *)data, len, 0};
    char magic[8];
    uint32_t hdr[4];
    if (len < 8 + 8 || !get(&r, magic, 8) || memcmp(magic, MAGIC, 8) != 0) {
        why = "not a deliberate classifier (bad magic)";
        goto out;
    }
    uint64_t stored;
    memcpy(&stored, data + len - 8, 8);
    if (fnv_update(0xcbf29ce484222325ULL, data, len - 8) != stored) {
        why = "checksum mismatch (corrupt or truncated)";
        goto out;
    }
    r.n = len - 8;
    if (!get(&r, hdr, sizeof hdr)) {
        why = "truncated header";
        goto out;
    }
    if (hdr[0] != FILE_VERSION || hdr[1] != DL_CLF_BUCKETS_LOG2 || hdr[2] != DL_CLF_HEADS ||
        hdr[3] >= DL_CLF_META_MAX) {
        why = "unsupported version, bucket count, head count or metadata size";
        goto out;
    }
    c = dl_clf_new();
    bool ok = get(&r, &c->seed, 8) && get(&r, c->scale, sizeof c->scale) &&
              get(&r, c->bias, sizeof c->bias) && get(&r, c->platt_a, sizeof c->platt_a) &&
              get(&r, c->platt_b, sizeof c->platt_b) && get(&r, c->thresh, sizeof c->thresh) &&
              get(&r, c->meta, hdr[3]);
    if (!ok || r.n - r.off != (size_t)DL_CLF_BUCKETS * DL_CLF_HEADS) {
        why = "wrong size";
        goto out;
    }
    c->meta[hdr[3]] = 0;
    for (size_t b = 0; b < DL_CLF_BUCKETS; b++)
        memcpy(c->w + b * DL_CLF_STRIDE, r.p + r.off + b * DL_CLF_HEADS, DL_CLF_HEADS);
    for (int h = 0; h < DL_CLF_HEADS; h++)
        if (!isfinite(c->scale[h]) || !isfinite(c->bias[h]) || !isfinite(c->platt_a[h]) ||
            !isfinite(c->platt_b[h])) why = "non-finite parameters";
    for (int k = 0; k < DL_CAT__COUNT; k++)
        if (!(c->thresh[k] >= 0.0f && c->thresh[k] <= 1.0f)) why = "threshold outside [0,1]";
out:
    free(data);
    if (why) {
        dl_classifier_free(c);
        dl_error_set(err, 400, "invalid classifier %s: %s", path, why);
        return NULL;
    }
    return c;
}

dl_classifier *dl_classifier_load_default(dl_error *err) {
    char cand[4200];
    const char *env = getenv("DL_CLASSIFIER");
    if (env && *env) return dl_classifier_load(env, err);
    /* beside the program: build/rel/x -> repo root */
    if (dl_find_beside_exe("models/safety/classifier.bin", cand, sizeof cand))
        return dl_classifier_load(cand, err);
    if (access("models/safety/classifier.bin", R_OK) == 0)
        return dl_classifier_load("models/safety/classifier.bin", err);
    dl_error_set(err, 404, "models/safety/classifier.bin not found next to the program or in the "
                           "current directory (set DL_CLASSIFIER)");
    return NULL;
}
