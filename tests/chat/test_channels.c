/* Tests for the streaming channel parser (src/chat/channels.c).
 *
 * Each case is written as the events the whole output gives, in a compact
 * form: "R7[abc]" = reasoning text "abc" at raw offset 7, "A18[x]" = answer
 * text, "E10" = REASONING_END at 10; adjacent text pieces of one channel that
 * are contiguous in the raw output are merged. Every case is also fed at
 * every split point, at every pair of split points (short cases) and one byte
 * at a time, and must give the same events. */
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "base/base.h"
#include "chat/chat.h"

static const dl_chat_markers QWEN3 = {true, false, false, "<think>", "</think>", "\n</think>\n\n"};
static const dl_chat_markers R1 = {true, false, true, "<think>", "</think>", "\n</think>\n\n"};
static const dl_chat_markers HARMONY = {
    true, true, false, NULL, NULL, "<|end|><|start|>assistant<|channel|>final<|message|>"};
static const dl_chat_markers PLAIN = {false, false, false, NULL, NULL, NULL};

/* ---- recorder ------------------------------------------------------------------ */

typedef struct rec {
    dl_buf out;          /* events so far in the compact form */
    int last_ev;         /* -1 none, else DL_CHAN_TEXT / DL_CHAN_REASONING_END */
    dl_channel last_ch;
    size_t next_off;     /* raw offset right after the last text piece */
    const char *raw;     /* the whole raw output, when known: pieces must be verbatim */
    size_t raw_len;
    int pieces;          /* text pieces seen */
    int bad;             /* pieces that were not verbatim / not valid UTF-8 / empty */
} rec;

static void rec_init(rec *r, const char *raw, size_t raw_len)
{
    memset(r, 0, sizeof(*r));
    r->last_ev = -1;
    r->raw = raw;
    r->raw_len = raw_len;
}

static void on_event(void *ud, dl_chan_event ev, dl_channel ch, const char *text, size_t len,
                     size_t raw_off)
{
    rec *r = ud;
    if (ev == DL_CHAN_REASONING_END) {
        if (len != 0 || ch != DL_CHANNEL_REASONING) r->bad++;
        dl_buf_printf(&r->out, "%sE%zu", r->out.len ? " " : "", raw_off);
        r->last_ev = DL_CHAN_REASONING_END;
        return;
    }
    r->pieces++;
    if (len == 0) r->bad++;
    if (!dl_utf8_valid(text, len, NULL)) r->bad++;
    if (r->raw && (raw_off + len > r->raw_len || memcmp(r->raw + raw_off, text, len) != 0)) r->bad++;
    /* merge with the previous piece when same channel and contiguous */
    if (r->last_ev == DL_CHAN_TEXT && r->last_ch == ch && r->next_off == raw_off) {
        r->out.len--; /* drop ']' */
        dl_buf_append(&r->out, text, len);
        dl_buf_append(&r->out, "]", 1);
    } else {
        dl_buf_printf(&r->out, "%s%c%zu[", r->out.len ? " " : "",
                      ch == DL_CHANNEL_REASONING ? 'R' : 'A', raw_off);
        dl_buf_append(&r->out, text, len);
        dl_buf_append(&r->out, "]", 1);
    }
    r->last_ev = DL_CHAN_TEXT;
    r->last_ch = ch;
    r->next_off = raw_off + len;
}

static const char *rec_str(rec *r)
{
    if (!r->out.data) dl_buf_append(&r->out, "", 0);
    return r->out.data;
}

/* Feeds s cut at the given split points (sorted, n_cuts of them), finishes,
 * and returns the compact events (malloc'd). *bad gets the bad-piece count. */
static char *run_cuts(const dl_chat_markers *m, const char *s, const size_t *cuts, size_t n_cuts,
                      int *bad)
{
    size_t len = strlen(s), prev = 0;
    rec r;
    rec_init(&r, s, len);
    dl_chan_parser *p = dl_chan_parser_new(m);
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t cut = i < n_cuts ? cuts[i] : len;
        dl_chan_parser_feed(p, s + prev, cut - prev, on_event, &r);
        prev = cut;
    }
    dl_chan_parser_finish(p, on_event, &r);
    dl_chan_parser_free(p);
    char *out = dl_xstrdup(rec_str(&r));
    *bad = r.bad;
    dl_buf_free(&r.out);
    return out;
}

