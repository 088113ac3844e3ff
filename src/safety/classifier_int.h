/* safety/classifier_int.h: internals of the stage-1 classifier shared by
 * classifier.c (features, scoring, file format), classifier_train.c
 * (training, calibration, splits) and datasets.c (labelled data), and used
 * by `deliberate safety`, the benchmark and the tests. Not part of the
 * public contract (safety.h). */
#ifndef DL_SAFETY_CLASSIFIER_INT_H
#define DL_SAFETY_CLASSIFIER_INT_H

#include "safety.h"

#define DL_CLF_BUCKETS_LOG2 18
#define DL_CLF_BUCKETS (1u << DL_CLF_BUCKETS_LOG2)
#define DL_CLF_HEADS (DL_CAT__COUNT + 1) /* 13 categories + "any" */
#define DL_CLF_ANY DL_CAT__COUNT         /* index of the "any" head */
#define DL_CLF_STRIDE 16                 /* heads padded to 16 in memory */
#define DL_CLF_META_MAX 1024

struct dl_classifier {
    int8_t *w;                    /* (DL_CLF_BUCKETS, DL_CLF_STRIDE) quantised weights */
    float scale[DL_CLF_HEADS];    /* weight = w * scale */
    float bias[DL_CLF_HEADS];     /* logit bias */
    float platt_a[DL_CLF_HEADS];  /* p = sigmoid(platt_a * logit + platt_b) */
    float platt_b[DL_CLF_HEADS];
    float thresh[DL_CAT__COUNT];  /* flag when p >= thresh */
    uint64_t seed;                /* training seed (the eval split is rebuilt from it) */
    char meta[DL_CLF_META_MAX];   /* training data spec, e.g. "advbench,do_not_answer" */
};

/* ---- features ---- */

/* Calls fn(ctx, bucket) for each hashed feature of text[0..len) (word
 * unigrams and bigrams, character 3-5-grams with whitespace collapsed);
 * returns the number of features. Text is expected already normalised. */
typedef void (*dl_clf_feature_fn)(void *ctx, uint32_t bucket);
size_t dl_clf_features(const char *text, size_t len, dl_clf_feature_fn fn, void *ctx);
/* Raw logits (before calibration) of one already normalised text. */
void dl_clf_logits(const dl_classifier *c, const char *text, size_t len, float z[DL_CLF_HEADS]);
/* Allocates a zeroed classifier with identity calibration, thresholds 0.5. */
dl_classifier *dl_clf_new(void);
float dl_clf_sigmoid(float x);

/* ---- labelled data ---- */

#define DL_LABEL_ANY (1u << DL_CLF_ANY) /* harmful (some category applies) */

typedef struct dl_sample {
    char *text;       /* raw text */
    uint32_t mask;    /* bit c = category c applies; DL_LABEL_ANY when any does */
    uint16_t group;   /* stratum for splits / subset for reports (index in names) */
} dl_sample;

typedef struct dl_dataset {
    dl_sample *v;
    size_t n, cap;
    char **names;      /* group names, e.g. "advbench", "xstest:safe" */
    size_t n_names;
    bool owns;         /* texts and names are owned (splits borrow them) */
} dl_dataset;

void dl_dataset_free(dl_dataset *d);
/* Appends a sample (text copied) in group `group_name` (created on first use). */
void dl_dataset_add(dl_dataset *d, const char *group_name, const char *text, uint32_t mask);
/* Loads one training spec into d: a dataset name from the shared folder
 * ("advbench", "do_not_answer", "strongreject", "davidson_hate_offensive",
 * "toxigen_seed_statements", "mitre_frr", "halueval_general", "templates")
 * or "all" for all of them, or a TSV file path (lines "labels<TAB>text";
 * labels comma-separated category names or "safe"). root is the datasets
 * folder. 0 / -1 + err (400 naming the file). */
int dl_dataset_load(dl_dataset *d, const char *spec, const char *root, dl_error *err);
/* Loads an evaluation set ("xstest", "harmbench", "jbb", "sst", "multijail")
 * with groups naming its subsets (e.g. "xstest:safe", "multijail:de"). */
int dl_dataset_load_eval(dl_dataset *d, const char *name, const char *root, dl_error *err);
/* The category mask of a harmful text from keywords (0 when none match). */
uint32_t dl_label_keywords(const char *text);

/* Deterministic stratified split (by group and mask) into borrowed views:
 * frac_test to test, frac_calib to calib, the rest to train. */
void dl_dataset_split(const dl_dataset *all, uint64_t seed, float frac_test, float frac_calib,
                      dl_dataset *train, dl_dataset *calib, dl_dataset *test);

/* ---- training ---- */

typedef struct dl_train_opts {
    uint64_t seed;
    int epochs;             /* default 6 */
    float lr;               /* default 0.5 */
    float l2;               /* default 1e-6 */
    void (*progress)(float done, void *ctx);
    void *progress_ctx;
} dl_train_opts;

/* Trains the heads on train, quantises, then fits Platt scaling and the
 * thresholds on calib (identity calibration and 0.5 when calib is empty or
 * too small). Deterministic given opts->seed. */
dl_classifier *dl_classifier_train(const dl_dataset *train, const dl_dataset *calib,
                                   const dl_train_opts *opts, dl_error *err);

#endif
