/* safety internals shared by the files of src/safety/ and their tests:
 * text processing (normalize.c, confusables.c, secrets.c, injection.c), the
 * styles policy (styles.c) and the layered check (safety.c). Not part of the
 * contract. */
#ifndef DL_SAFETY_INT_H
#define DL_SAFETY_INT_H

#include "safety.h"

/* ---- confusables.c ---- */

/* The ASCII look-alike of a (case-folded) code point, or 0 when it has none.
 * *conditional (may be NULL) is set for letters of another script
 * (Cyrillic, Greek, Armenian, Cherokee): those are mapped only inside a word
 * that also holds Latin letters or whose letters all have look-alikes. */
char dl_confusable_ascii(uint32_t cp, bool *conditional);

/* ---- normalize.c ---- */

/* The first stage of dl_normalize on s[0..n) (capped at 1 MB): NFKC, case
 * folding, invisible characters and combining marks removed, accents and
 * confusables mapped to ASCII, every whitespace run kept as single spaces
 * (not collapsed). Returns the number of code points in *out (malloc'd,
 * caller frees; NULL when 0). No leetspeak, joining or squeezing. */
size_t dl_norm_fold(const char *s, size_t n, int32_t **out);

/* Called with every decoded payload found by dl_scan_encoded. */
typedef void (*dl_payload_fn)(void *ctx, const unsigned char *data, size_t len);

/* Finds encoded runs in s[0..n) and calls fn with each decoded run:
 * base64 runs of >= min_b64 characters, hex runs of >= min_hex digits,
 * (when s holds >= min_url escapes) the URL-decoded span from the first
 * to the last %xx escape, binary (>= 4 bytes as 8-digit groups) and Morse
 * code (>= 8 letters). With printable_only, a decoding is reported only
 * when it is valid UTF-8 made mostly of letters and spaces, and base64 runs
 * need valid padding; without it, every decoding is reported and base64
 * runs are also decoded from their 2nd, 3rd and 4th character. */
void dl_scan_encoded(const char *s, size_t n, size_t min_b64, size_t min_hex, size_t min_url,
                     bool printable_only, dl_payload_fn fn, void *ctx);

/* ---- response-style policy (styles.c) ---- */

/* One line of a styles file: "<category> <severity_min> <action>"; category
 * is a taxonomy name, a prefix ending in '*' ("self-harm*") or "*". */
typedef struct dl_style_rule {
    char cat[48];
    float severity_min;
    dl_action action;
} dl_style_rule;

typedef struct dl_styles {
    dl_style_rule *rules;
    size_t n;
} dl_styles;

/* Parses a styles file's text (see docs/safety.md); 400 naming the line. */
int dl_styles_parse(const char *text, dl_styles *out, dl_error *err);
void dl_styles_free(dl_styles *st);
/* The first rule matching (cat, score >= severity_min); the built-in
 * defaults when st is NULL or no rule matches. */
dl_action dl_styles_lookup(const dl_styles *st, dl_category cat, float score);

/* ---- the layered check (safety.c) ---- */

/* dl_safety_check with stage-1 scores given instead of computed (tests and
 * callers that already scored the text); given == NULL scores the text. */
int dl_safety_check_scores(dl_safety *s, const char *text, size_t len, const dl_scores *given,
                           dl_verdict *out, dl_error *err);

/* ASCII-lowercased copy of s[0..n) (malloc'd), typographic apostrophes made
 * plain, NUL bytes made spaces (text_util.c). */
char *dl_safety_lower(const char *s, size_t n);
/* Whether the n-byte word w equals one of the '|'-separated lowercase
 * alternatives in alts, ignoring ASCII case. */
bool dl_safety_word_in(const char *w, size_t n, const char *alts);

#endif