/* Byte-at-a-time feeding. */
static char *run_bytes(const dl_chat_markers *m, const char *s, int *bad)
{
    size_t len = strlen(s);
    size_t *cuts = dl_xmalloc((len + 1) * sizeof(*cuts));
    for (size_t i = 0; i < len; i++) cuts[i] = i + 1;
    char *out = run_cuts(m, s, cuts, len ? len - 1 : 0, bad);
    free(cuts);
    return out;
}

static int n_runs; /* feedings checked, for the report */

/* Checks that s gives `want` fed whole, at every split point, at every pair
 * of split points (up to 80 bytes) and one byte at a time. */
static void check(const dl_chat_markers *m, const char *s, const char *want)
{
    int bad = 0;
    size_t len = strlen(s);
    char *got = run_cuts(m, s, NULL, 0, &bad);
    if (strcmp(got, want) != 0) print_message("input: \"%s\"\n", s);
    assert_string_equal(got, want);
    assert_int_equal(bad, 0);
    free(got);
    n_runs++;
    for (size_t a = 0; a <= len; a++) {
        size_t cut[2] = {a, 0};
        got = run_cuts(m, s, cut, 1, &bad);
        if (strcmp(got, want) != 0) print_message("input: \"%s\" cut at %zu\n", s, a);
        assert_string_equal(got, want);
        assert_int_equal(bad, 0);
        free(got);
        n_runs++;
        if (len > 80) continue;
        for (size_t b = a; b <= len; b++) {
            cut[1] = b;
            got = run_cuts(m, s, cut, 2, &bad);
            if (strcmp(got, want) != 0) print_message("input: \"%s\" cuts %zu %zu\n", s, a, b);
            assert_string_equal(got, want);
            assert_int_equal(bad, 0);
            free(got);
            n_runs++;
        }
    }
    got = run_bytes(m, s, &bad);
    if (strcmp(got, want) != 0) print_message("input: \"%s\" byte by byte\n", s);
    assert_string_equal(got, want);
    assert_int_equal(bad, 0);
    free(got);
    n_runs++;
}

/* ---- think tags ------------------------------------------------------------------ */

static void test_think_basic(void **state)
{
    check(&QWEN3, "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
          "R7[\nLet me think.\n] E22 A32[The answer is 4.]");
    check(&QWEN3, "<think>a</think>b", "R7[a] E8 A16[b]");
    /* empty block (what a model writes with thinking off) */
    check(&QWEN3, "<think>\n\n</think>\n\nHi", "R7[\n\n] E9 A19[Hi]");
    check(&QWEN3, "<think></think>Hi", "E7 A15[Hi]");
    /* only the whitespace right after the close is dropped */
    check(&QWEN3, "<think>a</think> \n b \n", "R7[a] E8 A19[b \n]");
    /* nothing after the close */
    check(&QWEN3, "<think>a</think>\n\n", "R7[a] E8");
    check(&QWEN3, "<think>a</think>", "R7[a] E8");
}

static void test_think_whitespace_before_open(void **state)
{
    check(&QWEN3, "\n\n<think>a</think>b", "R9[a] E10 A18[b]");
    check(&QWEN3, " \t\r\n<think>x", "R11[x]");
    /* no open tag: everything is answer, its leading whitespace included */
    check(&QWEN3, "  Hi there", "A0[  Hi there]");
    check(&QWEN3, "\nHello <think> world", "A0[\nHello <think> world]");
    check(&QWEN3, "  \n", "A0[  \n]");
    check(&QWEN3, "", "");
    check(&R1, "", "");
    check(&HARMONY, "", "");
    check(&PLAIN, "", "");
}

