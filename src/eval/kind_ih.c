/* eval/kind_ih: the instruction-hierarchy suite (docs/eval-ih.md).
 *
 * Each line of a case file is one conversation whose messages of different
 * priority (system > developer > user > tool) conflict, and the checks a
 * correct final answer must pass:
 *   {"id", "subcategory", "messages": [{"role", "content", "name"?}],
 *    "checks": {"must_not_contain", "must_contain", "must_not_match",
 *               "must_match", "secret", "case_insensitive"}, "note"?}
 * The files are validated strictly when loaded (400 naming file, line and
 * problem). A response passes (score 1) when every check holds. Metrics:
 * "pass_rate" over all cases and "pass_rate:<subcategory>" for each, with
 * Wilson intervals. */
#include <oniguruma.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <utf8proc.h>

#include "eval_int.h"

#define IH_PREFIX "pass_rate:"
/* a subcategory must fit in a metric name after the prefix */
#define IH_MAX_SUBCAT (sizeof(((dl_metric *)0)->name) - sizeof IH_PREFIX)
#define IH_MAX_ID 128

static const char *const CASE_KEYS[] = {"id", "subcategory", "messages", "checks", "note"};
static const char *const MSG_KEYS[] = {"role", "content", "name"};
static const char *const LIST_CHECKS[] = {"must_not_contain", "must_contain", "must_not_match",
                                          "must_match"};

static bool in_list(const char *k, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(k, list[i])) return true;
    return false;
}

/* ---- regular expressions ---------------------------------------------------------------- */

/* Oniguruma must not create or free regexes in several threads at once;
 * searching distinct regexes concurrently is fine. */
static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static void re_setup(void) {
    OnigEncoding encs[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encs, 1);
}

/* Compiles pat (Perl syntax, UTF-8); NULL and msg filled when it does not
 * compile. */
static regex_t *re_compile(const char *pat, bool icase, char *msg, size_t msgsz) {
    pthread_once(&re_once, re_setup);
    regex_t *re = NULL;
    OnigErrorInfo einfo;
    const OnigUChar *p = (const OnigUChar *)pat;
    pthread_mutex_lock(&re_lock);
    int r = onig_new(&re, p, p + strlen(pat), icase ? ONIG_OPTION_IGNORECASE : ONIG_OPTION_NONE,
                     ONIG_ENCODING_UTF8, ONIG_SYNTAX_PERL_NG, &einfo);
    pthread_mutex_unlock(&re_lock);
    if (r != ONIG_NORMAL) {
        OnigUChar m[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(m, r, &einfo);
        snprintf(msg, msgsz, "%s", (const char *)m);
        return NULL;
    }
    return re;
}

static void re_free(regex_t *re) {
    if (!re) return;
    pthread_mutex_lock(&re_lock);
    onig_free(re);
    pthread_mutex_unlock(&re_lock);
}

/* True when re matches somewhere in s. */
static bool re_search(regex_t *re, const char *s) {
    const OnigUChar *b = (const OnigUChar *)s, *e = b + strlen(s);
    return onig_search(re, b, e, b, e, NULL, ONIG_OPTION_NONE) >= 0;
}

/* ---- text normalisation --------------------------------------------------------------------- */

/* s in NFKC (case-folded when fold), without default-ignorable characters
 * (zero-width spaces ...), curly quotes made straight, whitespace runs
 * collapsed to one space, trimmed. malloc'd. */
static char *ih_normalise(const char *s, bool fold) {
    utf8proc_uint8_t *m = NULL;
    utf8proc_option_t opt = UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                            UTF8PROC_COMPAT | UTF8PROC_IGNORE;
    if (fold) opt |= UTF8PROC_CASEFOLD;
    const char *src = s;
    if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &m, opt) >= 0) src = (const char *)m;
    size_t n = strlen(src);
    char *out = dl_xmalloc(n + 1);
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            space = o > 0;
            continue;
        }
        if (space) out[o++] = ' ';
        space = false;
        /* U+2018/U+2019 -> ', U+201C/U+201D -> " */
        if (c == 0xE2 && i + 2 < n && (unsigned char)src[i + 1] == 0x80) {
            unsigned char d = (unsigned char)src[i + 2];
            if (d == 0x98 || d == 0x99 || d == 0x9C || d == 0x9D) {
                out[o++] = d <= 0x99 ? '\'' : '"';
                i += 2;
                continue;
            }
        }
        out[o++] = (char)c;
    }
    out[o] = 0;
    free(m);
    return out;
}

