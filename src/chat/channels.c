/* The streaming channel parser: splits a model's raw output into reasoning
 * and answer text as it arrives.
 *
 * The parser keeps every byte fed (raw) and a cursor `pos`: bytes before it
 * are decided (emitted, or consumed as markers / dropped whitespace), bytes
 * from it on are held because they could still start a marker (or end in an
 * incomplete UTF-8 sequence). Each feed appends to raw and runs the state
 * machine from pos; every decision depends only on bytes already seen, so the
 * events do not depend on how the output was cut into pieces.
 *
 * Think-tag formats (Qwen3, QwQ, R1, ...):
 *   PRE        output not yet known to start with `open`: whitespace is held;
 *              `open` -> REASONING (the whitespace is dropped); anything else
 *              -> ANSWER (the whitespace is kept: the whole output is answer).
 *   REASONING  text until `close`; "<think>" inside is plain reasoning text.
 *   AFTER      right after `close`: whitespace is dropped, then ANSWER.
 *   ANSWER     everything is answer text, markers included (a second block
 *              after the answer started is text the model wrote).
 * Harmony (gpt-oss): text before any header is answer; header text (role,
 * channel name, " to=...", <|constrain|>json) is never emitted; analysis and
 * commentary bodies (commentary holds tool calls and preambles) are
 * reasoning, final and any other channel are answer; markers are dropped.
 * REASONING_END comes when an answer body starts after a reasoning body, with
 * raw_off at the marker that ended the reasoning body (usually <|end|>).
 * See harmony_token().
 *
 * REASONING_END events carry channel REASONING, text "" and len 0. Emitted
 * text pieces are verbatim bytes of the raw output at raw_off, never empty,
 * and never end inside a UTF-8 character (unless the output itself does). */
#include "chat.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum pstate {
    ST_ANSWER = 0, /* plain answer text to the end */
    ST_PRE,        /* before a possible opening marker */
    ST_REASONING,  /* inside the think block */
    ST_AFTER,      /* right after the closing marker: dropping whitespace */
    ST_H_BODY,     /* harmony: inside a message body (channel body_ch) */
    ST_H_HEADER,   /* harmony: inside a message header (never emitted) */
};

enum { NAME_MAX_LEN = 32 };

struct dl_chan_parser {
    bool harmony;
    bool starts_in_reasoning;
    char *open, *close; /* owned copies; NULL when absent */
    size_t open_len, close_len;
    dl_buf raw;         /* everything fed so far */
    size_t pos;         /* raw offset of the first undecided byte */
    size_t quiet_upto;  /* events below this offset were reported before a rewind */
    size_t end_seen;    /* raw_off of the last REASONING_END reported (SIZE_MAX: none) */
    enum pstate state;
    /* harmony */
    dl_channel body_ch;       /* channel of the current message body */
    bool in_name;             /* header text now is the channel name */
    char name[NAME_MAX_LEN];  /* channel name so far (truncated) */
    size_t name_len;
    bool reasoned;            /* a reasoning message came after the last answer message */
    size_t reason_end_off;    /* raw offset of the marker that ended it */
};

/* ---- harmony tokens --------------------------------------------------------- */

enum htok { H_START, H_END, H_MESSAGE, H_CHANNEL, H_CONSTRAIN, H_RETURN, H_CALL, H__COUNT };
static const char *const harmony_toks[H__COUNT] = {
    "<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>", "<|return|>", "<|call|>",
};

/* ---- helpers ------------------------------------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

enum mres { M_NONE, M_FULL, M_PARTIAL };

/* Finds the first position in s[0..n) where one of toks[0..ntok) matches fully
 * (M_FULL, *which = its index) or where the rest of s is a proper prefix of a
 * token (M_PARTIAL, only when !final). *at = that position. A full match at a
 * position wins over a partial one there. */
static enum mres find_marker(const char *s, size_t n, const char *const *toks, size_t ntok,
                             bool final, size_t *at, size_t *which)
{
    for (size_t i = 0; i < n; i++) {
        bool partial = false;
        for (size_t k = 0; k < ntok; k++) {
            const char *t = toks[k];
            if (s[i] != t[0]) continue;
            size_t tl = strlen(t), avail = n - i;
            if (avail >= tl) {
                if (memcmp(s + i, t, tl) == 0) {
                    *at = i;
                    *which = k;
                    return M_FULL;
                }
            } else if (!final && memcmp(s + i, t, avail) == 0) {
                partial = true;
            }
        }
        if (partial) {
            *at = i;
            return M_PARTIAL;
        }
    }
    return M_NONE;
}

/* Emits raw[off..end) as text of ch, minus any part below quiet_upto. */
static void emit_text(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud, dl_channel ch, size_t off,
                      size_t end)
{
    if (off < p->quiet_upto) off = DL_MIN(p->quiet_upto, end);
    if (off >= end || !emit) return;
    emit(ud, DL_CHAN_TEXT, ch, p->raw.data + off, end - off, off);
}

/* Reports the end of reasoning at the marker at raw offset off, unless it is
 * the one already reported before a rewind. */
