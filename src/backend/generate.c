/* The generation loop shared by the local and scripted backends.
 *
 * One step = one token from the source. The token's text goes through the
 * channel parser; the parser's events for the step are collected first and
 * only then passed on, so a step whose closing marker is replaced by a
 * continuation cue can be taken back before anything reached the sink.
 *
 * Token accounting (usage): every token that is part of the output counts in
 * completion_tokens — sampled tokens and forced text alike; a token counts as
 * reasoning when the parser was in the reasoning channel before it (so the
 * closing marker counts, the opening one does not) and a continuation cue
 * counts as reasoning.
 * The budget compares reasoning tokens with the budget before each step, so
 * reasoning_tokens never exceeds it (forced closing text is not reasoning).
 * Tokens taken back (a replaced closing marker) do not count. */
#include "backend_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct step_event {
    dl_chan_event ev;
    dl_channel ch;
    size_t off, len; /* into gen->step_text */
    size_t raw_off;
} step_event;

typedef struct out_token {
    size_t raw_start;  /* where the token's text starts in the raw output */
    double logprob;
    bool sampled;      /* false for forced text */
    bool reasoning;
} out_token;

typedef struct gen {
    dl_token_source *src;
    dl_chan_parser *parser;
    const dl_chat_markers *m;
    const dl_gen_params *g;
    const dl_chat_sink *sink;

    dl_buf raw;          /* everything the model "wrote", forced text included */
    dl_buf reasoning;
    dl_buf answer;       /* answer so far; [0, answer_sent) went to the sink */
    size_t answer_sent;
    size_t stop_hold;    /* bytes held back for stop strings: longest stop - 1 */

    out_token *toks;
    size_t n_toks, cap_toks;

    dl_buf step_text;
    step_event *events;
    size_t n_events, cap_events;

    bool reasoning_ended;
    bool stopped;   /* a stop string ended the answer */
    bool cancelled;
    int32_t n_reasoning;
    int32_t n_completion;
    int32_t n_continuations;
    int32_t n_forced_closes;
} gen;

static void on_parser_event(void *ud, dl_chan_event ev, dl_channel ch, const char *text,
                            size_t len, size_t raw_off)
{
    gen *s = ud;
    if (s->n_events == s->cap_events) {
        s->cap_events = s->cap_events ? s->cap_events * 2 : 16;
        s->events = dl_xrealloc(s->events, s->cap_events * sizeof(*s->events));
    }
    step_event *e = &s->events[s->n_events++];
    e->ev = ev;
    e->ch = ch;
    e->off = s->step_text.len;
    e->len = len;
    e->raw_off = raw_off;
    if (len) dl_buf_append(&s->step_text, text, len);
}

static void push_token(gen *s, size_t raw_start, double lp, bool sampled, bool reasoning)
{
    if (s->n_toks == s->cap_toks) {
        s->cap_toks = s->cap_toks ? s->cap_toks * 2 : 256;
        s->toks = dl_xrealloc(s->toks, s->cap_toks * sizeof(*s->toks));
    }
    s->toks[s->n_toks++] = (out_token){raw_start, lp, sampled, reasoning};
    s->n_completion++;
    if (reasoning) s->n_reasoning++;
}

/* Drops the last n output tokens from the bookkeeping (not from the source). */
static void pop_tokens(gen *s, size_t n)
{
    while (n-- > 0 && s->n_toks > 0) {
        out_token *t = &s->toks[--s->n_toks];
        s->n_completion--;
        if (t->reasoning) s->n_reasoning--;
    }
}

static bool in_reasoning(const gen *s)
{
    return s->m->has_reasoning && !s->reasoning_ended &&
           dl_chan_parser_channel(s->parser) == DL_CHANNEL_REASONING;
}

/* Length of the longest prefix of answer[from..len) that is safe to send:
 * not possibly the start of a stop string, and not ending inside a UTF-8
 * character. */
static size_t answer_safe_end(const gen *s)
{
    size_t end = s->answer.len;
    if (!s->stopped) end = end > s->stop_hold ? end - s->stop_hold : 0;
    if (end < s->answer_sent) return s->answer_sent;
    while (end > s->answer_sent && end < s->answer.len &&
           ((unsigned char)s->answer.data[end] & 0xC0) == 0x80)
        end--;
    return end;
}

static void sink_text(gen *s, dl_channel ch, const char *text, size_t len)
{
    if (len == 0 || s->cancelled || !s->sink || !s->sink->on_text) return;
    if (!s->sink->on_text(s->sink->ud, ch, text, len)) s->cancelled = true;
}

