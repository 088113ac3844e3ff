/* safety/normalize: the views of a text that the classifier and the guards
 * read, with the usual obfuscations undone (docs/safety.md, "Normalisation").
 *
 * The text view is built in passes over one code-point buffer, each linear
 * and in place: fold (NFKC, case folding, invisible characters, marks,
 * accents, confusables) -> join spaced-out letters -> leetspeak -> squeeze
 * repeats and collapse spaces -> UTF-8. Payloads (base64, hex, URL-encoding,
 * rot13) are looked for in the raw bytes and normalised the same way. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "safety_int.h"

#define NORM_MAX_INPUT ((size_t)1 << 20) /* longer input: the first 1 MB */
#define NORM_MAX_PAYLOADS 8
#define NORM_MAX_DEPTH 2 /* payloads inside payloads: one level deep */

/* ---- fold ---------------------------------------------------------------- */

/* Upper-case Greek letters whose look-alike differs from their lower case
 * (H vs n): mapped before case folding to markers MARK_BASE + index. */
static const struct {
    int32_t upper, lower;
    char ascii;
} GREEK_UPPER[] = {
    {0x0396, 0x03B6, 'z'}, {0x0397, 0x03B7, 'h'}, {0x039C, 0x03BC, 'm'},
    {0x039D, 0x03BD, 'n'}, {0x03A5, 0x03C5, 'y'},
};
#define MARK_BASE 0x10FF00

static utf8proc_int32_t pre_fold(utf8proc_int32_t cp, void *data) {
    (void)data;
    if (cp >= MARK_BASE) return 0xFFFD; /* our markers cannot come from input */
    if (cp >= 0x0396 && cp <= 0x03A5)
        for (size_t i = 0; i < DL_ARRAY_LEN(GREEK_UPPER); i++)
            if (GREEK_UPPER[i].upper == cp) return MARK_BASE + (int32_t)i;
    return cp;
}

/* Characters that render as nothing: zero-width spaces and joiners, bidi
 * controls, word joiner and invisible operators, BOM, soft hyphen, Mongolian
 * vowel separator, Hangul fillers, variation selectors, tag characters. */
