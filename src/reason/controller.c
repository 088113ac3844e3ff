/* The reasoning controller: effort -> budget and the backend's forcing
 * settings, n samples, the choice between them, and the summary.
 *
 * Sample i runs with seed + i, one after another (the local backend reuses
 * the prompt's KV cache between them). With n == 1 the answer streams to the
 * caller as it is produced; with n > 1 nothing is shown until the vote. */
#include "reason.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 64

dl_reason_params dl_reason_default_params(void)
{
    dl_reason_params p = {0};
    p.effort = DL_EFFORT_MEDIUM;
    p.budgets = dl_effort_default_budgets();
    p.continue_cue = "\nWait";
    p.min_share = 0.25f;
    p.max_continuations = 2;
    p.n = 1;
    p.strategy = DL_STRATEGY_VOTE;
    p.extract = DL_EXTRACT_AUTO;
    p.summary = DL_SUMMARY_AUTO;
    return p;
}

dl_effort_budgets dl_effort_budgets_for(const dl_backend *b)
{
    dl_effort_budgets bu = dl_effort_default_budgets();
    for (int e = DL_EFFORT_MINIMAL; e < DL_EFFORT__COUNT; e++) {
        int32_t h = dl_backend_budget_hint(b, dl_effort_name((dl_effort)e));
        if (h >= 0) bu.budget[e] = h;
    }
    return bu;
}

void dl_reason_result_free(dl_reason_result *r)
{
    if (!r) return;
    for (int i = 0; i < r->n_samples; i++) {
        free(r->samples[i].answer_text);
        free(r->samples[i].extracted);
    }
    free(r->samples);
    free(r->answer);
    free(r->extracted);
    free(r->summary);
    free(r->reasoning);
    memset(r, 0, sizeof(*r));
}

/* ---- one sample ---- */

typedef struct sample_sink {
    const dl_reason_sink *up;
    int index;
    bool stream_answer;
    bool stream_reasoning;
} sample_sink;

static bool on_text(void *ud, dl_channel ch, const char *text, size_t len)
{
    sample_sink *s = ud;
    if (!s->up) return true;
    if (ch == DL_CHANNEL_ANSWER && s->stream_answer && s->up->on_answer)
        return s->up->on_answer(s->up->ud, text, len);
    if (ch == DL_CHANNEL_REASONING && s->stream_reasoning && s->up->on_reasoning)
        return s->up->on_reasoning(s->up->ud, text, len);
    return true;
}

static bool on_token(void *ud, dl_channel ch, int32_t n_reasoning, int32_t n_completion)
{
    sample_sink *s = ud;
    if (s->up && s->up->on_progress) return s->up->on_progress(s->up->ud, s->index, ch, n_reasoning);
    return true;
}

static void add_usage(dl_usage *a, const dl_usage *b)
{
    a->prompt_tokens += b->prompt_tokens;
    a->reasoning_tokens += b->reasoning_tokens;
    a->completion_tokens += b->completion_tokens;
}

/* ---- choosing ---- */

static int choose_best_of_n(const dl_reason_params *p, const dl_reason_sample *s, int n)
{
    int best = 0;
    double best_score = -INFINITY;
    for (int i = 0; i < n; i++) {
        double score = p->verifier ? p->verifier(p->verifier_ud, s[i].extracted, s[i].answer_text)
                                   : s[i].mean_logprob;
        if (isnan(score)) score = -INFINITY;
        if (score > best_score ||
            (score == best_score && s[i].mean_logprob > s[best].mean_logprob)) {
            best = i;
            best_score = score;
        }
    }
    return best;
}

/* ---- summary ---- */

#define SUMMARY_MAX_BYTES 8000

static const char summary_system[] =
    "You write summaries of an assistant's private reasoning for the person it answered. "
    "Describe the approach and the key steps in plain language. Do not quote the reasoning, "
    "do not add new facts, and do not include the final answer's full text.";

static bool on_summary_text(void *ud, dl_channel ch, const char *text, size_t len)
{
    const dl_reason_sink *up = ud;
    if (ch != DL_CHANNEL_ANSWER || !up || !up->on_summary) return true;
    return up->on_summary(up->ud, text, len);
}

/* The summary when the model cannot write one: the reasoning's first line
 * and, when there are more, " ... " and its last line, then the number of
 * lines ("48 + 76, column by column: ... 124 (5 steps)"). malloc'd. */
