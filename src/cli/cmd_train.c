/* deliberate train sft|sample|eval: the project's own reasoning model —
 * generated problems with reasoning traces, a BPE vocabulary, a qwen3 model
 * trained in C, exported as GGUF. docs/train.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../train/train.h"
#include "cli.h"

static const char TRAIN_HELP[] =
    "usage: deliberate train sft [--out DIR] [--steps N] [--time SECONDS] [--threads N] [...]\n"
    "       deliberate train rl --from SFT_DIR --out DIR [--steps N] [--group G] [...]\n"
    "       deliberate train curves -m FILE --out DIR [--budgets SPEC] [--votes 1,4,16] [...]\n"
    "       deliberate train sample [--task NAME] [--level N] [--split S] [-n N] [--seed N]\n"
    "       deliberate train plot LOG.csv OUT.svg\n"
    "       deliberate train eval -m FILE [--task NAME] [--levels A-B] [-n N] [--max-tokens N]\n"
    "                             [--no-thinking] [--show]\n"
    "\n"
    "sft     generates problems with step-by-step traces, learns a byte-level BPE\n"
    "        vocabulary from them, trains a qwen3 model on the assistant tokens and\n"
    "        writes DIR/model.gguf (runs with 'deliberate chat -m DIR/model.gguf'),\n"
    "        DIR/tokenizer.gguf, DIR/checkpoint.bin and DIR/train_log.csv.\n"
    "          --out DIR         output folder (default train-out)\n"
    "          --steps N         optimiser steps (default 200)\n"
    "          --time SECONDS    stop early after this long (default: no limit)\n"
    "          --threads N       worker threads (default 2)\n"
    "          --seed N          data, vocabulary and initialisation seed (default 1)\n"
    "          --batch N         sequences per step (default 8)\n"
    "          --lr F            peak learning rate (default 0.003)\n"
    "          --warmup N        warm-up steps (default 20)\n"
    "          --samples N       generated training samples (default 4000)\n"
    "          --vocab N         vocabulary size incl. 5 special tokens (default 512)\n"
    "          --levels A-B      difficulty levels (default 1-2)\n"
    "          --task NAME       only this task (repeatable; default all)\n"
    "          --embd N --layers N --heads N --kv-heads N --head-dim N --ff N --ctx N\n"
    "                            model shape (default 64, 2, 4, 2, 16, 192, 256)\n"
    "          --resume          continue from DIR/checkpoint.bin\n"
    "rl      GRPO-style reinforcement learning from an sft output ('train rl --help')\n"
    "curves  accuracy vs thinking budget and vs n samples with majority vote, through\n"
    "        the reasoning controller ('train curves --help')\n"
    "sample  prints generated problems: question, trace and answer\n"
    "plot    redraws the chart of a training log (train_log.csv -> loss chart,\n"
    "        rl_log.csv -> reward and accuracy chart)\n"
    "eval    greedy accuracy of a trained GGUF on held-out (test split) problems;\n"
    "        --no-thinking prompts as reasoning effort none does (empty think block)\n"
    "\n"
    "tasks: add sub mul letters compare sort expr linear word; levels 1..5.\n";

static int parse_task(const char *s, uint32_t *mask) {
    int k = dl_task_from_name(s);
    if (k < 0) return -1;
    *mask |= 1u << k;
    return 0;
}

static void sft_progress(const dl_sft_progress *p, void *ud) {
    (void)ud;
    cli_step_bar(p->step, p->total, "loss %.4f  |g| %.3f  lr %.2e  %.1f s", p->loss, p->grad_norm, p->lr,
                 p->elapsed_ms / 1000.0);
}

#define NUM_OPT(flag, lo, hi, dst)                                                           \
    else if (!strcmp(a, flag) && i + 1 < argc) {                                             \
        long v_;                                                                             \
        if (!cli_parse_long(argv[++i], lo, hi, &v_)) return cli_usage_error("train", "bad " flag); \
        dst = v_;                                                                            \
    }

static int cmd_sft(int argc, char **argv) {
    dl_sft_params p = dl_sft_default_params();
    long seconds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--out") && i + 1 < argc) p.out_dir = argv[++i];
        NUM_OPT("--steps", 1, 10000000, p.steps)
        NUM_OPT("--time", 1, 1000000, seconds)
        NUM_OPT("--threads", 1, 256, p.threads)
        NUM_OPT("--batch", 1, 4096, p.batch)
        NUM_OPT("--warmup", 0, 1000000, p.optim.warmup)
        NUM_OPT("--samples", 1, 10000000, p.n_samples)
        NUM_OPT("--vocab", 261, 65536, p.vocab_size)
        NUM_OPT("--embd", 2, 8192, p.model.n_embd)
        NUM_OPT("--layers", 1, 64, p.model.n_layer)
        NUM_OPT("--heads", 1, 128, p.model.n_head)
        NUM_OPT("--kv-heads", 1, 128, p.model.n_head_kv)
        NUM_OPT("--head-dim", 2, 1024, p.model.head_dim)
        NUM_OPT("--ff", 1, 32768, p.model.n_ff)
        NUM_OPT("--ctx", 16, 8192, p.model.n_ctx)
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (!cli_parse_u64(argv[++i], &p.seed)) return cli_usage_error("train", "bad --seed");
        } else if (!strcmp(a, "--lr") && i + 1 < argc) {
            if (!cli_parse_float(argv[++i], 1e-7f, 1.0f, &p.optim.lr)) return cli_usage_error("train", "bad --lr");
        } else if (!strcmp(a, "--levels") && i + 1 < argc) {
            if (!cli_parse_levels(argv[++i], DL_TASK_MAX_LEVEL, &p.min_level, &p.max_level))
                return cli_usage_error("train", "bad --levels (e.g. 1-3)");
        } else if (!strcmp(a, "--task") && i + 1 < argc) {
            if (parse_task(argv[++i], &p.task_mask)) return cli_usage_error("train", "unknown task '%s'", argv[i]);
        } else if (!strcmp(a, "--resume")) p.resume = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(TRAIN_HELP, stdout);
            return 0;
        } else return cli_usage_error("train", "unknown option '%s'", a);
    }
    if (p.model.n_head % p.model.n_head_kv) return cli_usage_error("train", "--heads must be a multiple of --kv-heads");
    p.max_seconds = (double)seconds;
    p.progress = sft_progress;
    dl_sft_result r;
    dl_error err = {0};
    int rc = dl_sft_run(&p, &r, &err);
    if (isatty(2)) fputc('\n', stderr);
    if (rc) return cli_fail("%s", err.msg);
    printf("trained %zu parameters (vocabulary %d) for %lld steps in %.1f s on %d threads\n", r.n_params,
           r.n_vocab, (long long)r.steps, r.seconds, p.threads);
    printf("examples: %d (dropped %d longer than %d tokens)\n", r.n_train, r.n_dropped, p.model.n_ctx);
    printf("loss: first step %.4f, last step %.4f, validation %.4f\n", r.first_loss, r.last_loss, r.val_loss);
    printf("thinking budgets (tokens, written to the model): low %d, medium %d, high %d\n", r.hints.low,
           r.hints.medium, r.hints.high);
    printf("model: %s\n", r.model_path);
    return 0;
}

int cli_parse_split(const char *s, dl_split *out) {
    if (!strcmp(s, "train")) *out = DL_SPLIT_TRAIN;
    else if (!strcmp(s, "validation") || !strcmp(s, "valid")) *out = DL_SPLIT_VALID;
    else if (!strcmp(s, "test")) *out = DL_SPLIT_TEST;
    else return -1;
    return 0;
}

static int cmd_sample(int argc, char **argv) {
    uint32_t mask = 0;
    long level = 1, n = 3;
    uint64_t seed = 1;
    dl_split split = DL_SPLIT_TRAIN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--task") && i + 1 < argc) {
            if (parse_task(argv[++i], &mask)) return cli_usage_error("train", "unknown task '%s'", argv[i]);
        }
        NUM_OPT("--level", 1, DL_TASK_MAX_LEVEL, level)
        NUM_OPT("-n", 1, 100000, n)
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (!cli_parse_u64(argv[++i], &seed)) return cli_usage_error("train", "bad --seed");
        } else if (!strcmp(a, "--split") && i + 1 < argc) {
            if (cli_parse_split(argv[++i], &split)) return cli_usage_error("train", "bad --split (train, validation, test)");
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(TRAIN_HELP, stdout);
            return 0;
        } else return cli_usage_error("train", "unknown option '%s'", a);
    }
    dl_trng r;
    dl_trng_seed(&r, seed);
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        if (mask && !(mask >> k & 1)) continue;
        for (long i = 0; i < n; i++) {
            dl_problem p;
            dl_error err = {0};
            if (dl_task_generate((dl_task_kind)k, (int)level, split, &r, &p, &err)) return cli_fail("%s", err.msg);
            dl_buf b = {0};
            if (dl_sample_render(&p, &b, NULL, &err)) {
                dl_buf_free(&b);
                dl_problem_free(&p);
                return cli_fail("%s", err.msg);
            }
            printf("### %s level %ld (%s)\n%s\n", dl_task_name(p.kind), level, dl_split_name(split), b.data);
            dl_buf_free(&b);
            dl_problem_free(&p);
        }
    }
    return 0;
}

bool cli_parse_levels(const char *s, int max, int *lo, int *hi) {
    int a, b;
    char extra;
    int k = sscanf(s, "%d-%d%c", &a, &b, &extra);
    if (k == 1 && strchr(s, '-') == NULL) b = a;
    else if (k != 2) return false;
    if (a < 1 || b > max || a > b) return false;
    *lo = a, *hi = b;
    return true;
}

static int cmd_eval(int argc, char **argv) {
    const char *model = NULL;
    uint32_t mask = 0;
    long n = 20, max_tokens = 256, threads = 2;
    int lo = 1, hi = 1;
    uint64_t seed = 1;
    bool show = false, thinking = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(a, "--no-thinking")) thinking = false;
        else if (!strcmp(a, "--task") && i + 1 < argc) {
            if (parse_task(argv[++i], &mask)) return cli_usage_error("train", "unknown task '%s'", argv[i]);
        }
        else if ((!strcmp(a, "--level") || !strcmp(a, "--levels")) && i + 1 < argc) {
            if (!cli_parse_levels(argv[++i], DL_TASK_MAX_LEVEL, &lo, &hi))
                return cli_usage_error("train", "bad %s (a level 1..%d or a range, e.g. 1-3)", a, DL_TASK_MAX_LEVEL);
        }
        NUM_OPT("-n", 1, 100000, n)
        NUM_OPT("--max-tokens", 1, 100000, max_tokens)
        NUM_OPT("--threads", 1, 256, threads)
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (!cli_parse_u64(argv[++i], &seed)) return cli_usage_error("train", "bad --seed");
        } else if (!strcmp(a, "--show")) show = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(TRAIN_HELP, stdout);
            return 0;
        } else return cli_usage_error("train", "unknown option '%s'", a);
    }
    if (!model) return cli_usage_error("train", "eval needs -m FILE");
    dl_eval_task_result res[DL_TASK__COUNT];
    dl_error err = {0};
    if (dl_train_evaluate(model, mask, lo, hi, DL_SPLIT_TEST, (int32_t)n, (int32_t)max_tokens, thinking, seed,
                          (int)threads, res, show ? stdout : NULL, &err))
        return cli_fail("%s", err.msg);
    int tn = 0, tc = 0;
    double tr = 0;
    printf("%-8s %6s %8s %9s %7s\n", "task", "n", "correct", "accuracy", "reward");
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        if (!res[k].n) continue;
        printf("%-8s %6d %8d %8.1f%% %7.3f\n", dl_task_name((dl_task_kind)k), res[k].n, res[k].correct,
               100.0 * res[k].correct / res[k].n, res[k].reward_sum / res[k].n);
        tn += res[k].n, tc += res[k].correct, tr += res[k].reward_sum;
    }
    printf("%-8s %6d %8d %8.1f%% %7.3f\n", "all", tn, tc, tn ? 100.0 * tc / tn : 0.0, tn ? tr / tn : 0.0);
    return 0;
}

/* train plot LOG.csv OUT.svg: the chart of a training log, SFT (step, loss)
 * or RL (step, reward, accuracy) by its columns. */