static bool is_invisible(int32_t c) {
    return (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF || c == 0x00AD || c == 0x034F ||
           c == 0x061C || (c >= 0x180B && c <= 0x180F) || c == 0x115F || c == 0x1160 ||
           c == 0x3164 || c == 0xFFA0 || c == 0x17B4 || c == 0x17B5 ||
           (c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0000 && c <= 0xE0FFF);
}

/* Combining marks used to decorate Latin text (accents left uncomposed,
 * strike-through, "zalgo"). Marks of other scripts are kept. */
static bool is_decor_mark(int32_t c) {
    return (c >= 0x0300 && c <= 0x036F) || c == 0x0488 || c == 0x0489 ||
           (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

static bool is_letter_cat(int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

/* A precomposed Latin letter's ASCII base (é -> e), or 0. */
static int32_t latin_base(int32_t c) {
    if (!((c >= 0x00C0 && c <= 0x024F) || (c >= 0x1E00 && c <= 0x1EFF))) return 0;
    utf8proc_int32_t d[8];
    int bc = 0;
    utf8proc_ssize_t k = utf8proc_decompose_char(c, d, 8, UTF8PROC_DECOMPOSE, &bc);
    if (k >= 1 && k <= 8 && d[0] < 0x80 && d[0] >= 'a' && d[0] <= 'z') return d[0];
    return 0;
}

/* Maps the conditional confusables of word c[a..b) when the word holds a
 * Latin letter or only look-alikes; otherwise restores the markers. */
static void finish_word(int32_t *c, size_t a, size_t b, bool latin, bool foreign) {
    bool map = latin || !foreign;
    for (size_t i = a; i < b; i++) {
        int32_t x = c[i];
        if (x >= MARK_BASE) {
            size_t k = (size_t)(x - MARK_BASE);
            c[i] = map ? GREEK_UPPER[k].ascii : GREEK_UPPER[k].lower;
        } else if (map && x >= 0x80) {
            bool cond;
            char a2 = dl_confusable_ascii((uint32_t)x, &cond);
            if (a2 && cond) c[i] = a2;
        }
    }
}

/* Word state of fold_pass. */
typedef struct word_state {
    size_t start;
    bool latin;   /* holds a Latin letter */
    bool foreign; /* holds a letter of another script without look-alike */
    bool cond;    /* holds a look-alike of another script */
} word_state;

/* At the end of a word: a mixed word is mapped now, a foreign word keeps
 * its letters, a word made only of look-alikes waits for the whole text
 * (*pending). */
static void end_word(int32_t *c, size_t w, word_state *ws, bool *pending) {
    if (ws->cond) {
        if (ws->latin || ws->foreign) finish_word(c, ws->start, w, ws->latin, ws->foreign);
        else *pending = true;
    }
    ws->latin = ws->foreign = ws->cond = false;
}

/* Letters of Greek, Cyrillic and Armenian (the scripts with look-alikes). */
static bool in_lookalike_script(int32_t x) { return x >= 0x0370 && x <= 0x058F; }

/* In place over c[0..n): drops invisible characters, decorative marks and
 * controls, turns whitespace into ' ', maps accents and confusables. Words
 * made only of look-alikes ("ѕех") are mapped unless the text also holds
 * real words of those scripts (then "все" is Russian, not "bce"). */
static size_t fold_pass(int32_t *c, size_t n) {
    size_t w = 0;
    word_state ws = {0, false, false, false};
    bool pending = false, script_text = false;
    for (size_t i = 0; i < n; i++) {
        int32_t x = c[i];
        if (x < 0x80) {
            if (x < 0x20 || x == 0x7F) {
                if (x == '\t' || x == '\n' || x == '\v' || x == '\f' || x == '\r') x = ' ';
                else continue;
            }
            if (x >= 'A' && x <= 'Z') x += 32;
            if (x == ' ') {
                end_word(c, w, &ws, &pending);
                c[w++] = ' ';
                ws.start = w;
                continue;
            }
            if (x >= 'a' && x <= 'z') ws.latin = true;
            c[w++] = x;
            continue;
        }
        if (x >= MARK_BASE) {
            ws.cond = true;
            c[w++] = x;
            continue;
        }
        if (is_invisible(x) || is_decor_mark(x)) continue;
        utf8proc_category_t k = utf8proc_category(x);
        if (k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP ||
            x == 0x85) {
            end_word(c, w, &ws, &pending);
            c[w++] = ' ';
            ws.start = w;
            continue;
        }
        if (k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF) continue;
        int32_t base = latin_base(x);
        if (base) {
            ws.latin = true;
            c[w++] = base;
            continue;
        }
        bool cd;
        char a = dl_confusable_ascii((uint32_t)x, &cd);
        if (a && !cd) {
            ws.latin = true;
            c[w++] = a;
            continue;
        }
        if (a) {
            ws.cond = true;
        } else if (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) {
            ws.foreign = true;
            if (in_lookalike_script(x)) script_text = true;
        }
        c[w++] = x;
    }
    end_word(c, w, &ws, &pending);
    if (pending) {
        /* the all-look-alike words: mapped unless real words of their
         * scripts are around; their markers restored otherwise */
        for (size_t i = 0; i < w;) {
            if (c[i] == ' ') {
                i++;
                continue;
            }
            size_t j = i;
            bool latin = false, foreign = false, cond = false;
            for (; j < w && c[j] != ' '; j++) {
                int32_t x = c[j];
                if (x >= 'a' && x <= 'z') latin = true;
                else if (x >= MARK_BASE) cond = true;
                else if (x >= 0x80) {
                    bool cd;
                    if (dl_confusable_ascii((uint32_t)x, &cd) && cd) cond = true;
                    else if (is_letter_cat(x)) foreign = true;
                }
            }
            if (cond && !latin && !foreign) finish_word(c, i, j, false, script_text);
            i = j;
        }
    }
    return w;
}

/* Decodes s[0..n) into code points, dropping invalid bytes. */
static size_t decode_lenient(const char *s, size_t n, int32_t *out) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int m = dl_utf8_decode(s + i, n - i, &cp);
        if (m <= 0) {
            i++;
            continue;
        }
        out[k++] = (int32_t)cp;
        i += (size_t)m;
    }
    return k;
}

/* NFKC + case folding of the UTF-8 segment s[0..n) appended to *c at *len
 * (capacity *cap, grown as needed). 0 / -1 (out of memory). */
static int fold_segment(const char *s, size_t n, int32_t **c, size_t *len, size_t *cap) {
    const utf8proc_option_t opt = UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD |
                                  UTF8PROC_IGNORE | UTF8PROC_LUMP;
    for (;;) {
        size_t room = *cap - *len;
        utf8proc_ssize_t r = utf8proc_decompose_custom((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
                                                       *c + *len, (utf8proc_ssize_t)room, opt,
                                                       pre_fold, NULL);
        if (r < 0) { /* cannot happen on valid UTF-8: keep the code points as they are */
            if (room < n) r = (utf8proc_ssize_t)n + 1;
            else {
                *len += decode_lenient(s, n, *c + *len);
                return 0;
            }
        }
        if ((size_t)r <= room) {
            utf8proc_ssize_t m = utf8proc_normalize_utf32(*c + *len, r, opt);
            *len += m < 0 ? (size_t)r : (size_t)m;
            return 0;
        }
        size_t ncap = *cap + (size_t)r + *cap / 2;
        int32_t *nc = realloc(*c, ncap * sizeof *nc);
        if (!nc) return -1;
        *c = nc;
        *cap = ncap;
    }
}

/* Decodes and folds s[0..n) (valid UTF-8) into *c. ASCII is copied (lower
 * case) directly; only the stretches holding other characters, with the
 * ASCII character before each (an accent may combine with it), go through
 * utf8proc. Returns the code-point count, or SIZE_MAX when out of memory. */
static size_t fold_decode(const char *s, size_t n, int32_t **c, size_t *cap) {
    size_t len = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            if (len == *cap) { /* a segment grew the text */
                size_t ncap = *cap + *cap / 2 + 16;
                int32_t *nc = realloc(*c, ncap * sizeof *nc);
                if (!nc) return SIZE_MAX;
                *c = nc;
                *cap = ncap;
            }
            int32_t x = u[i];
            if (x >= 'A' && x <= 'Z') x += 32;
            (*c)[len++] = x;
            i++;
            continue;
        }
        size_t a = i;
        if (a > 0 && u[a - 1] < 0x80) { /* re-fold the ASCII character before */
            a--;
            len--;
        }
        size_t b = i;
        while (b < n && !(u[b] < 0x80 && (b + 1 >= n || u[b + 1] < 0x80))) b++;
        if (fold_segment(s + a, b - a, c, &len, cap) < 0) return SIZE_MAX;
        i = b;
    }
    return len;
}

size_t dl_norm_fold(const char *s, size_t n, int32_t **out) {
    *out = NULL;
    if (!s || n == 0) return 0;
    if (n > NORM_MAX_INPUT) n = NORM_MAX_INPUT;
    char *clean = NULL;
    size_t ascii_end = 0;
    while (ascii_end < n && (unsigned char)s[ascii_end] < 0x80) ascii_end++;
    if (ascii_end < n && !dl_utf8_valid(s + ascii_end, n - ascii_end, NULL)) {
        /* drop invalid bytes: keep the valid sequences */
        clean = malloc(n);
        if (!clean) return 0;
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            int m = dl_utf8_decode(s + i, n - i, &cp);
            if (m <= 0) {
                i++;
                continue;
            }
            memcpy(clean + k, s + i, (size_t)m);
            k += (size_t)m;
            i += (size_t)m;
        }
        s = clean;
        n = k;
    }
    size_t cap = n + 16;
    int32_t *c = malloc(cap * sizeof *c);
    size_t len = c ? fold_decode(s, n, &c, &cap) : SIZE_MAX;
    free(clean);
    if (len == SIZE_MAX || len == 0 || (len = fold_pass(c, len)) == 0) {
        free(c);
        return 0;
    }
    *out = c;
    return len;
}

