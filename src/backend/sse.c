/* The server-sent event reader (see sse.h). */
#include "sse.h"

#include <string.h>

enum { SSE_DEFAULT_MAX = 8 << 20 };

void dl_sse_init(dl_sse *s, size_t max_event, dl_sse_event_fn fn, void *ud)
{
    *s = (dl_sse){0};
    size_t max = max_event ? max_event : SSE_DEFAULT_MAX;
    s->line.max = max;
    s->data.max = max;
    s->event.max = 256;
    s->fn = fn;
    s->ud = ud;
}

void dl_sse_free(dl_sse *s)
{
    dl_buf_free(&s->line);
    dl_buf_free(&s->data);
    dl_buf_free(&s->event);
}

/* Ends the current event: delivers it when it has data, then clears it. */
static int dispatch(dl_sse *s)
{
    int rc = 0;
    if (s->has_data) {
        const char *ev = s->event.len ? s->event.data : "";
        const char *d = s->data.len ? s->data.data : "";
        rc = s->fn(s->ud, ev, d, s->data.len);
    }
    s->data.len = 0;
    s->event.len = 0;
    s->has_data = false;
    return rc;
}

/* Handles one complete line (without its end-of-line bytes). */
static int process_line(dl_sse *s, const char *l, size_t n)
{
    if (!s->started) {
        s->started = true;
        if (n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0) l += 3, n -= 3;
    }
    if (n == 0) return dispatch(s);
    if (l[0] == ':') return 0; /* comment (keep-alive) */
    const char *colon = memchr(l, ':', n);
    size_t name_len = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = (size_t)(l + n - v);
    if (vl > 0 && v[0] == ' ') v++, vl--;
    if (name_len == 4 && memcmp(l, "data", 4) == 0) {
        if (s->has_data && dl_buf_append(&s->data, "\n", 1) != 0) return -1;
        if (dl_buf_append(&s->data, v, vl) != 0) return -1;
        s->has_data = true;
    } else if (name_len == 5 && memcmp(l, "event", 5) == 0) {
        s->event.len = 0;
        if (dl_buf_append(&s->event, v, vl) != 0) return -1;
    }
    return 0;
}

int dl_sse_feed(dl_sse *s, const char *p, size_t n)
{
    if (s->stopped) return s->stopped;
    size_t i = 0;
    while (i < n) {
        if (s->after_cr) {
            s->after_cr = false;
            if (p[i] == '\n') { i++; continue; } /* the "\n" of a "\r\n" */
        }
        /* the run of bytes up to the next end of line */
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r') j++;
        if (dl_buf_append(&s->line, p + i, j - i) != 0) return s->stopped = -1;
        if (j == n) break;
        s->after_cr = p[j] == '\r';
        int rc = process_line(s, s->line.data ? s->line.data : "", s->line.len);
        s->line.len = 0;
        if (rc != 0) return s->stopped = rc;
        i = j + 1;
    }
    return 0;
}

int dl_sse_finish(dl_sse *s)
{
    if (s->stopped) return s->stopped;
    int rc = 0;
    if (s->line.len) {
        rc = process_line(s, s->line.data, s->line.len);
        s->line.len = 0;
    }
    if (rc == 0) rc = dispatch(s);
    if (rc != 0) s->stopped = rc;
    return rc;
}
