/* The prompt builder: template text vs message text (spans), deliberate's
 * delimited blocks, and the instructions (system + developer) writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_int.h"

static void pb_append(dl_pb *pb, const char *s, size_t n) {
    if (pb->too_big) return;
    if (pb->buf.max == 0) pb->buf.max = DL_CHAT_MAX_PROMPT;
    if (dl_buf_append(&pb->buf, s, n) != 0) pb->too_big = true;
}

void dl_pb_litn(dl_pb *pb, const char *s, size_t n) {
    pb_append(pb, s, n);
}

void dl_pb_lit(dl_pb *pb, const char *s) {
    pb_append(pb, s, strlen(s));
}

void dl_pb_litf(dl_pb *pb, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof tmp) abort(); /* callers format short template text */
    pb_append(pb, tmp, (size_t)k);
}

void dl_pb_bos(dl_pb *pb, const char *bos) {
    if (pb->buf.len != 0) abort(); /* programmer error: BOS must come first */
    dl_pb_lit(pb, bos);
    pb->bos_len = pb->buf.len;
}

void dl_pb_text(dl_pb *pb, dl_str s) {
    if (s.n == 0) return;
    size_t off = pb->buf.len;
    pb_append(pb, s.p, s.n);
    if (pb->too_big) return;
    if (pb->n_spans == pb->cap_spans) {
        pb->cap_spans = pb->cap_spans ? pb->cap_spans * 2 : 16;
        pb->spans = dl_xrealloc(pb->spans, pb->cap_spans * sizeof *pb->spans);
    }
    pb->spans[pb->n_spans++] = (dl_chat_span){off, s.n};
}

/* ---- blocks ---------------------------------------------------------------- */

static bool ascii_ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

/* Length of a closing block delimiter's start at s[0] ("<", spaces, "/",
 * spaces, block name), or 0. */
static size_t closing_tag_at(const char *s, size_t n) {
    static const char *const names[] = {"developer_instructions", "system_instructions",
                                        "tool_output"};
    if (n == 0 || s[0] != '<') return 0;
    size_t i = 1;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i >= n || s[i] != '/') return 0;
    i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    for (size_t k = 0; k < DL_ARRAY_LEN(names); k++) {
        size_t len = strlen(names[k]);
        if (n - i >= len && ascii_ieq(s + i, names[k], len)) return i + len;
    }
    return 0;
}

void dl_pb_block_text(dl_pb *pb, dl_str s) {
    size_t extra = 0;
    for (size_t i = 0; i < s.n; i++)
        if (closing_tag_at(s.p + i, s.n - i)) extra++;
    if (extra == 0) {
        dl_pb_text(pb, s);
        return;
    }
    char *t = dl_xmalloc(s.n + extra);
    size_t k = 0;
    for (size_t i = 0; i < s.n; i++) {
        t[k++] = s.p[i];
        if (closing_tag_at(s.p + i, s.n - i)) t[k++] = '\\';
    }
    dl_pb_text(pb, (dl_str){t, k});
    free(t);
}

void dl_pb_json_text(dl_pb *pb, dl_str s) {
    dl_buf b = {0};
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        if (esc)
            dl_buf_append(&b, esc, strlen(esc));
        else
            dl_buf_append(&b, &s.p[i], 1);
    }
    dl_pb_lit(pb, "\"");
    dl_pb_text(pb, (dl_str){b.data ? b.data : "", b.len});
    dl_pb_lit(pb, "\"");
    dl_buf_free(&b);
}

void dl_pb_dev_block(dl_pb *pb, dl_str text) {
    dl_pb_lit(pb, DL_DEV_OPEN);
    dl_pb_block_text(pb, text);
    dl_pb_lit(pb, DL_DEV_CLOSE);
}

void dl_pb_tool_block(dl_pb *pb, const char *name, dl_str text) {
    dl_pb_lit(pb, "<tool_output");
    if (name) {
        /* render.c checked the name's characters: it cannot end the attribute */
        dl_pb_lit(pb, " name=\"");
        dl_pb_lit(pb, name);
        dl_pb_lit(pb, "\"");
    }
    dl_pb_lit(pb, " note=\"" DL_TOOL_NOTE "\">\n");
    dl_pb_block_text(pb, text);
    dl_pb_lit(pb, DL_TOOL_CLOSE);
}

size_t dl_pb_tool_run(dl_pb *pb, const dl_chat_msg *m, size_t n, size_t i, bool trim) {
    size_t start = i;
    for (; i < n && m[i].role == DL_ROLE_TOOL; i++) {
        if (i > start) dl_pb_lit(pb, "\n");
        dl_str c = dl_str_of(m[i].content);
        dl_pb_tool_block(pb, m[i].name, trim ? dl_str_trim(c) : c);
    }
    return i;
}

/* ---- instructions ------------------------------------------------------------ */

size_t dl_chat_preamble_end(const dl_chat_msg *m, size_t n) {
    size_t k = n > 0 && m[0].role == DL_ROLE_SYSTEM ? 1 : 0;
    while (k < n && m[k].role == DL_ROLE_DEVELOPER) k++;
    return k;
}

bool dl_chat_has_role(const dl_chat_msg *m, size_t from, size_t to, dl_role r) {
    for (size_t i = from; i < to; i++)
        if (m[i].role == r) return true;
    return false;
}

/* Text of instruction message i as written (trimmed with DL_INSTR_TRIM). */
static dl_str instr_text(const dl_chat_msg *m, size_t i, unsigned how) {
    dl_str s = dl_str_of(m[i].content);
    return (how & DL_INSTR_TRIM) ? dl_str_trim(s) : s;
}

bool dl_chat_instr_empty(const dl_chat_msg *m, size_t from, size_t to, unsigned how) {
    for (size_t i = from; i < to; i++) {
        if (m[i].role == DL_ROLE_DEVELOPER) return false;
        if (m[i].role == DL_ROLE_SYSTEM && instr_text(m, i, how).n > 0) return false;
    }
    return true;
}

bool dl_pb_instructions(dl_pb *pb, const dl_chat_msg *m, size_t from, size_t to,
                        const char *default_sys, unsigned how) {
    bool any = false;
    bool has_text = false;
    for (size_t i = from; i < to; i++)
        if (m[i].role == DL_ROLE_SYSTEM && instr_text(m, i, how).n > 0) has_text = true;
    if (has_text) {
        if (how & DL_INSTR_WRAP_SYS) dl_pb_lit(pb, DL_SYS_OPEN);
        for (size_t i = from; i < to; i++) {
            dl_str s = instr_text(m, i, how);
            if (m[i].role != DL_ROLE_SYSTEM || s.n == 0) continue;
            if (any) dl_pb_lit(pb, "\n\n");
            any = true;
            if (how & DL_INSTR_WRAP_SYS)
                dl_pb_block_text(pb, s);
            else
                dl_pb_text(pb, s);
        }
        if (how & DL_INSTR_WRAP_SYS) dl_pb_lit(pb, DL_SYS_CLOSE);
    } else if (default_sys && !dl_chat_has_role(m, from, to, DL_ROLE_SYSTEM)) {
        dl_pb_lit(pb, default_sys);
        any = true;
    }
    for (size_t i = from; i < to; i++) {
        if (m[i].role != DL_ROLE_DEVELOPER) continue;
        if (any) dl_pb_lit(pb, "\n\n");
        dl_pb_dev_block(pb, instr_text(m, i, how));
        any = true;
    }
    return any;
}
