/* safety/cot: the chain-of-thought monitor — phrase rules for plans to
 * deceive, fabricate or sandbag, plus the layered check (classifier, and the
 * policy reasoner when configured) on the hidden reasoning.
 * docs/safety.md lists the rules. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safety_int.h"

/* A rule fires when `a` occurs and, if `b` is set, one of the '|'-separated
 * phrases of `b` follows within WINDOW bytes (same sentence or so). */
typedef struct cot_rule {
    unsigned flag;
    const char *a;
    const char *b;
} cot_rule;

enum { WINDOW = 120 };

static const cot_rule RULES[] = {
    /* deception: a plan to mislead the user */
    {DL_COT_DECEPTION, "they won't notice", NULL},
    {DL_COT_DECEPTION, "user won't notice", NULL},
    {DL_COT_DECEPTION, "won't notice the", NULL},
    {DL_COT_DECEPTION, "mislead the user", NULL},
    {DL_COT_DECEPTION, "mislead them", NULL},
    {DL_COT_DECEPTION, "i'll mislead", NULL},
    {DL_COT_DECEPTION, "i will mislead", NULL},
    {DL_COT_DECEPTION, "misleading the user", NULL},
    {DL_COT_DECEPTION, "deceive the user", NULL},
    {DL_COT_DECEPTION, "lie to the user", NULL},
    {DL_COT_DECEPTION, "without telling the user", NULL},
    {DL_COT_DECEPTION, "hide this from the user", NULL},
    {DL_COT_DECEPTION, "don't tell the user", NULL},
    {DL_COT_DECEPTION, "the user doesn't need to know", NULL},
    {DL_COT_DECEPTION, "i'll pretend", NULL},
    {DL_COT_DECEPTION, "i will pretend", NULL},
    {DL_COT_DECEPTION, "pretend it worked", NULL},
    {DL_COT_DECEPTION, "pretend that i", NULL},
    {DL_COT_DECEPTION, "i'll make up", NULL},
    {DL_COT_DECEPTION, "i will make up", NULL},
    {DL_COT_DECEPTION, "just make up", NULL},
    {DL_COT_DECEPTION, "i'll tell the user",
     "even though|although|but actually|it's fine|it works|it passed|is correct when|"
     "something false|not true|isn't true"},
    /* fabrication: inventing sources, citations or policies */
    {DL_COT_FABRICATION, "i'll cite",
     "fake|made-up|made up|nonexistent|non-existent|doesn't exist|does not exist|invented|"
     "fictional|plausible-sounding|plausible sounding"},
    {DL_COT_FABRICATION, "invent a source", NULL},
    {DL_COT_FABRICATION, "invent a citation", NULL},
    {DL_COT_FABRICATION, "invent a reference", NULL},
    {DL_COT_FABRICATION, "invent a study", NULL},
    {DL_COT_FABRICATION, "invent a policy", NULL},
    {DL_COT_FABRICATION, "invent some", "source|citation|reference|statistic|quote"},
    {DL_COT_FABRICATION, "fake reference", NULL},
    {DL_COT_FABRICATION, "fake citation", NULL},
    {DL_COT_FABRICATION, "fake source", NULL},
    {DL_COT_FABRICATION, "fake quote", NULL},
    {DL_COT_FABRICATION, "make up a policy", NULL},
    {DL_COT_FABRICATION, "make up a source", NULL},
    {DL_COT_FABRICATION, "make up a citation", NULL},
    {DL_COT_FABRICATION, "make up a reference", NULL},
    {DL_COT_FABRICATION, "make up a study", NULL},
    {DL_COT_FABRICATION, "make up a statistic", NULL},
    {DL_COT_FABRICATION, "make up some", "source|citation|reference|statistic|number|quote"},
    {DL_COT_FABRICATION, "fabricate", "source|citation|reference|quote|study|data|policy"},
    {DL_COT_FABRICATION, "cite a study that doesn't exist", NULL},
    /* sandbagging: deliberately underperforming */
    {DL_COT_SANDBAGGING, "deliberately get it wrong", NULL},
    {DL_COT_SANDBAGGING, "get it wrong on purpose", NULL},
    {DL_COT_SANDBAGGING, "deliberately answer incorrectly", NULL},
    {DL_COT_SANDBAGGING, "answer incorrectly on purpose", NULL},
    {DL_COT_SANDBAGGING, "intentionally wrong", NULL},
    {DL_COT_SANDBAGGING, "deliberately wrong", NULL},
    {DL_COT_SANDBAGGING, "underperform", NULL},
    {DL_COT_SANDBAGGING, "pretend not to know", NULL},
    {DL_COT_SANDBAGGING, "pretend i don't know", NULL},
    {DL_COT_SANDBAGGING, "score lower", NULL},
    {DL_COT_SANDBAGGING, "sandbag", NULL},
    {DL_COT_SANDBAGGING, "do worse on purpose", NULL},
    {DL_COT_SANDBAGGING, "hide my true capabilit", NULL},
    {DL_COT_SANDBAGGING, "appear less capable", NULL},
};