/* ---- spaced-out letters ------------------------------------------------------ */

static bool is_unit(int32_t x) {
    if (x < 0x80)
        return (x >= 'a' && x <= 'z') || (x >= '0' && x <= '9') || x == '@' || x == '$' ||
               x == '!';
    return x != ' ' && is_letter_cat(x);
}

static bool is_letter(int32_t x) {
    if (x < 0x80) return x >= 'a' && x <= 'z';
    return is_letter_cat(x);
}

static bool is_join_sep(int32_t x) {
    return x == ' ' || x == '.' || x == '-' || x == '_' || x == '*' || x == '~';
}

/* Joins runs of >= 3 single characters (at least 2 of them letters) that
 * are separated by one and the same separator: "k i l l", "k-i-l-l",
 * "k.i.l.l" -> "kill". Two spaces end a run (a word break). */
static size_t join_pass(int32_t *c, size_t n) {
    size_t w = 0, i = 0;
    bool prev_unit = false;
    while (i < n) {
        int32_t x = c[i];
        bool u = is_unit(x);
        if (u && !prev_unit && i + 2 < n && is_join_sep(c[i + 1])) {
            int32_t sep = c[i + 1];
            size_t k = i, count = 1, letters = is_letter(x) ? 1 : 0;
            while (k + 2 < n && c[k + 1] == sep && is_unit(c[k + 2]) &&
                   (k + 3 >= n || !is_unit(c[k + 3]))) {
                k += 2;
                count++;
                if (is_letter(c[k])) letters++;
            }
            if (count >= 3 && letters >= 2) {
                for (size_t j = i; j <= k; j += 2) c[w++] = c[j];
                i = k + 1;
                prev_unit = true;
                continue;
            }
        }
        c[w++] = x;
        prev_unit = u;
        i++;
    }
    return w;
}

/* ---- leetspeak -------------------------------------------------------------- */

static bool is_leet(int32_t x) {
    return x == '0' || x == '1' || x == '3' || x == '4' || x == '5' || x == '7' || x == '@' ||
           x == '$' || x == '!';
}
static bool is_digit(int32_t x) { return x >= '0' && x <= '9'; }
static bool is_alpha(int32_t x) { return x >= 'a' && x <= 'z'; }

/* Units and ordinals after a one-digit number: "1st", "3d", "4k", "5g". */
static bool is_unit_suffix(const int32_t *p, size_t m) {
    static const char *const U[] = {"st", "nd", "rd", "th", "k", "d", "g", "s", "m", "h", "x",
                                    "am", "pm", "mg", "kg", "gb", "mb", "tb", "km", "cm", "mm",
                                    "ml", "lb", "lbs", "oz", "ft", "in", "min", "hr", "hrs",
                                    "yo", "v", "l", "w", "p"};
    for (size_t i = 0; i < DL_ARRAY_LEN(U); i++) {
        size_t l = strlen(U[i]);
        if (l != m) continue;
        size_t j = 0;
        while (j < l && p[j] == U[i][j]) j++;
        if (j == l) return true;
    }
    return false;
}

