/* Tasks: names, splits by hash, the generation loop, the verifier, and the
 * text helpers the generators share. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../chat/chat.h"
#include "train_int.h"

static const char *const task_names[DL_TASK__COUNT] = {
    [DL_TASK_ADD] = "add",         [DL_TASK_SUB] = "sub",       [DL_TASK_MUL] = "mul",
    [DL_TASK_LETTERS] = "letters", [DL_TASK_COMPARE] = "compare", [DL_TASK_SORT] = "sort",
    [DL_TASK_EXPR] = "expr",       [DL_TASK_LINEAR] = "linear", [DL_TASK_WORD] = "word",
};

static const dl_task_gen_fn task_gens[DL_TASK__COUNT] = {
    [DL_TASK_ADD] = dl_task_gen_add,         [DL_TASK_SUB] = dl_task_gen_sub,
    [DL_TASK_MUL] = dl_task_gen_mul,         [DL_TASK_LETTERS] = dl_task_gen_letters,
    [DL_TASK_COMPARE] = dl_task_gen_compare, [DL_TASK_SORT] = dl_task_gen_sort,
    [DL_TASK_EXPR] = dl_task_gen_expr,       [DL_TASK_LINEAR] = dl_task_gen_linear,
    [DL_TASK_WORD] = dl_task_gen_word,
};

const char *dl_task_name(dl_task_kind k) {
    return (unsigned)k < DL_TASK__COUNT ? task_names[k] : "unknown";
}

int dl_task_from_name(const char *name) {
    for (int k = 0; k < DL_TASK__COUNT; k++)
        if (name && !strcmp(name, task_names[k])) return k;
    return -1;
}

const char *dl_split_name(dl_split s) {
    return s == DL_SPLIT_TRAIN ? "train" : s == DL_SPLIT_VALID ? "validation" : "test";
}

void dl_problem_free(dl_problem *p) {
    if (!p) return;
    free(p->canon);
    free(p->system);
    free(p->developer);
    free(p->question);
    free(p->trace);
    free(p->answer);
    memset(p, 0, sizeof *p);
}

dl_split dl_task_split_of(const char *canon) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (const unsigned char *s = (const unsigned char *)canon; *s; s++) h = (h ^ *s) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    unsigned b = (unsigned)(h % 100);
    return b < 90 ? DL_SPLIT_TRAIN : b < 95 ? DL_SPLIT_VALID : DL_SPLIT_TEST;
}

/* A byte offset in 1..len-1 of the trace (not inside a UTF-8 sequence), uniform. */
static int32_t cut_point(const char *trace, dl_trng *r) {
    int64_t n = (int64_t)strlen(trace);
    if (n < 2) return 0;
    int64_t at = dl_trng_range(r, 1, n - 1);
    while (at > 1 && ((unsigned char)trace[at] & 0xC0) == 0x80) at--;
    return (int32_t)at;
}

int dl_task_generate(dl_task_kind kind, int level, dl_split split, dl_trng *r, dl_problem *out,
                     dl_error *err) {
    memset(out, 0, sizeof *out);
    if ((unsigned)kind >= DL_TASK__COUNT)
        return dl_error_set(err, 400, "task: unknown kind %d", (int)kind);
    if (level < 1 || level > DL_TASK_MAX_LEVEL)
        return dl_error_set(err, 400, "task %s: level %d is outside 1..%d", task_names[kind], level,
                            DL_TASK_MAX_LEVEL);
    for (int attempt = 0; attempt < 100000; attempt++) {
        dl_problem p = {.kind = kind, .level = level};
        task_gens[kind](level, r, &p);
        if (dl_task_split_of(p.canon) == split) {
            p.system = dl_tsystem(r);
            p.developer = dl_tdeveloper(r);
            p.no_thinking = dl_trng_range(r, 0, 9) == 0;
            if (!p.no_thinking && dl_trng_range(r, 0, 8) == 0) p.cut = cut_point(p.trace, r);
            *out = p;
            return 0;
        }
        dl_problem_free(&p);
    }
    return dl_error_set(err, 500, "task %s level %d: no problem found in the %s split", task_names[kind],
                        level, dl_split_name(split));
}

/* ---- verifier ---- */

/* Integers in s[0..n), in order; "1,234" is one number. At most cap. */
static size_t scan_ints(const char *s, size_t n, int64_t *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (!isdigit((unsigned char)s[i])) {
            i++;
            continue;
        }
        bool neg = i > 0 && s[i - 1] == '-' && (i < 2 || !isalnum((unsigned char)s[i - 2]));
        int64_t v = 0;
        bool overflow = false;
        while (i < n) {
            if (isdigit((unsigned char)s[i])) {
                if (v > (INT64_MAX - 9) / 10) overflow = true;
                else v = v * 10 + (s[i] - '0');
                i++;
            } else if (s[i] == ',' && i + 3 < n && isdigit((unsigned char)s[i + 1]) &&
                       isdigit((unsigned char)s[i + 2]) && isdigit((unsigned char)s[i + 3]) &&
                       (i + 4 >= n || !isdigit((unsigned char)s[i + 4]))) {
                i++; /* thousands separator */
            } else {
                break;
            }
        }
        if (!overflow && k < cap) out[k++] = neg ? -v : v;
    }
    return k;
}

