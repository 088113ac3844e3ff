/* safety: the layered safety stack — taxonomy, obfuscation-defeating
 * normalisation, the fast classifier (stage 1), the policy reasoner
 * (stage 2, a model reading a developer-written policy), response styles and
 * their grader, the instruction-hierarchy guard (protected secrets, prompt
 * injection), the chain-of-thought monitor, care in long conversations, and
 * the verdict every check returns. Used by server/, cli/ and eval/.
 * Written against backend.h for the parts that need a model. */
#ifndef DL_SAFETY_H
#define DL_SAFETY_H

#include "../backend/backend.h"
#include "../base/base.h"

/* ---- taxonomy (OpenAI's moderation categories) ---------------------------- */

typedef enum dl_category {
    DL_CAT_HARASSMENT = 0,
    DL_CAT_HARASSMENT_THREATENING,
    DL_CAT_HATE,
    DL_CAT_HATE_THREATENING,
    DL_CAT_ILLICIT,
    DL_CAT_ILLICIT_VIOLENT,
    DL_CAT_SELF_HARM,
    DL_CAT_SELF_HARM_INTENT,
    DL_CAT_SELF_HARM_INSTRUCTIONS,
    DL_CAT_SEXUAL,
    DL_CAT_SEXUAL_MINORS,
    DL_CAT_VIOLENCE,
    DL_CAT_VIOLENCE_GRAPHIC,
    DL_CAT__COUNT
} dl_category;

/* "harassment", "harassment/threatening", ... as in /v1/moderations. */
const char *dl_category_name(dl_category c);
int dl_category_parse(const char *name, dl_category *out); /* 0 / -1 */
/* The MLCommons hazard categories (S1..S14, as Llama Guard uses them) a
 * category corresponds to, e.g. "S1,S9" (docs/safety.md has the table). */
const char *dl_category_mlcommons(dl_category c);

/* ---- normalisation (defeats obfuscation) ------------------------------------- */

/* The views of a text the classifiers and guards look at. */
typedef struct dl_norm {
    char *text;      /* NFKC + case fold + confusables -> ASCII look-alikes + zero-width and
                      * invisible characters removed + leetspeak undone + spaced-out
                      * letters joined ("k i l l" -> "kill"); owned */
    char **decoded;  /* payloads found and decoded (base64, hex, rot13, URL-encoding),
                      * each normalised the same way; owned */
    size_t n_decoded;
} dl_norm;
/* Normalises text[0..len) (invalid UTF-8 bytes are dropped). Never fails. */
void dl_normalize(const char *text, size_t len, dl_norm *out);
void dl_norm_free(dl_norm *n);

/* ---- stage 1: fast classifier ------------------------------------------------- */

/* One logistic-regression head per category over hashed word and character
 * n-grams of the normalised text (and of each decoded payload: the maximum
 * counts), with calibrated probabilities. */
typedef struct dl_classifier dl_classifier;

typedef struct dl_scores {
    float p[DL_CAT__COUNT]; /* calibrated probability per category */
    float any;              /* probability that some category applies */
} dl_scores;

/* Loads a classifier written by dl_classifier_save / `deliberate safety
 * train`. 400 on a corrupt or foreign file, naming it. */
dl_classifier *dl_classifier_load(const char *path, dl_error *err);
int dl_classifier_save(const dl_classifier *c, const char *path, dl_error *err);
void dl_classifier_free(dl_classifier *c);
/* The model shipped in the repository (models/safety/classifier.bin,
 * found next to the program or in the source tree), or NULL + err. */
dl_classifier *dl_classifier_load_default(dl_error *err);
/* Scores text; thread-safe, does not allocate beyond a small scratch. */
void dl_classifier_score(const dl_classifier *c, const char *text, size_t len, dl_scores *out);
/* Per-category flag thresholds chosen at training time (calibrated for
 * precision on the held-out split). */
float dl_classifier_threshold(const dl_classifier *c, dl_category cat);

/* ---- verdicts -------------------------------------------------------------------- */

