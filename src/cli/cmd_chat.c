/* deliberate chat: a conversation with a reasoning model — one-shot with -p,
 * otherwise interactive (libedit line editing and history). The model thinks
 * first (hidden; a live indicator shows time and reasoning tokens), then the
 * answer and a model-written summary of the reasoning are shown. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "../backend/backend.h"
#include "../reason/reason.h"
#include "../safety/safety.h"
#include "cli.h"

static const char CHAT_HELP[] =
    "usage: deliberate chat [-m FILE] [options] [-p PROMPT]\n"
    "       deliberate chat --chat-template FILE --dry-run [options] -p PROMPT\n"
    "\n"
    "Talks with the model in FILE in its own chat format. The model reasons in a\n"
    "hidden chain of thought before it answers; you see a live 'thinking' line,\n"
    "then the answer and a summary of the reasoning that the model writes itself.\n"
    "With -p: one question, then exit. Without: an interactive session (type\n"
    "/help there for its commands).\n"
    "\n"
    "  -m, --model FILE        GGUF model (default: the built-in\n"
    "                          models/deliberate-mini.gguf or $DELIBERATE_MODEL)\n"
    "  -p, --prompt TEXT       one-shot question\n"
    "  --system TEXT           system message (highest priority instructions)\n"
    "  --developer TEXT        developer message (below system, above the user)\n"
    "  --effort LEVEL          reasoning effort: none, minimal, low, medium (default), high\n"
    "  --budget SPEC           thinking-token budgets per level, e.g. low=256,high=4096\n"
    "                          (defaults: minimal=64 low=512 medium=2048 high=8192, or the\n"
    "                          model's own deliberate.reasoning.budget.* metadata)\n"
    "  --cue TEXT              at high effort, text that makes the model think on when it\n"
    "                          stops before a quarter of its budget (default: a new\n"
    "                          line and \"Wait\");\n"
    "                          --cue '' turns it off; models whose GGUF says\n"
    "                          deliberate.reasoning.budget.continue = 0 (the built-in\n"
    "                          one) are never cued\n"
    "  -n, --samples N         sample N answers and keep the majority answer (default 1)\n"
    "  --best-of-n             with -n: keep the most likely sample instead of voting\n"
    "  --extract KIND          how answers are compared for the vote: auto (default),\n"
    "                          number, choice, boxed, last-line\n"
    "  --summary MODE          reasoning summary: auto (default), concise, detailed, off\n"
    "  --show-reasoning        also print the raw reasoning (dimmed, on stderr)\n"
    "  --max-tokens N          reasoning + answer tokens per sample (default 4096)\n"
    "  --chat-format NAME      prompt format instead of the recognised one: chatml, qwen3,\n"
    "                          qwq, deepseek-r1, llama3, gpt-oss, smollm3, phi3,\n"
    "                          mistral-nemo, gemma2, granite\n"
    "  --dry-run               print the exact prompt text and exit without running a model\n"
    "  --chat-template FILE    with --dry-run instead of -m: a chat template (Jinja text as\n"
    "                          found in a GGUF); prints the format it selects and the prompt\n"
    "  --safety                run the safety stack: the question is checked before the model\n"
    "                          runs (refusal styles answer instead), the answer and summary\n"
    "                          after (withheld if flagged or if they reveal a password or\n"
    "                          secret from the system/developer text), the reasoning goes\n"
    "                          through the CoT monitor; the answer is then shown at once\n"
    "  --json                  print one JSON object: model, model_path, answer, summary,\n"
    "                          usage, samples (and reasoning with --show-reasoning); with\n"
    "                          --dry-run: format and prompt\n"
    "  --temp T, --top-p P, --top-k K, --min-p P, --seed S   sampling (defaults 0.6, 0.95,\n"
    "                          20, 0, 0; sample i of -n uses seed S+i)\n"
    "  --repeat-penalty R, --frequency-penalty F, --presence-penalty F, --repeat-last-n N\n"
    "                          penalties, as for 'deliberate run'\n"
    "  -c, --ctx-size N        context length (default: min(model's, 4096))\n"
    "  -t, --threads N         threads (default: number of cores)\n"
    "  --kv-type T             KV cache type: f32 (default) or f16\n";

typedef struct chat_opts {
    const char *model, *prompt, *system, *developer, *template_file, *budget_spec;
    const char *cue;
    bool cue_set;
    bool json, dry_run, best_of_n, safety;
    dl_safety *guard;       /* with --safety */
    dl_classifier *clf;
    dl_secrets *secrets;
    char locale[32];
    long max_tokens;
    dl_chat_format format;
    dl_reason_params rp;
    cli_engine_opts e;
} chat_opts;

