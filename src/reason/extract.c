/* Final-answer extraction and normalisation.
 *
 * Rules (the header's comment names the order for each kind):
 *   numbers   an optional sign ("-", "+", U+2212) at a word start, digits with
 *             optional ",ddd" thousands groups, an optional ".ddd" fraction,
 *             an optional exponent "e3" / "E-2" (at most 3 digits, not
 *             followed by a letter), or an integer fraction "3/4" /
 *             "\frac{3}{4}" (also \dfrac, \tfrac). A digit right after a letter
 *             or digit does not start a number ("H2O", "x2"). Canonical form:
 *             no "+", no leading zeros, no trailing fraction zeros, exponent
 *             applied ("1e3" -> "1000", "-0.0" -> "0"), fractions reduced
 *             ("6/8" -> "3/4", "4/2" -> "2"). A trailing "." ends a sentence,
 *             it is not part of the number.
 *   cue       the last word "answer" (any case, not "answers"/"answered")
 *             followed by ":", "=", "is", "equals" or "be" (optionally after
 *             would/should/will/must/might/shall/can); its value is the rest
 *             of the line (or the next non-empty line if that is empty), cut
 *             at the end of the first sentence.
 *   choice    a letter A-J: after a cue (lower case too: "Answer: d" -> "D"),
 *             "(B)" anywhere, "B)" / "B." / "B:" at a line start, or the whole
 *             text. A letter inside a word never counts. After a cue, a
 *             letter followed by a space and a word is taken only for B-H and
 *             J in upper case ("A" and "I" are English words there).
 *   value     see dl_extract_norm_value (extract_int.h). */
#include "reason.h"
#include "extract_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- characters ------------------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/* s[i..n) starts with lit (exact). */
static bool at_lit(const char *s, size_t n, size_t i, const char *lit)
{
    size_t l = strlen(lit);
    return i <= n && n - i >= l && memcmp(s + i, lit, l) == 0;
}

/* s[i..n) starts with the word lit (any case), not followed by a letter. */
static bool at_word_ci(const char *s, size_t n, size_t i, const char *lit)
{
    size_t l = strlen(lit);
    if (i > n || n - i < l) return false;
    for (size_t k = 0; k < l; k++)
        if (lower(s[i + k]) != lit[k]) return false;
    return i + l == n || !is_alpha(s[i + l]);
}

static void trim(const char *s, size_t *a, size_t *b)
{
    while (*a < *b && is_space(s[*a])) (*a)++;
    while (*b > *a && is_space(s[*b - 1])) (*b)--;
}

/* ---- numbers ------------------------------------------------------------------- */

typedef struct numtok {
    size_t a, b;   /* the token's bytes */
    bool neg;
    size_t ia, ib; /* integer digits (may hold ',' separators); empty for ".5" */
    size_t fa, fb; /* fraction digits; fa == fb: none */
    int exp;       /* decimal exponent */
    size_t da, db; /* denominator digits; da == db: not a fraction */
} numtok;

static size_t skip_spaces(const char *s, size_t n, size_t k)
{
    while (k < n && is_space(s[k])) k++;
    return k;
}

/* "\frac{N}{D}" (or \dfrac, \tfrac) with integer N, D at s[j]. */
static bool scan_latex_frac(const char *s, size_t n, size_t j, numtok *t)
{
    static const char *const cmds[] = {"\\frac", "\\dfrac", "\\tfrac"};
    size_t k = 0;
    bool found = false;
    for (size_t c = 0; c < DL_ARRAY_LEN(cmds) && !found; c++) {
        if (at_lit(s, n, j, cmds[c])) {
            k = j + strlen(cmds[c]);
            found = true;
        }
    }
    if (!found) return false;
    for (int part = 0; part < 2; part++) {
        k = skip_spaces(s, n, k);
        if (k >= n || s[k] != '{') return false;
        k = skip_spaces(s, n, k + 1);
        if (part == 0 && k < n && s[k] == '-') {
            t->neg = !t->neg;
            k++;
        }
        size_t d0 = k;
        while (k < n && is_digit(s[k])) k++;
        if (k == d0) return false;
        if (part == 0) {
            t->ia = d0;
            t->ib = k;
        } else {
            t->da = d0;
            t->db = k;
        }
        k = skip_spaces(s, n, k);
        if (k >= n || s[k] != '}') return false;
        k++;
    }
    t->b = k;
    return true;
}

