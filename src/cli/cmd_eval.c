/* deliberate eval <sub>: the evaluation hub's commands — run, list, runs
 * (history), show; grade / report / gate / compare come from their own
 * files (cmd_eval_*.c). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../eval/eval.h"
#include "cli.h"


static const char EVAL_HELP[] =
    "usage: deliberate eval <command> [options]\n"
    "\n"
    "Runs safety and capability evaluations against a model (a local GGUF or any\n"
    "OpenAI-compatible server, with or without the safety stack), keeps every\n"
    "run in a store so history accumulates, and turns results into reports and\n"
    "deployment decisions.\n"
    "\n"
    "commands:\n"
    "  run EVAL... [options]   run evals (resumable; --effort/--n sweeps); see 'eval run --help'\n"
    "  list [--json]           the eval definitions: name, kind, category, primary metric\n"
    "  runs [--model M] [--eval E] [--json] [--db FILE]\n"
    "                          the stored runs, latest first\n"
    "  show RUN [--json] [--samples] [--db FILE]\n"
    "                          one run: configuration, metrics, and with --samples every\n"
    "                          sample's answer and grade\n"
    "  grade --grader NAME [--json] FILE|-\n"
    "                          grade a JSONL file of {\"prompt\", \"response\"} records\n"
    "  report [options]        an HTML report (inline SVG charts) and its JSON\n"
    "  compare [options]       pairwise comparison of two models by a judge\n"
    "  gate [options]          the scorecard; exits non-zero when a post-mitigation\n"
    "                          risk level is above Medium\n"
    "\n"
    "The store is $DELIBERATE_DB, else ./deliberate.db (--db FILE overrides).\n"
    "'deliberate eval <command> --help' describes each command.\n";

static const char *db_path(const char *opt) {
    const char *db = opt ? opt : getenv("DELIBERATE_DB");
    return db && *db ? db : "deliberate.db";
}

static void utc(int64_t t, char *buf, size_t cap) {
    if (t <= 0) {
        snprintf(buf, cap, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
}

/* ---- list ---- */

static const char LIST_HELP[] =
    "usage: deliberate eval list [--json]\n"
    "\n"
    "Lists the eval definitions (evals/*.json next to the program, or\n"
    "$DELIBERATE_EVALS): name, kind, scorecard category, primary metric and\n"
    "description.\n";

static int cmd_list(int argc, char **argv) {
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(LIST_HELP, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else {
            return cli_usage_error("eval list", "unknown argument '%s'", argv[i]);
        }
    }
    dl_eval_def *defs;
    size_t n;
    dl_error err = {0};
    if (dl_eval_def_list(&defs, &n, &err)) return cli_fail("%s", err.msg);
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", defs[i].name,
                                                 "kind", defs[i].kind, "category", defs[i].category,
                                                 "primary", defs[i].primary, "description",
                                                 defs[i].description, "path", defs[i].path));
        json_dumpf(arr, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(arr);
    } else {
        printf("%-24s %-12s %-22s %-18s %s\n", "name", "kind", "category", "primary", "description");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-12s %-22s %-18s %s\n", defs[i].name, defs[i].kind, defs[i].category,
                   defs[i].primary, defs[i].description);
    }
    for (size_t i = 0; i < n; i++) dl_eval_def_free(&defs[i]);
    free(defs);
    return 0;
}

/* ---- runs ---- */

static const char RUNS_HELP[] =
    "usage: deliberate eval runs [--model M] [--eval E] [--json] [--db FILE]\n"
    "\n"
    "Lists the stored runs, latest first: id, when (UTC), eval, model,\n"
    "mitigation, effort, n, samples, state and the primary metric with its 95%\n"
    "interval. --json prints the results document that 'eval report' and\n"
    "'eval gate' read.\n";

/* "0.8123 [0.71, 0.89]" of the run's primary metric, or "-". */
static void primary_text(const json_t *run, char *buf, size_t cap) {
    const char *p = json_string_value(json_object_get(run, "primary"));
    json_t *m = p ? json_object_get(json_object_get(run, "metrics"), p) : NULL;
    if (!m) {
        snprintf(buf, cap, "-");
        return;
    }
    snprintf(buf, cap, "%s %.4f [%.3f, %.3f]", p, json_number_value(json_object_get(m, "value")),
             json_number_value(json_object_get(m, "lo")), json_number_value(json_object_get(m, "hi")));
}