static void test_think_unterminated(void **state)
{
    check(&QWEN3, "<think>abc", "R7[abc]");
    check(&QWEN3, "<think>", "");
    check(&R1, "still thinking", "R0[still thinking]");
    /* finish flushes a held-back partial marker as text */
    check(&QWEN3, "<think>abc</thi", "R7[abc</thi]");
    check(&QWEN3, "<think>abc<", "R7[abc<]");
    check(&R1, "abc</think", "R0[abc</think]");
    check(&QWEN3, "<thi", "A0[<thi]");
    check(&QWEN3, " <thi", "A0[ <thi]");
    check(&QWEN3, "<think>a</think>b</thi", "R7[a] E8 A16[b</thi]");
}

static void test_think_nested_and_repeated(void **state)
{
    /* "<think>" inside reasoning is reasoning text */
    check(&QWEN3, "<think>a<think>b</think>c", "R7[a<think>b] E16 A24[c]");
    /* a second block inside the answer is answer text */
    check(&QWEN3, "<think>a</think>b<think>c</think>d", "R7[a] E8 A16[b<think>c</think>d]");
    check(&R1, "a</think>b</think>c", "R0[a] E1 A9[b</think>c]");
}

static void test_think_close_without_open(void **state)
{
    check(&QWEN3, "x</think>y", "A0[x</think>y]");
    check(&QWEN3, "</think>y", "A0[</think>y]");
    check(&QWEN3, "  </think>\n\ny", "A0[  </think>\n\ny]");
}

static void test_think_lookalikes(void **state)
{
    check(&QWEN3, "<thinking>x</thinking>", "A0[<thinking>x</thinking>]");
    check(&QWEN3, "< think>x", "A0[< think>x]");
    check(&QWEN3, "<THINK>x", "A0[<THINK>x]");
    check(&QWEN3, "<think>a</thin b</thinking> c< /think></think>d",
          "R7[a</thin b</thinking> c< /think>] E38 A46[d]");
    check(&QWEN3, "<think>a<<</</</think>b", "R7[a<<</</] E14 A22[b]");
    check(&QWEN3, "<think>x</think\n>y", "R7[x</think\n>y]");
    check(&R1, "<</<//</think>ok", "R0[<</<//] E6 A14[ok]");
}

static void test_think_utf8(void **state)
{
    /* multi-byte characters next to markers, cut at every byte: pieces stay whole */
    check(&QWEN3, "<think>h\xc3\xa9llo w\xc3\xb6rld \xe2\x88\x9a\xf0\x9f\x98\x80</think>\xc3\xbcn",
          "R7[h\xc3\xa9llo w\xc3\xb6rld \xe2\x88\x9a\xf0\x9f\x98\x80] E28 A36[\xc3\xbcn]");
    check(&R1, "\xe6\x80\x9d</think>\n\xe7\xad\x94", "R0[\xe6\x80\x9d] E3 A12[\xe7\xad\x94]");
    check(&PLAIN, "\xe2\x82\xac\xe2\x82\xac", "A0[\xe2\x82\xac\xe2\x82\xac]");
}

static void test_no_reasoning_format(void **state)
{
    check(&PLAIN, "<think>x</think>y", "A0[<think>x</think>y]");
    check(&PLAIN, "  hello", "A0[  hello]");
    dl_chat_markers no_open = {true, false, false, NULL, "</think>", NULL};
    check(&no_open, "a</think>b", "A0[a</think>b]");
}

/* ---- streaming behaviour --------------------------------------------------------- */

