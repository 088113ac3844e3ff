/* tokenizer internals: shared by the files of src/tokenizer only.
 *
 * Layout: strmap.c (string -> int hash map), unicode.c (GPT-2 byte alphabet),
 * pretok.c (regex pre-tokenisers), vocab.c (loading from GGUF), special.c
 * (splitting text around special tokens), spm.c and bpe.c (the two merge
 * algorithms), tokenize.c (dl_tokenize), decode.c (pieces, streaming). */
#ifndef DL_TOK_INT_H
#define DL_TOK_INT_H

#include "tokenizer.h"

/* ---- string -> int32 map (open addressing, keys not owned) ------------ */

typedef struct dl_strmap_slot {
    const char *key; /* NULL = empty */
    uint32_t len;
    uint32_t hash;
    int32_t value;
} dl_strmap_slot;

typedef struct dl_strmap {
    dl_strmap_slot *slots;
    size_t cap; /* power of two */
    size_t n;
} dl_strmap;

/* Sizes the map for about n keys. */
void dl_strmap_init(dl_strmap *m, size_t n);
void dl_strmap_free(dl_strmap *m);
/* Inserts key -> value. The key bytes must outlive the map. When the key is
 * already present: overwrite ? replace the value : keep the old one. */
void dl_strmap_put(dl_strmap *m, const char *key, size_t len, int32_t value, bool overwrite);
/* Value for key, or -1. */
int32_t dl_strmap_get(const dl_strmap *m, const char *key, size_t len);

/* ---- GPT-2 byte <-> unicode alphabet ----------------------------------- */

/* dl_bytelevel_encode is public (tokenizer.h). */
/* Byte a code point stands for, or -1 when cp is not in the alphabet. */
int dl_bytelevel_decode(uint32_t cp);

/* ---- pre-tokeniser ------------------------------------------------------ */

/* dl_pretok, dl_pretok_new/free/split are public (tokenizer.h). */
/* What the pre-tokenizer name implies for the vocabulary (the reference sets
 * these per name): emit whole words found in the vocabulary without merging,
 * and add BOS when tokenizer.ggml.add_bos_token is absent. */
bool dl_pretok_ignore_merges(const dl_pretok *p);
bool dl_pretok_default_add_bos(const dl_pretok *p);

/* ---- the tokenizer ------------------------------------------------------ */

/* Attribute bits, as the reference keeps them per token (a token can be
 * several things after the load-time fixes, e.g. USER_DEFINED | CONTROL). */
enum {
    DL_ATTR_UNDEFINED = 1 << 0,
    DL_ATTR_UNKNOWN = 1 << 1,
    DL_ATTR_UNUSED = 1 << 2,
    DL_ATTR_NORMAL = 1 << 3,
    DL_ATTR_CONTROL = 1 << 4,
    DL_ATTR_USER_DEFINED = 1 << 5,
    DL_ATTR_BYTE = 1 << 6,
    DL_ATTR_LSTRIP = 1 << 8,
    DL_ATTR_RSTRIP = 1 << 9,
};

typedef enum dl_tok_kind { DL_TOK_SPM = 1, DL_TOK_BPE = 2 } dl_tok_kind;

struct dl_tokenizer {
    dl_tok_kind kind;
    int32_t n_vocab;
    char *pool;           /* all token texts, each NUL-terminated */
    uint32_t *text_off;   /* [n_vocab] offset into pool */
    uint32_t *text_len;   /* [n_vocab] */
    float *scores;        /* [n_vocab] (0 when absent) */
    uint32_t *attr;       /* [n_vocab] DL_ATTR_* bits */
    uint8_t *stored_type; /* [n_vocab] DL_TOKEN_* after the load-time fixes */
    bool *eog;            /* [n_vocab] */
    dl_strmap token_ids;  /* text -> id (the last id wins for duplicates, as in the reference) */

    /* BPE merges: "left right" -> rank (first occurrence wins) */
    char *merge_pool;
    dl_strmap merges;
    dl_pretok *pretok;
    bool ignore_merges; /* a whole pre-token that is in the vocabulary is emitted as is */

    int32_t bos, eos, eot, eom, unk, pad;
    bool add_bos, add_eos, add_space_prefix;
    int32_t byte_tokens[256]; /* SPM byte fallback: id for each byte, -1 if none */

    int32_t *specials; /* ids matched in text, longest text first */
    size_t n_specials;
};

static inline const char *dl_tok_text(const dl_tokenizer *t, int32_t id) {
    return t->pool + t->text_off[id];
}

/* Appends ids to a growable array (abort on OOM: bounded by the input size). */
typedef struct dl_ids {
    int32_t *v;
    size_t n, cap;
} dl_ids;
void dl_ids_push(dl_ids *a, int32_t id);

/* Candidate merge of symbols left and right (adjacent when pushed). Lower
 * key first, then lower left: BPE uses the merge rank as key, SPM the
 * negated token score. `size` is the merged length in bytes, used to spot
 * candidates made stale by later merges. */
typedef struct dl_bigram {
    double key;
    int32_t left, right;
    size_t size;
} dl_bigram;

typedef struct dl_bheap {
    dl_bigram *v;
    size_t n, cap;
} dl_bheap;
void dl_bheap_push(dl_bheap *h, dl_bigram b);
/* Removes the first bigram into *out; false when empty. */
bool dl_bheap_pop(dl_bheap *h, dl_bigram *out);

/* A symbol of a word being merged: text[start..start+n), linked list. */
typedef struct dl_sym {
    int32_t prev, next;
    size_t start, n;
} dl_sym;

/* One fragment of input after special-token splitting. */
typedef struct dl_frag {
    size_t off, len; /* raw text: text[off..off+len) */
    int32_t token;   /* >= 0: a special token; -1: raw text */
} dl_frag;

/* Splits text into raw fragments and special tokens the way the reference
 * does (each special in turn, longest first, all occurrences). Returns a
 * malloc'd array (caller frees) of *n fragments. */
dl_frag *dl_special_split(const dl_tokenizer *t, const char *text, size_t len, bool parse_special,
                          size_t *n);

/* SentencePiece merge of text[0..len) (already space-escaped); appends ids. */
void dl_spm_encode(const dl_tokenizer *t, const char *text, size_t len, dl_ids *out);
/* Byte-level BPE of one raw fragment: pre-tokenise, map bytes, merge. */
int dl_bpe_encode(const dl_tokenizer *t, const char *text, size_t len, dl_ids *out, dl_error *err);

#endif