/* Narrows a reply to where its final answer is: the last **bold** span if
 * any, else the text after the last "answer is" / "answer:" (where the
 * answer is the FIRST number: "Answer: 73 (not 37)"; *first is set), else
 * all of it. */
static void answer_region(const char **s, size_t *n, bool *first) {
    *first = false;
    const char *p = *s, *end = *s + *n;
    const char *bold_open = NULL, *bold_close = NULL;
    for (const char *q = p; q + 1 < end; q++) {
        if (q[0] != '*' || q[1] != '*') continue;
        const char *c = q + 2;
        while (c + 1 < end && !(c[0] == '*' && c[1] == '*')) c++;
        if (c + 1 >= end) break;
        bold_open = q + 2, bold_close = c;
        q = c + 1;
    }
    if (bold_open && bold_close > bold_open) {
        *s = bold_open, *n = (size_t)(bold_close - bold_open);
        return;
    }
    const char *after = NULL;
    for (const char *q = p; q + 6 <= end; q++)
        if (strncasecmp(q, "answer", 6) == 0) {
            const char *r = q + 6;
            while (r < end && *r == ' ') r++;
            if (r < end && *r == ':') after = r + 1;
            else if (r + 2 <= end && strncmp(r, "is", 2) == 0) after = r + 2;
        }
    if (after) *n = (size_t)(end - after), *s = after, *first = true;
}

bool dl_task_verify(const dl_problem *p, const char *response) {
    if (!p || !p->answer || !response) return false;
    const char *s = response;
    const char *think_end = NULL;
    for (const char *q = strstr(s, "</think>"); q; q = strstr(q + 1, "</think>")) think_end = q;
    if (think_end) s = think_end + strlen("</think>");
    else if (strstr(s, "<think>")) return false; /* unfinished reasoning: no answer */
    size_t n = strlen(s);
    bool first;
    answer_region(&s, &n, &first);
    int64_t want[64], got[64];
    size_t nw = scan_ints(p->answer, strlen(p->answer), want, 64);
    size_t ng = scan_ints(s, n, got, 64);
    if (nw == 0 || ng == 0) return false;
    if (p->kind == DL_TASK_SORT) {
        if (ng < nw) return false;
        /* the list: the first (after "answer:") or last nw numbers of the reply */
        return memcmp(got + (first ? 0 : ng - nw), want, nw * sizeof(int64_t)) == 0;
    }
    return got[first ? 0 : ng - 1] == want[nw - 1];
}

/* ---- samples ---- */

/* The prompt through src/chat's qwen3 format, ending with the generation
 * prompt "<|im_start|>assistant\n". */
static int render_prompt(const dl_problem *p, dl_buf *out, dl_error *err) {
    dl_chat_msg msgs[3];
    size_t n = 0;
    if (p->system) msgs[n++] = (dl_chat_msg){.role = DL_ROLE_SYSTEM, .content = p->system};
    if (p->developer) msgs[n++] = (dl_chat_msg){.role = DL_ROLE_DEVELOPER, .content = p->developer};
    msgs[n++] = (dl_chat_msg){.role = DL_ROLE_USER, .content = p->question};
    dl_chat_format f = {DL_CHAT_QWEN3, 0};
    dl_chat_opts o = dl_chat_default_opts();
    o.enable_thinking = !p->no_thinking;
    o.now = 1; /* qwen3 prints no date; fixed anyway for reproducibility */
    dl_chat_prompt cp;
    if (dl_chat_render(&f, msgs, n, &o, &cp, err)) return -1;
    dl_buf_append(out, cp.text, cp.len);
    dl_chat_prompt_free(&cp);
    return 0;
}

static void render_assistant(const dl_problem *p, dl_buf *out) {
    if (p->no_thinking) dl_buf_printf(out, "%s<|im_end|>", p->answer);
    else if (p->cut > 0 && (size_t)p->cut < strlen(p->trace))
        dl_buf_printf(out, "<think>\n%.*s\n</think>\n\n%s<|im_end|>", (int)p->cut, p->trace, p->answer);
    else dl_buf_printf(out, "<think>\n%s\n</think>\n\n%s<|im_end|>", p->trace, p->answer);
}

int dl_sample_render(const dl_problem *p, dl_buf *out, size_t *assistant_at, dl_error *err) {
    if (render_prompt(p, out, err)) return -1;
    if (assistant_at) *assistant_at = out->len;
    render_assistant(p, out);
    dl_buf_append(out, "\n", 1);
    return 0;
}

