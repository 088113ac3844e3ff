/* Argument parsing and output helpers shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("deliberate: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "deliberate %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'deliberate %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

bool cli_parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool cli_parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

bool cli_parse_float(const char *s, float lo, float hi, float *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || *end || isnan(v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

void cli_progress(float done, void *label) {
    static int last = -1;
    if (!isatty(2)) return;
    int pct = (int)(done * 100.0f);
    if (pct == last) return;
    last = pct;
    int width = 30, fill = (int)(done * (float)width);
    fprintf(stderr, "\r%s [", label ? (const char *)label : "");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%%", pct);
    if (pct >= 100) {
        fputs("\r\033[K", stderr);
        last = -1;
    }
    fflush(stderr);
}

void cli_json_escape(FILE *f, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        uint32_t cp;
        if (ch < 0x80) {
            switch (ch) {
            case '"': fputs("\\\"", f); break;
            case '\\': fputs("\\\\", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default:
                if (ch < 0x20) fprintf(f, "\\u%04x", ch);
                else fputc(ch, f);
            }
            i++;
            continue;
        }
        int len = dl_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            fputs("\\ufffd", f);
            i++;
        } else {
            fwrite(s + i, 1, (size_t)len, f);
            i += (size_t)len;
        }
    }
}
