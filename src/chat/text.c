/* Small string and date helpers for the formats (chat_int.h). */
#include <string.h>
#include <time.h>

#include "chat_int.h"

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

dl_str dl_str_of(const char *s) {
    return s ? (dl_str){s, strlen(s)} : (dl_str){"", 0};
}

dl_str dl_str_rtrim(dl_str s) {
    while (s.n > 0 && is_space(s.p[s.n - 1])) s.n--;
    return s;
}

dl_str dl_str_trim(dl_str s) {
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    return dl_str_rtrim(s);
}

dl_str dl_str_lstrip_nl(dl_str s) {
    while (s.n > 0 && s.p[0] == '\n') {
        s.p++;
        s.n--;
    }
    return s;
}

dl_str dl_str_strip_nl(dl_str s) {
    s = dl_str_lstrip_nl(s);
    while (s.n > 0 && s.p[s.n - 1] == '\n') s.n--;
    return s;
}

bool dl_str_contains(dl_str s, const char *needle) {
    return memmem(s.p, s.n, needle, strlen(needle)) != NULL;
}

bool dl_str_starts(dl_str s, const char *prefix) {
    size_t k = strlen(prefix);
    return s.n >= k && memcmp(s.p, prefix, k) == 0;
}

bool dl_str_ends(dl_str s, const char *suffix) {
    size_t k = strlen(suffix);
    return s.n >= k && memcmp(s.p + s.n - k, suffix, k) == 0;
}

dl_str dl_str_after_last(dl_str s, const char *needle, bool *found) {
    size_t k = strlen(needle);
    const char *last = NULL;
    for (const char *p = s.p; (p = memmem(p, s.n - (size_t)(p - s.p), needle, k)) != NULL; p++)
        last = p;
    if (found) *found = last != NULL;
    if (!last) return s;
    size_t off = (size_t)(last - s.p) + k;
    return (dl_str){s.p + off, s.n - off};
}

dl_str dl_str_before_first(dl_str s, const char *needle) {
    const char *p = memmem(s.p, s.n, needle, strlen(needle));
    if (p) s.n = (size_t)(p - s.p);
    return s;
}

void dl_chat_utc_date(const dl_chat_opts *o, struct tm *tm) {
    time_t t = o && o->now ? (time_t)o->now : time(NULL);
    if (!gmtime_r(&t, tm)) memset(tm, 0, sizeof *tm);
}

const char *dl_chat_month(int mon, bool full) {
    static const char *const names[12][2] = {
        {"Jan", "January"}, {"Feb", "February"}, {"Mar", "March"},     {"Apr", "April"},
        {"May", "May"},     {"Jun", "June"},     {"Jul", "July"},      {"Aug", "August"},
        {"Sep", "September"}, {"Oct", "October"}, {"Nov", "November"}, {"Dec", "December"},
    };
    if (mon < 0 || mon > 11) mon = 0;
    return names[mon][full ? 1 : 0];
}
