/* reason/ internal: the answer normalisation that extract.c applies, shared
 * with the verifiers. Not part of the module's contract. */
#ifndef DL_REASON_EXTRACT_INT_H
#define DL_REASON_EXTRACT_INT_H

#include <stdbool.h>
#include <stddef.h>

/* Normalises a whole answer value (a \boxed{} content, the value after
 * "Answer:", an expected answer): trimmed, unwrapped from $..$, **..**,
 * \text{..} and similar; a number in canonical form ("1,234.50" -> "1234.5",
 * "\frac{2}{4}" -> "1/2"); "(B)" -> "B" (with lower_choice also "b" -> "B");
 * otherwise the text with whitespace collapsed. malloc'd; NULL when empty.
 * Idempotent: normalising a normalised value returns it unchanged. */
char *dl_extract_norm_value(const char *s, size_t n, bool lower_choice);

/* Value of a canonical number ("-12.5", "3/4", "1/0" is not one); false when
 * s is not a number in that form. */
bool dl_extract_number_value(const char *s, double *out);

#endif
