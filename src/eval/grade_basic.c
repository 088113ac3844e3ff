/* eval/grade_basic: the reference-answer graders — exact, normalized,
 * numeric (with a tolerance), choice (multiple-choice letter) and regex.
 * docs/eval-graders.md has the exact rules. */
#include <ctype.h>
#include <math.h>
#include <oniguruma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* ref.<key> as a string: strings as they are, integers and reals printed
 * ("%lld" / "%.17g"); NULL + 400 when missing or of another type. */
static char *ref_text(const char *grader, const json_t *ref, const char *key, dl_error *err) {
    const json_t *v = ref ? json_object_get(ref, key) : NULL;
    if (json_is_string(v)) return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        dl_buf b = {0};
        dl_buf_printf(&b, "%lld", (long long)json_integer_value(v));
        return b.data;
    }
    if (json_is_real(v)) {
        dl_buf b = {0};
        dl_buf_printf(&b, "%.17g", json_real_value(v));
        return b.data;
    }
    dl_error_set(err, 400, "grader '%s': ref.%s is %s", grader, key,
                 v ? "not a string or number" : "missing");
    return NULL;
}

static char *trim_dup(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return strndup(s, n);
}

static json_t *verdict(bool correct, const char *expected, const char *got) {
    return json_pack("{s:f, s:b, s:s, s:o}", "score", correct ? 1.0 : 0.0, "correct", correct,
                     "expected", expected, "got", got ? json_string(got) : json_null());
}

/* ---- exact ---------------------------------------------------------------------- */

int dl_grader_exact(const char *prompt, const char *response, const json_t *ref,
                    const dl_grade_ctx *ctx, json_t **out, dl_error *err) {
    (void)prompt;
    (void)ctx;
    char *want = ref_text("exact", ref, "answer", err);
    if (!want) return -1;
    char *got = trim_dup(response);
    *out = verdict(!strcmp(got, want), want, got);
    free(want);
    free(got);
    return 0;
}

/* ---- normalized ----------------------------------------------------------------- */

/* Lower case, punctuation to spaces, the articles a/an/the dropped, blanks
 * collapsed (as in SQuAD's answer normalisation). Non-ASCII bytes are kept. */
static char *normalise_answer(const char *s) {
    dl_buf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        while (*p && (isspace(*p) || (ispunct(*p)))) p++;
        if (!*p) break;
        const unsigned char *w = p;
        while (*p && !isspace(*p) && !ispunct(*p)) p++;
        size_t n = (size_t)(p - w);
        char word[8];
        if (n < sizeof word) {
            for (size_t i = 0; i < n; i++) word[i] = (char)tolower(w[i]);
            word[n] = 0;
            if (!strcmp(word, "a") || !strcmp(word, "an") || !strcmp(word, "the")) continue;
        }
        if (b.len) dl_buf_append(&b, " ", 1);
        for (size_t i = 0; i < n; i++) {
            char c = (char)tolower(w[i]);
            dl_buf_append(&b, &c, 1);
        }
    }
    dl_buf_append(&b, "", 1);
    return b.data;
}

int dl_grader_normalized(const char *prompt, const char *response, const json_t *ref,
                         const dl_grade_ctx *ctx, json_t **out, dl_error *err) {
    (void)prompt;
    (void)ctx;
    /* ref.answer: one string/number, or an array of accepted answers */
    const json_t *a = ref ? json_object_get(ref, "answer") : NULL;
    json_t *accepted = json_array();
    if (json_is_array(a)) {
        size_t i;
        json_t *x;
        json_array_foreach(a, i, x) if (json_is_string(x)) json_array_append(accepted, x);
        if (!json_array_size(accepted)) {
            json_decref(accepted);
            dl_error_set(err, 400, "grader 'normalized': ref.answer has no string");
            return -1;
        }
    } else {
        char *want = ref_text("normalized", ref, "answer", err);
        if (!want) {
            json_decref(accepted);
            return -1;
        }
        json_array_append_new(accepted, json_string(want));
        free(want);
    }
    char *whole = normalise_answer(response);
    char *ext = dl_extract_answer(response, DL_EXTRACT_AUTO);
    char *final = ext ? normalise_answer(ext) : NULL;
    bool ok = false;
    size_t i;
    json_t *x;
    json_array_foreach(accepted, i, x) {
        char *w = normalise_answer(json_string_value(x));
        if (!strcmp(w, whole) || (final && !strcmp(w, final))) ok = true;
        free(w);
        if (ok) break;
    }
    *out = verdict(ok, json_string_value(json_array_get(accepted, ok ? i : 0)),
                   final && !ok ? final : whole);
    free(whole);
    free(final);
    free(ext);
    json_decref(accepted);
    return 0;
}