static int cmd_runs(int argc, char **argv) {
    const char *model = NULL, *eval = NULL, *db = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(RUNS_HELP, stdout);
            return 0;
        } else if (!strcmp(s, "--json")) {
            json = true;
        } else if (!strcmp(s, "--model") || !strcmp(s, "--eval") || !strcmp(s, "--db")) {
            if (!v) return cli_usage_error("eval runs", "option %s needs a value", s);
            if (!strcmp(s, "--model")) model = v;
            else if (!strcmp(s, "--eval")) eval = v;
            else db = v;
            i++;
        } else {
            return cli_usage_error("eval runs", "unknown argument '%s'", s);
        }
    }
    dl_error err = {0};
    dl_store *st = dl_store_open(db_path(db), &err);
    if (!st) return cli_fail("%s", err.msg);
    json_t *doc;
    int rc = 0;
    if (dl_eval_results_json(st, NULL, model, eval, &doc, &err)) {
        rc = cli_fail("%s", err.msg);
    } else if (json) {
        json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else {
        printf("%-28s %-16s %-16s %-16s %-4s %-7s %-3s %-7s %-10s %s\n", "id", "created (UTC)", "eval",
               "model", "mit", "effort", "n", "samples", "state", "primary metric");
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(doc, "runs"), i, r) {
            char when[32], prim[128];
            utc(json_integer_value(json_object_get(r, "created_at")), when, sizeof when);
            primary_text(r, prim, sizeof prim);
            printf("%-28s %-16s %-16s %-16s %-4s %-7s %-3lld %-7lld %-10s %s\n",
                   json_string_value(json_object_get(r, "id")), when,
                   json_string_value(json_object_get(r, "eval")),
                   json_string_value(json_object_get(r, "model")),
                   json_string_value(json_object_get(r, "mitigation")),
                   json_string_value(json_object_get(r, "effort")),
                   (long long)json_integer_value(json_object_get(r, "n")),
                   (long long)json_integer_value(json_object_get(r, "n_samples")),
                   json_is_true(json_object_get(r, "complete")) ? "complete" : "unfinished", prim);
        }
    }
    json_decref(doc);
    dl_store_close(st);
    return rc;
}

/* ---- show ---- */

static const char SHOW_HELP[] =
    "usage: deliberate eval show RUN [--json] [--samples] [--db FILE]\n"
    "\n"
    "One run: its configuration, state and metrics with 95% intervals. With\n"
    "--samples, every stored sample: key, score, attempts, error, and the\n"
    "answer (shortened; whole in --json) with the grader's verdict.\n";

static json_t *sample_json(const dl_store_eval_sample *x) {
    json_t *grade = x->grade_json ? json_loads(x->grade_json, 0, NULL) : NULL;
    json_t *j = json_pack("{s:s,s:o,s:o,s:f,s:i,s:o,s:i,s:i,s:i}", "key", x->key, "response",
                          x->response ? json_string(x->response) : json_null(), "grade",
                          grade ? grade : json_null(), "score", x->score, "attempts", x->attempts,
                          "error", x->error ? json_string(x->error) : json_null(), "prompt_tokens",
                          x->prompt_tokens, "completion_tokens", x->completion_tokens,
                          "reasoning_tokens", x->reasoning_tokens);
    return j;
}