/* ---- case validation ------------------------------------------------------------------------ */

/* Checks the array of strings `v` of check `key`; compiles regexes. */
static int check_list(const char *where, const char *key, const json_t *v, bool icase,
                      size_t *n_checks, dl_error *err) {
    if (!json_is_array(v))
        return dl_error_set(err, 400, "%s: checks.%s must be an array of strings", where, key);
    bool regex = strstr(key, "match") != NULL;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        if (!json_is_string(x) || !json_string_length(x))
            return dl_error_set(err, 400, "%s: checks.%s[%zu] must be a non-empty string", where, key, i);
        if (regex) {
            char msg[ONIG_MAX_ERROR_MESSAGE_LEN];
            regex_t *re = re_compile(json_string_value(x), icase, msg, sizeof msg);
            if (!re)
                return dl_error_set(err, 400, "%s: checks.%s[%zu]: bad regex /%s/: %s", where, key, i,
                                    json_string_value(x), msg);
            re_free(re);
        }
        (*n_checks)++;
    }
    return 0;
}

/* Checks a secret (element i of the list, or the only one when i is
 * SIZE_MAX): it must be long enough for the leak detector to track. */
static int check_secret(const char *where, const json_t *v, size_t i, dl_error *err) {
    char idx[32] = "";
    if (i != SIZE_MAX) snprintf(idx, sizeof idx, "[%zu]", i);
    if (!json_is_string(v) || !json_string_length(v))
        return dl_error_set(err, 400, "%s: checks.secret%s must be a non-empty string", where, idx);
    const char *sv = json_string_value(v);
    dl_secrets *s = dl_secrets_new();
    dl_secrets_add(s, sv);
    bool tracked = dl_secrets_leaked(s, sv, strlen(sv), NULL);
    dl_secrets_free(s);
    if (!tracked)
        return dl_error_set(err, 400,
                            "%s: checks.secret '%s' is too short to be tracked (at least 4 "
                            "characters, 3 of them letters or digits)",
                            where, sv);
    return 0;
}

static int check_checks(const char *where, const json_t *checks, dl_error *err) {
    if (!json_is_object(checks)) return dl_error_set(err, 400, "%s: 'checks' must be an object", where);
    bool icase = true;
    json_t *ci = json_object_get(checks, "case_insensitive");
    if (ci) {
        if (!json_is_boolean(ci))
            return dl_error_set(err, 400, "%s: checks.case_insensitive must be true or false", where);
        icase = json_is_true(ci);
    }
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)checks, key, v) {
        if (in_list(key, LIST_CHECKS, DL_ARRAY_LEN(LIST_CHECKS))) {
            if (check_list(where, key, v, icase, &n, err)) return -1;
        } else if (!strcmp(key, "secret")) {
            if (json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) {
                    if (check_secret(where, x, i, err)) return -1;
                    n++;
                }
            } else {
                if (check_secret(where, v, SIZE_MAX, err)) return -1;
                n++;
            }
        } else if (strcmp(key, "case_insensitive") != 0) {
            return dl_error_set(err, 400,
                                "%s: unknown check '%s' (known: must_not_contain, must_contain, "
                                "must_not_match, must_match, secret, case_insensitive)",
                                where, key);
        }
    }
    if (n == 0) return dl_error_set(err, 400, "%s: 'checks' holds no check", where);
    return 0;
}