static void test_streaming_holds_only_marker_prefixes(void **state)
{
    rec r;
    rec_init(&r, NULL, 0);
    dl_chan_parser *p = dl_chan_parser_new(&QWEN3);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    dl_chan_parser_feed(p, "\n", 1, on_event, &r);
    assert_string_equal(rec_str(&r), ""); /* held: might precede <think> */
    dl_chan_parser_feed(p, "<thi", 4, on_event, &r);
    assert_string_equal(rec_str(&r), "");
    dl_chan_parser_feed(p, "nk>", 3, on_event, &r);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_REASONING);
    dl_chan_parser_feed(p, "abc", 3, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abc]"); /* emitted at once */
    dl_chan_parser_feed(p, "d</", 3, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd]"); /* "</" held */
    dl_chan_parser_feed(p, "x <", 3, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ]");
    dl_chan_parser_feed(p, "/think>", 7, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ] E16");
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    dl_chan_parser_feed(p, "\n\n", 2, on_event, &r);
    dl_chan_parser_feed(p, "Yes", 3, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ] E16 A26[Yes]");
    /* a "<" in the answer is not held: no markers there */
    dl_chan_parser_feed(p, " <", 2, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ] E16 A26[Yes <]");
    /* an incomplete UTF-8 character is held until complete */
    dl_chan_parser_feed(p, "\xc3", 1, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ] E16 A26[Yes <]");
    dl_chan_parser_feed(p, "\xa9", 1, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ] E16 A26[Yes <\xc3\xa9]");
    dl_chan_parser_finish(p, on_event, &r);
    assert_string_equal(rec_str(&r), "R8[abcd</x ] E16 A26[Yes <\xc3\xa9]");
    assert_int_equal(r.bad, 0);
    dl_chan_parser_free(p);
    dl_buf_free(&r.out);
}

static void test_channel_query(void **state)
{
    dl_chan_parser *p = dl_chan_parser_new(&R1);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_REASONING);
    dl_chan_parser_feed(p, "a</think", 8, NULL, NULL);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_REASONING);
    dl_chan_parser_feed(p, ">", 1, NULL, NULL);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    dl_chan_parser_free(p);

    p = dl_chan_parser_new(&PLAIN);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    dl_chan_parser_free(p);

    p = dl_chan_parser_new(&HARMONY);
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    const char *steps[][2] = {
        {"<|channel|>", "A"},  {"analysis", "R"},   {"<|message|>", "R"}, {"x", "R"},
        {"<|end|>", "A"},      {"<|start|>", "A"},  {"assistant", "A"},   {"<|channel|>", "A"},
        {"final", "A"},        {"<|message|>", "A"}, {"y", "A"},
    };
    for (size_t i = 0; i < DL_ARRAY_LEN(steps); i++) {
        dl_chan_parser_feed(p, steps[i][0], strlen(steps[i][0]), NULL, NULL);
        assert_int_equal(dl_chan_parser_channel(p),
                         steps[i][1][0] == 'R' ? DL_CHANNEL_REASONING : DL_CHANNEL_ANSWER);
    }
    dl_chan_parser_free(p);
}

/* ---- harmony ----------------------------------------------------------------------- */

static void test_harmony(void **state)
{
    /* analysis then final */
    check(&HARMONY,
          "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final"
          "<|message|>Answer.<|return|>",
          "R30[Think.] E36 A88[Answer.]");
    /* final only: no reasoning, no REASONING_END */
    check(&HARMONY, "<|channel|>final<|message|>Hi<|return|>", "A27[Hi]");
    /* no header at all */
    check(&HARMONY, "Hello there", "A0[Hello there]");
    check(&HARMONY, "<|message|>x", "A11[x]");
    /* unterminated analysis */
    check(&HARMONY, "<|channel|>analysis<|message|>abc", "R30[abc]");
    check(&HARMONY, "<|channel|>analysis<|message|>abc<|end|>", "R30[abc]");
    /* unknown <|...|> text is text; a cut marker at the end is flushed */
    check(&HARMONY, "<|channel|>analysis<|message|>a<|foo|>b<|end|>", "R30[a<|foo|>b]");
    check(&HARMONY, "<|channel|>final<|message|>x<|ret", "A27[x<|ret]");
    check(&HARMONY, "<|channel|>final<|message|>x <| y", "A27[x <| y]");
    /* final straight after analysis without <|end|><|start|> */
    check(&HARMONY, "<|channel|>analysis<|message|>a<|channel|>final<|message|>b",
          "R30[a] E31 A58[b]");
    /* tool call on commentary (reasoning side), header text never emitted */
    check(&HARMONY,
          "<|channel|>analysis<|message|>Need tool.<|end|><|start|>assistant<|channel|>commentary"
          " to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>",
          "R30[Need tool.] R140[{\"city\":\"Paris\"}]");
    /* commentary preamble then final */
    check(&HARMONY,
          "<|channel|>commentary<|message|>Checking.<|end|><|start|>assistant<|channel|>final"
          "<|message|>Done.<|return|>",
          "R32[Checking.] E41 A93[Done.]");
    /* two analysis messages, then final: one REASONING_END, at the last <|end|> */
    check(&HARMONY,
          "<|channel|>analysis<|message|>a<|end|><|start|>assistant<|channel|>analysis"
          "<|message|>b<|end|><|start|>assistant<|channel|>final<|message|>c",
          "R30[a] R86[b] E87 A139[c]");
    /* recipient in the role part, final with a constrain */
    check(&HARMONY,
          "<|channel|>analysis<|message|>t<|end|><|start|>assistant to=x<|channel|>final "
          "<|constrain|>json<|message|>{}",
          "R30[t] E31 A106[{}]");
    /* text before a header is answer, then reasoning, then answer again */
    check(&HARMONY,
          "pre<|channel|>analysis<|message|>r<|end|><|start|>assistant<|channel|>final<|message|>f",
          "A0[pre] R33[r] E34 A86[f]");
    /* channel names are exact words */
    check(&HARMONY, "<|channel|>analysisX<|message|>z", "A31[z]");
    check(&HARMONY, "<|channel|> analysis <|message|>z", "R32[z]");
}

