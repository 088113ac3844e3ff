/* tokenizer: SentencePiece-style ("llama") and byte-level BPE ("gpt2")
 * tokenizers built from GGUF metadata alone (tokenizer.ggml.*).
 *
 * BPE pre-tokenisation follows tokenizer.ggml.pre (llama-bpe, qwen2,
 * deepseek-r1-qwen, deepseek-coder, gpt-2, default, ...). Special tokens
 * (CONTROL and USER_DEFINED) are recognised in text only when the caller asks
 * (parse_special), except USER_DEFINED tokens which, like the reference, are
 * always matched. */
#ifndef DL_TOKENIZER_H
#define DL_TOKENIZER_H

#include "../base/base.h"
#include "../gguf/gguf.h"

typedef struct dl_tokenizer dl_tokenizer; /* opaque, independent of the gguf after load;
                                           * read-only after load, so one tokenizer may be
                                           * used from several threads at once */

/* Token types as stored in tokenizer.ggml.token_type. */
enum {
    DL_TOKEN_UNDEFINED = 0,
    DL_TOKEN_NORMAL = 1,
    DL_TOKEN_UNKNOWN = 2,
    DL_TOKEN_CONTROL = 3,
    DL_TOKEN_USER_DEFINED = 4,
    DL_TOKEN_UNUSED = 5,
    DL_TOKEN_BYTE = 6,
};

/* Builds the tokenizer from g's metadata. NULL + err (status 400) when the
 * metadata is missing, inconsistent or names an unsupported model/pre. */
dl_tokenizer *dl_tokenizer_load(const dl_gguf *g, dl_error *err);
void dl_tokenizer_free(dl_tokenizer *t);

int32_t dl_tokenizer_n_vocab(const dl_tokenizer *t);
int32_t dl_tokenizer_bos(const dl_tokenizer *t); /* -1 if none */
int32_t dl_tokenizer_eos(const dl_tokenizer *t); /* -1 if none */
bool dl_tokenizer_add_bos(const dl_tokenizer *t);
bool dl_tokenizer_add_eos(const dl_tokenizer *t);
/* End of generation: eos, eot, <|im_end|>, <|eot_id|>, ... */
bool dl_tokenizer_is_eog(const dl_tokenizer *t, int32_t id);
/* Type of a token after the reference's load-time fixes (e.g. "<|im_end|>" or
 * "</s>" become CONTROL, gpt-oss "<|message|>" USER_DEFINED; docs/tokenizer.md);
 * DL_TOKEN_UNDEFINED for an id out of range. */
int dl_tokenizer_token_type(const dl_tokenizer *t, int32_t id);
/* Token text exactly as stored in the vocabulary (e.g. "Ġthe", "▁the", "<0x0A>");
 * NULL for an id out of range. */
const char *dl_tokenizer_token_text(const dl_tokenizer *t, int32_t id);
/* Id of a token whose stored text is exactly `text`, or -1. */
int32_t dl_tokenizer_find(const dl_tokenizer *t, const char *text);

/* Tokenises text[0..len). add_special: add BOS/EOS as the metadata asks.
 * parse_special: CONTROL token text becomes its id. On success *ids is a
 * malloc'd array (caller frees) of *n_ids ids. Invalid UTF-8 is an error. */
int dl_tokenize(const dl_tokenizer *t, const char *text, size_t len, bool add_special,
                bool parse_special, int32_t **ids, size_t *n_ids, dl_error *err);

/* The bytes a token stands for when decoded (byte-level BPE mapped back to
 * bytes, "▁" to space, <0xXX> to the byte). Control tokens give their text
 * only when `special` is true, else nothing. Writes up to cap bytes and
 * returns the full length (like snprintf, without NUL). */
size_t dl_token_to_piece(const dl_tokenizer *t, int32_t id, bool special, char *out, size_t cap);

/* Streaming detokeniser: feed ids one at a time, get back only complete
 * UTF-8 text (bytes of a character split across tokens are held back until
 * the character is complete). SentencePiece's leading-space rule is applied
 * to the first token that prints something: set `first = false` after
 * dl_detok_init when the ids continue text already shown (e.g. a prompt). */
typedef struct dl_detok {
    const dl_tokenizer *t;
    bool special;   /* print control tokens' text */
    bool first;     /* next token is the first of the stream */
    char pending[8];
    size_t n_pending;
} dl_detok;
void dl_detok_init(dl_detok *d, const dl_tokenizer *t, bool special);
/* Appends the completed text for `id` to out. */
void dl_detok_push(dl_detok *d, int32_t id, dl_buf *out);
/* Flushes held-back bytes (invalid sequences become U+FFFD). */
void dl_detok_flush(dl_detok *d, dl_buf *out);

/* ---- pre-tokeniser and byte alphabet (also used to train vocabularies) ---- */

typedef struct dl_pretok dl_pretok; /* compiled regexes of one tokenizer.ggml.pre */

/* Compiles the regexes for `pre` (tokenizer.ggml.pre; NULL or "" = "default").
 * NULL + err (400) for an unknown name. */
dl_pretok *dl_pretok_new(const char *pre, dl_error *err);
void dl_pretok_free(dl_pretok *p);
/* Splits text[0..len) (valid UTF-8) into words: on return (*spans)[2*i] and
 * (*spans)[2*i+1] are the start and length of word i, *n_words words. The
 * array is malloc'd (caller frees). -1 + err on a regex engine failure. */
int dl_pretok_split(const dl_pretok *p, const char *text, size_t len, size_t **spans,
                    size_t *n_words, dl_error *err);

/* UTF-8 encoding of the code point that stands for byte b (1 or 2 bytes,
 * written to out); returns its length. */
int dl_bytelevel_encode(unsigned char b, char out[2]);

#endif