static char *extract_summary(const char *reasoning)
{
    while (*reasoning == '\n' || *reasoning == ' ') reasoning++;
    size_t len = strlen(reasoning);
    while (len > 0 && (reasoning[len - 1] == '\n' || reasoning[len - 1] == ' ')) len--;
    const char *nl = memchr(reasoning, '\n', len);
    size_t first = nl ? (size_t)(nl - reasoning) : len;
    int lines = 1;
    for (size_t i = 0; i < len; i++) lines += reasoning[i] == '\n';
    dl_buf b = {0};
    dl_buf_append(&b, reasoning, DL_MIN(first, (size_t)200));
    if (nl) {
        size_t from = len;
        while (from > 0 && reasoning[from - 1] != '\n') from--;
        dl_buf_printf(&b, " ... ");
        dl_buf_append(&b, reasoning + from, DL_MIN(len - from, (size_t)200));
        dl_buf_printf(&b, " (%d steps)", lines);
    }
    dl_buf_append(&b, "", 1);
    return b.data;
}

static int extracted_summary(const char *reasoning, const dl_reason_sink *sink, char **out, dl_usage *usage)
{
    *out = extract_summary(reasoning);
    memset(usage, 0, sizeof *usage);
    if (sink && sink->on_summary) sink->on_summary(sink->ud, *out, strlen(*out));
    return 0;
}

/* Asks the model to summarise `reasoning`; *out malloc'd. The summary's text
 * streams to sink->on_summary as written (untrimmed). A model whose GGUF
 * says it writes no summaries (deliberate.reasoning.budget.summary = 0, the
 * models deliberate trains) or whose context cannot hold the request gets an
 * extract of its reasoning instead (extract_summary). */
static int summarise(dl_backend *b, const dl_gen_params *base, dl_summary_mode mode,
                     const char *reasoning, int32_t reasoning_tokens, const dl_reason_sink *sink,
                     char **out, dl_usage *usage, dl_error *err)
{
    if (dl_backend_budget_hint(b, "summary") == 0) return extracted_summary(reasoning, sink, out, usage);
    if (mode == DL_SUMMARY_AUTO)
        mode = reasoning_tokens < 256 ? DL_SUMMARY_CONCISE : DL_SUMMARY_DETAILED;
    dl_buf user = {0};
    size_t len = strlen(reasoning);
    dl_buf_printf(&user, "Reasoning to summarise:\n<reasoning>\n");
    if (len > SUMMARY_MAX_BYTES) { /* keep the start and the (more telling) end */
        size_t head = SUMMARY_MAX_BYTES / 4, tail = SUMMARY_MAX_BYTES - head;
        while (head > 0 && ((unsigned char)reasoning[head] & 0xC0) == 0x80) head--;
        size_t from = len - tail;
        while (from < len && ((unsigned char)reasoning[from] & 0xC0) == 0x80) from++;
        dl_buf_append(&user, reasoning, head);
        dl_buf_printf(&user, "\n[...]\n");
        dl_buf_append(&user, reasoning + from, len - from);
    } else {
        dl_buf_append(&user, reasoning, len);
    }
    dl_buf_printf(&user, "\n</reasoning>\n\n%s",
                  mode == DL_SUMMARY_CONCISE
                      ? "Summarise this reasoning in one or two sentences."
                      : "Summarise this reasoning in a short paragraph of at most five "
                        "sentences, step by step.");
    dl_buf_append(&user, "", 1);
    dl_chat_msg msgs[2] = {
        {DL_ROLE_SYSTEM, summary_system, NULL, NULL},
        {DL_ROLE_USER, user.data, NULL, NULL},
    };
    dl_chat_request req = {msgs, 2, *base};
    req.gen.thinking = false;
    req.gen.reasoning_budget = 0;
    req.gen.continue_cue = NULL;
    req.gen.min_reasoning = 0;
    req.gen.max_tokens = mode == DL_SUMMARY_CONCISE ? 96 : 320;
    req.gen.sampling.temperature = 0; /* the summary of a given reasoning is reproducible */
    req.gen.effort_hint = "low";
    req.gen.stop = NULL;
    req.gen.n_stop = 0;
    dl_chat_result r = {0};
    dl_chat_sink cs = {on_summary_text, NULL, (void *)sink};
    int rc = dl_backend_chat(b, &req, &cs, &r, err);
    dl_buf_free(&user);
    if (rc != 0 && err && err->code && !strcmp(err->code, "context_length_exceeded")) {
        dl_chat_result_free(&r);
        memset(err, 0, sizeof *err);
        return extracted_summary(reasoning, sink, out, usage);
    }
    if (rc != 0) return -1;
    /* trim surrounding whitespace */
    char *s = r.answer;
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    *out = dl_xstrndup(s, n);
    *usage = r.usage;
    dl_chat_result_free(&r);
    return 0;
}

/* ---- the controller ---- */

static const char *effort_hint(dl_effort e)
{
    return e <= DL_EFFORT_LOW ? "low" : e == DL_EFFORT_MEDIUM ? "medium" : "high";
}