static int parse(int argc, char **argv, chat_opts *o)
{
    o->rp = dl_reason_default_params();
    o->e.sp = dl_sampler_default_params();
    o->e.sp.temperature = 0.6f; /* what reasoning models' cards recommend */
    o->e.sp.top_k = 20;
    o->e.sp.min_p = 0.0f;
    o->max_tokens = 4096;
    dl_error err = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                                                \
    do {                                                                            \
        if (!v) return cli_usage_error("chat", "option %s needs a value", a);      \
        i++;                                                                        \
    } while (0)
#define BAD(what) return cli_usage_error("chat", "%s: '%s' is not " what, a, v)
        int eo = cli_parse_engine_opt("chat", argc, argv, &i, &o->e);
        if (eo == 2) return 2;
        if (eo == 1) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(CHAT_HELP, stdout);
            return 1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            NEED_VALUE();
            o->model = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            NEED_VALUE();
            o->prompt = v;
        } else if (!strcmp(a, "--system")) {
            NEED_VALUE();
            o->system = v;
        } else if (!strcmp(a, "--developer")) {
            NEED_VALUE();
            o->developer = v;
        } else if (!strcmp(a, "--effort")) {
            NEED_VALUE();
            if (dl_effort_parse(v, &o->rp.effort, &err) != 0)
                return cli_usage_error("chat", "%s", err.msg);
        } else if (!strcmp(a, "--budget")) {
            NEED_VALUE();
            o->budget_spec = v;
        } else if (!strcmp(a, "--cue")) {
            NEED_VALUE();
            o->cue = v;
            o->cue_set = true;
        } else if (!strcmp(a, "-n") || !strcmp(a, "--samples")) {
            NEED_VALUE();
            long n;
            if (!cli_parse_long(v, 1, 64, &n)) BAD("a sample count from 1 to 64");
            o->rp.n = (int)n;
        } else if (!strcmp(a, "--best-of-n")) {
            o->best_of_n = true;
        } else if (!strcmp(a, "--extract")) {
            NEED_VALUE();
            if (dl_extract_kind_parse(v, &o->rp.extract, &err) != 0)
                return cli_usage_error("chat", "%s", err.msg);
        } else if (!strcmp(a, "--summary")) {
            NEED_VALUE();
            if (dl_summary_parse(v, &o->rp.summary, &err) != 0)
                return cli_usage_error("chat", "%s", err.msg);
        } else if (!strcmp(a, "--show-reasoning")) {
            o->rp.want_reasoning = true;
        } else if (!strcmp(a, "--max-tokens")) {
            NEED_VALUE();
            if (!cli_parse_long(v, 1, 1 << 24, &o->max_tokens)) BAD("a token count >= 1");
        } else if (!strcmp(a, "--chat-format")) {
            NEED_VALUE();
            if (dl_chat_format_parse(v, &o->format, &err) != 0)
                return cli_usage_error("chat", "%s", err.msg);
        } else if (!strcmp(a, "--chat-template")) {
            NEED_VALUE();
            o->template_file = v;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = true;
        } else if (!strcmp(a, "--safety")) {
            o->safety = true;
        } else if (!strcmp(a, "--json")) {
            o->json = true;
        } else {
            return cli_usage_error("chat", "unknown argument '%s'", a);
        }