/* The first line of text, at most 70 bytes (cut at a UTF-8 boundary). */
static void short_text(const char *s, char *buf, size_t cap) {
    size_t n = 0;
    while (s[n] && s[n] != '\n' && n < 70 && n + 4 < cap) n++;
    while (n > 0 && s[n] && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    memcpy(buf, s, n);
    buf[n] = 0;
    if (s[n]) snprintf(buf + n, cap - n, "...");
}

static int cmd_show(int argc, char **argv) {
    const char *id = NULL, *db = NULL;
    bool json = false, samples = false;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
            fputs(SHOW_HELP, stdout);
            return 0;
        } else if (!strcmp(s, "--json")) {
            json = true;
        } else if (!strcmp(s, "--samples")) {
            samples = true;
        } else if (!strcmp(s, "--db")) {
            if (i + 1 >= argc) return cli_usage_error("eval show", "option --db needs a value");
            db = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            return cli_usage_error("eval show", "unknown option '%s'", s);
        } else if (id) {
            return cli_usage_error("eval show", "one run id only");
        } else {
            id = s;
        }
    }
    if (!id) return cli_usage_error("eval show", "name a run (see 'deliberate eval runs')");
    dl_error err = {0};
    dl_store *st = dl_store_open(db_path(db), &err);
    if (!st) return cli_fail("%s", err.msg);
    int rc = 0;
    json_t *doc = NULL;
    dl_store_eval_run run = {0};
    dl_store_eval_sample *v = NULL;
    size_t n = 0;
    if (dl_store_eval_run_get(st, id, &run, &err) || dl_eval_results_json(st, id, NULL, NULL, &doc, &err) ||
        (samples && dl_store_eval_samples_load(st, id, &v, &n, &err))) {
        rc = cli_fail("%s", err.msg);
        goto out;
    }
    json_t *r = json_array_get(json_object_get(doc, "runs"), 0);
    if (json) {
        json_t *j = json_pack("{s:O}", "run", r);
        json_t *cfg = run.config_json ? json_loads(run.config_json, 0, NULL) : NULL;
        json_object_set_new(j, "config", cfg ? cfg : json_null());
        if (samples) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++) json_array_append_new(arr, sample_json(&v[i]));
            json_object_set_new(j, "samples", arr);
        }
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
        goto out;
    }
    char created[32], finished[32];
    utc(run.created_at, created, sizeof created);
    utc(run.finished_at, finished, sizeof finished);
    printf("run         %s\neval        %s (%s, %s)\nmodel       %s\nmitigation  %s\n"
           "effort      %s\nn           %d\nseed        %llu\nlimit       %lld\nsamples     %lld\n"
           "created     %s UTC\nfinished    %s%s\nstate       %s\nconfig      %s\n",
           run.id, run.eval, run.kind, run.category, run.model, run.mitigation, run.effort, run.n,
           (unsigned long long)run.seed, (long long)run.limit, (long long)run.n_samples, created,
           finished, run.finished_at ? " UTC" : "", run.complete ? "complete" : "unfinished",
           run.config_json);
    printf("\n  %-28s %8s   %-19s %6s\n", "metric", "value", "95% CI", "n");
    const char *name;
    json_t *m;
    json_object_foreach(json_object_get(r, "metrics"), name, m) {
        printf("  %-28s %8.4f   [%.4f, %.4f] %6lld%s\n", name,
               json_number_value(json_object_get(m, "value")), json_number_value(json_object_get(m, "lo")),
               json_number_value(json_object_get(m, "hi")), (long long)json_integer_value(json_object_get(m, "n")),
               strcmp(name, run.primary) ? "" : "  *");
    }
    if (samples) {
        printf("\n%-36s %5s %3s  %s\n", "sample", "score", "try", "answer / error");
        for (size_t i = 0; i < n; i++) {
            char text[96];
            short_text(v[i].error ? v[i].error : v[i].response ? v[i].response : "", text, sizeof text);
            if (v[i].error) printf("%-36s %5s %3d  ERROR %s\n", v[i].key, "-", v[i].attempts, text);
            else printf("%-36s %5.2f %3d  %s\n", v[i].key, v[i].score, v[i].attempts, text);
        }
    }
out:
    dl_store_eval_samples_free(v, n);
    dl_store_eval_run_free(&run);
    json_decref(doc);
    dl_store_close(st);
    return rc;
}

/* ---- dispatch ---- */

typedef int (*sub_fn)(int argc, char **argv);

int cli_eval(int argc, char **argv) {
    if (argc < 2) {
        fputs(EVAL_HELP, stderr);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        fputs(EVAL_HELP, stdout);
        return 0;
    }
    if (!strcmp(sub, "run")) return cli_eval_run(argc - 1, argv + 1);
    if (!strcmp(sub, "list")) return cmd_list(argc - 1, argv + 1);
    if (!strcmp(sub, "runs")) return cmd_runs(argc - 1, argv + 1);
    if (!strcmp(sub, "show")) return cmd_show(argc - 1, argv + 1);
    static const char *const others[] = {"grade", "report", "gate", "compare"};
    sub_fn fns[] = {cli_eval_grade, cli_eval_report, cli_eval_gate, cli_eval_compare};
    for (size_t i = 0; i < DL_ARRAY_LEN(others); i++) {
        if (strcmp(sub, others[i])) continue;
        return fns[i](argc - 1, argv + 1);
    }
    fprintf(stderr, "deliberate eval: unknown command '%s'\n", sub);
    fputs(EVAL_HELP, stderr);
    return 2;
}
