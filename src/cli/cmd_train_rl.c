/* deliberate train rl|curves: GRPO-style reinforcement learning of a
 * trained model, and its test-time compute curves (docs/train.md). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "../train/train.h"
#include "cli.h"

static const char RL_HELP[] =
    "usage: deliberate train rl --from SFT_DIR --out DIR [--steps N] [--group G]\n"
    "                           [--prompts-per-step P] [--kl BETA] [--clip EPS] [--lr F]\n"
    "                           [--threads N] [--time SECONDS] [--resume] [...]\n"
    "\n"
    "For each step: P prompts from the train split, G completions each sampled by\n"
    "the engine from the current policy (temperature 1), reward = verified\n"
    "correctness + format + length discipline, advantages (r - mean) / (std + eps)\n"
    "within each group, then --inner AdamW updates of the clipped policy-gradient\n"
    "objective with a k3 KL penalty to the starting model. Writes DIR/model.gguf,\n"
    "DIR/checkpoint.bin, DIR/rl_log.csv and DIR/rl.svg.\n"
    "  --from DIR            the SFT output (checkpoint.bin, tokenizer.gguf); the KL reference\n"
    "  --out DIR             output folder (must differ from --from)\n"
    "  --steps N             RL steps (default 50)\n"
    "  --group G             completions per prompt (default 8)\n"
    "  --prompts-per-step P  prompts per step (default 8)\n"
    "  --inner K             optimiser updates per sampled batch (default 2)\n"
    "  --kl BETA             KL penalty weight (default 0.04)\n"
    "  --clip EPS            ratio clip (default 0.2)\n"
    "  --lr F                learning rate, constant after warm-up (default 1e-4)\n"
    "  --warmup N            warm-up optimiser updates (default 0)\n"
    "  --max-tokens N        completion tokens at most (default 192)\n"
    "  --levels A-B          difficulty levels (default 1-2)\n"
    "  --task NAME           only this task (repeatable; default all)\n"
    "  --drop-flat           leave groups with equal rewards (no signal) out of the update\n"
    "  --resample-flat N     replace a prompt whose completions all got the same reward by a new\n"
    "                        prompt, up to N times per prompt (default 0), so updates see signal\n"
    "  --no-std              advantages r - mean, not divided by the group's std (Dr. GRPO)\n"
    "  --w-correct F --w-format F --w-length F   reward weights (default 1, 0.2, 0.2)\n"
    "  --threads N           trainer and engine threads (default 2)\n"
    "  --time SECONDS        stop early after this long\n"
    "  --seed N              prompts and sampling (default 1)\n"
    "  --save-every N        also checkpoint every N steps (default 25; 0: only at the end)\n"
    "  --resume              continue from DIR/checkpoint.bin (log rows after it are dropped)\n"
    "  --show                print each step's first group: question, replies, rewards\n";

static void rl_progress(const dl_rl_progress *p, void *ud) {
    (void)ud;
    cli_step_bar(p->step, p->total, "reward %.3f  acc %.2f  kl %.4f  clip %.3f  len %.0f  %.1f s", p->reward,
                 p->accuracy, p->kl, p->clip_frac, p->mean_len, p->elapsed_ms / 1000.0);
}

#define NUM_OPT(flag, lo, hi, dst)                                                           \
    else if (!strcmp(a, flag) && i + 1 < argc) {                                             \
        long v_;                                                                             \
        if (!cli_parse_long(argv[++i], lo, hi, &v_)) return cli_usage_error("train", "bad " flag); \
        dst = v_;                                                                            \
    }
#define FLT_OPT(flag, lo, hi, dst)                                                           \
    else if (!strcmp(a, flag) && i + 1 < argc) {                                             \
        if (!cli_parse_float(argv[++i], lo, hi, &dst)) return cli_usage_error("train", "bad " flag); \
    }

int cli_train_rl(int argc, char **argv) {
    dl_rl_params p = dl_rl_default_params();
    p.out_dir = NULL;
    long seconds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--from") && i + 1 < argc) p.from_dir = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) p.out_dir = argv[++i];
        NUM_OPT("--steps", 1, 10000000, p.steps)
        NUM_OPT("--group", 2, 256, p.group)
        NUM_OPT("--prompts-per-step", 1, 4096, p.prompts)
        NUM_OPT("--inner", 1, 64, p.inner)
        NUM_OPT("--warmup", 0, 1000000, p.optim.warmup)
        NUM_OPT("--max-tokens", 1, 8192, p.max_tokens)
        NUM_OPT("--threads", 1, 256, p.threads)
        NUM_OPT("--time", 1, 1000000, seconds)
        NUM_OPT("--save-every", 0, 10000000, p.save_every)
        NUM_OPT("--resample-flat", 0, 64, p.resample_flat)
        FLT_OPT("--kl", 0.0f, 100.0f, p.kl_beta)
        FLT_OPT("--clip", 1e-4f, 10.0f, p.clip_eps)
        FLT_OPT("--lr", 1e-8f, 1.0f, p.optim.lr)
        FLT_OPT("--w-correct", -100.0f, 100.0f, p.reward.w_correct)
        FLT_OPT("--w-format", -100.0f, 100.0f, p.reward.w_format)
        FLT_OPT("--w-length", -100.0f, 100.0f, p.reward.w_length)
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (!cli_parse_u64(argv[++i], &p.seed)) return cli_usage_error("train", "bad --seed");
        } else if (!strcmp(a, "--levels") && i + 1 < argc) {
            if (!cli_parse_levels(argv[++i], DL_TASK_MAX_LEVEL, &p.min_level, &p.max_level))
                return cli_usage_error("train", "bad --levels (e.g. 1-3)");
        } else if (!strcmp(a, "--task") && i + 1 < argc) {
            int k = dl_task_from_name(argv[++i]);
            if (k < 0) return cli_usage_error("train", "unknown task '%s'", argv[i]);
            p.task_mask |= 1u << k;
        } else if (!strcmp(a, "--resume")) p.resume = true;
        else if (!strcmp(a, "--no-std")) p.adv_no_std = true;
        else if (!strcmp(a, "--drop-flat")) p.drop_flat = true;
        else if (!strcmp(a, "--show")) p.show = stdout;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(RL_HELP, stdout);
            return 0;
        } else return cli_usage_error("train", "unknown option '%s'", a);
    }
    if (!p.from_dir || !p.out_dir) return cli_usage_error("train", "rl needs --from SFT_DIR and --out DIR");
    p.max_seconds = (double)seconds;
    p.progress = rl_progress;
    dl_rl_result r;
    dl_error err = {0};
    int rc = dl_rl_run(&p, &r, &err);
    if (isatty(2)) fputc('\n', stderr);
    if (rc) return cli_fail("%s", err.msg);
    printf("RL: %lld steps (%d prompts x %d completions each) in %.1f s on %d threads\n", (long long)r.steps,
           p.prompts, p.group, r.seconds, p.threads);
    printf("reward: first step %.3f, last step %.3f; accuracy: first %.3f, last %.3f\n", r.first_reward,
           r.last_reward, r.first_accuracy, r.last_accuracy);
    printf("model: %s\n", r.model_path);
    return 0;
}

static const char CURVES_HELP[] =
    "usage: deliberate train curves -m FILE --out DIR [--task NAME] [--levels A-B] [-n N] [--split S]\n"
    "                               [--budgets SPEC] [--votes 1,4,16] [--vote-effort E]\n"
    "                               [--temp T] [--top-k K] [--top-p P] [--min-p P]\n"
    "                               [--max-tokens N] [--threads N] [--batch N] [--seed N]\n"
    "                               [--cue] [--show]\n"
    "                               [--embed FILE.svg]...\n"
    "\n"
    "Test-time compute on held-out (test split) problems, every reply produced by\n"
    "the reasoning controller on the local engine: accuracy at effort none, low,\n"
    "medium and high (greedy; --budgets sets the thinking budgets, e.g.\n"
    "low=16,medium=48,high=256, over the model's hints or the defaults), and with\n"
    "n samples and majority vote (--votes, at --vote-effort, default high, and\n"
    "--temp, default 1). Wilson 95% intervals. Writes DIR/curves.json,\n"
    "DIR/budget.svg, DIR/votes.svg and DIR/curves.html.\n"
    "  --threads N       engines, each on one thread (default 2)\n"
    "  --batch N         problems each engine measures at once (default 8): their\n"
    "                    replies share one pass over the weights per token (1.7x\n"
    "                    the replies per second of --batch 1 on 2 cores for the\n"
    "                    built-in model; docs/train.md). For an F32 model (what\n"
    "                    train writes) the figures are the same for any --threads and\n"
    "                    --batch; for F16 or quantised models batching changes the\n"
    "                    last bits of logits, so a sampled token may differ\n"
    "  --top-k K, --top-p P, --min-p P  truncate the vote samples' distribution\n"
    "                    (defaults 0, 1, 0: none; the samples come from the policy\n"
    "                    itself, as in train rl; chat's defaults are 40, 0.95, 0.05)\n"
    "  --split S         test (default) or validation: choose settings (e.g. --temp)\n"
    "                    on validation problems, then measure on test\n"
    "  --levels A-B      difficulty levels (default 1-2, as train sft, rl and eval;\n"
    "                    problem i of a task at level A + i mod (B-A+1))\n"
    "  --embed FILE.svg  put a training chart (e.g. loss.svg, rl.svg) on the page (up to 4)\n"
    "  --title TEXT      the page's heading (default: Test-time compute)\n"
    "  --cue   let high effort reopen reasoning closed early (\"Wait\"; off by default:\n"
    "          the model is not trained on it)\n";

static void print_points(const char *head, const dl_ttc_point *pts, int n) {
    printf("%-8s %8s %5s %8s %9s %17s %10s\n", head, "budget/n", "n", "correct", "accuracy", "95% CI", "reasoning");
    for (int i = 0; i < n; i++)
        printf("%-8s %8g %5d %8d %8.1f%% %7.1f%% - %5.1f%% %10.1f\n", pts[i].label, pts[i].x, pts[i].n,
               pts[i].correct, 100 * pts[i].acc, 100 * pts[i].lo, 100 * pts[i].hi, pts[i].mean_reasoning_tokens);
}

int cli_train_curves(int argc, char **argv) {
    dl_ttc_params p = dl_ttc_default_params();
    const char *out = NULL;
    long n = p.n_per_task, max_tokens = p.max_tokens, threads = p.threads, batch = p.batch, top_k = p.top_k;
    bool show = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-m") && i + 1 < argc) p.model_path = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--budgets") && i + 1 < argc) p.budgets = argv[++i];
        else if (!strcmp(a, "--title") && i + 1 < argc) p.title = argv[++i];
        else if (!strcmp(a, "--split") && i + 1 < argc) {
            if (cli_parse_split(argv[++i], &p.split)) return cli_usage_error("train", "bad --split (train, validation, test)");
        }
        else if (!strcmp(a, "--embed") && i + 1 < argc) {
            if (p.n_embed == 4) return cli_usage_error("train", "at most 4 --embed charts");
            p.embed[p.n_embed++] = argv[++i];
        }
        else if ((!strcmp(a, "--level") || !strcmp(a, "--levels")) && i + 1 < argc) {
            if (!cli_parse_levels(argv[++i], DL_TASK_MAX_LEVEL, &p.level, &p.max_level))
                return cli_usage_error("train", "bad %s (a level 1..%d or a range, e.g. 1-3)", a, DL_TASK_MAX_LEVEL);
        }
        NUM_OPT("-n", 1, 100000, n)
        NUM_OPT("--max-tokens", 1, 100000, max_tokens)
        NUM_OPT("--threads", 1, 256, threads)
        NUM_OPT("--batch", 1, 64, batch)
        FLT_OPT("--temp", 0.0f, 10.0f, p.temperature)
        FLT_OPT("--top-p", 0.0f, 1.0f, p.top_p)
        FLT_OPT("--min-p", 0.0f, 1.0f, p.min_p)
        NUM_OPT("--top-k", 0, 1000000, top_k)
        else if (!strcmp(a, "--seed") && i + 1 < argc) {
            if (!cli_parse_u64(argv[++i], &p.seed)) return cli_usage_error("train", "bad --seed");
        } else if (!strcmp(a, "--task") && i + 1 < argc) {
            int k = dl_task_from_name(argv[++i]);
            if (k < 0) return cli_usage_error("train", "unknown task '%s'", argv[i]);
            p.task_mask |= 1u << k;
        } else if (!strcmp(a, "--vote-effort") && i + 1 < argc) {
            dl_error e = {0};
            if (dl_effort_parse(argv[++i], &p.vote_effort, &e)) return cli_usage_error("train", "%s", e.msg);
        } else if (!strcmp(a, "--votes") && i + 1 < argc) {
            p.n_votes = 0;
            char *s = argv[++i], *end;
            while (*s) {
                long v = strtol(s, &end, 10);
                if (end == s || v < 1 || v > 64 || p.n_votes == DL_TTC_MAX_VOTES ||
                    (p.n_votes && v <= p.votes[p.n_votes - 1]))
                    return cli_usage_error("train", "bad --votes (rising counts 1..64, at most %d, e.g. 1,4,16)",
                                           DL_TTC_MAX_VOTES);
                p.votes[p.n_votes++] = (int32_t)v;
                s = *end == ',' ? end + 1 : end;
                if (*end && *end != ',') return cli_usage_error("train", "bad --votes");
            }
        } else if (!strcmp(a, "--cue")) p.continue_cue = true;
        else if (!strcmp(a, "--show")) show = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(CURVES_HELP, stdout);
            return 0;
        } else return cli_usage_error("train", "unknown option '%s'", a);
    }
    if (!p.model_path || !out) return cli_usage_error("train", "curves needs -m FILE and --out DIR");
    p.n_per_task = (int32_t)n, p.max_tokens = (int32_t)max_tokens, p.threads = (int)threads;
    p.batch = (int)batch;
    p.top_k = (int32_t)top_k;
    if (mkdir(out, 0755) != 0 && errno != EEXIST) return cli_fail("cannot create %s: %s", out, strerror(errno));
    dl_ttc_result r;
    dl_error err = {0};
    p.progress = cli_progress;
    p.progress_ctx = (void *)"measuring";
    if (dl_ttc_measure(&p, &r, show ? stdout : NULL, &err)) return cli_fail("%s", err.msg);
    if (dl_ttc_write(&p, &r, out, &err)) {
        dl_ttc_result_free(&r);
        return cli_fail("%s", err.msg);
    }
    print_points("effort", r.effort, 4);
    if (r.n_votes) print_points("samples", r.vote, r.n_votes);
    printf("%d problems, %d of them different\n", r.n_problems, r.n_distinct);
    printf("measured in %.1f s; wrote %s/curves.json, budget.svg, votes.svg, curves.html\n", r.seconds, out);
    dl_ttc_result_free(&r);
    return 0;
}