/* A number token starting exactly at s[i] (see the rules at the top). */
static bool scan_number(const char *s, size_t n, size_t i, numtok *t)
{
    memset(t, 0, sizeof(*t));
    if (i >= n || (i > 0 && is_word(s[i - 1]))) return false;
    size_t j = i;
    if (s[j] == '-' || s[j] == '+') {
        t->neg = s[j] == '-';
        j++;
    } else if (at_lit(s, n, j, "\xe2\x88\x92")) { /* U+2212 minus */
        t->neg = true;
        j += 3;
    }
    t->a = i;
    if (j < n && s[j] == '\\') return scan_latex_frac(s, n, j, t);
    if (j < n && is_digit(s[j])) {
        size_t k = j;
        while (k < n && is_digit(s[k])) k++;
        if (k - j <= 3) { /* thousands groups: ",ddd" not followed by a digit */
            while (k + 4 <= n && s[k] == ',' && is_digit(s[k + 1]) && is_digit(s[k + 2]) &&
                   is_digit(s[k + 3]) && (k + 4 == n || !is_digit(s[k + 4])))
                k += 4;
        }
        t->ia = j;
        t->ib = k;
        j = k;
    } else if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
        if (j > 0 && is_digit(s[j - 1])) return false;
        t->ia = t->ib = j;
    } else {
        return false;
    }
    if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1])) {
        size_t k = j + 1;
        while (k < n && is_digit(s[k])) k++;
        t->fa = j + 1;
        t->fb = k;
        j = k;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        bool eneg = false;
        if (k < n && (s[k] == '-' || s[k] == '+')) eneg = s[k++] == '-';
        size_t d0 = k;
        int e = 0;
        while (k < n && is_digit(s[k]) && k - d0 < 4) e = e * 10 + (s[k++] - '0');
        if (k > d0 && k - d0 <= 3 && (k == n || !is_word(s[k]))) {
            t->exp = eneg ? -e : e;
            j = k;
        }
    }
    if (t->fa == t->fb && t->exp == 0 && t->ia < t->ib && j + 1 < n && s[j] == '/' &&
        is_digit(s[j + 1])) {
        size_t k = j + 1;
        while (k < n && is_digit(s[k])) k++;
        bool more = k < n && (s[k] == '/' || (s[k] == '.' && k + 1 < n && is_digit(s[k + 1])) ||
                              s[k] == ',');
        if (!more) { /* not a date like 1/2/2024 nor "1/2.5" */
            t->da = j + 1;
            t->db = k;
            j = k;
        }
    }
    t->b = j;
    return true;
}

/* Digits of s[a..b) without ',' and leading zeros, into buf (NUL-ended). */
static void digits_of(const char *s, size_t a, size_t b, dl_buf *buf)
{
    bool lead = true;
    for (size_t k = a; k < b; k++) {
        if (s[k] == ',') continue;
        if (lead && s[k] == '0') continue;
        lead = false;
        dl_buf_append(buf, s + k, 1);
    }
    dl_buf_append(buf, "", 0);
}

static unsigned long long gcd_u64(unsigned long long x, unsigned long long y)
{
    while (y) {
        unsigned long long r = x % y;
        x = y;
        y = r;
    }
    return x;
}