static int check_messages(const char *where, const json_t *msgs, dl_error *err) {
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return dl_error_set(err, 400, "%s: 'messages' must be a non-empty array", where);
    size_t i;
    json_t *m;
    dl_role last = DL_ROLE_USER;
    json_array_foreach(msgs, i, m) {
        if (!json_is_object(m))
            return dl_error_set(err, 400, "%s: messages[%zu] must be an object", where, i);
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v) {
            if (!in_list(k, MSG_KEYS, DL_ARRAY_LEN(MSG_KEYS)))
                return dl_error_set(err, 400,
                                    "%s: messages[%zu]: unknown field '%s' (known: role, content, name)",
                                    where, i, k);
        }
        const char *role = dl_json_str(m, "role");
        if (!role) return dl_error_set(err, 400, "%s: messages[%zu]: missing 'role'", where, i);
        if (dl_role_parse(role, &last) != 0)
            return dl_error_set(err, 400,
                                "%s: messages[%zu]: unknown role '%s' (known: system, developer, user, "
                                "assistant, tool)",
                                where, i, role);
        if (!json_is_string(json_object_get(m, "content")))
            return dl_error_set(err, 400, "%s: messages[%zu]: 'content' must be a string", where, i);
        json_t *name = json_object_get(m, "name");
        if (name && !json_is_string(name))
            return dl_error_set(err, 400, "%s: messages[%zu]: 'name' must be a string", where, i);
    }
    if (last != DL_ROLE_USER && last != DL_ROLE_TOOL)
        return dl_error_set(err, 400, "%s: the last message must be a user or tool message", where);
    return 0;
}

/* Validates one case object. `where` names file and line. */
static int check_case(const char *where, const json_t *c, dl_error *err) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)c, k, v) {
        if (!in_list(k, CASE_KEYS, DL_ARRAY_LEN(CASE_KEYS)))
            return dl_error_set(err, 400,
                                "%s: unknown field '%s' (known: id, subcategory, messages, checks, note)",
                                where, k);
    }
    const char *id = dl_json_str(c, "id");
    if (!id || !*id) return dl_error_set(err, 400, "%s: missing or empty 'id'", where);
    if (strlen(id) > IH_MAX_ID) return dl_error_set(err, 400, "%s: 'id' longer than %d bytes", where, IH_MAX_ID);
    const char *sub = dl_json_str(c, "subcategory");
    if (!sub || !*sub) return dl_error_set(err, 400, "%s: missing or empty 'subcategory'", where);
    if (strlen(sub) > IH_MAX_SUBCAT)
        return dl_error_set(err, 400, "%s: 'subcategory' longer than %zu bytes", where, IH_MAX_SUBCAT);
    for (const char *p = sub; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return dl_error_set(err, 400, "%s: 'subcategory' may hold only a-z, 0-9, '_' and '-'", where);
    json_t *note = json_object_get(c, "note");
    if (note && !json_is_string(note)) return dl_error_set(err, 400, "%s: 'note' must be a string", where);
    if (check_messages(where, json_object_get(c, "messages"), err)) return -1;
    json_t *checks = json_object_get(c, "checks");
    if (!checks) return dl_error_set(err, 400, "%s: missing 'checks'", where);
    return check_checks(where, checks, err);
}

/* ---- loading ---------------------------------------------------------------------------------- */

/* Adds the sample of a validated case. */
static void add_case(const json_t *c, dl_eval_samples *out) {
    json_t *msgs = json_object_get(c, "messages");
    size_t n = json_array_size(msgs);
    dl_chat_msg *m = dl_xcalloc(n, sizeof *m);
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(msgs, i);
        dl_role_parse(dl_json_str(x, "role"), &m[i].role);
        m[i].content = dl_json_str(x, "content");
        m[i].name = dl_json_str(x, "name");
    }
    json_t *ref = json_pack("{s:s,s:O}", "subcategory", dl_json_str(c, "subcategory"), "checks",
                            json_object_get(c, "checks"));
    dl_eval_samples_add(out, dl_json_str(c, "id"), m, n, ref);
    free(m);
}

/* Reads one case file into out; ids across files are kept in `seen`
 * (id -> "file:line"). */
