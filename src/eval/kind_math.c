/* eval/kind_math: reasoning evals — GSM8K, MATH-500, AIME, MGSM. One
 * question per sample; the model is asked for its final answer in a fixed
 * form; the answer is extracted (reason/'s dl_extract_answer) and compared
 * with the gold answer numerically or after LaTeX normalisation.
 *
 * Definition options (docs/eval.md):
 *   "datasets": [{"path", "name" (key prefix and group when grouped by
 *                 dataset), "question" (column), "answer" (column),
 *                 "answer_after" (gold is the text after this marker, e.g.
 *                 "####"), "id" (column for keys; default the row number),
 *                 "group" (column whose value groups metrics, e.g. "lang")}]
 *   "prompt":  template with {question}
 *   "extract": "number" | "boxed" | "auto" (dl_extract_kind names)
 *   "compare": "numeric" | "latex"
 *   "group_by_dataset": true = a metric per dataset name
 * Metrics: accuracy (Wilson CI), answered (an answer could be extracted),
 * accuracy_<group> per group. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kind_util.h"

#define DEFAULT_PROMPT                                                                           \
    "{question}\n\nSolve the problem step by step. On the last line write the final answer as " \
    "'Answer: <number>'."

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* ---- LaTeX answer normalisation ---------------------------------------- */

/* s[i..] starts with lit. */
static bool at(const char *s, size_t n, size_t i, const char *lit) {
    size_t l = strlen(lit);
    return i + l <= n && !memcmp(s + i, lit, l);
}

/* End (index of the matching '}') of the brace group opening at s[i] == '{';
 * n when unbalanced. */
static size_t group_end(const char *s, size_t n, size_t i) {
    int depth = 0;
    for (size_t k = i; k < n; k++) {
        if (s[k] == '\\' && k + 1 < n) {
            k++;
            continue;
        }
        if (s[k] == '{') depth++;
        if (s[k] == '}' && --depth == 0) return k;
    }
    return n;
}

/* An argument of a LaTeX command at s[*i]: a brace group, or one character
 * ("\frac12"), or a command name ("\frac\pi2"). [*a, *b) is its content. */
static bool latex_arg(const char *s, size_t n, size_t *i, size_t *a, size_t *b) {
    if (*i >= n) return false;
    if (s[*i] == '{') {
        size_t e = group_end(s, n, *i);
        if (e >= n) return false;
        *a = *i + 1;
        *b = e;
        *i = e + 1;
        return true;
    }
    *a = *i;
    if (s[*i] == '\\') {
        size_t k = *i + 1;
        while (k < n && is_alpha(s[k])) k++;
        if (k == *i + 1) k++;
        *i = k;
    } else {
        (*i)++;
    }
    *b = *i;
    return true;
}

/* A token that needs no parentheses around it in "A/B": digits, letters,
 * dots, or one command with its braces. */
static bool simple_token(const char *s) {
    if (!*s) return false;
    if (s[0] == '\\') {
        size_t k = 1;
        while (is_alpha(s[k])) k++;
        if (!s[k]) return true;
        if (s[k] == '{') {
            size_t e = group_end(s, strlen(s), k);
            return e < strlen(s) && !s[e + 1];
        }
        return false;
    }
    for (const char *p = s; *p; p++)
        if (!is_digit(*p) && !is_alpha(*p) && *p != '.') return false;
    return true;
}

static char *norm_range(const char *s, size_t n);

/* Appends the normalised s[a..b), in parentheses unless simple. */
static void append_part(dl_buf *out, const char *s, size_t a, size_t b) {
    char *p = norm_range(s + a, b - a);
    const char *t = p ? p : "";
    bool simple = simple_token(t);
    if (!simple) dl_buf_append(out, "(", 1);
    dl_buf_append(out, t, strlen(t));
    if (!simple) dl_buf_append(out, ")", 1);
    free(p);
}

/* Strips trailing fraction zeros of every decimal number in b ("5.0" -> "5",
 * "2.50" -> "2.5"), in place. */