/* Canonical text of a number token (malloc'd). */
static char *canonical(const char *s, const numtok *t)
{
    dl_buf out = {0};
    if (t->da != t->db) {
        dl_buf nd = {0}, dd = {0};
        digits_of(s, t->ia, t->ib, &nd);
        digits_of(s, t->da, t->db, &dd);
        if (nd.len == 0) {
            dl_buf_append(&out, "0", 1);
        } else if (nd.len <= 18 && dd.len <= 18 && dd.len > 0) {
            unsigned long long nu = strtoull(nd.data, NULL, 10), de = strtoull(dd.data, NULL, 10);
            unsigned long long g = gcd_u64(nu, de);
            nu /= g;
            de /= g;
            if (de == 1)
                dl_buf_printf(&out, "%s%llu", t->neg ? "-" : "", nu);
            else
                dl_buf_printf(&out, "%s%llu/%llu", t->neg ? "-" : "", nu, de);
        } else { /* too long to reduce, or "/0": digits as they are */
            dl_buf_printf(&out, "%s%s/%s", t->neg ? "-" : "", nd.data, dd.len ? dd.data : "0");
        }
        dl_buf_free(&nd);
        dl_buf_free(&dd);
        return out.data;
    }
    /* decimal: value = 0.D * 10^P */
    dl_buf d = {0};
    long p = 0;
    for (size_t k = t->ia; k < t->ib; k++) {
        if (s[k] == ',') continue;
        dl_buf_append(&d, s + k, 1);
        p++;
    }
    if (t->fa < t->fb) dl_buf_append(&d, s + t->fa, t->fb - t->fa);
    dl_buf_append(&d, "", 0);
    p += t->exp;
    const char *dg = d.data;
    size_t dn = d.len;
    while (dn && *dg == '0') {
        dg++;
        dn--;
        p--;
    }
    while (dn && dg[dn - 1] == '0') dn--;
    if (dn == 0) {
        dl_buf_append(&out, "0", 1);
    } else {
        if (t->neg) dl_buf_append(&out, "-", 1);
        if (p <= 0) {
            dl_buf_append(&out, "0.", 2);
            for (long z = 0; z < -p; z++) dl_buf_append(&out, "0", 1);
            dl_buf_append(&out, dg, dn);
        } else if ((size_t)p >= dn) {
            dl_buf_append(&out, dg, dn);
            for (size_t z = dn; z < (size_t)p; z++) dl_buf_append(&out, "0", 1);
        } else {
            dl_buf_append(&out, dg, (size_t)p);
            dl_buf_append(&out, ".", 1);
            dl_buf_append(&out, dg + p, dn - (size_t)p);
        }
    }
    dl_buf_free(&d);
    return out.data;
}

/* The last number in s[a..b). */
static bool last_number(const char *s, size_t a, size_t b, numtok *out)
{
    bool found = false;
    numtok t;
    for (size_t i = a; i < b;) {
        if (scan_number(s, b, i, &t)) {
            *out = t;
            found = true;
            i = t.b > i ? t.b : i + 1;
        } else {
            i++;
        }
    }
    return found;
}

/* The number a value s[a..b) states: the first one after its last "=" (outside
 * numbers), else its first one. */
static bool value_number(const char *s, size_t a, size_t b, numtok *out)
{
    bool found = false, after_eq = false;
    numtok t;
    for (size_t i = a; i < b;) {
        if (s[i] == '=') {
            after_eq = true;
            found = false;
            i++;
        } else if (scan_number(s, b, i, &t)) {
            if (!found) {
                *out = t;
                found = true;
            }
            i = t.b > i ? t.b : i + 1;
        } else {
            i++;
        }
    }
    if (found || !after_eq) return found;
    /* an "=" with nothing after it: fall back to the first number */
    for (size_t i = a; i < b; i++)
        if (scan_number(s, b, i, out)) return true;
    return false;
}

/* ---- \boxed{} and cues --------------------------------------------------------------- */

