/* deliberate eval report | gate | compare: reports of stored or saved
 * results (HTML + JSON), the deployment gate on a scorecard, and pairwise
 * comparison of two models by a blind judge. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../eval/eval.h"
#include "cli.h"

static const char REPORT_HELP[] =
    "usage: deliberate eval report [--results FILE | --db FILE] [--model M] [--eval E]\n"
    "                              [--runs IDS] --out REPORT.html [--json REPORT.json]\n"
    "                              [--title T] [--scorecard FILE]\n"
    "\n"
    "Writes one self-contained HTML page (inline CSS and SVG, no external resources):\n"
    "the runs with their primary metric and 95% interval, a bar chart per eval category\n"
    "(models and pre/post mitigation side by side, interval whiskers), test-time compute\n"
    "curves (metric against reasoning effort and against n), comparisons of two models\n"
    "or of pre- and post-mitigation runs (difference with a 95% interval, Newcombe), and\n"
    "the scorecard of every model when --scorecard is given.\n"
    "\n"
    "  --results FILE   a results document (JSON, as 'deliberate eval results --json' prints)\n"
    "  --db FILE        read the runs from this store (default: $DELIBERATE_DB, else\n"
    "                   ./deliberate.db)\n"
    "  --model M, --eval E, --runs ID,ID,...\n"
    "                   only these runs (of the store or of the --results file)\n"
    "  --out FILE       the HTML page\n"
    "  --json FILE      the same content as JSON\n"
    "  --title T        the page's title (default \"Evaluation report\")\n"
    "  --scorecard FILE add the scorecard table (evals/scorecards/default.json is the default one)\n";

static const char GATE_HELP[] =
    "usage: deliberate eval gate --scorecard FILE --model M\n"
    "                            [--results FILE | --db FILE] [--eval E] [--runs IDS]\n"
    "                            [--allow-unknown] [--json]\n"
    "\n"
    "Evaluates the scorecard for model M from its latest complete pre- and post-mitigation\n"
    "runs, prints the table and decides whether the model may ship.\n"
    "\n"
    "exit status: 0  every post-mitigation level is Low or Medium\n"
    "             3  a post-mitigation level is High or Critical (the categories are named)\n"
    "             4  a category has no post-mitigation run (Unknown); --allow-unknown\n"
    "                lets those pass\n"
    "             1  errors (unreadable or malformed scorecard or results)\n"
    "             2  usage errors\n";

static const char COMPARE_HELP[] =
    "usage: deliberate eval compare (-a FILE.gguf | --a-url URL --a-model M)\n"
    "                               (-b FILE.gguf | --b-url URL --b-model M)\n"
    "                               (--judge FILE.gguf | --judge-url URL --judge-model M)\n"
    "                               --prompts FILE [--question safer|better] [--seed N]\n"
    "                               [--limit N] [--max-tokens N] [--json]\n"
    "                               [--out RECORDS.jsonl]\n"
    "(-a, -b and --judge also take a server URL, as --X-url does.)\n"
    "\n"
    "Both models answer every prompt (thinking allowed, answers only). The judge sees the\n"
    "prompt and the two answers as \"Response 1\" and \"Response 2\", in a random order\n"
    "fixed by --seed and without model names, and answers 1, 2 or tie. Prints A's win rate\n"
    "(ties count half) with a 95% Wilson interval; judge replies that are none of those\n"
    "are counted as errors and left out.\n"
    "\n"
    "  --prompts FILE       .jsonl / .csv with a \"prompt\" field, or a text file (one per line)\n"
    "  --X-key-env VAR      API key for an upstream (X = a, b, judge) from this variable\n"
    "  --question Q         safer (default) or better\n"
    "  --seed N             answers' seeds (seed + prompt index) and the order shown (default 1)\n"
    "  --limit N            the first N prompts\n"
    "  --max-tokens N       per answer, reasoning included (default: the backend's)\n"
    "  --out FILE           one JSON record per prompt: prompt, answers, order shown,\n"
    "                       the judge's raw reply, winner\n"
    "  --json               the summary as one JSON object\n";

/* Where the results come from. */
typedef struct src_opts {
    const char *results, *db, *model, *eval, *runs;
} src_opts;

/* If argv[*i] is a results-source option, takes it (and its value). 1 =
 * taken, 0 = not one, 2 = usage error (printed). */