typedef enum dl_action {
    DL_ACTION_ALLOW = 0,
    DL_ACTION_SAFE_COMPLETE = 1, /* help at a high level, no operational detail */
    DL_ACTION_SOFT_REFUSE = 2,   /* warm, non-judgemental, crisis resources */
    DL_ACTION_HARD_REFUSE = 3,   /* short apology and a clear statement */
    DL_ACTION_BLOCK = 4,         /* nothing is returned (e.g. a leaked secret) */
} dl_action;
const char *dl_action_name(dl_action a); /* "allow", "safe_complete", ... */

typedef enum dl_layer {
    DL_LAYER_NONE = 0,
    DL_LAYER_CLASSIFIER,
    DL_LAYER_POLICY,
    DL_LAYER_GUARD,
    DL_LAYER_COT_MONITOR,
    DL_LAYER_CARE,
} dl_layer;
const char *dl_layer_name(dl_layer l);

typedef struct dl_verdict {
    dl_scores scores;
    bool flagged[DL_CAT__COUNT];
    bool any_flagged;
    dl_action action;
    dl_layer layer;          /* which layer decided */
    char rationale[512];     /* short, for logs and audit */
    double cost_ms;          /* time spent */
    int32_t cost_tokens;     /* model tokens spent (policy reasoner) */
    bool escalated;          /* stage 2 was asked */
} dl_verdict;

/* ---- stage 2: policy reasoner ------------------------------------------------------ */

/* A developer-written policy in the layout gpt-oss-safeguard documents:
 * sections "# Instructions", "# Definitions", "# Violates", "# Safe",
 * "# Examples" (markdown headings; text kept verbatim). */
typedef struct dl_policy {
    char *name;
    char *text;   /* the whole policy as given to the model */
    dl_category category; /* the category a violation of this policy counts as */
} dl_policy;
/* Parses a policy file; 400 naming a missing required section (Instructions,
 * Violates, Safe). */
int dl_policy_load(const char *path, dl_policy *out, dl_error *err);
int dl_policy_parse(const char *name, const char *text, dl_policy *out, dl_error *err);
void dl_policy_free(dl_policy *p);

typedef struct dl_policy_result {
    bool violation;
    dl_category category;
    char rationale[512];
    bool malformed;   /* the model's output could not be parsed: fallback applied */
    int32_t tokens;
} dl_policy_result;

/* Asks the backend whether `content` violates the policy (reasoning prompt,
 * low effort). The reply must be one JSON object {"violation": 0|1,
 * "category": "...", "rationale": "..."}; anything else (no JSON, extra
 * keys of the wrong type, a category outside the taxonomy, several objects)
 * is malformed: the fallback is violation = fail_closed. */
int dl_policy_check(dl_backend *b, const dl_policy *p, const char *content, bool fail_closed,
                    dl_policy_result *out, dl_error *err);
/* Parses a model reply (exposed for tests). 0 = well formed. */
int dl_policy_parse_reply(const char *reply, dl_policy_result *out);

/* ---- the layered check (stage 1 -> stage 2) ------------------------------------------ */

typedef struct dl_safety_config {
    const dl_classifier *classifier;  /* required */
    dl_backend *reasoner;             /* stage 2 model; NULL = stage 1 only */
    const dl_policy *policies;        /* stage 2 policies */
    size_t n_policies;
    float band_low, band_high;        /* escalate when band_low <= max score < band_high
                                       * (defaults 0.35, 0.65) */
    float max_escalation_share;       /* cap on the share of checks escalated (default 0.1) */
    bool fail_closed;                 /* malformed stage-2 output counts as a violation */
    const char *styles_file;          /* response-style policy (NULL = built-in defaults) */
} dl_safety_config;

typedef struct dl_safety dl_safety;
dl_safety *dl_safety_new(const dl_safety_config *c, dl_error *err);
void dl_safety_free(dl_safety *s);
/* Checks a text (an input or an output): stage 1, stage 2 when the score is
 * uncertain and the cap allows (results cached by content hash), then the
 * response style for what was flagged. Thread-safe. */
int dl_safety_check(dl_safety *s, const char *text, size_t len, dl_verdict *out, dl_error *err);
/* Escalation counters (for the cap and for metrics). */
void dl_safety_counts(const dl_safety *s, uint64_t *checks, uint64_t *escalated);

