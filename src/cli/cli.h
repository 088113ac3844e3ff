/* cli: the `deliberate` command. Each subcommand is one file exposing
 * int cli_<name>(int argc, char **argv) that returns the process exit status
 * (0 ok, 1 runtime error such as a bad file, 2 usage error). */
#ifndef DL_CLI_H
#define DL_CLI_H

#include <stdio.h>

#include "../base/base.h"
#include "../sample/sample.h"
#include "../train/train.h"

int cli_info(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_chat(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_moderate(int argc, char **argv);
int cli_keys(int argc, char **argv);
int cli_safety(int argc, char **argv);
int cli_eval(int argc, char **argv);
/* `deliberate eval` subcommands (argv[0] is the subcommand's name). */
int cli_eval_run(int argc, char **argv);
int cli_eval_grade(int argc, char **argv);
int cli_eval_report(int argc, char **argv);
int cli_eval_gate(int argc, char **argv);
int cli_eval_compare(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_train_rl(int argc, char **argv);     /* cmd_train_rl.c */
int cli_train_curves(int argc, char **argv); /* cmd_train_rl.c */

/* Helpers shared by the subcommands (args.c). */
/* Prints "deliberate: <msg>" on stderr; returns 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "deliberate <cmd>: <msg>\nTry 'deliberate <cmd> --help'." and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strict number parsing: the whole string must be a number in [lo, hi]. */
bool cli_parse_long(const char *s, long lo, long hi, long *out);
bool cli_parse_u64(const char *s, uint64_t *out);
bool cli_parse_float(const char *s, float lo, float hi, float *out);
/* Sampling and engine options shared by run and chat: --temp --top-k --top-p
 * --min-p --repeat-penalty --frequency-penalty --presence-penalty
 * --repeat-last-n --seed -c/--ctx-size -t/--threads --kv-type. */
typedef struct cli_engine_opts {
    dl_sampler_params sp;
    long n_ctx, n_threads;
    int kv_type;
} cli_engine_opts;
/* If argv[*i] is one of those options, parses it and its value (advancing
 * *i) and returns 1; returns 0 if it is not one; 2 after a usage error. */
int cli_parse_engine_opt(const char *cmd, int argc, char **argv, int *i, cli_engine_opts *o);
/* The model for a command given none (dl_default_model_path) into out[size];
 * NULL after printing "no model given (<how>), and <why>" (exit status 1). */
const char *cli_default_model(const char *how, char *out, size_t size);
/* A progress bar on stderr (only when stderr is a terminal). */
void cli_progress(float done, void *label);
/* A training run's progress on stderr: "[####....] step S/T  " + the printf
 * text; redrawn in place on a terminal, else one line per tenth of the run. */
void cli_step_bar(int64_t step, int64_t total, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes s[0..n) as a JSON string body with escapes; invalid UTF-8 bytes
 * become \ufffd. */
void cli_json_escape(FILE *f, const char *s, size_t n);

/* "A-B" (or "N") difficulty levels of the train tasks, 1 <= A <= B <= max. */
bool cli_parse_levels(const char *s, int max, int *lo, int *hi);
/* "train", "validation" (or "valid") or "test" into *out; -1 for anything else. */
int cli_parse_split(const char *s, dl_split *out);

#endif