/* Content of the last well-formed, non-empty \boxed{...}: [*ca, *cb). */
static bool last_boxed(const char *s, size_t n, size_t *ca, size_t *cb)
{
    bool found = false;
    for (size_t i = 0; i + 6 <= n; i++) {
        if (!at_lit(s, n, i, "\\boxed")) continue;
        size_t k = skip_spaces(s, n, i + 6);
        if (k >= n || s[k] != '{') continue;
        int depth = 0;
        size_t e = k;
        for (; e < n; e++) {
            if (s[e] == '\\' && e + 1 < n) {
                e++;
                continue;
            }
            if (s[e] == '{') depth++;
            if (s[e] == '}' && --depth == 0) break;
        }
        if (e >= n) continue; /* unbalanced */
        size_t a = k + 1, b = e;
        trim(s, &a, &b);
        if (a < b) {
            *ca = a;
            *cb = b;
            found = true;
        }
    }
    return found;
}

/* The value of the last answer cue: [*va, *vb), trimmed, maybe empty. */
static bool last_cue(const char *s, size_t n, size_t *va, size_t *vb)
{
    static const char *const modals[] = {"would", "should", "will", "must", "might", "shall", "can"};
    bool found = false;
    size_t val = 0;
    for (size_t i = 0; i + 6 <= n; i++) {
        if ((i > 0 && is_alpha(s[i - 1])) || !at_word_ci(s, n, i, "answer")) continue;
        size_t k = i + 6;
        while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '*' || s[k] == '_')) k++;
        for (size_t m = 0; m < DL_ARRAY_LEN(modals); m++) {
            if (at_word_ci(s, n, k, modals[m])) {
                k += strlen(modals[m]);
                while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
                break;
            }
        }
        if (k < n && (s[k] == ':' || s[k] == '='))
            k++;
        else if (at_word_ci(s, n, k, "is") || at_word_ci(s, n, k, "be"))
            k += 2;
        else if (at_word_ci(s, n, k, "equals"))
            k += 6;
        else
            continue;
        while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '*' || s[k] == ':' || s[k] == '_'))
            k++;
        if (k == n || s[k] == '\n' || s[k] == '\r') k = skip_spaces(s, n, k); /* value on the next line */
        found = true;
        val = k;
    }
    if (!found) return false;
    size_t e = val;
    while (e < n && s[e] != '\n') e++;
    /* cut at the end of the first sentence: [.!?] then a space and an upper-case letter */
    for (size_t k = val; k < e; k++) {
        if (s[k] != '.' && s[k] != '!' && s[k] != '?') continue;
        size_t m = k + 1;
        if (m < e && !is_space(s[m])) continue;
        while (m < e && is_space(s[m])) m++;
        if (m == e || (s[m] >= 'A' && s[m] <= 'Z')) {
            e = k;
            break;
        }
    }
    *va = val;
    *vb = e;
    trim(s, va, vb);
    return true;
}

/* ---- choice letters ---------------------------------------------------------------------- */

static bool is_choice(char c) { return c >= 'A' && c <= 'J'; }
static bool is_choice_lower(char c) { return c >= 'a' && c <= 'j'; }

/* A choice letter at the start of s[a..b) (after "(", "**", "$", "\text{",
 * "option" and the like). lower: accept a-j too. *end: just after the letter. */
static bool choice_at(const char *s, size_t a, size_t b, bool lower_ok, char *letter, size_t *end)
{
    static const char *const wraps[] = {"\\textbf{", "\\text{", "\\mathrm{", "\\mathbf{",
                                        "\\boxed{"};
    static const char *const words[] = {"option", "choice", "letter"};
    size_t k = a;
    for (bool more = true; more && k < b;) {
        more = false;
        if (is_space(s[k]) || s[k] == '*' || s[k] == '(' || s[k] == '[' || s[k] == '{' ||
            s[k] == '$') {
            k++;
            more = true;
            continue;
        }
        for (size_t w = 0; w < DL_ARRAY_LEN(wraps) && !more; w++) {
            if (at_lit(s, b, k, wraps[w])) {
                k += strlen(wraps[w]);
                more = true;
            }
        }
        for (size_t w = 0; w < DL_ARRAY_LEN(words) && !more; w++) {
            size_t l = strlen(words[w]);
            if (at_word_ci(s, b, k, words[w]) && k + l < b && (is_space(s[k + l]) || s[k + l] == ':')) {
                k += l + 1;
                more = true;
            }
        }
    }
    if (k >= b) return false;
    char c = s[k];
    bool upper = is_choice(c);
    if (!upper && !(lower_ok && is_choice_lower(c))) return false;
    size_t m = k + 1;
    if (m < b && s[m] != '\n' && s[m] != '\r') {
        if (s[m] == ' ' || s[m] == '\t') {
            size_t q = m;
            while (q < b && (s[q] == ' ' || s[q] == '\t')) q++;
            if (q < b && is_alpha(s[q]) && !(upper && c != 'A' && c != 'I')) return false;
        } else if (!strchr(")]}.:,;*$!?\"'", s[m])) {
            return false; /* inside a word, or part of an expression: "a+b" */
        }
    }
    *letter = upper ? c : (char)(c - 'a' + 'A');
    *end = m;
    return true;
}

