/* Errors and logging. */
#include <stdio.h>
#include <string.h>

#include "base.h"

static const char *type_for_status(int status) {
    if (status == 404) return "not_found_error";
    if (status == 413) return "invalid_request_error";
    if (status >= 400 && status < 500) return "invalid_request_error";
    if (status == 501) return "not_implemented";
    return "server_error";
}

int dl_error_set(dl_error *err, int status, const char *fmt, ...) {
    if (!err) return -1;
    err->status = status ? status : 500;
    err->type = type_for_status(err->status);
    err->code = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* keep messages on one line */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

void dl_error_clear(dl_error *err) {
    if (!err) return;
    err->status = 0;
    err->type = NULL;
    err->code = NULL;
    err->msg[0] = '\0';
}

static dl_log_level g_level = DL_LOG_WARN;

void dl_log_set_level(dl_log_level level) { g_level = level; }

void dl_log(dl_log_level level, const char *fmt, ...) {
    if (level > g_level) return;
    static const char *names[] = {"error", "warn", "info", "debug"};
    fprintf(stderr, "deliberate: %s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
