/* Small text helpers shared by the rule-based parts of the safety stack. */
#include <ctype.h>
#include <string.h>

#include "safety_int.h"

char *dl_safety_lower(const char *s, size_t n)
{
    char *o = dl_xmalloc(n + 1), *w = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x98 || (unsigned char)s[i + 2] == 0x99)) {
            *w++ = '\'';
            i += 2;
        } else {
            *w++ = c ? (char)tolower(c) : ' ';
        }
    }
    *w = 0;
    return o;
}

bool dl_safety_word_in(const char *w, size_t n, const char *alts)
{
    for (const char *p = alts;;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n) {
            size_t i = 0;
            while (i < n && (char)(w[i] | 32) == p[i]) i++;
            if (i == n) return true;
        }
        if (!e) return false;
        p = e + 1;
    }
}
