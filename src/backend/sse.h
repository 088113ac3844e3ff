/* sse: an incremental reader of a server-sent event stream (the
 * text/event-stream format OpenAI-compatible servers stream replies in).
 *
 * Bytes are fed as they arrive, cut anywhere (inside a line, between "\r"
 * and "\n"). Lines end with "\n", "\r\n" or "\r"; "data:" lines of one event
 * are joined with "\n"; a blank line ends the event; lines starting with ":"
 * are comments; "event:" names the event; other fields ("id", "retry") and
 * a leading byte-order mark are ignored. One space after the colon is
 * dropped. Unlike a browser, an event still open when the stream ends is
 * delivered by dl_sse_finish (some servers omit the last blank line). */
#ifndef DL_SSE_H
#define DL_SSE_H

#include "../base/base.h"

/* Receives one event: its name ("" when none was given) and its data
 * (NUL-terminated; len excludes the NUL). Returns 0 to go on; any other
 * value stops the reader and is returned by the feed/finish call. */
typedef int (*dl_sse_event_fn)(void *ud, const char *event, const char *data, size_t len);

typedef struct dl_sse {
    dl_buf line;      /* the current line so far */
    dl_buf data;      /* the current event's data so far */
    dl_buf event;     /* the current event's name */
    bool has_data;    /* a data line was seen in the current event */
    bool after_cr;    /* the last byte fed was "\r" (a "\n" next belongs to it) */
    bool started;     /* a line was read (the first may start with a byte-order mark) */
    int stopped;      /* the callback's nonzero return, or -1 (too large) */
    dl_sse_event_fn fn;
    void *ud;
} dl_sse;

/* max_event bounds one line and one event's data (0 = 8 MiB). */
void dl_sse_init(dl_sse *s, size_t max_event, dl_sse_event_fn fn, void *ud);
/* Feeds bytes. Returns 0, the callback's nonzero return (nothing more is
 * read), or -1 when a line or an event exceeds max_event. Once stopped,
 * every later call returns the same value. */
int dl_sse_feed(dl_sse *s, const char *p, size_t n);
/* End of the stream: a pending line and event are delivered. Same returns. */
int dl_sse_finish(dl_sse *s);
void dl_sse_free(dl_sse *s);

#endif
