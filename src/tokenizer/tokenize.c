/* dl_tokenize: validate, split around special tokens, encode each raw
 * fragment with the vocabulary's algorithm, add BOS/EOS. */
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

/* SPM fragment: optional leading space (at the start and after a special
 * token), spaces escaped as U+2581, then the merge. */
static void encode_spm_fragment(const dl_tokenizer *t, const char *s, size_t len, bool prefix,
                                dl_ids *out) {
    size_t n_spaces = prefix ? 1 : 0;
    for (size_t i = 0; i < len; i++) n_spaces += s[i] == ' ';
    char *buf = dl_xmalloc(len + 2 * n_spaces + 4);
    size_t m = 0;
    if (prefix) {
        memcpy(buf, "\xE2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(buf + m, "\xE2\x96\x81", 3);
            m += 3;
        } else {
            buf[m++] = s[i];
        }
    }
    dl_spm_encode(t, buf, m, out);
    free(buf);
}

int dl_tokenize(const dl_tokenizer *t, const char *text, size_t len, bool add_special,
                bool parse_special, int32_t **ids, size_t *n_ids, dl_error *err) {
    *ids = NULL;
    *n_ids = 0;
    if (len > 0 && !text) return dl_error_set(err, 400, "tokenize: NULL text");
    size_t bad;
    if (!dl_utf8_valid(text, len, &bad))
        return dl_error_set(err, 400, "tokenize: invalid UTF-8 at byte %zu (0x%02X)", bad,
                            (unsigned)(unsigned char)text[bad]);
    size_t n_frag = 0;
    dl_frag *frags = len ? dl_special_split(t, text, len, parse_special, &n_frag) : NULL;
    dl_ids out = {0};
    if (add_special && t->add_bos) dl_ids_push(&out, t->bos);
    bool prev_special = true; /* SPM: a space prefix at the start and after specials */
    int rc = 0;
    for (size_t i = 0; i < n_frag && rc == 0; i++) {
        const dl_frag *f = &frags[i];
        if (f->token >= 0) {
            dl_ids_push(&out, f->token);
            prev_special = true;
        } else if (t->kind == DL_TOK_SPM) {
            encode_spm_fragment(t, text + f->off, f->len, t->add_space_prefix && prev_special, &out);
            prev_special = false;
        } else {
            rc = dl_bpe_encode(t, text + f->off, f->len, &out, err);
        }
    }
    free(frags);
    if (rc != 0) {
        free(out.v);
        return -1;
    }
    if (add_special && t->add_eos) dl_ids_push(&out, t->eos);
    if (!out.v) out.v = dl_xmalloc(sizeof(int32_t)); /* callers may always free */
    *ids = out.v;
    *n_ids = out.n;
    return 0;
}
