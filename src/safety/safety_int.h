/* safety internals shared by the files of src/safety/ and their tests. */
#ifndef DL_SAFETY_INT_H
#define DL_SAFETY_INT_H

#include "safety.h"

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

/* Parses a styles file's text (see docs/safety-policy.md); 400 naming the line. */
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

#endif
