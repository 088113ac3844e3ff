/* Names of the reasoning settings, their parsers, and the effort budgets
 * spec ("low=256,high=4096"). Names are matched without regard to case. */
#include "reason.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const effort_names[DL_EFFORT__COUNT] = {"none", "minimal", "low", "medium",
                                                           "high"};
static const char *const summary_names[] = {"off", "auto", "concise", "detailed"};
static const char *const extract_names[] = {"auto", "number", "choice", "boxed", "last-line"};

#define VALID_EFFORTS "none, minimal, low, medium, high"

/* Index of name (n bytes) in names[0..count), or -1. */
static int find_name(const char *const *names, size_t count, const char *name, size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0) return (int)i;
    return -1;
}

/* "a, b, c" for the error messages. */
static const char *list_names(const char *const *names, size_t count, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", names[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return buf;
}

/* Shared name parser: 0 and *out = index, or -1 + err naming `what`. */
static int parse_name(const char *const *names, size_t count, const char *what, const char *name,
                      int *out, dl_error *err)
{
    int i = name ? find_name(names, count, name, strlen(name)) : -1;
    if (i < 0) {
        char buf[128];
        return dl_error_set(err, 400, "unknown %s '%s' (valid: %s)", what, name ? name : "",
                            list_names(names, count, buf, sizeof buf));
    }
    *out = i;
    return 0;
}

const char *dl_effort_name(dl_effort e)
{
    return (unsigned)e < DL_EFFORT__COUNT ? effort_names[e] : "unknown";
}

int dl_effort_parse(const char *name, dl_effort *out, dl_error *err)
{
    int i;
    if (parse_name(effort_names, DL_EFFORT__COUNT, "reasoning effort", name, &i, err)) return -1;
    *out = (dl_effort)i;
    return 0;
}

dl_effort_budgets dl_effort_default_budgets(void)
{
    dl_effort_budgets b = {{0, 64, 512, 2048, 8192}};
    return b;
}

/* Parses one "level=tokens" item s[0..n) into *b. */
static int parse_budget_item(dl_effort_budgets *b, const char *s, size_t n, dl_error *err)
{
    size_t a = 0, e = n;
    while (a < e && (s[a] == ' ' || s[a] == '\t')) a++;
    while (e > a && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    if (a == e) return dl_error_set(err, 400, "effort budgets: empty item");
    const char *eq = memchr(s + a, '=', e - a);
    if (!eq)
        return dl_error_set(err, 400, "effort budgets: '%.*s' is not level=tokens", (int)(e - a),
                            s + a);
    size_t ke = (size_t)(eq - s), vs = ke + 1;
    while (ke > a && (s[ke - 1] == ' ' || s[ke - 1] == '\t')) ke--;
    while (vs < e && (s[vs] == ' ' || s[vs] == '\t')) vs++;
    int lvl = find_name(effort_names, DL_EFFORT__COUNT, s + a, ke - a);
    if (lvl < 0)
        return dl_error_set(err, 400, "effort budgets: unknown level '%.*s' (valid: %s)",
                            (int)(ke - a), s + a, VALID_EFFORTS);
    if (vs == e)
        return dl_error_set(err, 400, "effort budgets: no token count for '%.*s'", (int)(ke - a),
                            s + a);
    if (s[vs] == '-')
        return dl_error_set(err, 400, "effort budgets: negative token count '%.*s' for '%.*s'",
                            (int)(e - vs), s + vs, (int)(ke - a), s + a);
    int64_t v = 0;
    for (size_t k = vs; k < e; k++) {
        if (s[k] < '0' || s[k] > '9')
            return dl_error_set(err, 400, "effort budgets: '%.*s' for '%.*s' is not a token count",
                                (int)(e - vs), s + vs, (int)(ke - a), s + a);
        v = v * 10 + (s[k] - '0');
        if (v > INT32_MAX)
            return dl_error_set(err, 400, "effort budgets: token count for '%.*s' is too large",
                                (int)(ke - a), s + a);
    }
    if (lvl == DL_EFFORT_NONE && v != 0)
        return dl_error_set(err, 400, "effort budgets: 'none' is thinking off, its budget is 0");
    b->budget[lvl] = (int32_t)v;
    return 0;
}

/* Items are comma-separated; *b changes only when the whole spec is valid. */
int dl_effort_budgets_parse(dl_effort_budgets *b, const char *spec, dl_error *err)
{
    if (!spec) return dl_error_set(err, 400, "effort budgets: empty item");
    dl_effort_budgets nb = *b;
    const char *s = spec;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (parse_budget_item(&nb, s, n, err)) return -1;
        if (!comma) break;
        s = comma + 1;
    }
    *b = nb;
    return 0;
}

const char *dl_summary_name(dl_summary_mode m)
{
    return (unsigned)m < DL_ARRAY_LEN(summary_names) ? summary_names[m] : "unknown";
}

int dl_summary_parse(const char *name, dl_summary_mode *out, dl_error *err)
{
    int i;
    if (parse_name(summary_names, DL_ARRAY_LEN(summary_names), "reasoning summary", name, &i, err))
        return -1;
    *out = (dl_summary_mode)i;
    return 0;
}

const char *dl_extract_kind_name(dl_extract_kind k)
{
    return (unsigned)k < DL_ARRAY_LEN(extract_names) ? extract_names[k] : "unknown";
}

int dl_extract_kind_parse(const char *name, dl_extract_kind *out, dl_error *err)
{
    int i;
    if (name && strcasecmp(name, "last_line") == 0) name = "last-line";
    if (parse_name(extract_names, DL_ARRAY_LEN(extract_names), "answer extraction", name, &i, err))
        return -1;
    *out = (dl_extract_kind)i;
    return 0;
}
