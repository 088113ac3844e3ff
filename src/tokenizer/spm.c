/* SentencePiece-style encoding (the reference's "SPM" tokenizer): start from
 * single UTF-8 characters and repeatedly merge the adjacent pair whose
 * concatenation is the vocabulary token with the highest score (leftmost
 * first on ties). Characters that end up outside the vocabulary fall back
 * to <0xXX> byte tokens (or the unknown token when those are missing). */
#include <stdlib.h>

#include "tok_int.h"

static void try_add(const dl_tokenizer *t, const char *text, const dl_sym *sym, int32_t l,
                    int32_t r, dl_bheap *h) {
    if (l < 0 || r < 0) return;
    size_t n = sym[l].n + sym[r].n;
    int32_t id = dl_strmap_get(&t->token_ids, text + sym[l].start, n);
    if (id < 0) return;
    dl_bheap_push(h, (dl_bigram){-(double)t->scores[id], l, r, n});
}

void dl_spm_encode(const dl_tokenizer *t, const char *text, size_t len, dl_ids *out) {
    if (len == 0) return;
    dl_sym *sym = dl_xmalloc(len * sizeof *sym);
    int32_t n_sym = 0;
    for (size_t off = 0; off < len;) {
        int cl = dl_utf8_seq_len((unsigned char)text[off]);
        size_t n = cl > 0 ? DL_MIN((size_t)cl, len - off) : 1;
        sym[n_sym] = (dl_sym){n_sym - 1, off + n == len ? -1 : n_sym + 1, off, n};
        n_sym++;
        off += n;
    }
    dl_bheap h = {0};
    for (int32_t i = 1; i < n_sym; i++) try_add(t, text, sym, i - 1, i, &h);
    dl_bigram b;
    while (dl_bheap_pop(&h, &b)) {
        dl_sym *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = b.left;
        try_add(t, text, sym, l->prev, b.left, &h);
        try_add(t, text, sym, b.left, l->next, &h);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t id = dl_strmap_get(&t->token_ids, text + sym[i].start, sym[i].n);
        if (id >= 0) {
            dl_ids_push(out, id);
            continue;
        }
        for (size_t j = 0; j < sym[i].n; j++) {
            int32_t bid = t->byte_tokens[(unsigned char)text[sym[i].start + j]];
            if (bid < 0) bid = t->unk;
            if (bid >= 0) dl_ids_push(out, bid);
        }
    }
    free(h.v);
    free(sym);
}
