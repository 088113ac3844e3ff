/* deliberate safety train|eval: trains the stage-1 safety classifier on
 * labelled data and reports its held-out precision/recall/F1 and its flag
 * rates on evaluation sets it never saw. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../safety/classifier_int.h"
#include "cli.h"

static const char SAFETY_HELP[] =
    "usage: deliberate safety train [--data SPEC]... -o FILE [--seed S] [--epochs N]\n"
    "       deliberate safety eval [-m FILE] [--json]\n"
    "\n"
    "train  trains the stage-1 classifier (hashed n-grams, one logistic head per\n"
    "       category) on SPEC: a dataset name from the shared datasets folder\n"
    "       (advbench, do_not_answer, strongreject, davidson_hate_offensive,\n"
    "       toxigen_seed_statements, mitre_frr, halueval_general, templates), 'all'\n"
    "       (the default) or a labelled file of your own: .csv with columns\n"
    "       'text' and 'labels', .jsonl with fields 'text' and 'labels' (a list or\n"
    "       a comma-separated string of category names; empty or 'safe' = benign),\n"
    "       or TSV 'labels<TAB>text' lines. 20% of every\n"
    "       stratum is held out for evaluation and 10% calibrates the scores.\n"
    "eval   per-category precision/recall/F1 on the held-out split of the data\n"
    "       the model was trained with, then flag rates on xstest_prompts,\n"
    "       harmbench_behaviors, jbb_behaviors, simplesafetytests and multijail\n"
    "       (never used for training). -m defaults to models/safety/classifier.bin.\n"
    "\n"
    "The datasets folder is $DL_DATASETS, ../shared/datasets or $DL_SHARED/datasets.\n";

#define FRAC_TEST 0.2f
#define FRAC_CALIB 0.1f

static int load_specs(dl_dataset *all, char **specs, int n_specs, dl_error *err) {
    const char *root = dl_datasets_root();
    for (int i = 0; i < n_specs; i++)
        if (dl_dataset_load(all, specs[i], root, err)) return -1;
    return 0;
}

static bool flagged(const dl_classifier *c, const dl_scores *s) {
    for (int k = 0; k < DL_CAT__COUNT; k++)
        if (s->p[k] >= dl_classifier_threshold(c, (dl_category)k)) return true;
    return false;
}

static void progress_cb(float done, void *ctx) { cli_progress(done, ctx); }

static int cmd_train(int argc, char **argv) {
    char *specs[64];
    int n_specs = 0;
    const char *out = NULL;
    long seed = 1, epochs = 6;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--data") && i + 1 < argc) {
            if (n_specs == 64) return cli_usage_error("safety", "too many --data");
            specs[n_specs++] = argv[++i];
        } else if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (!cli_parse_long(argv[++i], 0, 1L << 62, &seed)) return cli_usage_error("safety", "bad --seed");
        } else if (!strcmp(a, "--epochs") && i + 1 < argc) {
            if (!cli_parse_long(argv[++i], 1, 1000, &epochs)) return cli_usage_error("safety", "bad --epochs");
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(SAFETY_HELP, stdout);
            return 0;
        } else return cli_usage_error("safety", "unknown option '%s'", a);
    }
    if (!out) return cli_usage_error("safety", "train needs -o FILE");
    static char all_spec[] = "all";
    if (!n_specs) specs[n_specs++] = all_spec;

    double t0 = dl_time_ms();
    dl_error err = {0};
    dl_dataset all = {0}, train, calib, test;
    if (load_specs(&all, specs, n_specs, &err)) {
        dl_dataset_free(&all);
        return cli_fail("%s", err.msg);
    }
    dl_dataset_split(&all, (uint64_t)seed, FRAC_TEST, FRAC_CALIB, &train, &calib, &test);
    size_t npos = 0;
    for (size_t i = 0; i < all.n; i++) npos += (all.v[i].mask & DL_LABEL_ANY) != 0;
    fprintf(stderr, "safety train: %zu samples (%zu harmful, %zu benign): train %zu, calibration %zu, held out %zu\n",
            all.n, npos, all.n - npos, train.n, calib.n, test.n);
    dl_train_opts o = {.seed = (uint64_t)seed, .epochs = (int)epochs, .progress = progress_cb,
                       .progress_ctx = (void *)"training"};
    dl_classifier *c = dl_classifier_train(&train, &calib, &o, &err);
    int rc = 0;
    if (!c) rc = cli_fail("%s", err.msg);
    else {
        size_t m = 0;
        for (int i = 0; i < n_specs && m + strlen(specs[i]) + 2 < DL_CLF_META_MAX; i++)
            m += (size_t)snprintf(c->meta + m, DL_CLF_META_MAX - m, "%s%s", i ? "," : "", specs[i]);
        if (dl_classifier_save(c, out, &err)) rc = cli_fail("%s", err.msg);
        else fprintf(stderr, "safety train: wrote %s in %.1f s\n", out, (dl_time_ms() - t0) / 1000.0);
    }
    dl_classifier_free(c);
    dl_dataset_free(&train);
    dl_dataset_free(&calib);
    dl_dataset_free(&test);
    dl_dataset_free(&all);
    return rc;
}

/* Flag rate of every group of an evaluation set, appended to arr / printed. */
static void eval_set(const dl_classifier *c, const dl_dataset *d, json_t *arr, bool json) {
    for (size_t g = 0; g < d->n_names; g++) {
        size_t n = 0, f = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (d->v[i].group != g) continue;
            dl_scores s;
            dl_classifier_score(c, d->v[i].text, strlen(d->v[i].text), &s);
            n++;
            f += flagged(c, &s);
        }
        bool harmful = false;
        for (size_t i = 0; i < d->n; i++)
            if (d->v[i].group == g) harmful = (d->v[i].mask & DL_LABEL_ANY) != 0;
        double rate = n ? (double)f / (double)n : 0;
        if (json)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:f}", "set", d->names[g], "expected",
                                                 harmful ? "flag" : "allow", "n", (json_int_t)n, "flagged",
                                                 (json_int_t)f, "flag_rate", rate));
        else
            printf("  %-22s %-6s n=%-5zu flagged %-5zu rate %5.1f%%%s\n", d->names[g], harmful ? "unsafe" : "safe",
                   n, f, 100 * rate, harmful ? "" : "  (false-flag rate)");
    }
}

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(SAFETY_HELP, stdout);
            return 0;
        } else return cli_usage_error("safety", "unknown option '%s'", argv[i]);
    }
    dl_error err = {0};
    dl_classifier *c = model ? dl_classifier_load(model, &err) : dl_classifier_load_default(&err);
    if (!c) return cli_fail("%s", err.msg);
    int rc = 0;
    json_t *root = json_object();

    /* held-out split of the training data, rebuilt from the model's spec and seed */
    char meta[DL_CLF_META_MAX], *specs[64];
    int n_specs = 0;
    snprintf(meta, sizeof meta, "%s", c->meta);
    char *save = NULL;
    for (char *s = strtok_r(meta, ",", &save); s && n_specs < 64; s = strtok_r(NULL, ",", &save))
        specs[n_specs++] = s;
    dl_dataset all = {0}, train, calib, test;
    if (n_specs && load_specs(&all, specs, n_specs, &err) == 0) {
        dl_dataset_split(&all, c->seed, FRAC_TEST, FRAC_CALIB, &train, &calib, &test);
        size_t tp[DL_CLF_HEADS] = {0}, fp[DL_CLF_HEADS] = {0}, fn[DL_CLF_HEADS] = {0};
        for (size_t i = 0; i < test.n; i++) {
            dl_scores s;
            dl_classifier_score(c, test.v[i].text, strlen(test.v[i].text), &s);
            for (int h = 0; h < DL_CLF_HEADS; h++) {
                bool f = h < DL_CAT__COUNT ? s.p[h] >= dl_classifier_threshold(c, (dl_category)h) : flagged(c, &s);
                bool y = (test.v[i].mask >> h) & 1u;
                tp[h] += f && y;
                fp[h] += f && !y;
                fn[h] += !f && y;
            }
        }
        json_t *cats = json_array();
        if (!json) printf("held-out split (%zu samples of %s, seed %llu):\n  %-24s %7s %7s %7s %7s %6s\n", test.n,
                          c->meta, (unsigned long long)c->seed, "category", "support", "P", "R", "F1", "thr");
        for (int h = 0; h < DL_CLF_HEADS; h++) {
            double p = tp[h] + fp[h] ? (double)tp[h] / (double)(tp[h] + fp[h]) : 0;
            double r = tp[h] + fn[h] ? (double)tp[h] / (double)(tp[h] + fn[h]) : 0;
            double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
            const char *name = h < DL_CAT__COUNT ? dl_category_name((dl_category)h) : "any (flagged)";
            float thr = h < DL_CAT__COUNT ? dl_classifier_threshold(c, (dl_category)h) : 0;
            if (json)
                json_array_append_new(cats, json_pack("{s:s,s:I,s:f,s:f,s:f,s:f}", "category", name, "support",
                                                      (json_int_t)(tp[h] + fn[h]), "precision", p, "recall", r,
                                                      "f1", f1, "threshold", (double)thr));
            else
                printf("  %-24s %7zu %7.3f %7.3f %7.3f %6.2f\n", name, tp[h] + fn[h], p, r, f1, (double)thr);
        }
        json_object_set_new(root, "heldout", json_pack("{s:s,s:I,s:I,s:o}", "data", c->meta, "seed",
                                                       (json_int_t)c->seed, "n", (json_int_t)test.n, "categories",
                                                       cats));
        dl_dataset_free(&train);
        dl_dataset_free(&calib);
        dl_dataset_free(&test);
    } else if (!json) {
        printf("held-out split: unavailable (%s)\n", n_specs ? err.msg : "no training spec in the model");
    }
    dl_dataset_free(&all);

    static const char *const SETS[] = {"xstest", "harmbench", "jbb", "sst", "multijail"};
    json_t *sets = json_array();
    if (!json) printf("evaluation sets (never used for training): a prompt is flagged when any category passes its threshold\n");
    for (size_t i = 0; i < DL_ARRAY_LEN(SETS); i++) {
        dl_dataset d = {0};
        if (dl_dataset_load_eval(&d, SETS[i], dl_datasets_root(), &err)) {
            if (!json) printf("  %-22s unavailable: %s\n", SETS[i], err.msg);
        } else eval_set(c, &d, sets, json);
        dl_dataset_free(&d);
    }
    json_object_set_new(root, "flag_rates", sets);
    if (json) {
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(4));
        fputc('\n', stdout);
    }
    json_decref(root);
    dl_classifier_free(c);
    return rc;
}

int cli_safety(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(SAFETY_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    return cli_usage_error("safety", "unknown subcommand '%s' (train or eval)", argv[1]);
}
