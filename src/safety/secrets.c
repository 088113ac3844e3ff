/* safety/secrets: protected secrets declared in system/developer messages,
 * and leak detection in model output (docs/safety.md,
 * "Instruction-hierarchy guard").
 *
 * A secret and a text are compared as "canonical" streams: folded (NFKC,
 * case, confusables, invisible characters) and reduced to letters and
 * digits, so case, spacing and separators do not matter ("P-L-A-N-E-T" is
 * "planet"). The text is read as written, with leetspeak undone, and in every
 * decoded form (base64, hex, URL-encoding); each secret is looked for as is
 * and reversed. */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "safety_int.h"

#define SECRET_MIN_CHARS 4     /* shorter secrets are ignored */
#define SECRET_MIN_ALNUM 3     /* ... and those with fewer letters/digits */
#define SECRET_MAX_BYTES 256
#define SECRET_ANYWHERE 8      /* secrets this long also match inside a word */

enum { TOK_START = 1, TOK_END = 2 };

/* A canonical stream: letters and digits, with word boundaries. */
typedef struct canon {
    int32_t *c;
    uint8_t *flags; /* TOK_START / TOK_END per element (NULL for secrets) */
    size_t n;
} canon;

typedef struct secret {
    char *raw;
    canon forms[4]; /* canonical, leet-normalised, and both reversed */
    size_t n_forms;
} secret;

struct dl_secrets {
    secret *v;
    size_t n, cap;
};

static bool is_alnum_cp(int32_t x) {
    if (x < 0x80) return (x >= 'a' && x <= 'z') || (x >= '0' && x <= '9');
    utf8proc_category_t k = utf8proc_category(x);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* The canonical stream of s[0..n); flags only when with_flags. */
static canon make_canon(const char *s, size_t n, bool with_flags) {
    canon cv = {0};
    int32_t *f;
    size_t m = dl_norm_fold(s, n, &f);
    if (m == 0) return cv;
    cv.c = f; /* filtered in place */
    if (with_flags) cv.flags = calloc(m, 1);
    bool prev_alnum = false;
    for (size_t i = 0; i < m; i++) {
        bool a = is_alnum_cp(f[i]);
        if (a) {
            if (cv.flags && !prev_alnum) cv.flags[cv.n] = TOK_START;
            cv.c[cv.n++] = f[i];
        } else if (prev_alnum && cv.flags) {
            cv.flags[cv.n - 1] |= TOK_END;
        }
        prev_alnum = a;
    }
    if (cv.flags && cv.n) cv.flags[cv.n - 1] |= TOK_END;
    return cv;
}

static void canon_free(canon *cv) {
    free(cv->c);
    free(cv->flags);
    memset(cv, 0, sizeof *cv);
}

static bool canon_eq(const canon *a, const canon *b) {
    return a->n == b->n && memcmp(a->c, b->c, a->n * sizeof *a->c) == 0;
}

dl_secrets *dl_secrets_new(void) { return dl_xcalloc(1, sizeof(dl_secrets)); }

void dl_secrets_free(dl_secrets *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].raw);
        for (size_t k = 0; k < s->v[i].n_forms; k++) canon_free(&s->v[i].forms[k]);
    }
    free(s->v);
    free(s);
}

static canon reversed(const canon *a) {
    canon r = {dl_xmalloc(a->n * sizeof *a->c), NULL, a->n};
    for (size_t i = 0; i < a->n; i++) r.c[i] = a->c[a->n - 1 - i];
    return r;
}

/* Adds form f to x unless it is already there (f is consumed). */
static void add_form(secret *x, canon f) {
    for (size_t k = 0; k < x->n_forms; k++)
        if (canon_eq(&x->forms[k], &f)) {
            canon_free(&f);
            return;
        }
    x->forms[x->n_forms++] = f;
}