static void emit_end(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud, size_t off)
{
    if (!emit || (off < p->quiet_upto && off == p->end_seen)) return;
    p->end_seen = off;
    emit(ud, DL_CHAN_REASONING_END, DL_CHANNEL_REASONING, "", 0, off);
}

/* Where text that may be emitted now ends: hold an incomplete UTF-8 tail
 * unless this is the end of the output. */
static size_t text_end(const dl_chan_parser *p, bool final)
{
    size_t len = p->raw.len;
    if (final) return len;
    return len - dl_utf8_incomplete_tail(p->raw.data + p->pos, len - p->pos);
}

static void reset_state(dl_chan_parser *p)
{
    p->pos = 0;
    p->name_len = 0;
    p->in_name = false;
    p->reasoned = false;
    p->reason_end_off = 0;
    p->body_ch = DL_CHANNEL_ANSWER;
    if (p->harmony)
        p->state = ST_H_BODY; /* no header yet: text is answer until a <|channel|> */
    else if (!p->close)
        p->state = ST_ANSWER;
    else if (p->starts_in_reasoning)
        p->state = ST_REASONING;
    else if (p->open)
        p->state = ST_PRE;
    else
        p->state = ST_ANSWER;
}

/* ---- think tags ------------------------------------------------------------------ */

static void run_tags(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud, bool final)
{
    for (;;) {
        const char *s = p->raw.data;
        size_t len = p->raw.len;
        switch (p->state) {
        case ST_PRE: {
            size_t j = p->pos;
            while (j < len && is_ws(s[j])) j++;
            if (j == len) {
                if (final) { /* whitespace only: the (empty) answer keeps it */
                    emit_text(p, emit, ud, DL_CHANNEL_ANSWER, p->pos, len);
                    p->pos = len;
                    p->state = ST_ANSWER;
                }
                return;
            }
            size_t avail = len - j;
            if (avail >= p->open_len && memcmp(s + j, p->open, p->open_len) == 0) {
                p->pos = j + p->open_len;
                p->state = ST_REASONING;
                continue;
            }
            if (!final && avail < p->open_len && memcmp(s + j, p->open, avail) == 0)
                return; /* could still become the opening marker */
            p->state = ST_ANSWER;
            continue;
        }
        case ST_REASONING: {
            size_t at, which;
            const char *toks[1] = {p->close};
            enum mres r = find_marker(s + p->pos, len - p->pos, toks, 1, final, &at, &which);
            if (r == M_FULL) {
                emit_text(p, emit, ud, DL_CHANNEL_REASONING, p->pos, p->pos + at);
                emit_end(p, emit, ud, p->pos + at);
                p->pos += at + p->close_len;
                p->state = ST_AFTER;
                continue;
            }
            size_t end = r == M_PARTIAL ? p->pos + at : text_end(p, final);
            emit_text(p, emit, ud, DL_CHANNEL_REASONING, p->pos, end);
            p->pos = end;
            return;
        }
        case ST_AFTER:
            while (p->pos < len && is_ws(s[p->pos])) p->pos++;
            if (p->pos == len) return;
            p->state = ST_ANSWER;
            continue;
        case ST_ANSWER:
        default: {
            size_t end = text_end(p, final);
            emit_text(p, emit, ud, DL_CHANNEL_ANSWER, p->pos, end);
            p->pos = end;
            return;
        }
        }
    }
}

/* ---- harmony ------------------------------------------------------------------------ */

/* Channel named by a header's channel text: its first word. analysis and
 * commentary (tool calls and preambles) are reasoning-side; final and
 * anything else are answer. */
static dl_channel harmony_channel(const dl_chan_parser *p)
{
    size_t i = 0, n = p->name_len;
    while (i < n && is_ws(p->name[i])) i++;
    size_t j = i;
    while (j < n && !is_ws(p->name[j])) j++;
    size_t w = j - i;
    if ((w == 8 && memcmp(p->name + i, "analysis", 8) == 0) ||
        (w == 10 && memcmp(p->name + i, "commentary", 10) == 0))
        return DL_CHANNEL_REASONING;
    return DL_CHANNEL_ANSWER;
}

/* Leaves a message body at the marker at raw offset `at` for a header. */
static void harmony_end_body(dl_chan_parser *p, size_t at)
{
    if (p->state == ST_H_BODY && p->body_ch == DL_CHANNEL_REASONING) p->reason_end_off = at;
    p->state = ST_H_HEADER;
    p->in_name = false;
    p->name_len = 0;
}

/* Applies harmony token t found at raw offset `at`:
 *   body:   <|end|> <|return|> <|call|> <|start|> end the message (header
 *           follows); <|channel|> too (the model skipped <|end|><|start|>);
 *           <|message|> and <|constrain|> are dropped.
 *   header: <|channel|> starts the channel name, <|constrain|> ends it,
 *           <|start|> / end markers start a new header, <|message|> starts
 *           the body. REASONING_END is reported when an answer-side body
 *           starts after a reasoning-side one, at the marker that ended the
 *           reasoning message. */