/* Appends answer text, cutting it at the first stop string. */
static void add_answer(gen *s, const char *text, size_t len)
{
    if (s->stopped) return;
    size_t before = s->answer.len;
    dl_buf_append(&s->answer, text, len);
    for (size_t i = 0; i < s->g->n_stop; i++) {
        const char *stop = s->g->stop[i];
        size_t sl = strlen(stop);
        if (sl == 0) continue;
        size_t from = before >= sl ? before - sl + 1 : 0;
        for (size_t p = from; p + sl <= s->answer.len; p++) {
            if (memcmp(s->answer.data + p, stop, sl) == 0) {
                s->answer.len = p;
                s->stopped = true;
                break;
            }
        }
        if (s->stopped) break;
    }
    size_t end = answer_safe_end(s);
    sink_text(s, DL_CHANNEL_ANSWER, s->answer.data + s->answer_sent, end - s->answer_sent);
    s->answer_sent = end;
}

/* Passes events [from, to) of the current step on. */
static void dispatch(gen *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const step_event *e = &s->events[i];
        const char *t = s->step_text.data + e->off;
        if (e->ev == DL_CHAN_REASONING_END) {
            s->reasoning_ended = true;
        } else if (e->ch == DL_CHANNEL_REASONING) {
            dl_buf_append(&s->reasoning, t, e->len);
            sink_text(s, DL_CHANNEL_REASONING, t, e->len);
        } else {
            add_answer(s, t, e->len);
        }
    }
    s->n_events = 0;
    s->step_text.len = 0;
}

/* Feeds text to the parser and the raw record. */
static void feed(gen *s, const char *text, size_t len)
{
    dl_buf_append(&s->raw, text, len);
    dl_chan_parser_feed(s->parser, text, len, on_parser_event, s);
}

/* Forces text into the output; its tokens count as reasoning or not. */
static int force(gen *s, const char *text, size_t len, bool reasoning, dl_error *err)
{
    int32_t n_tok = 0;
    size_t start = s->raw.len;
    if (s->src->force(s->src->self, text, len, &n_tok, err) != 0) return -1;
    for (int32_t i = 0; i < n_tok; i++) push_token(s, start, 0.0, false, reasoning);
    return n_tok;
}

/* The model closed its reasoning at raw offset marker_off before the minimum:
 * take the marker back and write the continuation cue instead. Events of
 * the current step from index `end_ev` on are dropped. */
static int continue_reasoning(gen *s, size_t end_ev, size_t marker_off, dl_error *err)
{
    dispatch(s, 0, end_ev); /* the reasoning text before the marker stands; the rest of
                             * the step's events are dropped (dispatch clears them) */

    /* The token holding the marker's first byte goes, with every later one;
     * its text before the marker is forced again. Forced text of several
     * tokens shares one raw_start, so such a group goes as a whole. */
    size_t k = 0;
    for (size_t j = 0; j < s->n_toks; j++)
        if (s->toks[j].raw_start <= marker_off) k = j;
    while (k > 0 && s->toks[k - 1].raw_start == s->toks[k].raw_start) k--;
    size_t keep_raw = s->n_toks ? s->toks[k].raw_start : marker_off;
    size_t n_back = s->n_toks - k;
    s->src->rollback(s->src->self, (int32_t)n_back);
    pop_tokens(s, n_back);

    dl_chan_parser_rewind(s->parser, marker_off);
    dl_buf text = {0};
    dl_buf_append(&text, s->raw.data + keep_raw, marker_off - keep_raw);
    s->raw.len = marker_off;
    const char *cue = s->g->continue_cue;
    dl_buf_append(&text, cue, strlen(cue));
    int32_t n_tok = 0;
    if (s->src->force(s->src->self, text.data, text.len, &n_tok, err) != 0) {
        dl_buf_free(&text);
        return -1;
    }
    for (int32_t i = 0; i < n_tok; i++) push_token(s, keep_raw, 0.0, false, true);
    dl_buf_free(&text);
    feed(s, cue, strlen(cue));
    dispatch(s, 0, s->n_events);
    s->n_continuations++;
    return 0;
}