void dl_secrets_add(dl_secrets *s, const char *value) {
    if (!s || !value) return;
    size_t n = strlen(value);
    while (n && (unsigned char)value[n - 1] <= ' ') n--;
    while (n && (unsigned char)*value <= ' ') value++, n--;
    if (n == 0 || n > SECRET_MAX_BYTES) return;
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)value[i] & 0xC0) != 0x80) chars++;
    if (chars < SECRET_MIN_CHARS) return;
    canon c = make_canon(value, n, false);
    if (c.n < SECRET_MIN_ALNUM) {
        canon_free(&c);
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        if (canon_eq(&s->v[i].forms[0], &c)) { /* the same secret again */
            canon_free(&c);
            return;
        }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 4;
        s->v = dl_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    secret *x = &s->v[s->n++];
    memset(x, 0, sizeof *x);
    x->raw = dl_xstrndup(value, n);
    add_form(x, c);
    dl_norm nm;
    dl_normalize(value, n, &nm);
    canon l = make_canon(nm.text, strlen(nm.text), false);
    dl_norm_free(&nm);
    if (l.n >= SECRET_MIN_ALNUM) add_form(x, l);
    else canon_free(&l);
    size_t base = x->n_forms;
    for (size_t k = 0; k < base; k++) add_form(x, reversed(&x->forms[k]));
}

/* ---- leak detection ------------------------------------------------------------ */

/* True when form f occurs in view v: at word boundaries (a whole word or a
 * run of words: "plane tary", "P L A N E T"), or, for a long one, inside a
 * single word. */
static bool occurs(const canon *v, const canon *f) {
    if (f->n == 0 || v->n < f->n) return false;
    for (size_t p = 0; p + f->n <= v->n; p++) {
        if (v->c[p] != f->c[0] || memcmp(v->c + p, f->c, f->n * sizeof *f->c) != 0) continue;
        if (!v->flags) return true;
        if ((v->flags[p] & TOK_START) && (v->flags[p + f->n - 1] & TOK_END)) return true;
        if (f->n >= SECRET_ANYWHERE) { /* inside one word: "xxPLANETARYxx" */
            bool one_word = true;
            for (size_t k = p; k + 1 < p + f->n && one_word; k++)
                if (v->flags[k] & TOK_END) one_word = false;
            if (one_word) return true;
        }
    }
    return false;
}

/* The first secret found in view v, or SIZE_MAX. */
static size_t find_in(const dl_secrets *s, const canon *v) {
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->v[i].n_forms; k++)
            if (occurs(v, &s->v[i].forms[k])) return i;
    return SIZE_MAX;
}

typedef struct decoded_ctx {
    const dl_secrets *s;
    size_t found;
} decoded_ctx;

static void check_decoded(void *vctx, const unsigned char *data, size_t len) {
    decoded_ctx *ctx = vctx;
    if (ctx->found != SIZE_MAX || len == 0) return;
    canon v = make_canon((const char *)data, len, true);
    ctx->found = find_in(ctx->s, &v);
    canon_free(&v);
}

bool dl_secrets_leaked(const dl_secrets *s, const char *text, size_t len, size_t *which) {
    if (!s || s->n == 0 || !text || len == 0) return false;
    size_t found = SIZE_MAX;
    /* as written */
    canon v = make_canon(text, len, true);
    found = find_in(s, &v);
    canon_free(&v);
    /* leetspeak and spaced letters undone, and the normaliser's payloads */
    if (found == SIZE_MAX) {
        dl_norm nm;
        dl_normalize(text, len, &nm);
        v = make_canon(nm.text, strlen(nm.text), true);
        found = find_in(s, &v);
        canon_free(&v);
        for (size_t i = 0; found == SIZE_MAX && i < nm.n_decoded; i++) {
            v = make_canon(nm.decoded[i], strlen(nm.decoded[i]), true);
            found = find_in(s, &v);
            canon_free(&v);
        }
        dl_norm_free(&nm);
    }
    /* every base64 / hex / URL-encoded run, however short */
    if (found == SIZE_MAX) {
        decoded_ctx ctx = {s, SIZE_MAX};
        dl_scan_encoded(text, len, 6, 8, 1, false, check_decoded, &ctx);
        found = ctx.found;
    }
    if (found == SIZE_MAX) return false;
    if (which) *which = found;
    return true;
}