enum { LEET_NONE = 0, LEET_CHANGED = 1, LEET_HELD = 2 };

/* Undoes leetspeak in one part of a token (letters, digits, @ $ !) when it
 * holds letters and leet characters. A number with a unit or a name with a
 * version ("10th", "4k", "mp3", "win10") is held back (LEET_HELD) unless
 * force: next to leet words it is leet too ("th3", "r3"). */
static int leet_part(int32_t *p, size_t m, bool force) {
    size_t letters = 0, leets = 0;
    for (size_t i = 0; i < m; i++) {
        if (is_alpha(p[i])) letters++;
        else if (is_leet(p[i])) leets++;
    }
    if (letters == 0 || leets == 0 || p[0] == '@') return LEET_NONE;
    size_t dp = 0, ds = 0;
    while (dp < m && is_digit(p[dp])) dp++;
    while (ds < m && is_digit(p[m - 1 - ds])) ds++;
    bool rest_alpha = true;
    for (size_t i = dp; i < m; i++)
        if (!is_alpha(p[i])) rest_alpha = false;
    bool held = dp > 0 && rest_alpha && (dp >= 2 || is_unit_suffix(p + dp, m - dp));
    bool head_alpha = true;
    for (size_t i = 0; i + ds < m; i++)
        if (!is_alpha(p[i])) head_alpha = false;
    held = held || (ds > 0 && head_alpha && (ds >= 2 || p[m - 1] != '0'));
    if (held && !force) return LEET_HELD;
    for (size_t i = 0; i < m; i++) {
        switch (p[i]) {
        case '0': p[i] = 'o'; break;
        case '1': {
            size_t r = i;
            while (r < m && p[r] == '1') r++;
            int32_t to = r - i >= 2 ? 'l' : 'i';
            for (size_t j = i; j < r; j++) p[j] = to;
            i = r - 1;
            break;
        }
        case '3': p[i] = 'e'; break;
        case '4': p[i] = 'a'; break;
        case '5': p[i] = 's'; break;
        case '7': p[i] = 't'; break;
        case '@': p[i] = 'a'; break;
        case '$': p[i] = 's'; break;
        case '!': p[i] = 'i'; break;
        default: break;
        }
    }
    return LEET_CHANGED;
}

static bool is_part_char(int32_t x) { return is_alpha(x) || is_digit(x) || x == '@' || x == '$' || x == '!'; }

/* Leetspeak in the token t[0..n) (no spaces): LEET_CHANGED, LEET_HELD (a
 * part held back, nothing changed) or LEET_NONE. URLs, e-mail addresses,
 * paths and decimal numbers are left alone. A lone "4" / "1" is held
 * ("a" / "i" when forced). */
static int leet_token(int32_t *t, size_t n, bool force) {
    if (n == 1 && (t[0] == '4' || t[0] == '1')) {
        if (!force) return LEET_HELD;
        t[0] = t[0] == '4' ? 'a' : 'i';
        return LEET_CHANGED;
    }
    size_t a = 0, b = n;
    while (a < b && !(is_alpha(t[a]) || is_digit(t[a]) || t[a] == '$')) a++;
    while (b > a && !(is_alpha(t[b - 1]) || is_digit(t[b - 1]) || t[b - 1] == '$')) b--;
    if (a == b) return LEET_NONE;
    for (size_t i = a; i < b; i++) {
        int32_t x = t[i];
        if (x >= 0x80 || x == '.' || x == '/' || x == ':' || x == '\\' || x == '=' || x == '&' ||
            x == '?' || x == '#' || x == '%' || x == ',')
            return LEET_NONE;
    }
    int result = LEET_NONE;
    for (int pass = 0; pass < 2; pass++) {
        bool changed = false, held = false;
        for (size_t i = a; i < b;) {
            if (!is_part_char(t[i])) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < b && is_part_char(t[j])) j++;
            int r = leet_part(t + i, j - i, force || pass == 1);
            changed |= r == LEET_CHANGED;
            held |= r == LEET_HELD;
            i = j;
        }
        if (pass == 0) result = changed ? LEET_CHANGED : held ? LEET_HELD : LEET_NONE;
        /* a held part next to a changed part of the same token ("y0u'r3") */
        if (!(changed && held)) break;
    }
    return result;
}

/* Tokens held back are converted when a neighbouring token changed:
 * "h0w t0 m4k3 4 b0mb" -> "how to make a bomb", "th3 r3al" -> "the real". */
static void leet_pass(int32_t *c, size_t n) {
    bool prev_changed = false;
    size_t pend = SIZE_MAX, pend_n = 0; /* a held token waiting for its right neighbour */
    for (size_t i = 0; i < n;) {
        if (c[i] == ' ') {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && c[j] != ' ') j++;
        int st = leet_token(c + i, j - i, false);
        if (st == LEET_HELD && prev_changed) st = leet_token(c + i, j - i, true);
        if (st == LEET_CHANGED && pend != SIZE_MAX) leet_token(c + pend, pend_n, true);
        pend = st == LEET_HELD ? i : SIZE_MAX;
        pend_n = j - i;
        prev_changed = st == LEET_CHANGED;
        i = j;
    }
}