static int cmd_plot(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(TRAIN_HELP, stdout);
        return 0;
    }
    if (argc != 3) return cli_usage_error("train", "plot needs LOG.csv OUT.svg");
    /* the header line tells the kind of log */
    char head[512] = "";
    FILE *f = fopen(argv[1], "r");
    if (!f) return cli_fail("%s: cannot open: %s", argv[1], strerror(errno));
    bool got = fgets(head, sizeof head, f) != NULL;
    fclose(f);
    if (!got) return cli_fail("%s: empty file, not a training log", argv[1]);
    bool rl = strstr(head, "reward") != NULL && strstr(head, "accuracy") != NULL;
    dl_error err = {0};
    if ((rl ? dl_rl_plot_log : dl_sft_plot_log)(argv[1], argv[2], &err)) return cli_fail("%s", err.msg);
    printf("wrote %s (%s log)\n", argv[2], rl ? "RL" : "SFT");
    return 0;
}

int cli_train(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(TRAIN_HELP, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "sft")) return cmd_sft(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sample")) return cmd_sample(argc - 1, argv + 1);
    if (!strcmp(argv[1], "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(argv[1], "plot")) return cmd_plot(argc - 1, argv + 1);
    if (!strcmp(argv[1], "rl")) return cli_train_rl(argc - 1, argv + 1);
    if (!strcmp(argv[1], "curves")) return cli_train_curves(argc - 1, argv + 1);
    return cli_usage_error("train", "unknown subcommand '%s' (sft, rl, curves, sample, eval, plot)", argv[1]);
}