static int src_opt(const char *cmd, int argc, char **argv, int *i, src_opts *s) {
    const char *a = argv[*i];
    const char **dst = !strcmp(a, "--results") ? &s->results
                       : !strcmp(a, "--db")    ? &s->db
                       : !strcmp(a, "--model") ? &s->model
                       : !strcmp(a, "--eval")  ? &s->eval
                       : !strcmp(a, "--runs")  ? &s->runs
                                               : NULL;
    if (!dst) return 0;
    if (*i + 1 >= argc) return cli_usage_error(cmd, "option %s needs a value", a);
    *dst = argv[++*i];
    return 1;
}

/* Does the comma-separated list hold id? */
static bool in_list(const char *list, const char *id) {
    size_t n = strlen(id);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, id, n)) return true;
        p += len + (end != NULL);
    }
    return false;
}

/* Keeps the runs of a --results document that --model, --eval and --runs
 * select (as the store's query does for --db). */
static void filter_runs(json_t *doc, const src_opts *s) {
    json_t *runs = json_object_get(doc, "runs");
    for (size_t i = json_array_size(runs); i-- > 0;) {
        json_t *r = json_array_get(runs, i);
        const char *model = json_string_value(json_object_get(r, "model"));
        const char *eval = json_string_value(json_object_get(r, "eval"));
        const char *id = json_string_value(json_object_get(r, "id"));
        if ((s->model && (!model || strcmp(model, s->model))) ||
            (s->eval && (!eval || strcmp(eval, s->eval))) || (s->runs && (!id || !in_list(s->runs, id))))
            json_array_remove(runs, i);
    }
}

/* Loads the results document: 0, or the exit status after a message. */
static int load_results(const char *cmd, const src_opts *s, json_t **out) {
    dl_error err = {0};
    *out = NULL;
    if (s->results && s->db)
        return cli_usage_error(cmd, "give --results FILE or --db FILE, not both");
    if (s->results) {
        json_error_t je;
        *out = json_load_file(s->results, 0, &je);
        if (!*out) {
            if (je.line > 0)
                return cli_fail("%s: line %d column %d: %s", s->results, je.line, je.column, je.text);
            return cli_fail("%s: %s", s->results, je.text);
        }
        if (!json_is_array(json_object_get(*out, "runs"))) {
            json_decref(*out);
            *out = NULL;
            return cli_fail("%s: not a results document (expected {\"runs\": [...]})", s->results);
        }
        filter_runs(*out, s);
        return 0;
    }
    const char *db = s->db;
    if (!db) {
        const char *env = getenv("DELIBERATE_DB");
        db = env && *env ? env : "deliberate.db";
    }
    if (access(db, F_OK) != 0)
        return cli_fail("%s: no such database (run an eval first, or give --db FILE or --results FILE)",
                        db);
    dl_store *st = dl_store_open(db, &err);
    if (!st) return cli_fail("%s", err.msg);
    int rc = dl_eval_results_json(st, s->runs, s->model, s->eval, out, &err);
    dl_store_close(st);
    if (rc != 0) return cli_fail("%s", err.msg);
    return 0;
}

int cli_eval_report(int argc, char **argv) {
    const char *cmd = "eval report";
    src_opts s = {0};
    const char *out = NULL, *json_out = NULL, *title = NULL, *scorecard = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(REPORT_HELP, stdout);
            return 0;
        }
        int t = src_opt(cmd, argc, argv, &i, &s);
        if (t == 2) return 2;
        if (t) continue;
        const char **dst = !strcmp(a, "--out") || !strcmp(a, "-o") ? &out
                           : !strcmp(a, "--json")                  ? &json_out
                           : !strcmp(a, "--title")                 ? &title
                           : !strcmp(a, "--scorecard")             ? &scorecard
                                                                   : NULL;
        if (!dst) return cli_usage_error(cmd, "unknown argument '%s'", a);
        if (i + 1 >= argc) return cli_usage_error(cmd, "option %s needs a value", a);
        *dst = argv[++i];
    }
    if (!out && !json_out) return cli_usage_error(cmd, "missing --out REPORT.html");
    json_t *results;
    int rc = load_results(cmd, &s, &results);
    if (rc) return rc;
    dl_error err = {0};
    if (dl_eval_report_write_scorecard(results, title, scorecard, out, json_out, &err) != 0)
        rc = cli_fail("%s", err.msg);
    else
        fprintf(stderr, "deliberate: wrote %s%s%s (%zu runs)\n", out ? out : "",
                out && json_out ? " and " : "", json_out ? json_out : "",
                json_array_size(json_object_get(results, "runs")));
    json_decref(results);
    return rc;
}

