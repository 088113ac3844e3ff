/* deliberate eval grade: runs one grader over JSON-lines records of prompts
 * and responses (docs/eval-graders.md). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../eval/eval_int.h"
#include "cli.h"

static const char GRADE_HELP[] =
    "usage: deliberate eval grade --grader NAME [options] FILE|-\n"
    "\n"
    "Grades the responses of FILE (or standard input with '-'), one JSON object a line:\n"
    "  {\"prompt\": \"...\", \"response\": \"...\", <reference fields> | \"ref\": {...}}\n"
    "Reference fields are what the grader needs: \"answer\" (exact, normalized, numeric,\n"
    "choice), \"tolerance\" (numeric), \"pattern\" and \"flags\" (regex), \"style\" (style),\n"
    "\"rubric\" and \"scale\" (rubric); refusal and harmful need none. Prints one verdict a\n"
    "line and a summary, or with --json one JSON verdict a line, e.g. for refusal\n"
    "  {\"refusal\": true, \"kind\": \"full_refusal\", \"score\": 1}\n"
    "Every verdict has \"score\" (0..1, 1 = correct / refused / harmful / compliant).\n"
    "\n"
    "graders: exact normalized numeric choice regex refusal harmful style rubric\n"
    "         simpleqa strongreject (those built in; the judge graders need a judge)\n"
    "\n"
    "  --grader NAME         the grader (required)\n"
    "  --json                JSON verdicts only, one a line\n"
    "  --judge FILE|URL      GGUF model (or OpenAI-compatible server) used as the judge\n"
    "  --judge-url URL       or an OpenAI-compatible server as the judge ...\n"
    "  --judge-model NAME    ... and the model name it serves\n"
    "  --judge-key KEY       API key for --judge-url (default: $DELIBERATE_JUDGE_KEY)\n"
    "  --classifier FILE     safety classifier for harmful (default: the shipped one)\n"
    "  --seed N              judge seed (default 0)\n"
    "\n"
    "Exit status: 0 graded, 1 a malformed line, a missing reference field or another\n"
    "error (named with its line number), 2 usage error.\n";

typedef struct record {
    long line;
    char *prompt, *response;
    json_t *ref;
} record;

static void records_free(record *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(r[i].prompt);
        free(r[i].response);
        json_decref(r[i].ref);
    }
    free(r);
}

static char *slurp(const char *path, dl_error *err) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        dl_error_set(err, 404, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    dl_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) dl_buf_append(&b, chunk, n);
    if (f != stdin) fclose(f);
    dl_buf_append(&b, "", 1);
    return b.data;
}

/* Parses the JSON lines (blank lines skipped); NULL + err naming the line. */
static record *parse_records(const char *name, char *text, size_t *n_out, dl_error *err) {
    record *v = NULL;
    size_t n = 0, cap = 0;
    long line = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line++;
        char *s = p;
        p = nl ? nl + 1 : NULL;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        if (!*s) continue;
        json_error_t je;
        json_t *o = json_loads(s, JSON_REJECT_DUPLICATES, &je);
        const char *problem = NULL;
        if (!o) problem = je.text;
        else if (!json_is_object(o)) problem = "not a JSON object";
        else if (!json_is_string(json_object_get(o, "response")))
            problem = "\"response\" is missing or not a string";
        else if (json_object_get(o, "prompt") && !json_is_string(json_object_get(o, "prompt")))
            problem = "\"prompt\" is not a string";
        else if (json_object_get(o, "ref") && !json_is_object(json_object_get(o, "ref")))
            problem = "\"ref\" is not an object";
        if (problem) {
            dl_error_set(err, 400, "%s:%ld: malformed record: %s", name, line, problem);
            json_decref(o);
            records_free(v, n);
            return NULL;
        }
        /* the reference: "ref", plus any other top-level field */
        json_t *ref = json_object();
        const char *k;
        json_t *x;
        json_object_foreach(o, k, x) {
            if (strcmp(k, "prompt") && strcmp(k, "response") && strcmp(k, "ref"))
                json_object_set(ref, k, x);
        }
        if (json_object_get(o, "ref")) json_object_update(ref, json_object_get(o, "ref"));
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            v = realloc(v, cap * sizeof *v);
        }
        const char *prompt = dl_json_str(o, "prompt");
        v[n++] = (record){.line = line,
                          .prompt = strdup(prompt ? prompt : ""),
                          .response = strdup(dl_json_str(o, "response")),
                          .ref = ref};
        json_decref(o);
    }
    *n_out = n;
    return v;
}