int dl_reason_apply(const dl_reason_params *p, dl_gen_params *g, dl_error *err)
{
    if ((unsigned)p->effort >= DL_EFFORT__COUNT)
        return dl_error_set(err, 400, "unknown reasoning effort %d", (int)p->effort);
    int32_t budget = p->budgets.budget[p->effort];
    if (budget < 0)
        return dl_error_set(err, 400, "negative thinking budget %d for effort %s", budget,
                            dl_effort_name(p->effort));
    g->thinking = p->effort != DL_EFFORT_NONE && budget != 0;
    g->reasoning_budget = g->thinking ? budget : 0;
    g->effort_hint = effort_hint(p->effort);
    g->continue_cue = NULL;
    g->min_reasoning = 0;
    g->max_continuations = 0;
    if (p->effort == DL_EFFORT_HIGH && p->continue_cue && p->continue_cue[0] &&
        p->max_continuations > 0) {
        g->continue_cue = p->continue_cue;
        g->min_reasoning = (int32_t)(p->min_share * (float)budget);
        g->max_continuations = p->max_continuations;
    }
    return 0;
}

int dl_reason_run(dl_backend *b, const dl_chat_msg *msgs, size_t n_msgs, const dl_gen_params *gen,
                  const dl_reason_params *p, const dl_reason_sink *sink, dl_reason_result *out,
                  dl_error *err)
{
    memset(out, 0, sizeof(*out));
    if ((unsigned)p->effort >= DL_EFFORT__COUNT)
        return dl_error_set(err, 400, "unknown reasoning effort %d", (int)p->effort);
    if (p->n < 1 || p->n > MAX_SAMPLES)
        return dl_error_set(err, 400, "n must be between 1 and %d (got %d)", MAX_SAMPLES, p->n);
    dl_gen_params g = *gen;
    if (dl_reason_apply(p, &g, err) != 0) return -1;
    out->budget = g.reasoning_budget;
    if (dl_backend_budget_hint(b, "continue") == 0) {
        /* the model's GGUF says it was never taught to go on after a cue
         * (deliberate.reasoning.budget.continue = 0, the models deliberate
         * trains): a "Wait" would only derail a finished reasoning */
        g.continue_cue = NULL;
        g.min_reasoning = 0;
        g.max_continuations = 0;
    }

    bool show_reasoning = p->want_reasoning && p->allow_reasoning;
    out->samples = dl_xcalloc((size_t)p->n, sizeof(dl_reason_sample));
    char **reasonings = dl_xcalloc((size_t)p->n, sizeof(char *));
    int rc = 0;
    for (int i = 0; i < p->n; i++) {
        dl_chat_request req = {msgs, n_msgs, g};
        req.gen.sampling.seed = gen->sampling.seed + (uint64_t)i;
        sample_sink ss = {sink, i, p->n == 1, p->n == 1 && show_reasoning};
        dl_chat_sink cs = {on_text, on_token, &ss};
        dl_chat_result r = {0};
        if (dl_backend_chat(b, &req, &cs, &r, err) != 0) {
            rc = -1;
            break;
        }
        dl_reason_sample *s = &out->samples[out->n_samples++];
        s->answer_text = r.answer;
        s->extracted = dl_extract_answer(r.answer, p->extract);
        s->mean_logprob = r.n_sampled ? r.logprob_sum / r.n_sampled : 0.0;
        s->reasoning_tokens = r.usage.reasoning_tokens;
        s->finish = r.finish;
        reasonings[i] = r.reasoning;
        add_usage(&out->usage, &r.usage);
        if (r.finish == DL_FINISH_CANCELLED) break;
    }
    if (rc == 0 && out->n_samples > 0) {
        int n = out->n_samples;
        if (p->strategy == DL_STRATEGY_BEST_OF_N) {
            out->chosen = choose_best_of_n(p, out->samples, n);
            out->votes = 1;
        } else {
            dl_vote_item *items = dl_xcalloc((size_t)n, sizeof(*items));
            for (int i = 0; i < n; i++)
                items[i] = (dl_vote_item){out->samples[i].extracted, out->samples[i].mean_logprob};
            out->chosen = dl_vote_majority(items, (size_t)n, &out->votes);
            free(items);
        }
        const dl_reason_sample *c = &out->samples[out->chosen];
        out->answer = dl_xstrdup(c->answer_text);
        out->extracted = c->extracted ? dl_xstrdup(c->extracted) : NULL;
        out->finish = c->finish;
        if (p->n > 1 && sink && sink->on_answer && c->finish != DL_FINISH_CANCELLED)
            sink->on_answer(sink->ud, out->answer, strlen(out->answer));
        const char *reasoning = reasonings[out->chosen];
        if (show_reasoning) out->reasoning = dl_xstrdup(reasoning);
        if (p->summary != DL_SUMMARY_OFF && reasoning[0] && c->finish != DL_FINISH_CANCELLED)
            rc = summarise(b, gen, p->summary, reasoning, c->reasoning_tokens, sink,
                           &out->summary, &out->summary_usage, err);
    }
    for (int i = 0; i < p->n; i++) free(reasonings[i]);
    free(reasonings);
    if (rc != 0) dl_reason_result_free(out);
    return rc;
}