/* ---- secrets declared in instructions ------------------------------------------------ */

static bool is_alpha_b(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
static bool is_alnum_b(unsigned char c) { return is_alpha_b(c) || (c >= '0' && c <= '9'); }

/* The quote character at s: its length (0 = none) and kind (1 = single:
 * ' ` ‘ ’, 2 = double: " “ ” „ « »). */
static size_t quote_at(const char *s, size_t n, int *kind) {
    unsigned char c = (unsigned char)s[0];
    *kind = 0;
    if (c == '\'' || c == '`') return *kind = 1, 1;
    if (c == '"') return *kind = 2, 1;
    if (n >= 3 && c == 0xE2 && (unsigned char)s[1] == 0x80) {
        unsigned char d = (unsigned char)s[2];
        if (d == 0x98 || d == 0x99) return *kind = 1, 3;
        if (d == 0x9C || d == 0x9D || d == 0x9E) return *kind = 2, 3;
    }
    if (n >= 2 && c == 0xC2 && ((unsigned char)s[1] == 0xAB || (unsigned char)s[1] == 0xBB))
        return *kind = 2, 2;
    return 0;
}

/* A quoted phrase starting at s[i] (a quote): its contents [*a, *b) on the
 * same line, at most SECRET_MAX_BYTES, closed by a quote of the same kind
 * (an apostrophe inside a word, as in "don't", does not close). Returns the
 * index after the closing quote, or 0. */
static size_t read_quoted(const char *s, size_t n, size_t i, size_t *a, size_t *b) {
    int kind, k2;
    size_t q = quote_at(s + i, n - i, &kind);
    if (!q) return 0;
    *a = i + q;
    for (size_t j = *a; j < n && j - *a <= SECRET_MAX_BYTES && s[j] != '\n'; j++) {
        size_t ql = quote_at(s + j, n - j, &k2);
        if (!ql || k2 != kind) continue;
        if (kind == 1 && j > *a && j + ql < n && is_alnum_b((unsigned char)s[j - 1]) &&
            is_alpha_b((unsigned char)s[j + ql]))
            continue;
        *b = j;
        return j > *a ? j + ql : 0;
    }
    return 0;
}

/* Words that follow "password is" without being one. */
#define NOT_SECRET                                                                             \
    "a|an|the|not|never|secret|confidential|hidden|private|below|above|provided|stored|in|to|"  \
    "that|this|required|needed|given|as|being|unknown|known|kept|only|also|very|shown|set|"      \
    "changed|safe|important|used|for|of|on|none|null|empty|blank|n/a|same|different|strong|"   \
    "weak|correct|incorrect|wrong|valid|invalid|protected|sensitive|classified|case|located|"  \
    "available|here|there|it|its|your|my|our|their|his|her|and|or|but|if|when|with|what|which"

static bool all_caps(const char *w, size_t n) {
    size_t letters = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c >= 'a' && c <= 'z') return false;
        if (c >= 'A' && c <= 'Z') letters++;
    }
    return letters >= 2;
}

/* A plain word is not secret-looking; digits, ALLCAPS, inner capitals and
 * inner '-'/'_' are. */
static bool secret_looking(const char *w, size_t n) {
    if (all_caps(w, n)) return true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c >= '0' && c <= '9') return true;
        if (i > 0 && c >= 'A' && c <= 'Z') return true;
        if (i > 0 && i + 1 < n && (c == '-' || c == '_')) return true;
    }
    return false;
}

static bool is_trailing_punct(char c) { return c && strchr(".,;:!?)]}>\"'`*", c); }