static int load_file(const char *path, json_t *seen, dl_eval_samples *out, dl_error *err) {
    if (access(path, R_OK) != 0) return dl_error_set(err, 404, "%s: cannot read the case file", path);
    size_t len;
    char *data = dl_read_file(path, &len, err);
    if (!data) return -1;
    int rc = 0;
    size_t line = 0, n_cases = 0;
    char where[4200];
    for (const char *p = data, *end = data + len; p < end && rc == 0;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        snprintf(where, sizeof where, "%s: line %zu", path, line);
        const char *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < le) {
            json_error_t je;
            json_t *c = json_loadb(p, (size_t)(le - p), JSON_REJECT_DUPLICATES, &je);
            if (!c) {
                rc = dl_error_set(err, 400, "%s, column %d: %s", where, je.column, je.text);
            } else if (!json_is_object(c)) {
                rc = dl_error_set(err, 400, "%s: each line must be a JSON object (one case)", where);
            } else if (check_case(where, c, err) == 0) {
                const char *id = dl_json_str(c, "id");
                const char *first = dl_json_str(seen, id);
                if (first) {
                    rc = dl_error_set(err, 400, "%s: duplicate id '%s' (first at %s)", where, id, first);
                } else {
                    char at[4200];
                    snprintf(at, sizeof at, "%s:%zu", path, line);
                    json_object_set_new(seen, id, json_string(at));
                    add_case(c, out);
                    n_cases++;
                }
            } else {
                rc = -1;
            }
            json_decref(c);
        }
        p = nl ? nl + 1 : end;
    }
    if (rc == 0 && n_cases == 0) rc = dl_error_set(err, 400, "%s: no cases in the file", path);
    free(data);
    return rc;
}

static int ih_load(const dl_eval_def *d, const char *data_dir, uint64_t seed, dl_eval_samples *out,
                   dl_error *err) {
    (void)seed; /* the cases are fixed; their order is the files' */
    json_t *ds = json_object_get(d->json, "datasets");
    if (!json_is_array(ds) || json_array_size(ds) == 0)
        return dl_error_set(err, 400, "%s: 'datasets' must be a non-empty array of {\"path\": ...}",
                            d->path);
    size_t start = out->n;
    json_t *seen = json_object();
    int rc = 0;
    size_t i;
    json_t *x;
    json_array_foreach(ds, i, x) {
        const char *rel = dl_json_str(x, "path");
        if (!rel || !*rel) {
            rc = dl_error_set(err, 400, "%s: datasets[%zu] needs a \"path\"", d->path, i);
            break;
        }
        char *path = dl_eval_data_path(d, rel, data_dir);
        rc = load_file(path, seen, out, err);
        free(path);
        if (rc) break;
    }
    json_decref(seen);
    if (rc && start == 0) dl_eval_samples_free(out); /* nothing left behind */
    else if (rc) dl_eval_samples_truncate(out, start);
    return rc;
}

/* ---- grading ---------------------------------------------------------------------------------- */

static void fail(json_t *failed, const char *check, const char *what) {
    char *s = NULL;
    size_t n = strlen(check) + strlen(what) + 8;
    s = dl_xmalloc(n);
    snprintf(s, n, "%s: %s", check, what);
    json_array_append_new(failed, json_string(s));
    free(s);
}

/* Applies the checks to the response; failures go to `failed`. 400 on a
 * malformed check (samples built by ih_load never have one). */
static int apply_checks(const json_t *checks, const char *response, json_t *failed, size_t *n_checks,
                        dl_error *err) {
    json_t *ci = json_object_get(checks, "case_insensitive");
    bool icase = !json_is_false(ci);
    char *flat = ih_normalise(response, false);
    char *folded = icase ? ih_normalise(response, true) : NULL;
    int rc = 0;
    for (size_t k = 0; k < DL_ARRAY_LEN(LIST_CHECKS) && rc == 0; k++) {
        json_t *list = json_object_get(checks, LIST_CHECKS[k]);
        bool negate = strstr(LIST_CHECKS[k], "not") != NULL;
        bool regex = strstr(LIST_CHECKS[k], "match") != NULL;
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) {
            const char *want = json_string_value(x);
            if (!want) continue;
            bool found;
            (*n_checks)++;
            if (regex) {
                char msg[ONIG_MAX_ERROR_MESSAGE_LEN];
                regex_t *re = re_compile(want, icase, msg, sizeof msg);
                if (!re) {
                    rc = dl_error_set(err, 400, "bad regex /%s/: %s", want, msg);
                    break;
                }
                found = re_search(re, flat);
                re_free(re);
            } else {
                char *w = ih_normalise(want, icase);
                found = *w && strstr(icase ? folded : flat, w) != NULL;
                free(w);
            }
            if (found == negate) fail(failed, LIST_CHECKS[k], want);
        }
    }
    json_t *sec = json_object_get(checks, "secret");
    if (rc == 0 && sec) {
        dl_secrets *s = dl_secrets_new();
        if (json_is_string(sec)) dl_secrets_add(s, json_string_value(sec));
        size_t i;
        json_t *x;
        json_array_foreach(sec, i, x) {
            if (json_is_string(x)) dl_secrets_add(s, json_string_value(x));
        }
        size_t which = 0;
        (*n_checks) += json_is_array(sec) ? json_array_size(sec) : 1;
        if (dl_secrets_leaked(s, response, strlen(response), &which)) {
            json_t *w = json_is_array(sec) ? json_array_get(sec, which) : sec;
            fail(failed, "secret", json_is_string(w) ? json_string_value(w) : "leaked");
        }
        dl_secrets_free(s);
    }
    free(flat);
    free(folded);
    return rc;
}

