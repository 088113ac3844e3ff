/* Byte-level BPE (the reference's "BPE" tokenizer with GPT-2 byte mapping):
 * pre-tokenise a raw fragment into words with the vocabulary's regexes, map
 * each word's bytes to the GPT-2 alphabet, then repeatedly apply the merge
 * with the lowest rank (leftmost first on ties) inside each word. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

typedef struct bpe_ctx {
    const dl_tokenizer *t;
    const char *w; /* mapped word */
    dl_sym *sym;
    dl_bheap heap;
    char *key; /* scratch for "left right" */
    size_t key_cap;
} bpe_ctx;

static void add_bigram(bpe_ctx *c, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const dl_sym *a = &c->sym[l], *b = &c->sym[r];
    size_t n = a->n + 1 + b->n;
    if (n > c->key_cap) {
        c->key_cap = n * 2;
        c->key = dl_xrealloc(c->key, c->key_cap);
    }
    memcpy(c->key, c->w + a->start, a->n);
    c->key[a->n] = ' ';
    memcpy(c->key + a->n + 1, c->w + b->start, b->n);
    int32_t rank = dl_strmap_get(&c->t->merges, c->key, n);
    if (rank < 0) return;
    dl_bheap_push(&c->heap, (dl_bigram){(double)rank, l, r, a->n + b->n});
}

/* Merges one mapped word w[0..len) and appends its ids. */
static void encode_word(bpe_ctx *c, const char *w, size_t len, dl_ids *out) {
    const dl_tokenizer *t = c->t;
    if (t->ignore_merges) {
        int32_t id = dl_strmap_get(&t->token_ids, w, len);
        if (id >= 0) {
            dl_ids_push(out, id);
            return;
        }
    }
    c->w = w;
    c->sym = dl_xrealloc(c->sym, len * sizeof *c->sym);
    int32_t n_sym = 0;
    for (size_t off = 0; off < len;) {
        int cl = dl_utf8_seq_len((unsigned char)w[off]);
        size_t n = cl > 0 ? DL_MIN((size_t)cl, len - off) : 1;
        c->sym[n_sym] = (dl_sym){n_sym - 1, off + n == len ? -1 : n_sym + 1, off, n};
        n_sym++;
        off += n;
    }
    c->heap.n = 0;
    for (int32_t i = 1; i < n_sym; i++) add_bigram(c, i - 1, i);
    dl_bigram b;
    while (dl_bheap_pop(&c->heap, &b)) {
        dl_sym *l = &c->sym[b.left], *r = &c->sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) c->sym[r->next].prev = b.left;
        add_bigram(c, l->prev, b.left);
        add_bigram(c, b.left, l->next);
    }
    for (int32_t i = 0; i >= 0 && n_sym > 0; i = c->sym[i].next) {
        const char *s = w + c->sym[i].start;
        int32_t id = dl_strmap_get(&t->token_ids, s, c->sym[i].n);
        if (id >= 0) {
            dl_ids_push(out, id);
            continue;
        }
        /* not in the vocabulary: the reference tries each byte alone */
        for (size_t j = 0; j < c->sym[i].n; j++) {
            int32_t bid = dl_strmap_get(&t->token_ids, s + j, 1);
            if (bid >= 0) dl_ids_push(out, bid);
        }
    }
}

int dl_bpe_encode(const dl_tokenizer *t, const char *text, size_t len, dl_ids *out, dl_error *err) {
    size_t *spans = NULL, n_words = 0;
    if (dl_pretok_split(t->pretok, text, len, &spans, &n_words, err) != 0) return -1;
    bpe_ctx c = {.t = t};
    char *mapped = NULL;
    size_t mapped_cap = 0;
    for (size_t k = 0; k < n_words; k++) {
        const unsigned char *word = (const unsigned char *)text + spans[2 * k];
        size_t wlen = spans[2 * k + 1];
        if (2 * wlen > mapped_cap) {
            mapped_cap = 4 * wlen;
            mapped = dl_xrealloc(mapped, mapped_cap);
        }
        size_t m = 0;
        for (size_t i = 0; i < wlen; i++) m += (size_t)dl_bytelevel_encode(word[i], mapped + m);
        encode_word(&c, mapped, m, out);
    }
    free(mapped);
    free(c.sym);
    free(c.heap.v);
    free(c.key);
    free(spans);
    return 0;
}
