/* Splitting input text around special tokens, as the reference does: the
 * special tokens are taken one at a time, longest text first, and every
 * occurrence of each in the raw text left so far becomes a token fragment.
 * CONTROL and UNKNOWN tokens take part only when parse_special is set;
 * USER_DEFINED ones always do. A token with LSTRIP/RSTRIP swallows the ASCII
 * whitespace next to it. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

typedef struct frag_list {
    dl_frag *v;
    size_t n, cap;
} frag_list;

static void frag_push(frag_list *l, size_t off, size_t len, int32_t token) {
    if (token < 0 && len == 0) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = dl_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = (dl_frag){off, len, token};
}

static bool c_isspace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Splits one raw fragment at every occurrence of special token id. */
static void split_raw(const dl_tokenizer *t, int32_t id, const char *text, dl_frag f,
                      frag_list *out) {
    const char *tok = dl_tok_text(t, id);
    size_t tlen = t->text_len[id];
    uint32_t attr = t->attr[id];
    size_t off = f.off, len = f.len;
    while (len > 0) {
        const char *m = memmem(text + off, len, tok, tlen);
        if (!m) break;
        size_t mpos = (size_t)(m - text);
        size_t left = mpos - off;
        if (attr & DL_ATTR_LSTRIP)
            while (left > 0 && c_isspace(text[off + left - 1])) left--;
        frag_push(out, off, left, -1);
        frag_push(out, 0, 0, id);
        size_t roff = mpos + tlen, rlen = off + len - roff;
        if (attr & DL_ATTR_RSTRIP)
            while (rlen > 0 && c_isspace(text[roff])) {
                roff++;
                rlen--;
            }
        off = roff;
        len = rlen;
    }
    frag_push(out, off, len, -1);
}

dl_frag *dl_special_split(const dl_tokenizer *t, const char *text, size_t len, bool parse_special,
                          size_t *n) {
    frag_list cur = {0}, next = {0};
    frag_push(&cur, 0, len, -1);
    for (size_t s = 0; s < t->n_specials && cur.n > 0; s++) {
        int32_t id = t->specials[s];
        if (!parse_special && (t->attr[id] & (DL_ATTR_CONTROL | DL_ATTR_UNKNOWN))) continue;
        /* cheap rejection: the token text must occur somewhere in the input */
        if (!memmem(text, len, dl_tok_text(t, id), t->text_len[id])) continue;
        next.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            if (cur.v[i].token >= 0)
                frag_push(&next, 0, 0, cur.v[i].token);
            else
                split_raw(t, id, text, cur.v[i], &next);
        }
        frag_list tmp = cur;
        cur = next;
        next = tmp;
    }
    free(next.v);
    *n = cur.n;
    return cur.v;
}