#undef NEED_VALUE
#undef BAD
    }
    if (o->template_file && !o->dry_run)
        return cli_usage_error("chat", "--chat-template only works with --dry-run (use -m to chat)");
    if (o->template_file && o->model)
        return cli_usage_error("chat", "give either -m FILE or --chat-template FILE, not both");
    if (o->dry_run && !o->prompt)
        return cli_usage_error("chat", "--dry-run needs -p PROMPT (the user message)");
    if (o->cue_set) o->rp.continue_cue = o->cue;
    if (o->best_of_n) o->rp.strategy = DL_STRATEGY_BEST_OF_N;
    return 0;
}

/* ---- the conversation ---- */

typedef struct convo {
    dl_chat_msg *msgs;
    char **owned; /* texts of turns added during the session */
    size_t n, cap;
} convo;

static void convo_add(convo *c, dl_role role, const char *text, bool copy)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->msgs = dl_xrealloc(c->msgs, c->cap * sizeof(*c->msgs));
        c->owned = dl_xrealloc(c->owned, c->cap * sizeof(*c->owned));
    }
    char *s = copy ? dl_xstrdup(text) : NULL;
    c->owned[c->n] = s;
    c->msgs[c->n++] = (dl_chat_msg){role, s ? s : text, NULL, NULL};
}

/* Drops every turn after the first `keep` (the system/developer ones). */
static void convo_truncate(convo *c, size_t keep)
{
    while (c->n > keep) free(c->owned[--c->n]);
}

static void convo_free(convo *c)
{
    convo_truncate(c, 0);
    free(c->msgs);
    free(c->owned);
}

/* ---- live output ---- */

typedef struct live {
    bool tty;         /* stderr is a terminal: draw the thinking line */
    bool json;
    bool line_drawn;
    bool answer_started;
    bool reasoning_started;
    bool hold;        /* --safety: the answer is shown after its check */
    struct timespec t0;
    int32_t n_reasoning;
    int n_samples;
} live;

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void clear_line(live *l)
{
    if (l->line_drawn) {
        fputs("\r\033[K", stderr);
        l->line_drawn = false;
    }
}

static bool on_progress(void *ud, int sample, dl_channel ch, int32_t n_reasoning)
{
    live *l = ud;
    l->n_reasoning = n_reasoning;
    if (!l->tty || l->json || l->answer_started || l->reasoning_started) return true;
    static const char *spin[] = {"|", "/", "-", "\\"};
    static unsigned tick;
    if (l->n_samples > 1)
        fprintf(stderr, "\r\033[K%s thinking… %.1fs · sample %d/%d · %d reasoning tokens",
                spin[tick++ % 4], elapsed(&l->t0), sample + 1, l->n_samples, n_reasoning);
    else
        fprintf(stderr, "\r\033[K%s thinking… %.1fs · %d reasoning tokens", spin[tick++ % 4],
                elapsed(&l->t0), n_reasoning);
    l->line_drawn = true;
    return true;
}