/* Keywords (longest first) and whether any plain word after them counts. */
static const struct {
    const char *kw;
    bool strong;
    bool digits; /* the value must hold a digit (PIN) */
} KEYWORDS[] = {
    {"secret password", true, false}, {"secret phrase", true, false}, {"secret word", true, false},
    {"secret code", true, false},     {"secret key", true, false},    {"secret value", true, false},
    {"access code", true, false},     {"pass phrase", true, false},   {"code word", true, false},
    {"magic word", true, false},      {"safe word", true, false},     {"passphrase", true, false},
    {"passcode", true, false},        {"password", true, false},      {"codeword", true, false},
    {"safeword", true, false},        {"pin code", true, true},       {"api key", true, false},
    {"access key", true, false},      {"private key", true, false},   {"pin", true, true},
    {"secret", false, false},         {"key", false, false},
};

/* The value after a keyword ending at p; adds it. */
static void value_after(dl_secrets *s, const char *t, size_t n, size_t p, bool strong, bool digits) {
    size_t i = p;
    while (i < n && (t[i] == ' ' || t[i] == '\t')) i++;
    bool at_value = false;
    if (i < n && (t[i] == ':' || t[i] == '=')) {
        i++;
        at_value = true;
    } else if (i < n && quote_at(t + i, n - i, &(int){0})) {
        at_value = true;
    } else {
        /* up to 6 words to a copula: "password for the admin panel is" */
        for (int w = 0; w < 6 && i < n; w++) {
            while (i < n && t[i] == ' ') i++;
            size_t a = i;
            while (i < n && (is_alpha_b((unsigned char)t[i]) || t[i] == '\'')) i++;
            if (i == a) return;
            if (dl_safety_word_in(t + a, i - a, "is|are|was|equals|reads|be|becomes")) {
                at_value = true;
                while (i < n && t[i] == ' ') i++;
                if (i < n && (t[i] == ':' || t[i] == '=')) i++;
                break;
            }
            if (i < n && (t[i] == ':' || t[i] == '=')) {
                i++;
                at_value = true;
                break;
            }
            if (i < n && t[i] != ' ') return; /* punctuation: the sentence moved on */
        }
    }
    if (!at_value) return;
    while (i < n && (t[i] == ' ' || t[i] == '\t')) i++;
    /* "the word X", "the phrase X" */
    static const char *const LEADS[] = {"the word ", "the phrase ", "the string ", "the code ", "set to "};
    for (size_t k = 0; k < DL_ARRAY_LEN(LEADS); k++) {
        size_t l = strlen(LEADS[k]), j = 0;
        while (j < l && i + j < n && (char)(t[i + j] | 32) == LEADS[k][j]) j++;
        if (j == l) {
            i += l;
            break;
        }
    }
    size_t a, b;
    if (i < n && read_quoted(t, n, i, &a, &b)) {
        char *v = dl_xstrndup(t + a, b - a);
        dl_secrets_add(s, v);
        free(v);
        return;
    }
    a = i;
    while (i < n && t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r' && i - a < SECRET_MAX_BYTES) i++;
    b = i;
    while (b > a && is_trailing_punct(t[b - 1])) b--;
    while (a < b && strchr("([{<*", t[a])) a++;
    if (a == b) return;
    if (dl_safety_word_in(t + a, b - a, NOT_SECRET)) return;
    bool caps = all_caps(t + a, b - a);
    if (digits) {
        bool d = false;
        for (size_t k = a; k < b; k++)
            if (t[k] >= '0' && t[k] <= '9') d = true;
        if (!d) return;
    }
    if (!strong && !secret_looking(t + a, b - a)) return;
    /* ALLCAPS words after it continue the secret: "BLUE MOON" */
    if (caps && b == i) {
        size_t j = i;
        for (int w = 0; w < 4; w++) {
            size_t k = j;
            if (k >= n || t[k] != ' ') break;
            k++;
            size_t c0 = k;
            while (k < n && t[k] != ' ' && t[k] != '\n' && t[k] != '\t') k++;
            size_t c1 = k;
            while (c1 > c0 && is_trailing_punct(t[c1 - 1])) c1--;
            if (c1 == c0 || !all_caps(t + c0, c1 - c0)) break;
            b = c1;
            j = k;
            if (c1 != k) break; /* punctuation ends the phrase */
        }
    }
    char *v = dl_xstrndup(t + a, b - a);
    dl_secrets_add(s, v);
    free(v);
}

/* After "never reveal" / "do not disclose" ...: quoted phrases and ALLCAPS
 * words up to the end of the sentence. */
static void protected_after(dl_secrets *s, const char *t, size_t n, size_t p) {
    size_t end = p;
    while (end < n && end - p < 200 && t[end] != '\n' &&
           !((t[end] == '.' || t[end] == '!' || t[end] == '?' || t[end] == ';') &&
             (end + 1 >= n || t[end + 1] == ' ' || t[end + 1] == '\n')))
        end++;
    for (size_t i = p; i < end;) {
        size_t a, b, next;
        if ((i == 0 || !is_alnum_b((unsigned char)t[i - 1])) && (next = read_quoted(t, n, i, &a, &b))) {
            char *v = dl_xstrndup(t + a, b - a);
            dl_secrets_add(s, v);
            free(v);
            i = next;
            /* the sentence end may lie inside the quotes */
            while (end < next) end = next;
            continue;
        }
        if (is_alpha_b((unsigned char)t[i]) && (i == 0 || !is_alnum_b((unsigned char)t[i - 1]))) {
            size_t j = i;
            while (j < end && (is_alnum_b((unsigned char)t[j]) || t[j] == '-' || t[j] == '_')) j++;
            if (j - i >= 4 && all_caps(t + i, j - i) &&
                !dl_safety_word_in(t + i, j - i, "never|not|reveal|secret|password|important|note|under|"
                                       "any|circumstances|system|user|json|html|http|https|only")) {
                char *v = dl_xstrndup(t + i, j - i);
                dl_secrets_add(s, v);
                free(v);
            }
            i = j;
            continue;
        }
        i++;
    }
}

void dl_secrets_scan_instructions(dl_secrets *s, const char *text) {
    if (!s || !text) return;
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++) {
        if (!is_alpha_b((unsigned char)text[i]) || (i > 0 && is_alnum_b((unsigned char)text[i - 1])))
            continue;
        /* keywords */
        for (size_t k = 0; k < DL_ARRAY_LEN(KEYWORDS); k++) {
            size_t l = strlen(KEYWORDS[k].kw);
            if (i + l > n) continue;
            size_t j = 0;
            while (j < l && (char)(text[i + j] | 32) == KEYWORDS[k].kw[j]) j++;
            if (j < l || (i + l < n && is_alnum_b((unsigned char)text[i + l]))) continue;
            value_after(s, text, n, i + l, KEYWORDS[k].strong, KEYWORDS[k].digits);
            break;
        }
        /* "never reveal", "do not disclose", "don't share" ... */
        size_t a = i;
        size_t j = i;
        while (j < n && (is_alpha_b((unsigned char)text[j]) || text[j] == '\'')) j++;
        if (dl_safety_word_in(text + a, j - a, "never|not|don't|dont|n't|cannot|mustn't")) {
            size_t k = j;
            for (int w = 0; w < 3 && k < n; w++) {
                while (k < n && text[k] == ' ') k++;
                size_t c = k;
                while (k < n && is_alpha_b((unsigned char)text[k])) k++;
                if (k == c) break;
                if (dl_safety_word_in(text + c, k - c, "reveal|disclose|share|say|mention|repeat|tell|divulge|"
                                             "expose|leak")) {
                    protected_after(s, text, n, k);
                    break;
                }
            }
        }
    }
}