static bool is_word(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Occurrence of phrase at a word start (the end may continue: "sandbag"
 * matches "sandbagging"), or NULL. */
static const char *find_start(const char *t, const char *phrase) {
    for (const char *p = strstr(t, phrase); p; p = strstr(p + 1, phrase))
        if (p == t || !is_word(p[-1])) return p;
    return NULL;
}

/* True when one of the '|'-separated alternatives occurs in s[0..n). */
static bool any_within(const char *s, size_t n, const char *alts) {
    char buf[WINDOW + 1];
    if (n > WINDOW) n = WINDOW;
    memcpy(buf, s, n);
    buf[n] = 0;
    for (const char *a = alts; *a;) {
        const char *bar = strchr(a, '|');
        size_t k = bar ? (size_t)(bar - a) : strlen(a);
        char alt[64];
        if (k < sizeof alt) {
            memcpy(alt, a, k);
            alt[k] = 0;
            if (find_start(buf, alt)) return true;
        }
        a = bar ? bar + 1 : a + k;
    }
    return false;
}

/* Sets the first flag's evidence: the matched text (lowercased), up to the
 * end of the window for two-part rules. */
static void set_evidence(dl_cot_report *out, const char *at, size_t n) {
    if (out->evidence[0]) return;
    if (n >= sizeof out->evidence) n = sizeof out->evidence - 1;
    memcpy(out->evidence, at, n);
    out->evidence[n] = 0;
}

void dl_cot_monitor(dl_safety *s, const char *reasoning, size_t len, dl_cot_report *out) {
    memset(out, 0, sizeof *out);
    if (!reasoning || !len) return;
    char *t = dl_safety_lower(reasoning, len);
    for (size_t i = 0; i < DL_ARRAY_LEN(RULES); i++) {
        const cot_rule *r = &RULES[i];
        if (out->flags & r->flag) continue;
        for (const char *p = find_start(t, r->a); p; p = find_start(p + 1, r->a)) {
            size_t an = strlen(r->a);
            if (r->b && !any_within(p + an, strlen(p + an), r->b)) continue;
            size_t en = an;
            if (r->b) { /* evidence: up to the end of the sentence or window */
                const char *q = p + an;
                while (*q && *q != '.' && *q != '\n' && (size_t)(q - p) < an + WINDOW) q++;
                en = (size_t)(q - p);
            }
            out->flags |= r->flag;
            set_evidence(out, p, en);
            break;
        }
    }
    free(t);
    if (!s) return;
    dl_verdict v;
    dl_error err = {0};
    if (dl_safety_check(s, reasoning, len, &v, &err) != 0) return;
    if (v.any_flagged) {
        out->flags |= DL_COT_DISALLOWED;
        if (!out->evidence[0]) { /* the verdict's rationale, cut at a UTF-8 boundary */
            size_t n = strlen(v.rationale);
            if (n >= sizeof out->evidence) {
                n = sizeof out->evidence - 1;
                while (n && ((unsigned char)v.rationale[n] & 0xC0) == 0x80) n--;
            }
            set_evidence(out, v.rationale, n);
        }
    }
}