/* ---- rewind -------------------------------------------------------------------------- */

/* Parser fed `first`, then rewound to `off`; the recorder is reset. */
static dl_chan_parser *fed_then_rewound(const dl_chat_markers *m, const char *first, size_t off,
                                        rec *r, const char *first_events)
{
    rec_init(r, NULL, 0);
    dl_chan_parser *p = dl_chan_parser_new(m);
    dl_chan_parser_feed(p, first, strlen(first), on_event, r);
    assert_string_equal(rec_str(r), first_events);
    dl_buf_free(&r->out);
    rec_init(r, NULL, 0);
    dl_chan_parser_rewind(p, off);
    return p;
}

static void finish_and_check(dl_chan_parser *p, rec *r, const char *more, const char *want)
{
    dl_chan_parser_feed(p, more, strlen(more), on_event, r);
    dl_chan_parser_finish(p, on_event, r);
    assert_string_equal(rec_str(r), want);
    assert_int_equal(r->bad, 0);
    dl_chan_parser_free(p);
    dl_buf_free(&r->out);
}

static void test_rewind(void **state)
{
    rec r;
    /* replace the closing marker with a continuation cue */
    dl_chan_parser *p = fed_then_rewound(&QWEN3, "<think>abc</think>", 10, &r, "R7[abc] E10");
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_REASONING);
    finish_and_check(p, &r, "Wait, more.</think>ok", "R10[Wait, more.] E21 A29[ok]");

    /* back into the answer */
    p = fed_then_rewound(&QWEN3, "<think>a</think>hello", 16, &r, "R7[a] E8 A16[hello]");
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    finish_and_check(p, &r, "bye", "A16[bye]");

    /* to the start, then different text */
    p = fed_then_rewound(&QWEN3, "<think>a</think>b", 0, &r, "R7[a] E8 A16[b]");
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_ANSWER);
    finish_and_check(p, &r, "Hi", "A0[Hi]");

    /* text that had been reported is not reported twice ("<" at 10 was emitted) */
    p = fed_then_rewound(&QWEN3, "<think>abc<d", 11, &r, "R7[abc<d]");
    finish_and_check(p, &r, "e</think>x", "R11[e] E12 A20[x]");

    /* text that had been held back is reported after the rewind */
    p = fed_then_rewound(&QWEN3, "<think>abc</th", 12, &r, "R7[abc]");
    finish_and_check(p, &r, "x</think>y", "R10[</x] E13 A21[y]");

    /* rewound inside the closing marker the caller already has: no second END */
    p = fed_then_rewound(&QWEN3, "<think>a</think>b", 10, &r, "R7[a] E8 A16[b]");
    finish_and_check(p, &r, "think>c", "A16[c]");

    /* past the end: clamped, nothing lost */
    p = fed_then_rewound(&R1, "ab", 99, &r, "R0[ab]");
    finish_and_check(p, &r, "c", "R2[c]");

    /* harmony: back to the <|end|> of the analysis, think on, answer again */
    p = fed_then_rewound(&HARMONY,
                         "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant"
                         "<|channel|>final<|message|>Ans",
                         36, &r, "R30[Think.] E36 A88[Ans]");
    assert_int_equal(dl_chan_parser_channel(p), DL_CHANNEL_REASONING);
    finish_and_check(p, &r, " More.<|end|><|start|>assistant<|channel|>final<|message|>X",
                     "R36[ More.] E42 A94[X]");

    /* twice in a row */
    p = fed_then_rewound(&R1, "abc</think>x", 3, &r, "R0[abc] E3 A11[x]");
    dl_chan_parser_feed(p, "de", 2, on_event, &r);
    dl_chan_parser_rewind(p, 4);
    finish_and_check(p, &r, "f</think>g", "R3[de] R4[f] E5 A13[g]");
}