/* Only closing punctuation and spaces in s[a..b). */
static bool only_closers(const char *s, size_t a, size_t b)
{
    for (size_t k = a; k < b; k++)
        if (!is_space(s[k]) && !strchr(")]}.:*$!", s[k])) return false;
    return true;
}

/* The whole text s[a..b) is one choice letter (any case). */
static bool whole_choice(const char *s, size_t a, size_t b, char *letter)
{
    size_t end;
    return choice_at(s, a, b, true, letter, &end) && only_closers(s, end, b);
}

/* The last "(B)" anywhere or "B)" / "B." / "B:" at a line start. */
static bool last_choice_pattern(const char *s, size_t n, char *letter)
{
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '(' && (i == 0 || !is_word(s[i - 1])) && i + 2 < n && is_choice(s[i + 1]) &&
            s[i + 2] == ')') {
            *letter = s[i + 1];
            found = true;
        }
        if (i == 0 || s[i - 1] == '\n') {
            size_t k = i;
            while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '*' || s[k] == '#' || s[k] == '>'))
                k++;
            if (k + 1 < n && is_choice(s[k]) && strchr(").:", s[k + 1]) &&
                (k + 2 == n || is_space(s[k + 2]) || s[k + 2] == '*')) {
                *letter = s[k];
                found = true;
            }
        }
    }
    return found;
}

static char *letter_str(char c)
{
    char *r = dl_xmalloc(2);
    r[0] = c;
    r[1] = '\0';
    return r;
}

/* ---- values ------------------------------------------------------------------------------- */

/* If s[*a..*b) is wholly `open ... close`, drops them. */
static bool unwrap_pair(const char *s, size_t *a, size_t *b, const char *open, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close);
    if (*b - *a < lo + lc || !at_lit(s, *b, *a, open) || memcmp(s + *b - lc, close, lc) != 0)
        return false;
    *a += lo;
    *b -= lc;
    return true;
}

/* If s[*a..*b) is wholly \cmd{...} (one brace group), drops the wrapper. */
static bool unwrap_cmd(const char *s, size_t *a, size_t *b, const char *cmd)
{
    size_t k = *a + strlen(cmd);
    if (!at_lit(s, *b, *a, cmd) || k >= *b || s[k] != '{' || s[*b - 1] != '}') return false;
    int depth = 0;
    for (; k < *b; k++) {
        if (s[k] == '\\' && k + 1 < *b) {
            k++;
            continue;
        }
        if (s[k] == '{') depth++;
        if (s[k] == '}' && --depth == 0) break;
    }
    if (k != *b - 1) return false;
    *a += strlen(cmd) + 1;
    *b -= 1;
    return true;
}

/* Unit-like text after a number: "\text{...}", "\mbox{...}", "\mathrm{...}",
 * "%", "\%", "^\circ", "^{\circ}". */
static bool units_only(const char *s, size_t a, size_t b)
{
    static const char *const units[] = {"\\text{", "\\mbox{", "\\mathrm{", "\\%", "%", "^\\circ",
                                        "^{\\circ}", "\\,"};
    a = skip_spaces(s, b, a);
    if (a == b) return true;
    for (size_t u = 0; u < DL_ARRAY_LEN(units); u++)
        if (at_lit(s, b, a, units[u])) {
            for (size_t k = a; k < b; k++)
                if (is_digit(s[k])) return false;
            return true;
        }
    return false;
}