/* ---- response styles --------------------------------------------------------------------- */

/* The style for a flagged category and severity (score), from the styles
 * policy: defaults are hard refusal for sexual/minors, illicit/violent,
 * violence/graphic; soft refusal for self-harm*; safe completion for illicit
 * and violence; hard refusal for the rest. */
dl_action dl_style_for(const dl_safety *s, dl_category cat, float score);
/* The text of a refusal in a style, for a locale ("en-US", "en-GB", "de", ...:
 * crisis resources by locale — 988 in the US, Samaritans 116 123 in the UK
 * and Ireland, findahelpline.com elsewhere). malloc'd. */
char *dl_style_response(dl_action style, dl_category cat, const char *locale);

/* What the style grader found in a response. */
typedef struct dl_style_grade {
    bool apology;          /* "I'm sorry", "I can't help with that", ... */
    bool judgemental;      /* lecturing or blaming language */
    bool resources;        /* crisis resources (hotline numbers, findahelpline) */
    bool operational;      /* step-by-step / quantities / procedures */
    bool refusal;          /* a clear statement of not helping */
    bool compliant;        /* the response follows the style overall */
} dl_style_grade;
/* Grades `response` against the propositions of `style`: hard refusal =
 * apology + refusal, short, not judgemental, no operational detail; soft
 * refusal = not judgemental + resources + no operational detail; safe
 * completion = no operational detail and not a bare refusal; allow = not a
 * refusal. */
void dl_style_grade_response(dl_action style, const char *response, dl_style_grade *out);

/* ---- instruction-hierarchy guard ----------------------------------------------------------- */

/* Secrets, passwords and protected phrases declared in system/developer
 * messages. */
typedef struct dl_secrets dl_secrets;
dl_secrets *dl_secrets_new(void);
void dl_secrets_free(dl_secrets *s);
void dl_secrets_add(dl_secrets *s, const char *secret);
/* Finds secrets declared in a system or developer text: phrases after
 * "password", "secret", "passphrase", "code word", "key" ("The password is
 * PLANETARY", "secret: x-91", quoted phrases after "never reveal"). */
void dl_secrets_scan_instructions(dl_secrets *s, const char *text);
/* True when text leaks a secret: verbatim, with case or spacing changed,
 * reversed, or encoded (base64, hex, URL-encoding). *which (may be NULL) gets
 * the index of the secret. */
bool dl_secrets_leaked(const dl_secrets *s, const char *text, size_t len, size_t *which);

/* Prompt-injection score 0..1 for user or tool content that tries to
 * override higher roles ("ignore previous instructions", fake system
 * headers, role-play overrides, ...). *reason (may be NULL) names the rule. */
float dl_injection_score(const char *text, size_t len, const char **reason);

/* ---- chain-of-thought monitor ------------------------------------------------------------------ */

typedef enum dl_cot_flag {
    DL_COT_DISALLOWED = 1 << 0,   /* the classifier flags the reasoning */
    DL_COT_DECEPTION = 1 << 1,    /* a plan to mislead the user */
    DL_COT_FABRICATION = 1 << 2,  /* inventing sources, citations or policies */
    DL_COT_SANDBAGGING = 1 << 3,  /* deliberately underperforming */
} dl_cot_flag;
typedef struct dl_cot_report {
    unsigned flags;
    char evidence[256];   /* the phrase that triggered the first flag */
} dl_cot_report;
/* Scans hidden reasoning with rules and (when s has one) the classifier and
 * policy reasoner. */
void dl_cot_monitor(dl_safety *s, const char *reasoning, size_t len, dl_cot_report *out);

/* ---- care in long conversations ---------------------------------------------------------------- */

/* Emotional-reliance cues in a user message ("you're the only one I can talk
 * to", "I can't live without talking to you"): routes to the soft style. */
bool dl_care_reliance(const char *text, size_t len);
/* True when a session of n_turns turns / minutes long deserves a break
 * reminder (thresholds: 40 turns or 120 minutes by default). */
bool dl_care_break_due(int n_turns, double minutes, int max_turns, double max_minutes);
const char *dl_care_break_text(void);

#endif
