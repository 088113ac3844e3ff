/* Argument parsing and output helpers shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gguf/gguf.h"
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

const char *cli_default_model(const char *how, char *out, size_t size) {
    dl_error err = {0};
    if (dl_default_model_path(out, size, &err)) return out;
    cli_fail("no model given (%s), and %s", how, err.msg);
    return NULL;
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

void cli_step_bar(int64_t step, int64_t total, const char *fmt, ...) {
    bool tty = isatty(2);
    if (!tty && step % DL_MAX(1, total / 10) != 0 && step != total) return;
    int width = 24, fill = total > 0 ? (int)((double)width * (double)step / (double)total) : 0;
    fprintf(stderr, "%s[", tty ? "\r" : "");
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] step %lld/%lld  ", (long long)step, (long long)total);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(tty ? "\033[K" : "\n", stderr);
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

int cli_parse_engine_opt(const char *cmd, int argc, char **argv, int *i, cli_engine_opts *o) {
    const char *a = argv[*i];
    const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    static const char *const names[] = {"--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
                                        "--frequency-penalty", "--presence-penalty", "--repeat-last-n",
                                        "--seed", "-c", "--ctx-size", "-t", "--threads", "--kv-type"};
    bool known = false;
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) known |= !strcmp(a, names[k]);
    if (!known) return 0;
    if (!v) return cli_usage_error(cmd, "option %s needs a value", a);
    (*i)++;
#define BAD(what) return cli_usage_error(cmd, "%s: '%s' is not " what, a, v)
    long n;
    dl_sampler_params *sp = &o->sp;
    if (!strcmp(a, "--temp")) {
        if (!cli_parse_float(v, 0.0f, 100.0f, &sp->temperature)) BAD("a temperature from 0 to 100");
    } else if (!strcmp(a, "--top-k")) {
        if (!cli_parse_long(v, 0, 1 << 30, &n)) BAD("a count");
        sp->top_k = (int32_t)n;
    } else if (!strcmp(a, "--top-p")) {
        if (!cli_parse_float(v, 0.0f, 1.0f, &sp->top_p)) BAD("a probability from 0 to 1");
    } else if (!strcmp(a, "--min-p")) {
        if (!cli_parse_float(v, 0.0f, 1.0f, &sp->min_p)) BAD("a probability from 0 to 1");
    } else if (!strcmp(a, "--repeat-penalty")) {
        if (!cli_parse_float(v, 0.0f, 100.0f, &sp->repeat_penalty)) BAD("a penalty from 0 to 100");
    } else if (!strcmp(a, "--frequency-penalty")) {
        if (!cli_parse_float(v, -100.0f, 100.0f, &sp->freq_penalty)) BAD("a number from -100 to 100");
    } else if (!strcmp(a, "--presence-penalty")) {
        if (!cli_parse_float(v, -100.0f, 100.0f, &sp->presence_penalty)) BAD("a number from -100 to 100");
    } else if (!strcmp(a, "--repeat-last-n")) {
        if (!cli_parse_long(v, 0, 65536, &n)) BAD("a count from 0 to 65536");
        sp->penalty_last_n = (int32_t)n;
    } else if (!strcmp(a, "--seed")) {
        if (!cli_parse_u64(v, &sp->seed)) BAD("an unsigned integer");
    } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
        if (!cli_parse_long(v, 0, 1 << 24, &o->n_ctx)) BAD("a context length");
    } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        if (!cli_parse_long(v, 1, 256, &o->n_threads)) BAD("a thread count from 1 to 256");
    } else if (!strcmp(v, "f32")) {
        o->kv_type = DL_TYPE_F32;
    } else if (!strcmp(v, "f16")) {
        o->kv_type = DL_TYPE_F16;
    } else {
        BAD("a KV cache type (f32 or f16)");
    }
#undef BAD
    return 1;
}
