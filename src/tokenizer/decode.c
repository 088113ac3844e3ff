/* From ids back to text: token pieces and the streaming decoder. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

typedef struct sink {
    char *out;
    size_t cap, len;
} sink;

static void put(sink *s, const char *p, size_t n) {
    if (s->len < s->cap) memcpy(s->out + s->len, p, DL_MIN(n, s->cap - s->len));
    s->len += n;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t dl_token_to_piece(const dl_tokenizer *t, int32_t id, bool special, char *out, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return 0;
    sink s = {out, out ? cap : 0, 0};
    uint32_t attr = t->attr[id];
    const char *text = dl_tok_text(t, id);
    size_t len = t->text_len[id];
    if (attr & (DL_ATTR_UNKNOWN | DL_ATTR_CONTROL)) {
        if (special) put(&s, text, len);
        return s.len;
    }
    if (attr & DL_ATTR_USER_DEFINED) {
        put(&s, text, len);
        return s.len;
    }
    if (attr & DL_ATTR_NORMAL) {
        if (t->kind == DL_TOK_SPM) { /* U+2581 -> space */
            for (size_t i = 0; i < len;) {
                if (i + 3 <= len && memcmp(text + i, "\xE2\x96\x81", 3) == 0) {
                    put(&s, " ", 1);
                    i += 3;
                } else {
                    put(&s, text + i, 1);
                    i++;
                }
            }
        } else { /* GPT-2 alphabet -> bytes; other characters are kept as they are */
            for (size_t i = 0; i < len;) {
                uint32_t cp;
                int n = dl_utf8_decode(text + i, len - i, &cp);
                if (n == 0) {
                    put(&s, text + i, 1);
                    i++;
                    continue;
                }
                int b = dl_bytelevel_decode(cp);
                if (b >= 0) {
                    char c = (char)b;
                    put(&s, &c, 1);
                } else {
                    put(&s, text + i, (size_t)n);
                }
                i += (size_t)n;
            }
        }
        return s.len;
    }
    if ((attr & DL_ATTR_BYTE) && len == 6 && memcmp(text, "<0x", 3) == 0 && text[5] == '>') {
        int hi = hexval(text[3]), lo = hexval(text[4]);
        if (hi >= 0 && lo >= 0) {
            char c = (char)(hi * 16 + lo);
            put(&s, &c, 1);
        }
    }
    return s.len; /* UNUSED / UNDEFINED tokens print nothing */
}

void dl_detok_init(dl_detok *d, const dl_tokenizer *t, bool special) {
    d->t = t;
    d->special = special;
    d->first = true;
    d->n_pending = 0;
}

/* True when s[0..n) (n >= 1, shorter than its sequence) can still become a
 * valid UTF-8 character. */
static bool valid_prefix(const unsigned char *s, size_t n) {
    int len = dl_utf8_seq_len(s[0]);
    if (len <= 1 || n >= (size_t)len) return false;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return false;
    if (n >= 2) {
        unsigned char c = s[1];
        if (s[0] == 0xE0 && c < 0xA0) return false; /* overlong */
        if (s[0] == 0xED && c > 0x9F) return false; /* surrogate */
        if (s[0] == 0xF0 && c < 0x90) return false; /* overlong */
        if (s[0] == 0xF4 && c > 0x8F) return false; /* > U+10FFFF */
    }
    return true;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

/* Emits the complete characters of pending + data; keeps an incomplete
 * final character pending; bad bytes become U+FFFD. */
static void emit(dl_detok *d, const char *data, size_t n, dl_buf *out) {
    size_t total = d->n_pending + n;
    char small[256];
    char *buf = total <= sizeof small ? small : dl_xmalloc(total);
    memcpy(buf, d->pending, d->n_pending);
    memcpy(buf + d->n_pending, data, n);
    d->n_pending = 0;
    size_t i = 0, run = 0; /* run: start of bytes not yet appended */
    while (i < total) {
        uint32_t cp;
        int l = dl_utf8_decode(buf + i, total - i, &cp);
        if (l > 0) {
            i += (size_t)l;
            continue;
        }
        dl_buf_append(out, buf + run, i - run);
        if (valid_prefix((const unsigned char *)buf + i, total - i)) {
            memcpy(d->pending, buf + i, total - i);
            d->n_pending = total - i;
            run = i = total;
            break;
        }
        dl_buf_append(out, REPLACEMENT, 3);
        run = ++i;
    }
    dl_buf_append(out, buf + run, i - run);
    if (buf != small) free(buf);
}

void dl_detok_push(dl_detok *d, int32_t id, dl_buf *out) {
    char small[256];
    size_t n = dl_token_to_piece(d->t, id, d->special, small, sizeof small);
    char *piece = small;
    if (n > sizeof small) {
        piece = dl_xmalloc(n);
        dl_token_to_piece(d->t, id, d->special, piece, n);
    }
    const char *p = piece;
    if (n > 0 && d->first) {
        /* SentencePiece: the space the encoder put before the first word is not part of the text */
        if (d->t->kind == DL_TOK_SPM && d->t->add_space_prefix && p[0] == ' ') {
            p++;
            n--;
        }
        d->first = false;
    }
    if (n > 0) emit(d, p, n, out);
    if (piece != small) free(piece);
}

void dl_detok_flush(dl_detok *d, dl_buf *out) {
    for (size_t i = 0; i < d->n_pending; i++) dl_buf_append(out, REPLACEMENT, 3);
    d->n_pending = 0;
}