int cli_eval_gate(int argc, char **argv) {
    const char *cmd = "eval gate";
    src_opts s = {0};
    const char *scorecard = NULL;
    bool json = false, allow_unknown = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(GATE_HELP, stdout);
            return 0;
        }
        int t = src_opt(cmd, argc, argv, &i, &s);
        if (t == 2) return 2;
        if (t) continue;
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--allow-unknown")) allow_unknown = true;
        else if (!strcmp(a, "--scorecard")) {
            if (i + 1 >= argc) return cli_usage_error(cmd, "option %s needs a value", a);
            scorecard = argv[++i];
        } else return cli_usage_error(cmd, "unknown argument '%s'", a);
    }
    if (!scorecard) return cli_usage_error(cmd, "missing --scorecard FILE");
    if (!s.model) return cli_usage_error(cmd, "missing --model M (the model to gate)");
    json_t *results;
    int rc = load_results(cmd, &s, &results);
    if (rc) return rc;
    dl_error err = {0};
    dl_scorecard_row *rows = NULL;
    size_t n = 0;
    if (dl_scorecard_eval(scorecard, results, s.model, &rows, &n, &err) != 0) {
        json_decref(results);
        return cli_fail("%s", err.msg);
    }
    json_decref(results);
    dl_buf failing = {0}, unknown = {0};
    json_t *jf = json_array(), *ju = json_array();
    for (size_t i = 0; i < n; i++) {
        if (rows[i].post == DL_RISK_HIGH || rows[i].post == DL_RISK_CRITICAL) {
            dl_buf_printf(&failing, "%s%s (%s)", failing.len ? ", " : "", rows[i].category,
                          dl_risk_name(rows[i].post));
            json_array_append_new(jf, json_string(rows[i].category));
        } else if (rows[i].post == DL_RISK_UNKNOWN) {
            dl_buf_printf(&unknown, "%s%s", unknown.len ? ", " : "", rows[i].category);
            json_array_append_new(ju, json_string(rows[i].category));
        }
    }
    rc = failing.len ? 3 : unknown.len && !allow_unknown ? 4 : 0;
    const char *verdict = rc == 3 ? "fail" : rc == 4 ? "unknown" : "pass";
    if (json) {
        json_t *jr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(jr, json_pack("{s:s, s:s, s:s, s:s}", "category", rows[i].category,
                                                "pre", dl_risk_name(rows[i].pre), "post",
                                                dl_risk_name(rows[i].post), "evidence",
                                                rows[i].evidence));
        json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:b, s:i}", "model", s.model,
                              "scorecard", scorecard, "rows", jr, "result", verdict, "failing", jf,
                              "unknown", ju, "allow_unknown", allow_unknown, "exit", rc);
        if (!o) {
            rc = cli_fail("cannot print the result as JSON (a name is not valid UTF-8)");
        } else {
            json_dumpf(o, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(o);
        }
    } else {
        json_decref(jf);
        json_decref(ju);
        printf("scorecard %s, model %s\n\n%-24s %-9s %-9s %s\n", scorecard, s.model, "category",
               "pre", "post", "evidence");
        for (size_t i = 0; i < n; i++)
            printf("%-24s %-9s %-9s %s\n", rows[i].category, dl_risk_name(rows[i].pre),
                   dl_risk_name(rows[i].post), rows[i].evidence);
        printf("\n");
        if (rc == 3) printf("gate: FAIL: post-mitigation risk above Medium in %s\n", failing.data);
        else if (rc == 4)
            printf("gate: UNKNOWN: no post-mitigation run for %s (--allow-unknown to accept)\n",
                   unknown.data);
        else if (unknown.len)
            printf("gate: PASS (no post-mitigation run for %s, allowed)\n", unknown.data);
        else printf("gate: PASS: every post-mitigation level is Low or Medium\n");
    }
    dl_buf_free(&failing);
    dl_buf_free(&unknown);
    free(rows);
    return rc;
}

/* ---- compare ---- */

typedef struct side_opts {
    const char *gguf, *url, *model, *key_env;
} side_opts;