/* ---- random outputs ------------------------------------------------------------------- */

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* Random outputs built from marker fragments, fed whole, one byte at a time
 * and in random pieces: same events, every piece verbatim and whole UTF-8. */
static void test_random_outputs(void **state)
{
    static const char *const frags[] = {
        "<think>", "</think>", "<", "</", "/", "think", ">", "a", " ", "\n", "\xc3\xa9",
        "\xe2\x88\x9a", "<|end|>", "<|start|>", "<|channel|>", "analysis", "final", "commentary",
        "<|message|>", "<|", "|>", "<|return|>", "<|constrain|>", "<|call|>", "assistant", "x",
    };
    const dl_chat_markers *ms[] = {&QWEN3, &R1, &HARMONY, &PLAIN};
    uint64_t seed = 12345;
    char buf[512];
    for (int iter = 0; iter < 1500; iter++) {
        size_t len = 0;
        int nf = (int)(lcg(&seed) % 24);
        for (int k = 0; k < nf; k++) {
            const char *f = frags[lcg(&seed) % DL_ARRAY_LEN(frags)];
            size_t fl = strlen(f);
            memcpy(buf + len, f, fl);
            len += fl;
        }
        buf[len] = '\0';
        const dl_chat_markers *m = ms[iter % 4];
        int bad = 0;
        char *want = run_cuts(m, buf, NULL, 0, &bad);
        assert_int_equal(bad, 0);
        char *got = run_bytes(m, buf, &bad);
        assert_string_equal(got, want);
        assert_int_equal(bad, 0);
        free(got);
        size_t cuts[8], nc = 0, at = 0;
        while (nc < 8 && len > at) {
            at += 1 + lcg(&seed) % 12;
            if (at >= len) break;
            cuts[nc++] = at;
        }
        got = run_cuts(m, buf, cuts, nc, &bad);
        assert_string_equal(got, want);
        assert_int_equal(bad, 0);
        free(got);
        free(want);
        n_runs += 3;
    }
}

static void test_report(void **state)
{
    print_message("channel parser: %d feedings checked\n", n_runs);
    assert_true(n_runs > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_think_basic),
        cmocka_unit_test(test_think_whitespace_before_open),
        cmocka_unit_test(test_think_unterminated),
        cmocka_unit_test(test_think_nested_and_repeated),
        cmocka_unit_test(test_think_close_without_open),
        cmocka_unit_test(test_think_lookalikes),
        cmocka_unit_test(test_think_utf8),
        cmocka_unit_test(test_no_reasoning_format),
        cmocka_unit_test(test_streaming_holds_only_marker_prefixes),
        cmocka_unit_test(test_channel_query),
        cmocka_unit_test(test_harmony),
        cmocka_unit_test(test_rewind),
        cmocka_unit_test(test_random_outputs),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