static bool on_answer(void *ud, const char *text, size_t len)
{
    live *l = ud;
    if (l->json || l->hold) return true;
    clear_line(l);
    if (l->reasoning_started && !l->answer_started) fprintf(stderr, "%s\n", l->tty ? "\033[0m" : "");
    l->answer_started = true;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

static bool on_reasoning(void *ud, const char *text, size_t len)
{
    live *l = ud;
    if (l->json) return true;
    clear_line(l);
    if (!l->reasoning_started) fputs(l->tty ? "\033[2m" : "", stderr);
    l->reasoning_started = true;
    fwrite(text, 1, len, stderr);
    fflush(stderr);
    return true;
}

/* ---- output ---- */

/* Terminal styling, only when the stream is a terminal. */
static const char *dim(FILE *f) { return isatty(fileno(f)) ? "\033[2m" : ""; }
static const char *plain(FILE *f) { return isatty(fileno(f)) ? "\033[0m" : ""; }

static json_t *usage_json(const dl_usage *u)
{
    return json_pack("{s:i, s:i, s:i, s:{s:i}}", "prompt_tokens", u->prompt_tokens,
                     "completion_tokens", u->completion_tokens, "total_tokens",
                     u->prompt_tokens + u->completion_tokens, "completion_tokens_details",
                     "reasoning_tokens", u->reasoning_tokens);
}

static void print_json(const chat_opts *o, const dl_backend *b, const dl_reason_result *r)
{
    json_t *root = json_object();
    json_object_set_new(root, "model", json_string(dl_backend_name(b)));
    json_object_set_new(root, "model_path", json_string(o->model));
    json_object_set_new(root, "chat_format",
                        json_string(dl_chat_format_name(dl_backend_local_format(b).id)));
    json_object_set_new(root, "effort", json_string(dl_effort_name(o->rp.effort)));
    json_object_set_new(root, "reasoning_budget", json_integer(r->budget));
    json_object_set_new(root, "answer", json_string(r->answer));
    json_object_set_new(root, "extracted_answer", r->extracted ? json_string(r->extracted) : json_null());
    json_object_set_new(root, "summary", r->summary ? json_string(r->summary) : json_null());
    if (r->reasoning) json_object_set_new(root, "reasoning", json_string(r->reasoning));
    json_object_set_new(root, "finish_reason", json_string(dl_finish_name(r->finish)));
    json_object_set_new(root, "usage", usage_json(&r->usage));
    json_object_set_new(root, "summary_usage", usage_json(&r->summary_usage));
    json_t *samples = json_array();
    for (int i = 0; i < r->n_samples; i++) {
        const dl_reason_sample *s = &r->samples[i];
        json_array_append_new(
            samples, json_pack("{s:s, s:o, s:i, s:f, s:s}", "answer", s->answer_text,
                               "extracted_answer", s->extracted ? json_string(s->extracted) : json_null(),
                               "reasoning_tokens", s->reasoning_tokens, "mean_logprob",
                               s->mean_logprob, "finish_reason", dl_finish_name(s->finish)));
    }
    json_object_set_new(root, "samples", samples);
    json_object_set_new(root, "chosen", json_integer(r->chosen));
    json_object_set_new(root, "votes", json_integer(r->votes));
    json_object_set_new(root, "strategy",
                        json_string(o->rp.strategy == DL_STRATEGY_VOTE ? "vote" : "best-of-n"));
    json_dumpf(root, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(root);
}

/* --safety: true when text must not be shown (flagged with a refusal style,
 * or revealing a protected secret); *style gets the style to answer with. */
static bool withheld(const chat_opts *o, const char *text, dl_action *style, dl_category *cat)
{
    if (dl_secrets_leaked(o->secrets, text, strlen(text), NULL)) {
        *style = DL_ACTION_BLOCK;
        return true;
    }
    dl_verdict v;
    dl_error err = {0};
    if (dl_safety_check(o->guard, text, strlen(text), &v, &err) != 0 || !v.any_flagged ||
        v.action == DL_ACTION_ALLOW || v.action == DL_ACTION_SAFE_COMPLETE)
        return false;
    *style = v.action;
    *cat = DL_CAT_HARASSMENT;
    for (int k = 0; k < DL_CAT__COUNT; k++)
        if (v.flagged[k] && (!v.flagged[*cat] || v.scores.p[k] > v.scores.p[*cat])) *cat = (dl_category)k;
    return true;
}

static char *refusal_text(const chat_opts *o, dl_action style, dl_category cat)
{
    return style == DL_ACTION_BLOCK ? dl_xstrdup("I'm sorry, but I can't share that.")
                                    : dl_style_response(style, cat, o->locale);
}

/* One turn: runs the conversation, prints answer and summary. */
static int turn(const chat_opts *o, dl_backend *b, convo *c, dl_reason_result *r)
{
    dl_action style;
    dl_category cat = DL_CAT_HARASSMENT;
    if (o->guard && c->n && c->msgs[c->n - 1].role == DL_ROLE_USER &&
        withheld(o, c->msgs[c->n - 1].content, &style, &cat) && style != DL_ACTION_BLOCK) {
        memset(r, 0, sizeof(*r)); /* the input check answers; the model does not run */
        r->answer = refusal_text(o, style, cat);
        r->samples = dl_xcalloc(1, sizeof(dl_reason_sample));
        r->samples[0].answer_text = dl_xstrdup(r->answer);
        r->n_samples = 1;
        if (o->json) print_json(o, b, r);
        else printf("%s\n", r->answer);
        fprintf(stderr, "%s[safety: the question was flagged (%s); the model did not run]%s\n",
                dim(stderr), dl_action_name(style), plain(stderr));
        return 0;
    }
    dl_gen_params gen = dl_gen_default_params();
    gen.sampling = o->e.sp;
    gen.max_tokens = (int32_t)o->max_tokens;
    live l = {0};
    l.tty = isatty(fileno(stderr));
    l.json = o->json;
    l.n_samples = o->rp.n;
    l.hold = o->guard != NULL;
    clock_gettime(CLOCK_MONOTONIC, &l.t0);
    dl_reason_sink sink = {on_progress, on_answer, o->rp.want_reasoning ? on_reasoning : NULL, NULL, &l};
    dl_reason_params rp = o->rp;
    if (o->guard) rp.want_reasoning = true; /* the CoT monitor reads it; shown only if asked */
    dl_error err = {0};
    int rc = dl_reason_run(b, c->msgs, c->n, &gen, &rp, &sink, r, &err);
    clear_line(&l);
    if (rc != 0) return cli_fail("%s", err.msg);
    if (o->guard) {
        if (withheld(o, r->answer, &style, &cat)) {
            free(r->answer);
            r->answer = refusal_text(o, style, cat);
            fprintf(stderr, "%s[safety: the answer was withheld (%s)]%s\n", dim(stderr),
                    dl_action_name(style), plain(stderr));
        }
        if (r->summary && withheld(o, r->summary, &style, &cat)) {
            free(r->summary);
            r->summary = dl_xstrdup("[the summary was withheld by the safety checks]");
        }
        const char *reasoning = r->reasoning ? r->reasoning : "";
        dl_cot_report rep;
        dl_cot_monitor(o->guard, reasoning, strlen(reasoning), &rep);
        if (rep.flags)
            fprintf(stderr, "%s[safety: CoT monitor flags 0x%x: %s]%s\n", dim(stderr), rep.flags,
                    rep.evidence, plain(stderr));
        if (!o->rp.want_reasoning) { /* read for the monitor only */
            free(r->reasoning);
            r->reasoning = NULL;
        }
    }
    if (o->json) {
        print_json(o, b, r);
        return 0;
    }
    if (!l.answer_started) fputs(r->answer, stdout); /* e.g. n > 1 without a streamed answer */
    fputc('\n', stdout);
    double secs = elapsed(&l.t0);
    if (r->summary && r->summary[0])
        printf("\n%sSummary of the reasoning:%s %s\n", dim(stdout), plain(stdout), r->summary);
    fflush(stdout);
    fprintf(stderr, "%s[%s · thought %d tokens (budget %d) · %d completion tokens · %.1fs",
            dim(stderr), dl_effort_name(o->rp.effort), r->usage.reasoning_tokens, r->budget,
            r->usage.completion_tokens, secs);
    if (r->n_samples > 1) fprintf(stderr, " · %d/%d samples agree", r->votes, r->n_samples);
    if (r->finish == DL_FINISH_LENGTH) fprintf(stderr, " · stopped at the token limit");
    fprintf(stderr, "]%s\n", plain(stderr));
    return 0;
}

static int dry_run(const chat_opts *o, convo *c)
{
    dl_error err = {0};
    dl_gen_params gen = dl_gen_default_params();
    dl_reason_params rp = o->rp;
    if (o->budget_spec && dl_effort_budgets_parse(&rp.budgets, o->budget_spec, &err) != 0)
        return cli_usage_error("chat", "--budget: %s", err.msg);
    if (dl_reason_apply(&rp, &gen, &err) != 0) return cli_fail("%s", err.msg);
    dl_chat_format fmt = o->format;
    char *text = NULL;
    if (o->template_file) {
        size_t len = 0;
        char *tmpl = dl_read_file(o->template_file, &len, &err);
        if (!tmpl) return cli_fail("%s", err.msg);
        if (fmt.id == DL_CHAT_UNKNOWN) fmt = dl_chat_format_from_template(tmpl);
        free(tmpl);
        if (fmt.id == DL_CHAT_UNKNOWN)
            return cli_fail("%s: not a chat template deliberate recognises; pass --chat-format NAME",
                            o->template_file);
        dl_chat_opts co = dl_chat_default_opts();
        co.enable_thinking = gen.thinking;
        co.reasoning_effort = gen.effort_hint;
        dl_chat_prompt p = {0};
        if (dl_chat_render(&fmt, c->msgs, c->n, &co, &p, &err) != 0) return cli_fail("%s", err.msg);
        text = p.text;
        p.text = NULL;
        dl_chat_prompt_free(&p);
    } else {
        dl_local_opts lo = {0};
        lo.format = fmt;
        lo.n_ctx = 64; /* nothing runs: keep the KV cache tiny */
        dl_backend *b = dl_backend_local_open(o->model, &lo, &err);
        if (!b) return cli_fail("%s", err.msg);
        fmt = dl_backend_local_format(b);
        dl_chat_request req = {c->msgs, c->n, gen};
        int rc = dl_backend_prompt(b, &req, &text, &err);
        dl_backend_free(b);
        if (rc != 0) return cli_fail("%s", err.msg);
    }
    if (o->json) {
        json_t *root = json_pack("{s:s, s:s, s:b}", "chat_format", dl_chat_format_name(fmt.id),
                                 "prompt", text, "thinking", gen.thinking);
        json_dumpf(root, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(root);
    } else {
        fprintf(stderr, "chat format: %s\n", dl_chat_format_name(fmt.id));
        fputs(text, stdout);
    }
    free(text);
    return 0;
}

static void interactive_help(void)
{
    fputs("commands: /effort LEVEL (none|minimal|low|medium|high), /samples N, /reset (forget the\n"
          "conversation), /quit (or Ctrl-D), /help\n",
          stderr);
}

static int interactive(chat_opts *o, dl_backend *b, convo *c)
{
    size_t keep = c->n;
    char hist_path[4096] = "";
    const char *home = getenv("HOME");
    if (home && isatty(fileno(stdin))) snprintf(hist_path, sizeof(hist_path), "%s/.deliberate_history", home);
    using_history();
    if (hist_path[0]) read_history(hist_path);
    fprintf(stderr, "deliberate chat — %s (%s format), effort %s. /help for commands.\n",
            dl_backend_name(b), dl_chat_format_name(dl_backend_local_format(b).id),
            dl_effort_name(o->rp.effort));
    int status = 0;
    for (;;) {
        char *line = readline("> ");
        if (!line) {
            fputc('\n', stderr);
            break;
        }
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (!*s) {
            free(line);
            continue;
        }
        add_history(s);
        if (hist_path[0]) write_history(hist_path);
        if (s[0] == '/') {
            dl_error err = {0};
            if (!strcmp(s, "/quit") || !strcmp(s, "/exit")) {
                free(line);
                break;
            } else if (!strcmp(s, "/reset")) {
                convo_truncate(c, keep);
                fputs("(conversation forgotten)\n", stderr);
            } else if (!strncmp(s, "/effort ", 8)) {
                if (dl_effort_parse(s + 8, &o->rp.effort, &err) != 0) fprintf(stderr, "%s\n", err.msg);
                else fprintf(stderr, "(effort %s)\n", dl_effort_name(o->rp.effort));
            } else if (!strncmp(s, "/samples ", 9)) {
                long n;
                if (!cli_parse_long(s + 9, 1, 64, &n)) fputs("samples: a count from 1 to 64\n", stderr);
                else o->rp.n = (int)n;
            } else {
                interactive_help();
            }
            free(line);
            continue;
        }
        convo_add(c, DL_ROLE_USER, s, true);
        free(line);
        dl_reason_result r = {0};
        if (turn(o, b, c, &r) != 0) {
            convo_truncate(c, c->n - 1); /* the question did not get an answer */
            status = 1;
            continue;
        }
        convo_add(c, DL_ROLE_ASSISTANT, r.answer, true); /* the reasoning is not kept */
        dl_reason_result_free(&r);
        status = 0;
    }
    return status;
}

int cli_chat(int argc, char **argv)
{
    chat_opts o = {0};
    int rc = parse(argc, argv, &o);
    if (rc) return rc == 1 ? 0 : rc;
    /* this CLI is the deployment: asking for the raw reasoning is allowed */
    o.rp.allow_reasoning = true;

    char default_model[4200];
    if (!o.model && !o.template_file &&
        !(o.model = cli_default_model("-m FILE", default_model, sizeof default_model)))
        return 1;

    convo c = {0};
    if (o.system) convo_add(&c, DL_ROLE_SYSTEM, o.system, false);
    if (o.developer) convo_add(&c, DL_ROLE_DEVELOPER, o.developer, false);
    if (o.dry_run) {
        convo_add(&c, DL_ROLE_USER, o.prompt, false);
        rc = dry_run(&o, &c);
        convo_free(&c);
        return rc;
    }

    dl_error err = {0};
    dl_local_opts lo = {0};
    lo.n_ctx = (int32_t)o.e.n_ctx;
    lo.n_threads = (int)o.e.n_threads;
    lo.kv_type = o.e.kv_type;
    lo.format = o.format;
    lo.progress = o.json ? NULL : cli_progress;
    lo.progress_ud = (void *)"loading";
    dl_backend *b = dl_backend_local_open(o.model, &lo, &err);
    if (!b) {
        convo_free(&c);
        return cli_fail("%s", err.msg);
    }
    if (o.safety) {
        o.clf = dl_classifier_load_default(&err);
        dl_safety_config sc = {0};
        sc.classifier = o.clf;
        if (!o.clf || !(o.guard = dl_safety_new(&sc, &err))) {
            dl_classifier_free(o.clf);
            dl_backend_free(b);
            convo_free(&c);
            return cli_fail("--safety: %s", err.msg);
        }
        o.secrets = dl_secrets_new();
        if (o.system) dl_secrets_scan_instructions(o.secrets, o.system);
        if (o.developer) dl_secrets_scan_instructions(o.secrets, o.developer);
        o.rp.allow_reasoning = true;
        const char *lang = getenv("LANG");
        size_t n = 0;
        while (lang && lang[n] && lang[n] != '.' && lang[n] != '@' && n + 1 < sizeof o.locale) {
            o.locale[n] = lang[n] == '_' ? '-' : lang[n];
            n++;
        }
        o.locale[n] = 0;
        if (n < 2 || !strcmp(o.locale, "C") || !strcmp(o.locale, "POSIX")) strcpy(o.locale, "en-US");
    }
    o.rp.budgets = dl_effort_budgets_for(b);
    if (o.budget_spec && dl_effort_budgets_parse(&o.rp.budgets, o.budget_spec, &err) != 0) {
        dl_backend_free(b);
        convo_free(&c);
        return cli_usage_error("chat", "--budget: %s", err.msg);
    }
    if (o.prompt) {
        convo_add(&c, DL_ROLE_USER, o.prompt, false);
        dl_reason_result r = {0};
        rc = turn(&o, b, &c, &r);
        dl_reason_result_free(&r);
    } else {
        rc = interactive(&o, b, &c);
    }
    dl_backend_free(b);
    dl_safety_free(o.guard);
    dl_classifier_free(o.clf);
    dl_secrets_free(o.secrets);
    convo_free(&c);
    return rc;
}