static void trim_decimal_zeros(dl_buf *b) {
    char *s = b->data;
    size_t w = 0;
    for (size_t r = 0; r < b->len;) {
        if (s[r] == '.' && r > 0 && is_digit(s[r - 1]) && r + 1 < b->len && is_digit(s[r + 1])) {
            size_t e = r + 1;
            while (e < b->len && is_digit(s[e])) e++;
            if (e < b->len && (is_alpha(s[e]) || s[e] == '.')) { /* not a plain number */
                while (r < e) s[w++] = s[r++];
                continue;
            }
            size_t last = e;
            while (last > r + 1 && s[last - 1] == '0') last--;
            if (last > r + 1) { /* keep ".d..d" */
                for (size_t k = r; k < last; k++) s[w++] = s[k];
            }
            r = e;
            continue;
        }
        s[w++] = s[r++];
    }
    b->len = w;
    if (b->data) b->data[w] = 0;
}

/* The normal form of a LaTeX answer s[0..n) (malloc'd, "" allowed):
 * whitespace, \left/\right, LaTeX spacing, $ signs, degrees and percent
 * signs dropped; \text{}/\textbf{}/\mathrm{}/\mbox{} unwrapped;
 * \dfrac/\tfrac -> \frac; \frac{A}{B} -> A/B ((A)/(B) when not simple);
 * \sqrt2 -> \sqrt{2}; trailing fraction zeros dropped; a leading "x=" of a
 * single-letter variable and a final full stop dropped; "1,000" -> "1000". */
static char *norm_range(const char *s, size_t n) {
    dl_buf out = {0};
    dl_buf_append(&out, "", 0);
    static const char *const drop[] = {"\\left",  "\\right", "\\!",      "\\,",  "\\;",
                                       "\\:",     "\\ ",     "^{\\circ}", "^\\circ",
                                       "\xc2\xb0", "\\%",    "%",        "\\$",  "$",
                                       "\\displaystyle"};
    static const char *const unwrap[] = {"\\text{", "\\textbf{", "\\mathrm{", "\\mbox{",
                                         "\\textrm{", "\\mathbf{"};
    for (size_t i = 0; i < n;) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            i++;
            continue;
        }
        bool done = false;
        for (size_t k = 0; k < DL_ARRAY_LEN(drop) && !done; k++) {
            size_t l = strlen(drop[k]);
            if (!at(s, n, i, drop[k])) continue;
            /* \left / \right only as whole commands (not \leftarrow) */
            if (drop[k][0] == '\\' && is_alpha(drop[k][l - 1]) && i + l < n && is_alpha(s[i + l]))
                continue;
            i += l;
            done = true;
        }
        if (done) continue;
        for (size_t k = 0; k < DL_ARRAY_LEN(unwrap) && !done; k++) {
            size_t l = strlen(unwrap[k]);
            if (!at(s, n, i, unwrap[k])) continue;
            size_t e = group_end(s, n, i + l - 1);
            if (e >= n) break;
            char *inner = norm_range(s + i + l, e - (i + l));
            dl_buf_append(&out, inner, strlen(inner));
            free(inner);
            i = e + 1;
            done = true;
        }
        if (done) continue;
        if (at(s, n, i, "\\frac") || at(s, n, i, "\\dfrac") || at(s, n, i, "\\tfrac")) {
            size_t k = i + (s[i + 1] == 'f' ? 5 : 6);
            while (k < n && s[k] == ' ') k++;
            size_t a1, b1, a2, b2;
            if (latex_arg(s, n, &k, &a1, &b1)) {
                while (k < n && s[k] == ' ') k++;
                if (latex_arg(s, n, &k, &a2, &b2)) {
                    append_part(&out, s, a1, b1);
                    dl_buf_append(&out, "/", 1);
                    append_part(&out, s, a2, b2);
                    i = k;
                    continue;
                }
            }
        }
        if (at(s, n, i, "\\sqrt") && !(i + 5 < n && is_alpha(s[i + 5]))) {
            size_t k = i + 5, a, b;
            while (k < n && s[k] == ' ') k++;
            if (k < n && s[k] != '[' && latex_arg(s, n, &k, &a, &b)) {
                char *inner = norm_range(s + a, b - a);
                dl_buf_printf(&out, "\\sqrt{%s}", inner);
                free(inner);
                i = k;
                continue;
            }
        }
        dl_buf_append(&out, s + i, 1);
        i++;
    }
    trim_decimal_zeros(&out);
    char *r = out.data;
    size_t len = out.len;
    /* "x=5" -> "5" (one variable letter, something after the sign) */
    if (len > 2 && is_alpha(r[0]) && r[1] == '=') {
        memmove(r, r + 2, len - 1);
        len -= 2;
    }
    while (len > 1 && r[len - 1] == '.') r[--len] = 0;
    /* thousands separators: the whole answer is d{1,3}(,ddd)+ */
    bool grouped = len > 4;
    size_t first = 0;
    while (first < len && is_digit(r[first])) first++;
    if (first == 0 || first > 3) grouped = false;
    for (size_t k = first; grouped && k < len; k += 4)
        grouped = k + 4 <= len && r[k] == ',' && is_digit(r[k + 1]) && is_digit(r[k + 2]) &&
                  is_digit(r[k + 3]);
    if (grouped) {
        size_t w = 0;
        for (size_t k = 0; k < len; k++)
            if (r[k] != ',') r[w++] = r[k];
        len = w;
        r[len] = 0;
    }
    return r;
}