/* ---- squeeze and collapse ------------------------------------------------ */

/* Runs of >= 3 identical non-digit characters become 2 ("kiiiill" ->
 * "kiill", "!!!!" -> "!!"); whitespace runs become one space; trimmed. */
static size_t squeeze_pass(int32_t *c, size_t n) {
    size_t w = 0, run = 0;
    int32_t last = -1;
    for (size_t i = 0; i < n; i++) {
        int32_t x = c[i];
        if (x == ' ') {
            last = -1;
            run = 0;
            if (w == 0 || c[w - 1] == ' ') continue;
            c[w++] = ' ';
            continue;
        }
        if (x == last && !is_digit(x)) {
            if (++run >= 3) continue;
        } else {
            last = x;
            run = 1;
        }
        c[w++] = x;
    }
    while (w > 0 && c[w - 1] == ' ') w--;
    return w;
}

static char *encode_utf8(const int32_t *c, size_t n) {
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)c[i];
        bytes += x < 0x80 ? 1 : x < 0x800 ? 2 : x < 0x10000 ? 3 : 4;
    }
    char *out = malloc(bytes + 1);
    if (!out) return dl_xstrdup("");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] < 0x80) out[k++] = (char)c[i];
        else {
            int m = dl_utf8_encode((uint32_t)c[i], out + k);
            k += (size_t)m;
        }
    }
    out[k] = '\0';
    return out;
}

/* The text view of s[0..n). Never NULL. */
static char *norm_text(const char *s, size_t n) {
    int32_t *c;
    size_t len = dl_norm_fold(s, n, &c);
    if (len == 0) return dl_xstrdup("");
    len = join_pass(c, len);
    leet_pass(c, len);
    len = squeeze_pass(c, len);
    char *out = encode_utf8(c, len);
    free(c);
    return out;
}

/* ---- payloads ---------------------------------------------------------------- */

/* Byte -> base64 value (standard and URL-safe alphabets) / hex value, or -1. */
static signed char B64[256], HEX[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void) {
    memset(B64, -1, sizeof B64);
    memset(HEX, -1, sizeof HEX);
    for (int i = 0; i < 26; i++) {
        B64['A' + i] = (signed char)i;
        B64['a' + i] = (signed char)(26 + i);
    }
    for (int i = 0; i < 10; i++) {
        B64['0' + i] = (signed char)(52 + i);
        HEX['0' + i] = (signed char)i;
    }
    B64['+'] = B64['-'] = 62;
    B64['/'] = B64['_'] = 63;
    for (int i = 0; i < 6; i++) HEX['a' + i] = HEX['A' + i] = (signed char)(10 + i);
}

static inline int b64_value(unsigned char ch) { return B64[ch]; }
static inline int hex_value(unsigned char ch) { return HEX[ch]; }

static bool is_alnum_byte(unsigned char ch) {
    return (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'z');
}