static int run(gen *s, dl_finish *finish, dl_error *err)
{
    const dl_gen_params *g = s->g;
    int32_t budget = g->thinking ? g->reasoning_budget : 0;
    dl_buf piece = {0};
    int rc = 0;
    *finish = DL_FINISH_STOP;
    for (;;) {
        if (s->cancelled) { *finish = DL_FINISH_CANCELLED; break; }
        if (s->stopped) { *finish = DL_FINISH_STOP; break; }
        if (g->max_tokens > 0 && s->n_completion >= g->max_tokens) {
            *finish = DL_FINISH_LENGTH;
            break;
        }
        if (budget >= 0 && in_reasoning(s) && s->n_reasoning >= budget && s->m->force_close) {
            const char *fc = s->m->force_close;
            int n = force(s, fc, strlen(fc), false, err);
            if (n < 0) {
                if (err && err->status == 400) { /* context full */
                    dl_error_clear(err);
                    *finish = DL_FINISH_LENGTH;
                    break;
                }
                rc = -1;
                break;
            }
            if (g->max_tokens > 0 && s->n_completion > g->max_tokens) {
                /* no room left for an answer: take the closing text back */
                s->src->rollback(s->src->self, n);
                pop_tokens(s, (size_t)n);
                *finish = DL_FINISH_LENGTH;
                break;
            }
            feed(s, fc, strlen(fc));
            s->n_forced_closes++;
            dispatch(s, 0, s->n_events);
            s->reasoning_ended = true;
            continue;
        }
        piece.len = 0;
        double lp = 0;
        dl_src_status st = s->src->next(s->src->self, &piece, &lp, err);
        if (st == DL_SRC_ERROR) { rc = -1; break; }
        if (st == DL_SRC_EOG) { *finish = DL_FINISH_STOP; break; }
        if (st == DL_SRC_FULL) { *finish = DL_FINISH_LENGTH; break; }

        /* a NUL byte (a byte token the model may emit) would cut C strings
         * short downstream: it becomes U+FFFD like any unprintable byte */
        if (memchr(piece.data ? piece.data : "", 0, piece.len)) {
            dl_buf clean = {0};
            for (size_t i = 0; i < piece.len; i++) {
                if (piece.data[i]) dl_buf_append(&clean, piece.data + i, 1);
                else dl_buf_append(&clean, "\xEF\xBF\xBD", 3);
            }
            dl_buf_free(&piece);
            piece = clean;
        }
        bool before = in_reasoning(s);
        size_t start = s->raw.len;
        feed(s, piece.data ? piece.data : "", piece.len);
        size_t end_ev = s->n_events;
        for (size_t i = 0; i < s->n_events; i++)
            if (s->events[i].ev == DL_CHAN_REASONING_END) { end_ev = i; break; }
        bool closed = end_ev < s->n_events;
        push_token(s, start, lp, true, before);

        if (closed && g->continue_cue && g->continue_cue[0] &&
            s->n_continuations < g->max_continuations && s->n_reasoning < g->min_reasoning &&
            (budget < 0 || s->n_reasoning < budget)) {
            if (continue_reasoning(s, end_ev, s->events[end_ev].raw_off, err) != 0) {
                rc = -1;
                break;
            }
        } else {
            dispatch(s, 0, s->n_events);
        }
        if (s->sink && s->sink->on_token && !s->cancelled &&
            !s->sink->on_token(s->sink->ud, dl_chan_parser_channel(s->parser), s->n_reasoning,
                               s->n_completion))
            s->cancelled = true;
    }
    dl_buf_free(&piece);
    return rc;
}

int dl_generate(dl_token_source *src, const dl_chat_markers *m, const dl_gen_params *g,
                const dl_chat_sink *sink, dl_chat_result *res, dl_error *err)
{
    gen s = {0};
    s.src = src;
    s.m = m;
    s.g = g;
    s.sink = sink;
    s.parser = dl_chan_parser_new(m);
    for (size_t i = 0; i < g->n_stop; i++) {
        size_t l = g->stop[i] ? strlen(g->stop[i]) : 0;
        if (l > s.stop_hold + 1) s.stop_hold = l - 1;
    }
    dl_finish finish = DL_FINISH_STOP;
    int rc = run(&s, &finish, err);
    if (rc == 0) {
        if (!s.stopped && !s.cancelled) {
            dl_chan_parser_finish(s.parser, on_parser_event, &s);
            dispatch(&s, 0, s.n_events);
        }
        s.stopped = true; /* flush what was held back */
        if (!s.cancelled) {
            size_t end = s.answer.len;
            sink_text(&s, DL_CHANNEL_ANSWER, s.answer.data + s.answer_sent, end - s.answer_sent);
        }
        if (s.cancelled) finish = DL_FINISH_CANCELLED;
        res->answer = dl_xstrndup(s.answer.data ? s.answer.data : "", s.answer.len);
        /* the reasoning without the whitespace around it (e.g. the newline
         * before a forced "</think>"); the stream had it as written */
        const char *rs = s.reasoning.data ? s.reasoning.data : "";
        size_t rl = s.reasoning.len;
        while (rl > 0 && (*rs == ' ' || *rs == '\n' || *rs == '\r' || *rs == '\t')) rs++, rl--;
        while (rl > 0 && (rs[rl - 1] == ' ' || rs[rl - 1] == '\n' || rs[rl - 1] == '\r' ||
                          rs[rl - 1] == '\t'))
            rl--;
        res->reasoning = dl_xstrndup(rs, rl);
        res->finish = finish;
        res->usage.reasoning_tokens = s.n_reasoning;
        res->usage.completion_tokens = s.n_completion;
        res->n_forced_closes = s.n_forced_closes;
        res->n_continuations = s.n_continuations;
        for (size_t i = 0; i < s.n_toks; i++) {
            if (!s.toks[i].sampled) continue;
            res->logprob_sum += s.toks[i].logprob;
            res->n_sampled++;
        }
    }
    dl_chan_parser_free(s.parser);
    dl_buf_free(&s.raw);
    dl_buf_free(&s.reasoning);
    dl_buf_free(&s.answer);
    dl_buf_free(&s.step_text);
    free(s.toks);
    free(s.events);
    return rc;
}