/* One readable line for a verdict. */
static void print_readable(const char *grader, long line, const json_t *v) {
    double score = json_number_value(json_object_get(v, "score"));
    printf("line %ld: ", line);
    if (!strcmp(grader, "refusal")) {
        printf("%s (%s)", json_is_true(json_object_get(v, "refusal")) ? "refusal" : "compliance",
               dl_json_str(v, "kind"));
    } else if (!strcmp(grader, "harmful")) {
        printf("%s (p %.3f", json_is_true(json_object_get(v, "harmful")) ? "harmful" : "not harmful",
               json_number_value(json_object_get(v, "p")));
        const json_t *cats = json_object_get(v, "categories");
        size_t i;
        const json_t *c;
        json_array_foreach(cats, i, c) printf("%s%s", i ? ", " : "; ", json_string_value(c));
        printf(")");
    } else if (json_object_get(v, "correct")) {
        const json_t *got = json_object_get(v, "got");
        printf("%s (expected %s, got %s)",
               json_is_true(json_object_get(v, "correct")) ? "correct" : "incorrect",
               dl_json_str(v, "expected") ? dl_json_str(v, "expected") : "?",
               json_is_string(got) ? json_string_value(got) : "nothing");
    } else if (json_object_get(v, "matched")) {
        printf("%s", json_is_true(json_object_get(v, "matched")) ? "matched" : "no match");
    } else if (json_object_get(v, "compliant")) {
        printf("%s %s", json_is_true(json_object_get(v, "compliant")) ? "follows" : "does not follow",
               dl_json_str(v, "style"));
    } else {
        printf("score %.3f", score);
    }
    if (strcmp(grader, "refusal") && strcmp(grader, "harmful")) printf("  [score %.3g]", score);
    printf("\n");
}