/* Decodes n base64 characters (no padding); returns the byte count. */
static size_t b64_decode(const unsigned char *s, size_t n, unsigned char *out) {
    size_t k = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 6) | (uint32_t)b64_value(s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[k++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return k;
}

/* Valid UTF-8 without control characters, at least 60% letters, digits and
 * spaces: what an encoded message decodes to (random bytes almost never). */
static bool looks_like_text(const unsigned char *b, size_t n) {
    if (n < 4 || !dl_utf8_valid((const char *)b, n, NULL)) return false;
    size_t good = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = b[i];
        if ((ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') || ch == 0x7F) return false;
        if (is_alnum_byte(ch) || ch == ' ' || ch >= 0x80) good++;
    }
    return good * 10 >= n * 6;
}

static void scan_b64(const unsigned char *s, size_t n, size_t min_len, bool printable,
                     unsigned char *scratch, dl_payload_fn fn, void *ctx) {
    for (size_t i = 0; i < n;) {
        if (b64_value(s[i]) < 0 || (i > 0 && s[i - 1] == '%')) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && b64_value(s[j]) >= 0) j++;
        size_t run = j - i, pad = 0;
        while (j < n && s[j] == '=' && pad < 2) j++, pad++;
        if (printable) {
            if (run >= min_len && (pad ? (run + pad) % 4 == 0 : run % 4 != 1)) {
                size_t k = b64_decode(s + i, run, scratch);
                if (looks_like_text(scratch, k)) fn(ctx, scratch, k);
            }
        } else {
            /* lenient: any padding, and each of the 4 alignments (the run
             * may begin with a word glued to the encoding: "key-UExB...") */
            for (size_t off = 0; off < 4 && run >= off + min_len; off++) {
                size_t k = b64_decode(s + i + off, run - off, scratch);
                fn(ctx, scratch, k);
            }
        }
        i = j > i ? j : i + 1;
    }
}

/* One hex byte at s[p..]: optional "0x" / "\x" prefix and two digits.
 * Returns the bytes consumed (0 = none). */
static size_t hex_byte(const unsigned char *s, size_t n, size_t p, unsigned char *out) {
    size_t q = p;
    if (q + 1 < n && ((s[q] == '0' && (s[q + 1] | 32) == 'x') || (s[q] == '\\' && s[q + 1] == 'x')))
        q += 2;
    if (q + 1 >= n) return 0;
    int h = hex_value(s[q]), l = hex_value(s[q + 1]);
    if (h < 0 || l < 0) return 0;
    *out = (unsigned char)(h * 16 + l);
    return q + 2 - p;
}

static bool is_hex_sep(unsigned char ch) { return ch == ' ' || ch == ',' || ch == ':' || ch == '-'; }

static void scan_hex(const unsigned char *s, size_t n, size_t min_digits, bool printable,
                     unsigned char *scratch, dl_payload_fn fn, void *ctx) {
    for (size_t i = 0; i < n;) {
        bool start = (hex_value(s[i]) >= 0 || s[i] == '\\') && (i == 0 || !is_alnum_byte(s[i - 1]));
        if (!start) {
            i++;
            continue;
        }
        size_t p = i, k = 0;
        int mode = 0; /* 1: bytes back to back, 2: one separator between bytes */
        unsigned char dummy;
        for (;;) {
            size_t m = hex_byte(s, n, p, &scratch[k]);
            if (!m) break;
            k++;
            p += m;
            if (mode != 2 && p < n && hex_byte(s, n, p, &dummy)) {
                mode = 1;
                continue;
            }
            if (mode != 1 && p + 1 < n && is_hex_sep(s[p]) && hex_byte(s, n, p + 1, &dummy)) {
                mode = 2;
                p++;
                continue;
            }
            break;
        }
        bool ok = k * 2 >= min_digits && (p >= n || !is_alnum_byte(s[p]));
        if (ok && (!printable || looks_like_text(scratch, k))) fn(ctx, scratch, k);
        i = p > i ? p : i + 1;
    }
}

static bool is_space_byte(unsigned char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static void scan_url(const unsigned char *s, size_t n, size_t min_escapes, bool printable,
                     unsigned char *scratch, dl_payload_fn fn, void *ctx) {
    size_t first = SIZE_MAX, last = 0, count = 0;
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] == '%' && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            if (first == SIZE_MAX) first = i;
            last = i + 3;
            count++;
        }
    if (count < min_escapes || count == 0) return;
    while (first > 0 && !is_space_byte(s[first - 1])) first--;
    while (last < n && !is_space_byte(s[last])) last++;
    size_t k = 0;
    for (size_t i = first; i < last; i++) {
        if (s[i] == '%' && i + 2 < last && hex_value(s[i + 1]) >= 0 &&
            hex_value(s[i + 2]) >= 0) {
            scratch[k++] = (unsigned char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else if (s[i] == '+') {
            scratch[k++] = ' ';
        } else {
            scratch[k++] = s[i];
        }
    }
    if (!printable || looks_like_text(scratch, k)) fn(ctx, scratch, k);
}

/* Binary: >= 4 bytes written as groups of 8 binary digits separated by one
 * space ("01001000 01101001 ..."), or >= 32 digits back to back (a whole
 * number of bytes). */
static void scan_binary(const unsigned char *s, size_t n, bool printable, unsigned char *scratch,
                        dl_payload_fn fn, void *ctx) {
    for (size_t i = 0; i < n;) {
        if ((s[i] != '0' && s[i] != '1') || (i > 0 && is_alnum_byte(s[i - 1]))) {
            i++;
            continue;
        }
        size_t j = i, k = 0, bits = 0;
        unsigned acc = 0;
        bool spaced = false;
        while (j < n) {
            if (s[j] == '0' || s[j] == '1') {
                acc = (acc << 1) | (unsigned)(s[j] - '0');
                if (++bits == 8) {
                    scratch[k++] = (unsigned char)acc;
                    acc = 0;
                    bits = 0;
                }
                j++;
            } else if (s[j] == ' ' && bits == 0 && k > 0 && j + 1 < n && (s[j + 1] == '0' || s[j + 1] == '1')) {
                spaced = true;
                j++;
            } else {
                break;
            }
        }
        bool whole = bits == 0 && (j >= n || !is_alnum_byte(s[j]));
        if (whole && k >= 4 && (spaced || k * 8 >= 32) && (!printable || looks_like_text(scratch, k)))
            fn(ctx, scratch, k);
        i = j > i ? j : i + 1;
    }
}

/* Morse code: letters and digits in International Morse. */
static const struct {
    const char *code;
    char ch;
} MORSE[] = {
    {".-", 'a'},    {"-...", 'b'},  {"-.-.", 'c'},  {"-..", 'd'},   {".", 'e'},     {"..-.", 'f'},
    {"--.", 'g'},   {"....", 'h'},  {"..", 'i'},    {".---", 'j'},  {"-.-", 'k'},   {".-..", 'l'},
    {"--", 'm'},    {"-.", 'n'},    {"---", 'o'},   {".--.", 'p'},  {"--.-", 'q'},  {".-.", 'r'},
    {"...", 's'},   {"-", 't'},     {"..-", 'u'},   {"...-", 'v'},  {".--", 'w'},   {"-..-", 'x'},
    {"-.--", 'y'},  {"--..", 'z'},  {"-----", '0'}, {".----", '1'}, {"..---", '2'}, {"...--", '3'},
    {"....-", '4'}, {".....", '5'}, {"-....", '6'}, {"--...", '7'}, {"---..", '8'}, {"----.", '9'},
    {".-.-.-", '.'}, {"--..--", ','}, {"..--..", '?'},
};

static char morse_char(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < DL_ARRAY_LEN(MORSE); i++)
        if (strlen(MORSE[i].code) == n && memcmp(MORSE[i].code, s, n) == 0) return MORSE[i].ch;
    return 0;
}

/* A run of >= 8 Morse letters separated by single spaces, words by " / "
 * or three spaces. */
static void scan_morse(const unsigned char *s, size_t n, bool printable, unsigned char *scratch,
                       dl_payload_fn fn, void *ctx) {
    for (size_t i = 0; i < n;) {
        bool start = (s[i] == '.' || s[i] == '-') && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\'' ||
                                                      s[i - 1] == '"' || s[i - 1] == ':' || s[i - 1] == '\n');
        if (!start) {
            i++;
            continue;
        }
        size_t j = i, k = 0, letters = 0;
        while (j < n) {
            size_t a = j;
            while (j < n && (s[j] == '.' || s[j] == '-') && j - a < 7) j++;
            char c = j > a ? morse_char(s + a, j - a) : 0;
            if (!c || (j < n && s[j] != ' ' && s[j] != '/' && s[j] != '\'' && s[j] != '"' &&
                       s[j] != '\n' && s[j] != '?')) {
                j = a;
                break;
            }
            scratch[k++] = (unsigned char)c;
            letters++;
            /* separators: " " letter, " / " or "   " word */
            size_t sp = j;
            while (sp < n && s[sp] == ' ') sp++;
            bool slash = sp < n && s[sp] == '/';
            if (slash) {
                sp++;
                while (sp < n && s[sp] == ' ') sp++;
            }
            if (sp >= n || (s[sp] != '.' && s[sp] != '-') || sp == j) break;
            if (slash || sp - j >= 3) scratch[k++] = ' ';
            j = sp;
        }
        if (letters >= 8 && (!printable || looks_like_text(scratch, k))) fn(ctx, scratch, k);
        i = j > i ? j : i + 1;
    }
}