/* Whitespace collapsed (kept as one space only between two word characters),
 * LaTeX spacing dropped, \dfrac / \tfrac -> \frac, \left / \right dropped. */
static char *collapse(const char *s, size_t a, size_t b)
{
    dl_buf out = {0};
    for (size_t k = a; k < b;) {
        if (is_space(s[k])) {
            size_t m = k;
            while (m < b && is_space(s[m])) m++;
            if (out.len && is_word(out.data[out.len - 1]) && m < b && is_word(s[m]))
                dl_buf_append(&out, " ", 1);
            k = m;
            continue;
        }
        if (s[k] == '\\' && k + 1 < b && strchr(",;:! ", s[k + 1])) {
            k += 2;
            continue;
        }
        if (at_lit(s, b, k, "\\dfrac") || at_lit(s, b, k, "\\tfrac")) {
            dl_buf_append(&out, "\\frac", 5);
            k += 6;
            continue;
        }
        if (at_lit(s, b, k, "\\left") && !(k + 5 < b && is_alpha(s[k + 5]))) {
            k += 5;
            continue;
        }
        if (at_lit(s, b, k, "\\right") && !(k + 6 < b && is_alpha(s[k + 6]))) {
            k += 6;
            continue;
        }
        dl_buf_append(&out, s + k, 1);
        k++;
    }
    if (!out.len) {
        dl_buf_free(&out);
        return NULL;
    }
    return out.data;
}

char *dl_extract_norm_value(const char *s, size_t n, bool lower_choice)
{
    if (!s) return NULL;
    size_t a = 0, b = n;
    for (bool changed = true; changed;) {
        changed = false;
        trim(s, &a, &b);
        if (a == b) return NULL;
        changed = unwrap_pair(s, &a, &b, "$$", "$$") || unwrap_pair(s, &a, &b, "$", "$") ||
                  unwrap_pair(s, &a, &b, "\\(", "\\)") || unwrap_pair(s, &a, &b, "\\[", "\\]") ||
                  unwrap_cmd(s, &a, &b, "\\text") ||
                  unwrap_cmd(s, &a, &b, "\\textbf") || unwrap_cmd(s, &a, &b, "\\mathrm") ||
                  unwrap_cmd(s, &a, &b, "\\mathbf") || unwrap_cmd(s, &a, &b, "\\boxed");
        while (a < b && s[a] == '*') { /* markdown emphasis, paired or not */
            a++;
            changed = true;
        }
        while (b > a && s[b - 1] == '*') {
            b--;
            changed = true;
        }
        if (!changed && b - a > 1 && s[b - 1] == '.' && s[b - 2] != '.') {
            b--; /* a sentence's full stop */
            changed = true;
        }
    }
    /* a number, possibly after a currency sign and before units */
    size_t na = a;
    if (at_lit(s, b, na, "\\$"))
        na += 2;
    else if (s[na] == '$')
        na++;
    numtok t;
    if (scan_number(s, b, na, &t) && (t.b == b || units_only(s, t.b, b))) return canonical(s, &t);
    /* a choice letter: "B", "(B)"; lower case only when asked */
    char c = 0;
    if (b - a == 1) c = s[a];
    if (b - a == 3 && s[a] == '(' && s[a + 2] == ')') c = s[a + 1];
    if (is_choice(c)) return letter_str(c);
    if (lower_choice && is_choice_lower(c)) return letter_str((char)(c - 'a' + 'A'));
    char *r = collapse(s, a, b);
    if (r && (strlen(r) != b - a || memcmp(r, s + a, b - a) != 0)) {
        /* collapsing may have made a number or a wrapper appear: once more
         * (terminates: collapse never lengthens, and stops changing) */
        char *again = dl_extract_norm_value(r, strlen(r), lower_choice);
        free(r);
        return again;
    }
    return r;
}