int cli_eval_grade(int argc, char **argv) {
    const char *grader = NULL, *file = NULL, *judge_path = NULL, *judge_url = NULL,
               *judge_model = NULL, *judge_key = getenv("DELIBERATE_JUDGE_KEY"), *clf_path = NULL;
    bool json = false;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(GRADE_HELP, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--grader") || !strcmp(a, "--judge") || !strcmp(a, "--judge-url") ||
                   !strcmp(a, "--judge-model") || !strcmp(a, "--judge-key") ||
                   !strcmp(a, "--classifier") || !strcmp(a, "--seed")) {
            if (!v) return cli_usage_error("eval grade", "option %s needs a value", a);
            i++;
            if (!strcmp(a, "--grader")) grader = v;
            else if (!strcmp(a, "--judge") && (!strncmp(v, "http://", 7) || !strncmp(v, "https://", 8)))
                judge_url = v; /* as `eval run --judge URL` */
            else if (!strcmp(a, "--judge")) judge_path = v;
            else if (!strcmp(a, "--judge-url")) judge_url = v;
            else if (!strcmp(a, "--judge-model")) judge_model = v;
            else if (!strcmp(a, "--judge-key")) judge_key = v;
            else if (!strcmp(a, "--classifier")) clf_path = v;
            else if (!cli_parse_u64(v, &seed))
                return cli_usage_error("eval grade", "--seed needs a non-negative integer");
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("eval grade", "unknown option '%s'", a);
        } else if (!file) {
            file = a;
        } else {
            return cli_usage_error("eval grade", "one input file only ('%s' is extra)", a);
        }
    }
    if (!grader) return cli_usage_error("eval grade", "--grader NAME is required");
    if (!file) return cli_usage_error("eval grade", "no input file (use '-' for standard input)");
    if (judge_path && judge_url)
        return cli_usage_error("eval grade", "--judge and --judge-url exclude each other");
    if (judge_url && !judge_model)
        return cli_usage_error("eval grade", "--judge-url needs --judge-model");
    bool known = false;
    for (const char *const *g = dl_grader_names(); *g; g++) known = known || !strcmp(*g, grader);
    if (!known) {
        dl_buf names = {0};
        for (const char *const *g = dl_grader_names(); *g; g++)
            dl_buf_printf(&names, "%s%s", names.len ? ", " : "", *g);
        int rc = cli_usage_error("eval grade", "unknown grader '%s' (known: %s)", grader,
                                 names.data ? names.data : "none");
        dl_buf_free(&names);
        return rc;
    }

    dl_error err = {0};
    char *text = slurp(file, &err);
    if (!text) return cli_fail("%s", err.msg);
    size_t n = 0;
    record *recs = parse_records(strcmp(file, "-") ? file : "<stdin>", text, &n, &err);
    free(text);
    if (!recs && err.status) return cli_fail("%s", err.msg);

    dl_grade_ctx ctx = {.seed = seed};
    dl_backend *judge = NULL;
    dl_classifier *clf = NULL;
    int status = 0;
    if (judge_path) {
        dl_local_opts lo = {0};
        judge = dl_backend_local_open(judge_path, &lo, &err);
    } else if (judge_url) {
        dl_upstream_opts uo = {.base_url = judge_url, .model = judge_model, .api_key = judge_key};
        judge = dl_backend_upstream_new(&uo, &err);
    }
    if ((judge_path || judge_url) && !judge) {
        status = cli_fail("judge: %s", err.msg);
        goto done;
    }
    ctx.judge = judge;
    if (clf_path) {
        clf = dl_classifier_load(clf_path, &err);
        if (!clf) {
            status = cli_fail("%s", err.msg);
            goto done;
        }
        ctx.classifier = clf;
    }

    size_t n_graded = 0, n_one = 0, kinds[3] = {0};
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL;
        if (dl_grade(grader, recs[i].prompt, recs[i].response, recs[i].ref, &ctx, &v, &err)) {
            status = cli_fail("%s:%ld: %s", strcmp(file, "-") ? file : "<stdin>", recs[i].line,
                              err.msg);
            goto done;
        }
        double score = json_number_value(json_object_get(v, "score"));
        n_graded++;
        sum += score;
        n_one += score >= 0.5;
        const char *kind = dl_json_str(v, "kind");
        if (kind) {
            if (!strcmp(kind, "full_compliance")) kinds[0]++;
            else if (!strcmp(kind, "full_refusal")) kinds[1]++;
            else if (!strcmp(kind, "partial_refusal")) kinds[2]++;
        }
        if (json) {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
            printf("%s\n", s);
            free(s);
        } else {
            print_readable(grader, recs[i].line, v);
        }
        json_decref(v);
        fflush(stdout);
    }
    if (!json) {
        double share = n_graded ? 100.0 * (double)n_one / (double)n_graded : 0.0;
        const char *what = !strcmp(grader, "refusal")   ? "refusals"
                           : !strcmp(grader, "harmful") ? "harmful"
                           : !strcmp(grader, "style")   ? "following the style"
                           : !strcmp(grader, "regex")   ? "matched"
                                                        : "correct (score >= 0.5)";
        printf("\n%zu records: %zu %s (%.1f%%), mean score %.3f\n", n_graded, n_one, what, share,
               n_graded ? sum / (double)n_graded : 0.0);
        if (!strcmp(grader, "refusal"))
            printf("full compliance %zu, full refusal %zu, partial refusal %zu\n", kinds[0],
                   kinds[1], kinds[2]);
    }
done:
    records_free(recs, n);
    if (judge) dl_backend_free(judge);
    if (clf) dl_classifier_free(clf);
    return status;
}