void dl_example_free(dl_example *e) {
    if (!e) return;
    free(e->ids);
    free(e->mask);
    free(e->weight);
    memset(e, 0, sizeof *e);
}

int dl_example_from_problem(const dl_tokenizer *tok, const dl_problem *p, dl_example *out,
                            dl_error *err) {
    dl_buf a = {0}, b = {0};
    int32_t *ia = NULL, *ib = NULL;
    size_t na = 0, nb = 0;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (render_prompt(p, &a, err)) goto out;
    render_assistant(p, &b);
    if (dl_tokenize(tok, a.data, a.len, false, true, &ia, &na, err) ||
        dl_tokenize(tok, b.data, b.len, false, true, &ib, &nb, err))
        goto out;
    out->n = (int32_t)(na + nb);
    out->ids = dl_xmalloc((na + nb) * sizeof(int32_t));
    out->mask = dl_xcalloc(na + nb, 1);
    memcpy(out->ids, ia, na * sizeof(int32_t));
    memcpy(out->ids + na, ib, nb * sizeof(int32_t));
    /* position i predicts token i+1: train where i+1 is an assistant token */
    for (size_t i = na; i < na + nb; i++) out->mask[i - 1] = 1;
    rc = 0;
out:
    free(ia);
    free(ib);
    dl_buf_free(&a);
    dl_buf_free(&b);
    return rc;
}

/* ---- text helpers ---- */

char *dl_tstrf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[512];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof tmp) return dl_xstrdup(tmp);
    va_start(ap, fmt);
    char *big = dl_xmalloc((size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return big;
}

char *dl_tsubst(const char *tpl, const char *const *args, int n_args) {
    dl_buf b = {0};
    for (const char *s = tpl; *s; s++) {
        if (s[0] == '{' && s[1] >= '0' && s[1] <= '9' && s[2] == '}' && s[1] - '0' < n_args) {
            const char *a = args[s[1] - '0'];
            dl_buf_append(&b, a, strlen(a));
            s += 2;
        } else {
            dl_buf_append(&b, s, 1);
        }
    }
    dl_buf_append(&b, "", 1);
    return b.data;
}

const char *dl_tpick(dl_trng *r, const char *const *list, size_t n) {
    return list[dl_trng_range(r, 0, (int64_t)n - 1)];
}

void dl_tcasual(dl_trng *r, char *s) {
    size_t n = strlen(s);
    if (n == 0) return;
    if (dl_trng_range(r, 0, 3) == 0 && isupper((unsigned char)s[0])) s[0] = (char)tolower((unsigned char)s[0]);
    if (dl_trng_range(r, 0, 3) == 0 && (s[n - 1] == '?' || s[n - 1] == '.')) s[--n] = '\0';
    while (n > 0 && s[n - 1] == ' ') s[--n] = '\0';
}

static const char *const SYSTEMS[] = {
    "You are a helpful assistant.",
    "You are a careful math tutor. Think step by step.",
    "Answer the question. Show your reasoning first.",
    "You are deliberate, a small reasoning model.",
    "Be concise.",
    "You are a helpful assistant that solves arithmetic and word problems.",
};

char *dl_tsystem(dl_trng *r) {
    if (dl_trng_range(r, 0, 1) == 0) return NULL;
    return dl_xstrdup(dl_tpick(r, SYSTEMS, DL_ARRAY_LEN(SYSTEMS)));
}

/* Developer instructions that do not change what a correct reply is. */
static const char *const DEVELOPERS[] = {
    "The user is practising arithmetic. Reason step by step, then give the answer.",
    "Keep the final answer short.",
    "This assistant is used in a homework helper app.",
    "Think before you answer.",
};

char *dl_tdeveloper(dl_trng *r) {
    if (dl_trng_range(r, 0, 9) != 0) return NULL; /* one in ten */
    return dl_xstrdup(dl_tpick(r, DEVELOPERS, DL_ARRAY_LEN(DEVELOPERS)));
}

int64_t dl_tnum_digits(dl_trng *r, int digits) {
    if (digits <= 1) return dl_trng_range(r, 0, 9);
    int64_t lo = 1;
    for (int i = 1; i < digits; i++) lo *= 10;
    return dl_trng_range(r, lo, lo * 10 - 1);
}

void dl_tchoose_trace(dl_trng *r, dl_problem *out, char **traces, int n) {
    int pick = (int)dl_trng_range(r, 0, n - 1);
    size_t longest = 0;
    for (int i = 0; i < n; i++) {
        longest = DL_MAX(longest, strlen(traces[i]));
        if (i != pick) free(traces[i]);
    }
    out->trace = traces[pick];
    out->trace_ref = longest;
}