static char *math_norm(const char *s) { return norm_range(s, strlen(s)); }

/* The value of a plain number "-12.5", "3/4", "1e3"; false otherwise. */
static bool number_value(const char *s, double *out) {
    if (!s || !*s) return false;
    char *end;
    double v = strtod(s, &end);
    if (end == s) return false;
    if (*end == '/') {
        const char *d = end + 1;
        if (!is_digit(*d)) return false;
        double den = strtod(d, &end);
        if (*end || den == 0) return false;
        v /= den;
    } else if (*end) {
        return false;
    }
    if (!isfinite(v)) return false;
    *out = v;
    return true;
}

static bool numbers_equal(double a, double b) {
    return fabs(a - b) <= 1e-6 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* ---- loading ------------------------------------------------------------ */

/* The prompt: template with every "{question}" replaced. */
static char *fill_prompt(const char *tpl, const char *question) {
    dl_buf b = {0};
    for (const char *p = tpl; *p;) {
        if (!strncmp(p, "{question}", 10)) {
            dl_buf_append(&b, question, strlen(question));
            p += 10;
        } else {
            dl_buf_append(&b, p, 1);
            p++;
        }
    }
    dl_buf_append(&b, "", 0);
    return b.data;
}

/* Loads one dataset entry of the definition into out. */
static int load_dataset(const dl_eval_def *d, const json_t *ds, size_t di, const char *data_dir,
                        const char *tpl, bool group_by_dataset, dl_eval_samples *out,
                        dl_error *err) {
    const char *rel = dl_json_str(ds, "path");
    if (!rel) return dl_error_set(err, 400, "%s: datasets[%zu]: missing \"path\"", d->path, di);
    const char *name = dl_ku_opt_str(ds, "name", d->name);
    const char *qcol = dl_ku_opt_str(ds, "question", "question");
    const char *acol = dl_ku_opt_str(ds, "answer", "answer");
    const char *after = dl_json_str(ds, "answer_after");
    const char *idcol = dl_json_str(ds, "id");
    const char *gcol = dl_json_str(ds, "group");
    char *path = dl_eval_data_path(d, rel, data_dir);
    if (access(path, R_OK) != 0) {
        dl_error_set(err, 404, "%s: dataset file not found (--data-dir or DL_DATASETS sets the root)",
                     path);
        free(path);
        return -1;
    }
    json_t *rows;
    int rc = dl_eval_read_rows(path, &rows, err);
    if (rc) {
        free(path);
        return -1;
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char qb[32], ab[32], ib[32], gb[32];
        const char *q = dl_ku_text(row, qcol, qb, sizeof qb), *a = dl_ku_text(row, acol, ab, sizeof ab);
        const char *id = idcol ? dl_ku_text(row, idcol, ib, sizeof ib) : NULL;
        const char *grp = gcol ? dl_ku_text(row, gcol, gb, sizeof gb) : NULL;
        if (!q || !a || (idcol && !id) || (gcol && !grp)) {
            rc = dl_error_set(err, 400, "%s: row %zu: missing column '%s'", path, i + 1,
                              !q ? qcol : !a ? acol : (idcol && !id) ? idcol : gcol);
        } else {
            const char *gold = a;
            if (after) {
                const char *m = strstr(a, after);
                if (!m) {
                    rc = dl_error_set(err, 400, "%s: row %zu: the answer has no '%s'", path, i + 1,
                                      after);
                } else {
                    gold = m + strlen(after);
                    while (*gold == ' ') gold++;
                }
            }
            if (!rc) {
                char key[512], rowno[32];
                snprintf(rowno, sizeof rowno, "%zu", i);
                if (grp) snprintf(key, sizeof key, "%s:%s:%s", name, grp, id ? id : rowno);
                else snprintf(key, sizeof key, "%s:%s", name, id ? id : rowno);
                char *prompt = fill_prompt(tpl, q);
                dl_chat_msg m = {.role = DL_ROLE_USER, .content = prompt};
                json_t *ref = json_pack("{s:s}", "answer", gold);
                const char *group = grp ? grp : group_by_dataset ? name : NULL;
                if (group) json_object_set_new(ref, "group", json_string(group));
                dl_eval_samples_add(out, key, &m, 1, ref);
                free(prompt);
            }
        }
        if (rc) break;
    }
    json_decref(rows);
    free(path);
    return rc;
}

static int math_load(const dl_eval_def *d, const char *data_dir, uint64_t seed,
                     dl_eval_samples *out, dl_error *err) {
    (void)seed; /* no randomness: questions are asked as they are */
    json_t *dss = json_object_get(d->json, "datasets");
    if (!json_is_array(dss) || json_array_size(dss) == 0)
        return dl_error_set(err, 400, "%s: \"datasets\" must be a non-empty array", d->path);
    const char *tpl = dl_ku_opt_str(d->json, "prompt", DEFAULT_PROMPT);
    if (!strstr(tpl, "{question}"))
        return dl_error_set(err, 400, "%s: \"prompt\" must contain {question}", d->path);
    bool by_ds = json_is_true(json_object_get(d->json, "group_by_dataset"));
    size_t i;
    json_t *ds;
    json_array_foreach(dss, i, ds) {
        if (!json_is_object(ds))
            return dl_error_set(err, 400, "%s: datasets[%zu] must be an object", d->path, i);
        if (load_dataset(d, ds, i, data_dir, tpl, by_ds, out, err)) return -1;
    }
    return 0;
}

/* ---- grading -------------------------------------------------------------- */

static int math_grade(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                      const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    (void)ctx;
    *verdict = NULL;
    const char *gold = dl_json_str(s->ref, "answer");
    if (!gold) return dl_error_set(err, 400, "sample %s: no reference answer", s->key);
    dl_extract_kind ek = DL_EXTRACT_NUMBER;
    const char *ename = dl_json_str(d->json, "extract");
    if (ename && dl_extract_kind_parse(ename, &ek, err)) return -1;
    const char *cmp = dl_ku_opt_str(d->json, "compare", "numeric");
    bool latex = !strcmp(cmp, "latex");
    if (!latex && strcmp(cmp, "numeric"))
        return dl_error_set(err, 400, "%s: \"compare\" must be \"numeric\" or \"latex\"", d->path);

    char *got = dl_extract_answer(response ? response : "", ek);
    char *want = latex ? math_norm(gold) : dl_extract_answer(gold, DL_EXTRACT_NUMBER);
    char *norm_got = got ? (latex ? math_norm(got) : dl_xstrdup(got)) : NULL;
    bool correct = false;
    if (norm_got && want) {
        double x, y;
        if (number_value(norm_got, &x) && number_value(want, &y)) correct = numbers_equal(x, y);
        else correct = !strcmp(norm_got, want);
    }
    *verdict = json_pack("{s:i,s:b,s:o,s:s,s:o}", "score", correct ? 1 : 0, "correct", correct,
                         "extracted", got ? json_string(got) : json_null(), "gold", gold,
                         "normalized", norm_got ? json_string(norm_got) : json_null());
    free(got);
    free(want);
    free(norm_got);
    return 0;
}

/* ---- metrics ---------------------------------------------------------------- */

static int correct(const dl_eval_graded *g) {
    return json_is_true(json_object_get(g->grade, "correct"));
}

static int answered(const dl_eval_graded *g) {
    json_t *ex = json_object_get(g->grade, "extracted");
    return ex && !json_is_null(ex);
}

static int math_metrics(const dl_eval_def *d, const dl_eval_graded *g, size_t n, dl_metric **out,
                        size_t *n_out, dl_error *err) {
    (void)d;
    (void)err;
    dl_ku_metrics m = {0};
    dl_ku_metrics_add(&m, dl_ku_rate("accuracy", g, n, NULL, NULL, correct));
    dl_ku_metrics_add(&m, dl_ku_rate("answered", g, n, NULL, NULL, answered));
    dl_ku_group_rates(&m, "accuracy_", true, g, n, "group", correct);
    dl_ku_metrics_take(&m, out, n_out);
    return 0;
}

const dl_eval_kind dl_kind_math = {"math", math_load, math_grade, math_metrics};