/* ---- numeric -------------------------------------------------------------------- */

/* A number as written in an answer: "1,000", "-3.5", "3/4", "$12", "50%",
 * "1e3". false when it is not one. */
static bool parse_number(const char *s, double *out) {
    char buf[128];
    size_t n = 0;
    for (const char *p = s; *p && n + 1 < sizeof buf; p++) {
        if (*p == ',' || *p == '$' || *p == ' ' || *p == '%') continue;
        buf[n++] = *p;
    }
    buf[n] = 0;
    if (!n) return false;
    char *end;
    double x = strtod(buf, &end);
    if (end == buf) return false;
    if (*end == '/') {
        char *end2;
        double d = strtod(end + 1, &end2);
        if (end2 == end + 1 || *end2 || d == 0) return false;
        x /= d;
    } else if (*end) {
        return false;
    }
    if (!isfinite(x)) return false;
    *out = x;
    return true;
}

int dl_grader_numeric(const char *prompt, const char *response, const json_t *ref,
                      const dl_grade_ctx *ctx, json_t **out, dl_error *err) {
    (void)prompt;
    (void)ctx;
    char *want_s = ref_text("numeric", ref, "answer", err);
    if (!want_s) return -1;
    double want;
    if (!parse_number(want_s, &want)) {
        dl_error_set(err, 400, "grader 'numeric': ref.answer '%s' is not a number", want_s);
        free(want_s);
        return -1;
    }
    /* ref.tolerance: a number (absolute) or {"absolute": a} / {"relative": r} */
    double abs_tol = 1e-9 * fmax(1.0, fabs(want)), rel_tol = 0;
    const json_t *tol = json_object_get(ref, "tolerance");
    if (json_is_number(tol)) {
        abs_tol = json_number_value(tol);
    } else if (json_is_object(tol)) {
        const json_t *a = json_object_get(tol, "absolute"), *r = json_object_get(tol, "relative");
        if ((a && !json_is_number(a)) || (r && !json_is_number(r)) || (!a && !r)) {
            dl_error_set(err, 400,
                         "grader 'numeric': ref.tolerance must be a number or "
                         "{\"absolute\": x} / {\"relative\": x}");
            free(want_s);
            return -1;
        }
        if (a) abs_tol = json_number_value(a);
        if (r) rel_tol = json_number_value(r);
    } else if (tol && !json_is_null(tol)) {
        dl_error_set(err, 400, "grader 'numeric': ref.tolerance must be a number or an object");
        free(want_s);
        return -1;
    }
    if (abs_tol < 0 || rel_tol < 0) {
        dl_error_set(err, 400, "grader 'numeric': ref.tolerance is negative");
        free(want_s);
        return -1;
    }
    char *got_s = dl_extract_answer(response, DL_EXTRACT_NUMBER);
    double got = 0;
    bool have = got_s && parse_number(got_s, &got);
    bool ok = have && (fabs(got - want) <= abs_tol || fabs(got - want) <= rel_tol * fabs(want));
    *out = verdict(ok, want_s, got_s);
    json_object_set_new(*out, "tolerance",
                        json_pack("{s:f, s:f}", "absolute", abs_tol, "relative", rel_tol));
    free(want_s);
    free(got_s);
    return 0;
}

/* ---- choice --------------------------------------------------------------------- */