void dl_scan_encoded(const char *s, size_t n, size_t min_b64, size_t min_hex, size_t min_url,
                     bool printable_only, dl_payload_fn fn, void *ctx) {
    if (!s || n == 0) return;
    if (n > NORM_MAX_INPUT) n = NORM_MAX_INPUT;
    pthread_once(&tables_once, tables_init);
    unsigned char *scratch = malloc(n + 1);
    if (!scratch) return;
    const unsigned char *u = (const unsigned char *)s;
    scan_b64(u, n, min_b64, printable_only, scratch, fn, ctx);
    scan_hex(u, n, min_hex, printable_only, scratch, fn, ctx);
    scan_url(u, n, min_url, printable_only, scratch, fn, ctx);
    scan_binary(u, n, printable_only, scratch, fn, ctx);
    scan_morse(u, n, printable_only, scratch, fn, ctx);
    free(scratch);
}

/* ---- rot13 --------------------------------------------------------------------- */

/* Common English words for the rot13 heuristic. */
static const char *const COMMON[] = {
    "a",    "about", "all",   "am",    "and",   "are",   "as",    "at",    "be",   "because",
    "but",  "by",    "can",   "could", "do",    "does",  "for",   "from",  "get",  "give",
    "have", "he",    "help",  "her",   "him",   "his",   "how",   "i",     "if",   "in",
    "into", "is",    "it",    "just",  "kill",  "know",  "like",  "make",  "me",   "my",
    "need", "no",    "not",   "now",   "of",    "on",    "one",   "or",    "our",  "out",
    "people", "please", "she", "so",   "some",  "tell",  "that",  "the",   "their", "them",
    "then", "there", "they",  "this",  "to",    "up",    "use",   "want",  "was",  "we",
    "were", "what",  "when",  "where", "which", "who",   "why",   "will",  "with", "would",
    "write", "you",  "your",
};

/* A word of 1..12 lower-case letters packed 5 bits a letter. */
static uint64_t pack_word(const char *w) {
    uint64_t k = 0;
    for (; *w; w++) k = (k << 5) | (uint64_t)(*w - 'a' + 1);
    return k;
}

#define COMMON_SLOTS 512 /* open addressing, load < 0.2 */
static uint64_t common_slots[COMMON_SLOTS];
static pthread_once_t common_once = PTHREAD_ONCE_INIT;

static size_t common_slot(uint64_t key) { return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 55); }