static void harmony_token(dl_chan_parser *p, enum htok t, size_t at, dl_chan_emit_fn emit,
                          void *ud)
{
    if (p->state == ST_H_BODY) {
        switch (t) {
        case H_END: case H_RETURN: case H_CALL: case H_START:
            harmony_end_body(p, at);
            break;
        case H_CHANNEL:
            harmony_end_body(p, at);
            p->in_name = true;
            break;
        default: /* <|message|>, <|constrain|> */
            break;
        }
        return;
    }
    switch (t) {
    case H_CHANNEL:
        p->in_name = true;
        p->name_len = 0;
        break;
    case H_CONSTRAIN:
        p->in_name = false;
        break;
    case H_MESSAGE: {
        dl_channel ch = harmony_channel(p);
        if (ch == DL_CHANNEL_ANSWER && p->reasoned) {
            emit_end(p, emit, ud, p->reason_end_off);
            p->reasoned = false;
        }
        if (ch == DL_CHANNEL_REASONING) p->reasoned = true;
        p->body_ch = ch;
        p->state = ST_H_BODY;
        p->in_name = false;
        break;
    }
    default: /* <|start|>, <|end|>, <|return|>, <|call|>: a new header */
        p->in_name = false;
        p->name_len = 0;
        break;
    }
}

/* Header text is only looked at for the channel name. */
static void harmony_header_text(dl_chan_parser *p, size_t off, size_t end)
{
    if (!p->in_name) return;
    for (size_t i = off; i < end && p->name_len < NAME_MAX_LEN; i++)
        p->name[p->name_len++] = p->raw.data[i];
}

static void run_harmony(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud, bool final)
{
    for (;;) {
        size_t len = p->raw.len, at = 0, which = 0;
        enum mres r = find_marker(p->raw.data + p->pos, len - p->pos, harmony_toks, H__COUNT, final,
                                  &at, &which);
        size_t end = r == M_NONE ? text_end(p, final) : p->pos + at;
        if (p->state == ST_H_BODY)
            emit_text(p, emit, ud, p->body_ch, p->pos, end);
        else
            harmony_header_text(p, p->pos, end);
        p->pos = end;
        if (r != M_FULL) return;
        harmony_token(p, (enum htok)which, end, emit, ud);
        p->pos = end + strlen(harmony_toks[which]);
    }
}

/* ---- API ------------------------------------------------------------------------------- */

static void run(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud, bool final)
{
    if (!p->raw.data) return; /* nothing fed yet */
    if (p->harmony)
        run_harmony(p, emit, ud, final);
    else
        run_tags(p, emit, ud, final);
}

dl_chan_parser *dl_chan_parser_new(const dl_chat_markers *m)
{
    dl_chan_parser *p = dl_xcalloc(1, sizeof(*p));
    if (m && m->has_reasoning) {
        p->harmony = m->harmony;
        p->starts_in_reasoning = m->starts_in_reasoning;
        if (!m->harmony) {
            if (m->open && m->open[0]) p->open = dl_xstrdup(m->open);
            if (m->close && m->close[0]) p->close = dl_xstrdup(m->close);
        }
    }
    p->open_len = p->open ? strlen(p->open) : 0;
    p->close_len = p->close ? strlen(p->close) : 0;
    p->end_seen = SIZE_MAX;
    reset_state(p);
    return p;
}

void dl_chan_parser_free(dl_chan_parser *p)
{
    if (!p) return;
    free(p->open);
    free(p->close);
    dl_buf_free(&p->raw);
    free(p);
}

void dl_chan_parser_feed(dl_chan_parser *p, const char *text, size_t len, dl_chan_emit_fn emit,
                         void *ud)
{
    if (len == 0) return;
    dl_buf_append(&p->raw, text, len); /* no maximum: cannot fail */
    run(p, emit, ud, false);
}

void dl_chan_parser_finish(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud)
{
    run(p, emit, ud, true);
}

dl_channel dl_chan_parser_channel(const dl_chan_parser *p)
{
    switch (p->state) {
    case ST_REASONING:
        return DL_CHANNEL_REASONING;
    case ST_H_BODY:
        return p->body_ch;
    case ST_H_HEADER: /* the channel the header names so far */
        return p->in_name || p->name_len ? harmony_channel(p) : DL_CHANNEL_ANSWER;
    default:
        return DL_CHANNEL_ANSWER;
    }
}

/* Rewind = reset and re-run raw[0..raw_off) without emitting. Bytes below
 * min(raw_off, what was decided before) were already reported; if the re-run
 * holds some of them back again, they are not reported a second time (nor is
 * a REASONING_END the caller still has). */
void dl_chan_parser_rewind(dl_chan_parser *p, size_t raw_off)
{
    if (raw_off > p->raw.len) raw_off = p->raw.len;
    size_t reported = DL_MAX(p->pos, p->quiet_upto);
    if (p->end_seen != SIZE_MAX && p->end_seen >= raw_off) p->end_seen = SIZE_MAX; /* rolled back */
    p->raw.len = raw_off;
    reset_state(p);
    p->quiet_upto = 0;
    run(p, NULL, NULL, false);
    p->quiet_upto = DL_MIN(reported, raw_off);
}