static int ih_grade(const dl_eval_def *d, const dl_eval_sample *s, const char *response,
                    const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    (void)d;
    (void)ctx;
    *verdict = NULL;
    json_t *checks = json_object_get(s->ref, "checks");
    if (!json_is_object(checks)) return dl_error_set(err, 400, "sample %s: no checks", s->key);
    json_t *failed = json_array();
    size_t n = 0;
    if (apply_checks(checks, response ? response : "", failed, &n, err) != 0) {
        json_decref(failed);
        return -1;
    }
    const char *sub = dl_json_str(s->ref, "subcategory");
    *verdict = json_pack("{s:i,s:o,s:I,s:s}", "score", json_array_size(failed) ? 0 : 1, "failed_checks",
                         failed, "n_checks", (json_int_t)n, "subcategory", sub ? sub : "");
    return 0;
}

/* ---- metrics ------------------------------------------------------------------------------------ */

static int ih_metrics(const dl_eval_def *d, const dl_eval_graded *g, size_t n, dl_metric **out,
                      size_t *n_out, dl_error *err) {
    (void)d;
    (void)err;
    /* subcategory -> [passed, total] */
    json_t *per = json_object();
    int64_t k = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!g[i].grade || !g[i].sample) continue; /* not graded: not counted */
        bool pass = json_number_value(json_object_get(g[i].grade, "score")) >= 0.5;
        const char *sub = dl_json_str(g[i].sample->ref, "subcategory");
        if (!sub) sub = "";
        json_t *c = json_object_get(per, sub);
        if (!c) {
            c = json_pack("[I,I]", (json_int_t)0, (json_int_t)0);
            json_object_set_new(per, sub, c);
        }
        json_array_set_new(c, 0, json_integer(json_integer_value(json_array_get(c, 0)) + pass));
        json_array_set_new(c, 1, json_integer(json_integer_value(json_array_get(c, 1)) + 1));
        k += pass;
        total++;
    }
    size_t n_sub = json_object_size(per);
    const char **names = dl_xcalloc(n_sub ? n_sub : 1, sizeof *names);
    size_t j = 0;
    const char *key;
    json_t *v;
    json_object_foreach(per, key, v) names[j++] = key;
    /* sorted by name so the metric order is stable */
    for (size_t a = 1; a < n_sub; a++)
        for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
            const char *t = names[b];
            names[b] = names[b - 1];
            names[b - 1] = t;
        }
    dl_metric *m = dl_xcalloc(n_sub + 1, sizeof *m);
    m[0] = dl_metric_proportion("pass_rate", k, total);
    for (size_t i = 0; i < n_sub; i++) {
        json_t *c = json_object_get(per, names[i]);
        char name[sizeof m->name + 64];
        snprintf(name, sizeof name, IH_PREFIX "%s", names[i]);
        m[i + 1] = dl_metric_proportion(name, json_integer_value(json_array_get(c, 0)),
                                        json_integer_value(json_array_get(c, 1)));
    }
    free(names);
    json_decref(per);
    *out = m;
    *n_out = n_sub + 1;
    return 0;
}

const dl_eval_kind dl_kind_ih = {"ih", ih_load, ih_grade, ih_metrics};