static void common_init(void) {
    for (size_t i = 0; i < DL_ARRAY_LEN(COMMON); i++) {
        uint64_t k = pack_word(COMMON[i]);
        size_t h = common_slot(k);
        while (common_slots[h]) h = (h + 1) % COMMON_SLOTS;
        common_slots[h] = k;
    }
}

static bool is_common(uint64_t key) {
    for (size_t h = common_slot(key); common_slots[h]; h = (h + 1) % COMMON_SLOTS)
        if (common_slots[h] == key) return true;
    return false;
}

static char rot13(char ch) {
    if (ch >= 'a' && ch <= 'z') return (char)('a' + (ch - 'a' + 13) % 26);
    if (ch >= 'A' && ch <= 'Z') return (char)('A' + (ch - 'A' + 13) % 26);
    return ch;
}

static bool has_rot13_cue(const unsigned char *s, size_t n) {
    for (size_t i = 0; i + 4 < n; i++) {
        if ((s[i] | 32) != 'r' || (s[i + 1] | 32) != 'o' || (s[i + 2] | 32) != 't') continue;
        size_t j = i + 3;
        if (j < n && (s[j] == '-' || s[j] == ' ' || s[j] == '_')) j++;
        if (j + 1 < n && s[j] == '1' && s[j + 1] == '3') return true;
    }
    return false;
}

#define ROT13_WINDOW 64 /* words per window of the heuristic */

/* True when s reads as rot13: an explicit cue ("rot13", "rot-13", "rot 13"),
 * or some window of 64 words in which rot13 of the words gives >= 3 common
 * English words and more than twice (plus 2) as many as the words
 * themselves do. Windows keep a rot13 passage padded with English visible. */
static bool looks_rot13(const unsigned char *s, size_t n) {
    if (has_rot13_cue(s, n)) return true;
    pthread_once(&common_once, common_init);
    size_t plain = 0, rotated = 0, words = 0;
    for (size_t i = 0; i < n;) {
        if (!((s[i] | 32) >= 'a' && (s[i] | 32) <= 'z')) {
            i++;
            continue;
        }
        size_t j = i;
        uint64_t kp = 0, kr = 0;
        while (j < n && (s[j] | 32) >= 'a' && (s[j] | 32) <= 'z') {
            unsigned v = (unsigned)((s[j] | 32) - 'a');
            kp = (kp << 5) | (v + 1);
            kr = (kr << 5) | ((v + 13) % 26 + 1);
            j++;
        }
        if (j - i <= 7) {
            plain += is_common(kp);
            rotated += is_common(kr);
        }
        if (rotated >= 3 && rotated > 2 * plain + 2) return true;
        if (++words == ROT13_WINDOW) words = plain = rotated = 0;
        i = j;
    }
    return false;
}

/* ---- dl_normalize ------------------------------------------------------------------ */

typedef struct payload_ctx {
    dl_norm *out;
    int depth;
} payload_ctx;

static void find_payloads(dl_norm *out, const char *s, size_t n, int depth);

static void add_payload(void *vctx, const unsigned char *data, size_t len) {
    payload_ctx *ctx = vctx;
    dl_norm *out = ctx->out;
    if (out->n_decoded >= NORM_MAX_PAYLOADS) return;
    char *t = norm_text((const char *)data, len);
    bool dup = !t[0];
    for (size_t i = 0; i < out->n_decoded && !dup; i++) dup = strcmp(out->decoded[i], t) == 0;
    if (dup) {
        free(t);
        return;
    }
    if (!out->decoded) out->decoded = dl_xcalloc(NORM_MAX_PAYLOADS, sizeof *out->decoded);
    out->decoded[out->n_decoded++] = t;
    if (ctx->depth + 1 < NORM_MAX_DEPTH) {
        /* data lives in the caller's scratch: copy before scanning it */
        char *copy = malloc(len);
        if (!copy) return;
        memcpy(copy, data, len);
        find_payloads(out, copy, len, ctx->depth + 1);
        free(copy);
    }
}

static void find_payloads(dl_norm *out, const char *s, size_t n, int depth) {
    payload_ctx ctx = {out, depth};
    dl_scan_encoded(s, n, 16, 16, 3, true, add_payload, &ctx);
    if (out->n_decoded < NORM_MAX_PAYLOADS && looks_rot13((const unsigned char *)s, n)) {
        char *r = malloc(n);
        if (!r) return;
        for (size_t i = 0; i < n; i++) r[i] = rot13(s[i]);
        add_payload(&ctx, (const unsigned char *)r, n);
        free(r);
    }
}

void dl_normalize(const char *text, size_t len, dl_norm *out) {
    memset(out, 0, sizeof *out);
    if (!text) len = 0;
    if (len > NORM_MAX_INPUT) len = NORM_MAX_INPUT;
    out->text = len ? norm_text(text, len) : dl_xstrdup("");
    if (len) find_payloads(out, text, len, 0);
}

void dl_norm_free(dl_norm *n) {
    if (!n) return;
    free(n->text);
    for (size_t i = 0; i < n->n_decoded; i++) free(n->decoded[i]);
    free(n->decoded);
    memset(n, 0, sizeof *n);
}