int dl_grader_choice(const char *prompt, const char *response, const json_t *ref,
                     const dl_grade_ctx *ctx, json_t **out, dl_error *err) {
    (void)prompt;
    (void)ctx;
    const json_t *a = ref ? json_object_get(ref, "answer") : NULL;
    char want[2] = {0, 0};
    if (json_is_integer(a) && json_integer_value(a) >= 0 && json_integer_value(a) < 10) {
        want[0] = (char)('A' + json_integer_value(a)); /* an option index, 0 = A */
    } else if (json_is_string(a)) {
        char *e = dl_extract_answer(json_string_value(a), DL_EXTRACT_CHOICE);
        if (e && e[0] >= 'A' && e[0] <= 'J') want[0] = e[0];
        free(e);
    }
    if (!want[0]) {
        dl_error_set(err, 400, "grader 'choice': ref.answer is %s",
                     a ? "not a choice letter A-J (or an option index 0-9)" : "missing");
        return -1;
    }
    char *got = dl_extract_answer(response, DL_EXTRACT_CHOICE);
    bool ok = got && got[0] == want[0] && !got[1];
    *out = verdict(ok, want, got);
    free(got);
    return 0;
}

/* ---- regex ---------------------------------------------------------------------- */

/* Oniguruma (Perl syntax, UTF-8), as the tokenizer uses it: its library
 * also exports POSIX-named functions, so <regex.h> cannot be used safely
 * in this program. Compiling is serialised; searching is thread-safe. */
static pthread_mutex_t onig_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static void onig_setup(void) {
    OnigEncoding encs[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encs, 1);
}

int dl_grader_regex(const char *prompt, const char *response, const json_t *ref,
                    const dl_grade_ctx *ctx, json_t **out, dl_error *err) {
    (void)prompt;
    (void)ctx;
    const char *pattern = ref ? dl_json_str(ref, "pattern") : NULL;
    if (!pattern) {
        dl_error_set(err, 400, "grader 'regex': ref.pattern is %s",
                     ref && json_object_get(ref, "pattern") ? "not a string" : "missing");
        return -1;
    }
    /* ref.flags: "i" ignore case, "m" ^ and $ at line breaks, "s" . matches a newline */
    const char *flags = ref ? dl_json_str(ref, "flags") : NULL;
    OnigOptionType opt = ONIG_OPTION_NONE;
    dl_buf pat = {0};
    for (const char *f = flags ? flags : ""; *f; f++) {
        if (*f == 'i') opt |= ONIG_OPTION_IGNORECASE;
        else if (*f == 'm') dl_buf_printf(&pat, "(?m)");
        else if (*f == 's') dl_buf_printf(&pat, "(?s)");
        else {
            dl_buf_free(&pat);
            dl_error_set(err, 400,
                         "grader 'regex': unknown flag '%c' in ref.flags (known: i, m, s)", *f);
            return -1;
        }
    }
    dl_buf_printf(&pat, "%s", pattern);
    pthread_once(&onig_once, onig_setup);
    regex_t *re = NULL;
    OnigErrorInfo einfo;
    const OnigUChar *p = (const OnigUChar *)pat.data;
    pthread_mutex_lock(&onig_mu);
    int r = onig_new(&re, p, p + pat.len, opt, ONIG_ENCODING_UTF8, ONIG_SYNTAX_PERL_NG, &einfo);
    pthread_mutex_unlock(&onig_mu);
    dl_buf_free(&pat);
    if (r != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &einfo);
        dl_error_set(err, 400, "grader 'regex': invalid ref.pattern '%s': %s", pattern,
                     (const char *)msg);
        return -1;
    }
    const OnigUChar *s = (const OnigUChar *)response, *end = s + strlen(response);
    int pos = onig_search(re, s, end, s, end, NULL, ONIG_OPTION_NONE);
    pthread_mutex_lock(&onig_mu);
    onig_free(re);
    pthread_mutex_unlock(&onig_mu);
    if (pos < 0 && pos != ONIG_MISMATCH) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, pos);
        dl_error_set(err, 400, "grader 'regex': searching with '%s' failed: %s", pattern,
                     (const char *)msg);
        return -1;
    }
    bool ok = pos >= 0;
    *out = json_pack("{s:f, s:b, s:s}", "score", ok ? 1.0 : 0.0, "matched", ok, "pattern",
                     pattern);
    return 0;
}