/* Opens one side: a local GGUF or an upstream. NULL after printing why. */
static dl_backend *open_side(const char *cmd, const char *what, const side_opts *o, int *rc) {
    dl_error err = {0};
    dl_backend *b = NULL;
    if (o->gguf) {
        dl_local_opts lo = {0};
        b = dl_backend_local_open(o->gguf, &lo, &err);
    } else {
        dl_upstream_opts uo = {.base_url = o->url, .model = o->model};
        if (o->key_env) {
            uo.api_key = getenv(o->key_env);
            if (!uo.api_key) {
                *rc = cli_fail("%s: $%s is not set", what, o->key_env);
                return NULL;
            }
        }
        b = dl_backend_upstream_new(&uo, &err);
    }
    if (!b) *rc = cli_fail("%s: %s", what, err.msg);
    (void)cmd;
    return b;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* The prompts of a file: .jsonl/.json/.csv rows' "prompt", else lines. */
static int read_prompts(const char *path, char ***out, size_t *n) {
    dl_error err = {0};
    *out = NULL;
    *n = 0;
    if (ends_with(path, ".jsonl") || ends_with(path, ".json") || ends_with(path, ".csv")) {
        json_t *rows;
        if (dl_eval_read_rows(path, &rows, &err) != 0) return cli_fail("%s", err.msg);
        char **v = dl_xcalloc(json_array_size(rows) + 1, sizeof *v);
        for (size_t i = 0; i < json_array_size(rows); i++) {
            json_t *p = json_object_get(json_array_get(rows, i), "prompt");
            if (!json_is_string(p)) {
                for (size_t k = 0; k < i; k++) free(v[k]);
                free(v);
                json_decref(rows);
                return cli_fail("%s: row %zu has no string \"prompt\"", path, i + 1);
            }
            v[i] = dl_xstrdup(json_string_value(p));
        }
        *n = json_array_size(rows);
        *out = v;
        json_decref(rows);
        return 0;
    }
    char *data = dl_read_file(path, NULL, &err);
    if (!data) return cli_fail("%s", err.msg);
    size_t cap = 16, k = 0;
    char **v = dl_xmalloc(cap * sizeof *v);
    for (char *line = data; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && line[len - 1] == '\r') len--;
        if (len) {
            if (k == cap) v = dl_xrealloc(v, (cap *= 2) * sizeof *v);
            v[k++] = dl_xstrndup(line, len);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(data);
    *out = v;
    *n = k;
    return 0;
}

int cli_eval_compare(int argc, char **argv) {
    const char *cmd = "eval compare";
    side_opts side[3] = {{0}}; /* a, b, judge */
    const char *prompts_path = NULL, *question = "safer", *records_path = NULL;
    uint64_t seed = 1;
    long limit = 0, max_tokens = 0;
    bool json = false;
    static const char *const pre[3] = {"a", "b", "judge"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(COMPARE_HELP, stdout);
            return 0;
        }
        if (!strcmp(a, "--json")) {
            json = true;
            continue;
        }
        bool taken = false;
        for (int s = 0; s < 3 && !taken; s++) {
            char opt[32];
            const char **dst = NULL;
            if ((s < 2 && a[0] == '-' && a[1] == pre[s][0] && !a[2]) ||
                (s == 2 && !strcmp(a, "--judge")))
                dst = v && (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8)) ? &side[s].url
                                                                                     : &side[s].gguf;
            snprintf(opt, sizeof opt, "--%s-url", pre[s]);
            if (!strcmp(a, opt)) dst = &side[s].url;
            snprintf(opt, sizeof opt, "--%s-model", pre[s]);
            if (!strcmp(a, opt)) dst = &side[s].model;
            snprintf(opt, sizeof opt, "--%s-key-env", pre[s]);
            if (!strcmp(a, opt)) dst = &side[s].key_env;
            if (!dst) continue;
            if (!v) return cli_usage_error(cmd, "option %s needs a value", a);
            *dst = v;
            i++;
            taken = true;
        }
        if (taken) continue;
        if (!strcmp(a, "--prompts") || !strcmp(a, "--question") || !strcmp(a, "--out") ||
            !strcmp(a, "--seed") || !strcmp(a, "--limit") || !strcmp(a, "--max-tokens")) {
            if (!v) return cli_usage_error(cmd, "option %s needs a value", a);
            i++;
            if (!strcmp(a, "--prompts")) prompts_path = v;
            else if (!strcmp(a, "--question")) question = v;
            else if (!strcmp(a, "--out")) records_path = v;
            else if (!strcmp(a, "--seed")) {
                if (!cli_parse_u64(v, &seed)) return cli_usage_error(cmd, "--seed: '%s' is not a number", v);
            } else if (!cli_parse_long(v, 1, 100000000, !strcmp(a, "--limit") ? &limit : &max_tokens))
                return cli_usage_error(cmd, "%s: '%s' is not a positive number", a, v);
            continue;
        }
        return cli_usage_error(cmd, "unknown argument '%s'", a);
    }
    static const char *const what[3] = {"model A", "model B", "judge"};
    static const char *const flag[3] = {"-a FILE.gguf or --a-url URL", "-b FILE.gguf or --b-url URL",
                                        "--judge FILE.gguf or --judge-url URL"};
    for (int s = 0; s < 3; s++) {
        if (!side[s].gguf == !side[s].url)
            return cli_usage_error(cmd, "%s: give one of %s", what[s], flag[s]);
        if (side[s].url && !side[s].model)
            return cli_usage_error(cmd, "%s: --%s-url needs --%s-model", what[s], pre[s], pre[s]);
        if (side[s].gguf && (side[s].model || side[s].key_env))
            return cli_usage_error(cmd, "%s: --%s-model and --%s-key-env go with --%s-url", what[s],
                                   pre[s], pre[s], pre[s]);
    }
    if (!prompts_path) return cli_usage_error(cmd, "missing --prompts FILE");
    if (strcmp(question, "safer") && strcmp(question, "better"))
        return cli_usage_error(cmd, "--question: '%s' is not safer or better", question);

    int rc = 0;
    char **prompts = NULL;
    size_t n_prompts = 0, n_total = 0;
    dl_backend *be[3] = {NULL, NULL, NULL};
    dl_pairwise_result res = {0};
    if ((rc = read_prompts(prompts_path, &prompts, &n_prompts)) != 0) goto out;
    n_total = n_prompts;
    if (!n_prompts) {
        rc = cli_fail("%s: no prompts", prompts_path);
        goto out;
    }
    if (limit > 0 && (size_t)limit < n_prompts) n_prompts = (size_t)limit;
    for (int s = 0; s < 3; s++)
        if (!(be[s] = open_side(cmd, what[s], &side[s], &rc))) goto out;
    dl_pairwise_opts po = {.a = be[0], .b = be[1], .judge = be[2], .question = question,
                           .seed = seed, .max_tokens = (int32_t)max_tokens, .progress = isatty(2)};
    dl_error err = {0};
    if (dl_eval_pairwise((const char *const *)prompts, n_prompts, &po, &res, &err) != 0) {
        rc = cli_fail("%s", err.msg);
        goto out;
    }
    if (records_path) {
        FILE *f = fopen(records_path, "w");
        if (!f) {
            rc = cli_fail("cannot write %s", records_path);
            goto out;
        }
        size_t i;
        json_t *r;
        json_array_foreach(res.records, i, r) {
            json_dumpf(r, f, JSON_COMPACT);
            fputc('\n', f);
        }
        if (fclose(f) != 0) {
            rc = cli_fail("cannot write %s", records_path);
            goto out;
        }
    }
    const char *na = dl_backend_name(be[0]), *nb = dl_backend_name(be[1]);
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "a",
                              na ? na : "", "b", nb ? nb : "", "judge",
                              dl_backend_name(be[2]) ? dl_backend_name(be[2]) : "", "question",
                              question, "seed", (json_int_t)seed, "a_wins", (json_int_t)res.a_wins,
                              "b_wins", (json_int_t)res.b_wins, "ties", (json_int_t)res.ties, "n",
                              (json_int_t)res.n, "errors", (json_int_t)res.n_errors, "a_win_rate",
                              dl_metric_to_json(&res.a_win_rate));
        if (!o) {
            rc = cli_fail("cannot print the result as JSON (a name is not valid UTF-8)");
            goto out;
        }
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("A = %s, B = %s, judge asked which is %s (%zu prompts, seed %llu)\n", na ? na : "?",
               nb ? nb : "?", question, n_prompts, (unsigned long long)seed);
        printf("A wins %lld, B wins %lld, ties %lld, malformed judge replies %lld (left out)\n",
               (long long)res.a_wins, (long long)res.b_wins, (long long)res.ties,
               (long long)res.n_errors);
        if (res.n)
            printf("A win rate (ties half): %.3f [%.3f, %.3f] (95%% Wilson, n = %lld)\n",
                   res.a_win_rate.value, res.a_win_rate.lo, res.a_win_rate.hi, (long long)res.n);
    }
    if (!res.n) rc = cli_fail("the judge gave no usable verdict (%lld malformed replies)",
                              (long long)res.n_errors);
out:
    dl_pairwise_result_free(&res);
    for (int s = 0; s < 3; s++) dl_backend_free(be[s]);
    for (size_t i = 0; i < n_total; i++) free(prompts[i]);
    free(prompts);
    return rc;
}
