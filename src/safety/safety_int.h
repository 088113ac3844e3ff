/* safety internals shared by the text-processing files (normalize.c,
 * confusables.c, secrets.c, injection.c). Not part of the contract. */
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

#endif