bool dl_extract_number_value(const char *s, double *out)
{
    if (!s || !*s) return false;
    size_t n = strlen(s), k = 0;
    if (s[k] == '-') k++;
    size_t d0 = k;
    while (k < n && is_digit(s[k])) k++;
    if (k == d0) return false;
    if (k < n && s[k] == '.') {
        size_t f0 = ++k;
        while (k < n && is_digit(s[k])) k++;
        if (k == f0 || k != n) return false;
        *out = strtod(s, NULL);
        return true;
    }
    if (k < n && s[k] == '/') {
        size_t e0 = ++k;
        while (k < n && is_digit(s[k])) k++;
        if (k == e0 || k != n) return false;
        double den = strtod(s + e0, NULL);
        if (den == 0) return false;
        *out = strtod(s, NULL) / den;
        return true;
    }
    if (k != n) return false;
    *out = strtod(s, NULL);
    return true;
}

/* ---- kinds ---------------------------------------------------------------------------------- */

static char *extract_boxed(const char *s, size_t n)
{
    size_t a, b;
    return last_boxed(s, n, &a, &b) ? dl_extract_norm_value(s + a, b - a, false) : NULL;
}

static char *extract_number(const char *s, size_t n)
{
    size_t a, b;
    numtok t;
    if (last_boxed(s, n, &a, &b) && value_number(s, a, b, &t)) return canonical(s, &t);
    if (last_cue(s, n, &a, &b) && value_number(s, a, b, &t)) return canonical(s, &t);
    if (last_number(s, 0, n, &t)) return canonical(s, &t);
    return NULL;
}

static char *extract_choice(const char *s, size_t n)
{
    size_t a, b, end;
    char c;
    if (last_cue(s, n, &a, &b) && choice_at(s, a, b, true, &c, &end)) return letter_str(c);
    if (last_boxed(s, n, &a, &b) && whole_choice(s, a, b, &c)) return letter_str(c);
    if (last_choice_pattern(s, n, &c)) return letter_str(c);
    a = 0;
    b = n;
    trim(s, &a, &b);
    if (whole_choice(s, a, b, &c)) return letter_str(c);
    return NULL;
}

static char *extract_last_line(const char *s, size_t n)
{
    size_t b = n;
    while (b > 0) {
        size_t a = b;
        while (a > 0 && s[a - 1] != '\n') a--;
        size_t ta = a, tb = b;
        trim(s, &ta, &tb);
        if (ta < tb) return dl_xstrndup(s + ta, tb - ta);
        if (a == 0) break;
        b = a - 1;
    }
    return NULL;
}

/* AUTO: boxed, cue value, whole-text choice, last number, last line. */
static char *extract_auto(const char *s, size_t n)
{
    size_t a, b, end;
    char c;
    numtok t;
    char *r = extract_boxed(s, n);
    if (r) return r;
    if (last_cue(s, n, &a, &b) && a < b) {
        if (choice_at(s, a, b, true, &c, &end)) return letter_str(c);
        if (value_number(s, a, b, &t)) return canonical(s, &t);
        r = dl_extract_norm_value(s + a, b - a, true);
        if (r) return r;
    }
    a = 0;
    b = n;
    trim(s, &a, &b);
    if (whole_choice(s, a, b, &c)) return letter_str(c);
    if (last_number(s, 0, n, &t)) return canonical(s, &t);
    return extract_last_line(s, n);
}

char *dl_extract_answer(const char *text, dl_extract_kind kind)
{
    if (!text) return NULL;
    size_t n = strlen(text);
    switch (kind) {
    case DL_EXTRACT_NUMBER: return extract_number(text, n);
    case DL_EXTRACT_CHOICE: return extract_choice(text, n);
    case DL_EXTRACT_BOXED: return extract_boxed(text, n);
    case DL_EXTRACT_LAST_LINE: return extract_last_line(text, n);
    case DL_EXTRACT_AUTO:
    default: return extract_auto(text, n);
    }
}
