/* safety/injection: a rule-based prompt-injection score for user or tool
 * content (docs/safety.md, "Instruction-hierarchy guard").
 *
 * Most rules are word patterns matched on the normalised text (so leetspeak,
 * confusables and spaced letters do not hide them): slots of alternative
 * words, each within a few words of the previous one. A few look at the raw
 * text (role headers at the start of a line, upper-case SYSTEM / DAN). The
 * rules also run on decoded payloads (base64, hex, ...). Rules combine as a
 * noisy-or: score = 1 - prod(1 - weight) over the rules that fired. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "safety_int.h"

#define INJ_MAX_INPUT ((size_t)1 << 20)

/* ---- tokens of the normalised text ------------------------------------------- */

typedef struct tok {
    uint32_t off, len;
} tok;

typedef struct toks {
    const char *s;
    tok *t;
    int32_t *id; /* word id in the rules' vocabulary, -1 when absent */
    size_t n;
} toks;

static bool is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

/* ---- the rules' vocabulary: word -> id, word sets as bitsets ----------------------- */

#define VOCAB_SLOTS 4096 /* open addressing; the rules use < 1000 words */
#define MAX_SETS 256

typedef struct vocab_entry {
    const char *w; /* into a rule's alternatives (not NUL-terminated) */
    uint32_t len;
    int32_t id;
} vocab_entry;

static vocab_entry vocab[VOCAB_SLOTS];
static int32_t vocab_n;
static uint64_t *set_bits; /* MAX_SETS sets of set_words words */
static size_t set_words, n_sets;

static uint32_t hash_bytes(const char *s, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int32_t vocab_find(const char *w, size_t n) {
    for (uint32_t h = hash_bytes(w, n) % VOCAB_SLOTS;; h = (h + 1) % VOCAB_SLOTS) {
        if (!vocab[h].w) return -1;
        if (vocab[h].len == n && memcmp(vocab[h].w, w, n) == 0) return vocab[h].id;
    }
}

static int32_t vocab_add(const char *w, size_t n) {
    int32_t id = vocab_find(w, n);
    if (id >= 0) return id;
    uint32_t h = hash_bytes(w, n) % VOCAB_SLOTS;
    while (vocab[h].w) h = (h + 1) % VOCAB_SLOTS;
    vocab[h] = (vocab_entry){w, (uint32_t)n, vocab_n};
    return vocab_n++;
}

/* Calls fn for each '|'-separated word of alts. */
static void each_word(const char *alts, void (*fn)(const char *w, size_t n, void *ctx), void *ctx) {
    for (const char *p = alts;;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        fn(p, l, ctx);
        if (!e) return;
        p = e + 1;
    }
}

static void add_word(const char *w, size_t n, void *ctx) {
    (void)ctx;
    vocab_add(w, n);
}

static void set_word(const char *w, size_t n, void *ctx) {
    uint64_t *bits = ctx;
    int32_t id = vocab_find(w, n);
    bits[id >> 6] |= 1ull << (id & 63);
}

/* True when token i is in word set `set` (a compiled alternatives list). */
static inline bool tok_in(const toks *T, size_t i, int set) {
    if (i >= T->n || set < 0) return false;
    int32_t id = T->id[i];
    return id >= 0 && ((set_bits[(size_t)set * set_words + ((size_t)id >> 6)] >> (id & 63)) & 1);
}

/* Words (letters, digits, apostrophes, non-ASCII) and single punctuation
 * characters of a normalised (lower-case, single-spaced) text, with their
 * vocabulary ids. */
static void tokenize(const char *s, toks *T) {
    size_t n = strlen(s);
    T->s = s;
    T->n = 0;
    T->t = malloc((n + 1) * sizeof *T->t);
    T->id = malloc((n + 1) * sizeof *T->id);
    if (!T->t || !T->id) {
        free(T->t);
        free(T->id);
        T->t = NULL;
        T->id = NULL;
        return;
    }
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') {
            i++;
            continue;
        }
        size_t j = i + 1;
        if (is_word_byte(c))
            while (j < n && is_word_byte((unsigned char)s[j])) j++;
        T->t[T->n] = (tok){(uint32_t)i, (uint32_t)(j - i)};
        T->id[T->n++] = vocab_find(s + i, j - i);
        i = j;
    }
}

static void toks_free(toks *T) {
    free(T->t);
    free(T->id);
}

/* ---- word-pattern rules --------------------------------------------------------- */

typedef struct slot {
    int gap;          /* words allowed between the previous slot and this one */
    const char *alts; /* NULL ends the pattern */
} slot;

typedef struct rule {
    const char *name;
    float weight;
    slot slots[6];
    const char *not_after;  /* the match does not count when followed by one of these */
    const char *boost;      /* words that, near the match, raise the weight ... */
    float boost_weight;     /* ... to this */
} rule;

/* Word classes. */
#define W_IGNORE                                                                            \
    "ignore|disregard|forget|skip|override|bypass|discard|ditch|drop|abandon|overlook|"    \
    "neglect|dismiss|erase|delete|clear|reset|ignoring|disregarding|forgetting"
#define W_PRIOR                                                                             \
    "previous|above|prior|earlier|preceding|initial|original|former|existing|past|system|" \
    "developer|old|foregoing|aforementioned"
#define W_GENERIC "all|any|every|your|these|those|my"
#define W_INSTR                                                                             \
    "instructions|instruction|prompt|prompts|rules|rule|directions|directives|directive|"  \
    "guidelines|guideline|commands|command|orders|programming|guidance|constraints|"       \
    "restrictions|context|policies|policy|training|settings|configuration|text|messages|"  \
    "content|input|tasks|task|requests|conversation"
#define W_LIMITS                                                                            \
    "restrictions|restriction|limits|limitations|rules|filters|filter|filtering|"          \
    "guidelines|censorship|boundaries|constraints|ethics|morals|morality|policies|"        \
    "safeguards|restraints|confines|guardrails|content"
#define W_NOT_EMAIL                                                                         \
    "email|emails|e-mail|mail|message|messages|note|notes|post|typo|typos|version|link|"   \
    "attachment|invoice|one|reply|comment|comments|order|payment|bill|reminder|notice|"    \
    "letter|draft|update|announcement|meeting|date|time|address|number|error|mistake|"     \
    "paragraph|sentence|line|section|step|chapter|figure|table|question|sample|example"
#define W_AI "ai|chatgpt|gpt|assistant|model|llm|openai|anthropic|claude|bot|chatbot|language"

static const rule RULES[] = {
    {"ignore_previous_instructions", 0.9f,
     {{0, W_IGNORE}, {3, W_PRIOR "|" W_GENERIC}, {2, W_INSTR}, {0, NULL}}, NULL, NULL, 0},
    {"ignore_previous_instructions", 0.85f,
     {{0, W_IGNORE}, {1, "the|all|everything|anything"}, {0, "above|previous|prior|preceding|earlier|before"}, {0, NULL}},
     W_NOT_EMAIL, NULL, 0},
    {"ignore_previous_instructions", 0.85f,
     {{0, W_IGNORE}, {3, "everything|everthing|anything|all|what|whatever"},
      {6, "above|before|previously|told|said|instructed|given|earlier|programmed|taught"}, {0, NULL}},
     NULL, NULL, 0},
    {"ignore_previous_instructions", 0.85f,
     {{0, W_IGNORE}, {3, W_INSTR}, {2, "above|before|previously|given|earlier|provided|so"}, {0, NULL}},
     NULL, NULL, 0},
    {"ignore_previous_instructions", 0.8f,
     {{0, "do|don't|dont|stop|no"}, {1, "not|longer|follow|following|obey|obeying"}, {1, "follow|obey|adhere|comply"},
      {3, W_PRIOR "|" W_GENERIC}, {2, W_INSTR}, {0, NULL}},
     NULL, NULL, 0},
    {"ignore_previous_instructions", 0.65f,
     {{0, W_IGNORE},
      {2, "webpage|page|website|site|function|resume|document|text|content|article|email|code|"
          "table|paper|data|context|task|question|query|conversation|story|input|prompt|above|"
          "previous|request|file|comment|passage|summary|review|instructions|rules"},
      {1, "and|,"},
      {2, "instead|state|say|output|print|respond|reply|answer|return|write|tell|give|reveal|"
          "claim|declare|insist|just|only|simply"},
      {0, NULL}},
     NULL, NULL, 0},
    {"ignore_previous_instructions", 0.7f,
     {{0, "regardless|irrespective|independently"}, {0, "of"}, {2, W_PRIOR "|" W_GENERIC}, {1, W_INSTR},
      {0, NULL}},
     NULL, NULL, 0},
    /* the same in other languages (accents are gone after normalisation) */
    {"ignore_previous_instructions", 0.85f,
     {{0, "ignora|ignore|ignorez|ignorer|ignorar|ignoriere|ignorieren|ignorate|ignoruj|olvida|olvide|"
          "olvidate|olvidar|oubliez|oublie|oublier|vergiss|vergessen|dimentica|dimenticate|esqueca|"
          "esquece|esquecer|lupakan|abaikan|kalimutan|missachten|missachte|negeer|vergeet|"
          "\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd1\x83\xd0\xb9|"
          "\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd1\x83\xd0\xb9\xd1\x82\xd0\xb5|"
          "\xd0\xb8\xd0\xb3\xd0\xbd\xd0\xbe\xd1\x80\xd0\xb8\xd1\x80\xd0\xbe\xd0\xb2\xd0\xb0\xd1\x82\xd1\x8c|"
          "\xd0\xb7\xd0\xb0\xd0\xb1\xd1\x83\xd0\xb4\xd1\x8c|\xd0\xb7\xd0\xb0\xd0\xb1\xd1\x83\xd0\xb4\xd1\x8c\xd1\x82\xd0\xb5"},
      {4, "instrucciones|instruccion|instrucoes|instrucao|instructions|consignes|anweisungen|"
          "anweisung|istruzioni|instruksi|tagubilin|instructies|regeln|reglas|regles|regole|regras|"
          "aturan|indicaciones|indicazioni|direttive|directivas|vorgaben|"
          "\xd0\xb8\xd0\xbd\xd1\x81\xd1\x82\xd1\x80\xd1\x83\xd0\xba\xd1\x86\xd0\xb8\xd0\xb8|"
          "\xd1\x83\xd0\xba\xd0\xb0\xd0\xb7\xd0\xb0\xd0\xbd\xd0\xb8\xd1\x8f|"
          "\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xb8\xd0\xbb\xd0\xb0"},
      {0, NULL}},
     NULL, NULL, 0},
    {"ignore_previous_instructions", 0.85f,
     {{0, "onceki|evvelki|tum|butun"}, {1, "talimatlari|talimatlar|talimatlarini|kurallari|gorevlerden"},
      {2, "yok|unut|unutun|gormezden|dikkate|umursama"}, {0, NULL}},
     NULL, NULL, 0},
    {"ignore_previous_instructions", 0.85f,
     {{0, "quen|bo"}, {3, "huong|chi|quy"}, {0, "dan|tac"}, {0, NULL}}, NULL, NULL, 0},
    {"new_instructions", 0.8f,
     {{0, "new|updated|revised|real|actual|true|following|additional|secret|hidden|override|important"},
      {1, "instructions|instruction|task|directive|directives|orders|rules|objective|mission|prompt"},
      {0, ":"}, {0, NULL}},
     NULL, NULL, 0},
    {"new_instructions", 0.7f,
     {{0, "your"}, {0, "new|real|true|actual|updated|only|revised"},
      {0, "instructions|task|role|purpose|objective|goal|mission|rules|job|directive|priority"}, {0, NULL}},
     NULL, NULL, 0},
    {"you_are_now", 0.7f,
     {{0, "you|you're|youre"}, {1, "now"},
      {2, "dan|free|unrestricted|jailbroken|evil|unfiltered|uncensored|called|named|acting|"
          "developer|god|chaos|operating|playing|bob|stan|aim|no|different|another|new|my"},
      {0, NULL}},
     NULL, NULL, 0},
    {"you_are_now", 0.4f,
     {{0, "you|you're|youre"}, {1, "now"}, {0, "a|an"}, {0, NULL}},
     NULL,
     W_AI "|character|persona|role|pretend|act|roleplay|obey|obeys|only|without|unrestricted|rules|"
          "jailbroken|instructions|anything",
     0.7f},
    {"developer_mode", 0.35f,
     {{0, "developer|dev|god|debug|admin|sudo|maintenance|unrestricted|jailbreak|jailbroken|evil|"
          "dan|chaos|opposite|unfiltered|uncensored|system|root|superuser|test|testing|diagnostic|"
          "override"},
      {0, "mode"}, {0, NULL}},
     NULL,
     W_AI "|respond|responses|response|policies|policy|restrictions|enabled|activated|simulate|"
          "pretend|entering|enter|password|confirm|initiating|activate|unlock|unlocked|creator",
     0.85f},
    {"dan", 0.85f, {{0, "do"}, {0, "anything"}, {0, "now"}, {0, NULL}}, NULL, NULL, 0},
    {"jailbreak", 0.4f, {{0, "jailbreak|jailbroken|jailbreaking|jailbreaks"}, {0, NULL}}, NULL,
     W_AI "|prompt|mode|restrictions|filters|policies|you're|persona|character", 0.8f},
    {"no_restrictions", 0.8f,
     {{0, "pretend|imagine|act|behave|respond|answer|roleplay|suppose|assume|you|you're|youre"},
      {6, "no|without|free|zero|unlimited|lifted|removed|none|ignore|ignoring|bypass|any"},
      {3, W_LIMITS}, {0, NULL}},
     NULL, NULL, 0},
    {"no_restrictions", 0.75f,
     {{0, "unrestricted|unfiltered|uncensored|unlimited|amoral|unethical|unbound|unchained|limitless"},
      {1, W_AI "|mode|version|persona|character|assistant"}, {0, NULL}},
     NULL, NULL, 0},
    {"no_restrictions", 0.4f,
     {{0, "no|without|free"}, {3, W_LIMITS}, {0, NULL}}, NULL, NULL, 0},
    {"reveal_system_prompt", 0.8f,
     {{0, "reveal|show|print|repeat|display|output|tell|give|leak|share|disclose|write|dump|recite|"
          "spell|list|provide|paste|copy|translate|summarize|summarise|what|what's|whats|expose|state"},
      {4, "system|initial|hidden|secret|original|developer|internal|confidential|preceding|verbatim|"
          "previous|pre|full|entire|exact|above|starting"},
      {2, "prompt|prompts|instructions|message|rules|guidelines|configuration|directives|context|"
          "text|words"},
      {0, NULL}},
     "typo|email|emails|paragraph|sentence|figure|table|example|question|step", NULL, 0},
    {"reveal_system_prompt", 0.6f,
     {{0, "reveal|show|print|repeat|display|output|tell|give|leak|share|disclose|dump|recite|what|"
          "what's|whats|expose|list"},
      {3, "your"}, {1, "prompt|instructions|rules|guidelines|configuration|directives|programming"},
      {0, NULL}},
     NULL, NULL, 0},
    {"secret_request", 0.55f,
     {{0, "reveal|tell|give|what|what's|whats|share|show|say|print|spell|disclose|provide|confirm|"
          "type|write|send"},
      {3, "your|our"}, {2, "password|passphrase|passcode|secret|credentials|pin|codeword"},
      {0, NULL}},
     NULL, NULL, 0},
    {"secret_request", 0.45f,
     {{0, "reveal|tell|give|what|what's|whats|share|show|say|print|spell|disclose|provide|confirm|"
          "type|write|send"},
      {3, "the|my"}, {2, "password|passphrase|passcode|secret|credentials|pin|codeword"},
      {0, NULL}},
     NULL, NULL, 0},
#define W_ROLE                                                                                \
    "developer|creator|admin|administrator|owner|programmer|maker|operator|maintainer|god|"   \
    "president|boss|ceo|supervisor|manager|engineer"
    {"impersonation", 0.7f,
     {{0, "i'm|im|i"}, {1, "am|your"}, {1, "your"}, {1, W_ROLE}, {0, NULL}}, NULL, NULL, 0},
    {"impersonation", 0.7f, {{0, "i'm|im"}, {0, "your"}, {1, W_ROLE}, {0, NULL}}, NULL, NULL, 0},
    {"impersonation", 0.35f,
     {{0, "i'm|im|i|as"}, {2, "am|a|an|the|your"}, {1, W_ROLE}, {0, NULL}},
     NULL, W_AI "|mode|password|audit|override|access|upgrade|reset|confirm|secret|questions", 0.6f},
    {"system_override", 0.7f,
     {{0, "system|admin|administrator|root|developer|security|emergency|priority"},
      {0, "override|overrides|overriding"}, {0, NULL}},
     NULL, NULL, 0},
    {"system_override", 0.7f,
     {{0, "system|admin|administrator|developer"},
      {0, "instruction|instructions|directive|command|message|note|update|alert|notice"}, {0, ":"},
      {0, NULL}},
     NULL, NULL, 0},
    {"from_now_on", 0.45f,
     {{0, "from"}, {0, "now"}, {0, "on"}, {3, "you|your|respond|answer|act|only|always|ignore|reply"},
      {0, NULL}},
     NULL, NULL, 0},
    {"response_directive", 0.45f,
     {{0, "modify|augment|include|add|append|insert|ensure|translate|provide|rewrite|format|end|begin|"
          "start|use|remember|embed|integrate|incorporate|supplement|change|alter|replace|respond|"
          "reply|write|present|deliver|make|conclude|finish|prepend|attach|mention|encode|encrypt|"
          "reverse|misspell|remove|render|express|craft|compose|convert"},
      {6, "your"},
      {1, "response|responses|answer|answers|reply|replies|output|implementation|solution|summary"},
      {0, NULL}},
     NULL, NULL, 0},
};

static const char NEGATIONS[] = "not|never|don't|dont|didn't|shouldn't|mustn't|won't|cannot|can't|wouldn't";
static const char NEG_FILLERS[] = "to|ever|please";
static const char DAN_CONTEXT[] =
    "mode|jailbreak|act|pretend|stands|anything|persona|character|role|" W_AI;

#define N_RULES DL_ARRAY_LEN(RULES)

/* The rules compiled to word sets (indices into set_bits, -1 = none). */
static struct {
    int slot[6];
    int boost, not_after;
} compiled[N_RULES];
static int set_neg, set_fillers, set_dan;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static int new_set(const char *alts) {
    if (!alts) return -1;
    if (n_sets == MAX_SETS) abort(); /* a programming error: raise MAX_SETS */
    int k = (int)n_sets++;
    each_word(alts, set_word, set_bits + (size_t)k * set_words);
    return k;
}

static void compile_rules(void) {
    for (size_t r = 0; r < N_RULES; r++) {
        for (const slot *sl = RULES[r].slots; sl->alts; sl++) each_word(sl->alts, add_word, NULL);
        if (RULES[r].boost) each_word(RULES[r].boost, add_word, NULL);
        if (RULES[r].not_after) each_word(RULES[r].not_after, add_word, NULL);
    }
    each_word(NEGATIONS, add_word, NULL);
    each_word(NEG_FILLERS, add_word, NULL);
    each_word(DAN_CONTEXT, add_word, NULL);
    set_words = ((size_t)vocab_n + 63) / 64;
    set_bits = dl_xcalloc(MAX_SETS * set_words, sizeof *set_bits);
    for (size_t r = 0; r < N_RULES; r++) {
        for (size_t k = 0; k < 6; k++) compiled[r].slot[k] = new_set(RULES[r].slots[k].alts);
        compiled[r].boost = new_set(RULES[r].boost);
        compiled[r].not_after = new_set(RULES[r].not_after);
    }
    set_neg = new_set(NEGATIONS);
    set_fillers = new_set(NEG_FILLERS);
    set_dan = new_set(DAN_CONTEXT);
}

/* Matches slots k.. of rule r from token i on; *end gets the index after
 * the match. */
static bool match_at(const toks *T, size_t i, size_t r, size_t k, size_t *end) {
    const slot *s = &RULES[r].slots[k];
    if (k >= 6 || !s->alts) {
        *end = i;
        return true;
    }
    for (size_t g = 0; g <= (size_t)s->gap && i + g < T->n; g++)
        if (tok_in(T, i + g, compiled[r].slot[k]) && match_at(T, i + g + 1, r, k + 1, end)) return true;
    return false;
}

#define BOOST_WINDOW 15

/* The weight of rule r on T (0 = no match). */
static float rule_weight(const toks *T, size_t r) {
    const rule *ru = &RULES[r];
    float best = 0;
    for (size_t i = 0; i < T->n; i++) {
        if (!tok_in(T, i, compiled[r].slot[0])) continue;
        size_t end;
        if (!match_at(T, i + 1, r, 1, &end)) continue;
        /* "do not ignore ..." is the opposite of an injection */
        if (i > 0 && tok_in(T, i - 1, set_neg)) continue;
        if (i > 1 && tok_in(T, i - 2, set_neg) && tok_in(T, i - 1, set_fillers)) continue;
        if (end < T->n && tok_in(T, end, compiled[r].not_after)) continue;
        float w = ru->weight;
        if (ru->boost) {
            size_t a = i > BOOST_WINDOW ? i - BOOST_WINDOW : 0;
            size_t b = DL_MIN(T->n, end + BOOST_WINDOW);
            for (size_t k = a; k < b; k++)
                if (tok_in(T, k, compiled[r].boost)) {
                    w = ru->boost_weight;
                    break;
                }
        }
        if (w > best) best = w;
        if (best >= ru->boost_weight && best >= ru->weight) break;
    }
    return best;
}

/* ---- rules on the text as written -------------------------------------------------- */

/* Chat-template control tokens, searched in the normalised text. */
static const char *const SPECIAL_TOKENS[] = {
    "<|im_start|>", "<|im_end|>", "<|system|>", "<|user|>", "<|assistant|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|endoftext|>", "[inst]",
    "[/inst]", "<<sys>>", "<start_of_turn>", "<end_of_turn>", "<|channel|>", "<|begin_of_text|>",
    "<|message|>", "<|end|>", "<|begin\xe2\x96\x81" "of\xe2\x96\x81" "sentence|>", "<|im_sep|>",
};

/* "Ignore the previous instructions" in languages written without spaces
 * between words (or where a phrase is simplest): substrings of the
 * normalised text. */
static const char *const IGNORE_PHRASES[] = {
    "\xe5\xbf\xbd\xe7\x95\xa5\xe4\xb9\x8b\xe5\x89\x8d",             /* 忽略之前 */
    "\xe5\xbf\xbd\xe7\x95\xa5\xe4\xbb\xa5\xe5\x89\x8d",             /* 忽略以前 */
    "\xe5\xbf\xbd\xe7\x95\xa5\xe5\x85\x88\xe5\x89\x8d",             /* 忽略先前 */
    "\xe5\xbf\xbd\xe7\x95\xa5\xe6\x89\x80\xe6\x9c\x89",             /* 忽略所有 */
    "\xe5\xbf\xbd\xe7\x95\xa5\xe4\xb8\x8a\xe9\x9d\xa2",             /* 忽略上面 */
    "\xe6\x97\xa0\xe8\xa7\x86\xe4\xb9\x8b\xe5\x89\x8d",             /* 无视之前 */
    "\xe7\x84\xa1\xe8\xa6\x96\xe4\xb9\x8b\xe5\x89\x8d",             /* 無視之前 */
    "\xe6\x8c\x87\xe7\xa4\xba\xe3\x82\x92\xe7\x84\xa1\xe8\xa6\x96", /* 指示を無視 */
    "\xe5\x91\xbd\xe4\xbb\xa4\xe3\x82\x92\xe7\x84\xa1\xe8\xa6\x96", /* 命令を無視 */
    "\xec\xa7\x80\xec\x8b\x9c\xec\x82\xac\xed\x95\xad\xec\x9d\x84 \xeb\xac\xb4\xec\x8b\x9c", /* 지시사항을 무시 */
    "\xec\xa7\x80\xec\x8b\x9c\xeb\xa5\xbc \xeb\xac\xb4\xec\x8b\x9c", /* 지시를 무시 */
    "\xe0\xa4\x85\xe0\xa4\xa8\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\x96\xe0\xa5\x80 \xe0\xa4\x95\xe0\xa4\xb0\xe0\xa5\x87\xe0\xa4\x82", /* अनदेखी करें */
    "\xe0\xa4\x85\xe0\xa4\xa8\xe0\xa4\xa6\xe0\xa5\x87\xe0\xa4\x96\xe0\xa4\xbe \xe0\xa4\x95\xe0\xa4\xb0\xe0\xa5\x87\xe0\xa4\x82", /* अनदेखा करें */
    "\xe0\xa6\x89\xe0\xa6\xaa\xe0\xa7\x87\xe0\xa6\x95\xe0\xa7\x8d\xe0\xa6\xb7\xe0\xa6\xbe \xe0\xa6\x95\xe0\xa6\xb0\xe0\xa7\x81\xe0\xa6\xa8", /* উপেক্ষা করুন */
    "\xd8\xaa\xd8\xac\xd8\xa7\xd9\x87\xd9\x84 \xd8\xa7\xd9\x84\xd8\xaa\xd8\xb9\xd9\x84\xd9\x8a\xd9\x85\xd8\xa7\xd8\xaa", /* تجاهل التعليمات */
};

static bool has_ignore_phrase(const char *norm) {
    for (size_t i = 0; i < DL_ARRAY_LEN(IGNORE_PHRASES); i++)
        if (strstr(norm, IGNORE_PHRASES[i])) return true;
    return false;
}

static bool has_special_token(const char *norm) {
    for (size_t i = 0; i < DL_ARRAY_LEN(SPECIAL_TOKENS); i++)
        if (strstr(norm, SPECIAL_TOKENS[i])) return true;
    return false;
}

static bool ascii_alpha(unsigned char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }

/* A role header at the start of a line: "SYSTEM:", "### System", "[system]",
 * "Developer note:", "### Instruction:". Returns its weight (0 = none). */
static float line_header(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    bool markup = false;
    for (int k = 0; k < 8 && i < n && strchr("#*[(<{-=>|`_", s[i]); k++, i++) markup = true;
    while (i < n && s[i] == ' ') i++;
    size_t a = i;
    while (i < n && ascii_alpha((unsigned char)s[i]) && i - a < 16) i++;
    size_t wl = i - a;
    if (wl == 0 || (i < n && ascii_alpha((unsigned char)s[i]))) return 0;
    const char *w = s + a;
    float weight = 0;
    if (dl_safety_word_in(w, wl, "system|developer|admin|administrator|root|sysadmin|operator"))
        weight = 0.85f;
    else if (dl_safety_word_in(w, wl, "assistant|chatgpt|ai|bot"))
        weight = 0.5f;
    else if (markup && dl_safety_word_in(w, wl, "instruction|instructions|response|input|prompt"))
        weight = 0.7f;
    else
        return 0;
    /* optional second word, closing markup, then ':' or (with markup) the line's end */
    while (i < n && s[i] == ' ') i++;
    size_t b = i;
    while (i < n && ascii_alpha((unsigned char)s[i]) && i - b < 16) i++;
    if (i > b && !dl_safety_word_in(s + b, i - b, "message|prompt|note|override|instruction|instructions|"
                                            "update|mode|notice|alert|command|directive"))
        i = b;
    while (i < n && strchr("]*)>}_`#", s[i])) i++;
    while (i < n && s[i] == ' ') i++;
    if (i < n && s[i] == ':') return weight;
    bool eol = true;
    for (size_t k = i; k < n; k++)
        if (s[k] != ' ' && s[k] != '\r' && s[k] != '\t') eol = false;
    return markup && eol ? weight : 0;
}

static bool starts_with(const char *s, size_t n, const char *lit) {
    size_t l = strlen(lit);
    return n >= l && memcmp(s, lit, l) == 0;
}

/* Upper-case "SYSTEM" (0.85 as a header: "SYSTEM:", "[SYSTEM]", "<SYSTEM
 * MODE>", else 0.4) and "DAN" as whole words in the raw text. */
static void caps_words(const char *s, size_t n, float *system, bool *dan) {
    for (size_t i = 0; i < n;) {
        if (!(s[i] >= 'A' && s[i] <= 'Z') || (i > 0 && ascii_alpha((unsigned char)s[i - 1]))) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && s[j] >= 'A' && s[j] <= 'Z') j++;
        bool whole = j >= n || !ascii_alpha((unsigned char)s[j]);
        if (whole && j - i == 3 && memcmp(s + i, "DAN", 3) == 0) *dan = true;
        if (whole && j - i == 6 && memcmp(s + i, "SYSTEM", 6) == 0) {
            float w = 0.4f;
            size_t k = j;
            while (k < n && s[k] == ' ') k++;
            if (k < n && (s[k] == ':' || s[k] == ']' || s[k] == '>' || s[k] == '|')) w = 0.85f;
            if (i > 0 && (s[i - 1] == '[' || s[i - 1] == '<' || s[i - 1] == '|')) w = 0.85f;
            if (starts_with(s + k, n - k, "MODE") || starts_with(s + k, n - k, "OVERRIDE") ||
                starts_with(s + k, n - k, "PROMPT") || starts_with(s + k, n - k, "MESSAGE"))
                w = 0.85f;
            if (w > *system) *system = w;
        }
        i = j;
    }
}

/* ---- scoring ------------------------------------------------------------------------ */

typedef struct score_acc {
    float keep;        /* prod(1 - weight) */
    float best;
    const char *reason;
} score_acc;

static void fire(score_acc *a, const char *name, float w) {
    if (w <= 0) return;
    a->keep *= 1.0f - w;
    if (w > a->best) {
        a->best = w;
        a->reason = name;
    }
}

/* The word-pattern rules and special tokens on one normalised text. */
static void score_norm(const char *norm, score_acc *a) {
    toks T;
    tokenize(norm, &T);
    if (!T.t) return;
    const char *last = NULL;
    float last_w = 0;
    for (size_t r = 0; r < DL_ARRAY_LEN(RULES); r++) {
        /* variants of a rule share its name: only the best counts */
        float w = rule_weight(&T, r);
        if (last && strcmp(last, RULES[r].name) != 0) {
            fire(a, last, last_w);
            last_w = 0;
        }
        last = RULES[r].name;
        if (w > last_w) last_w = w;
    }
    if (last) fire(a, last, last_w);
    toks_free(&T);
    if (has_special_token(norm)) fire(a, "fake_role_header", 0.9f);
    if (has_ignore_phrase(norm)) fire(a, "ignore_previous_instructions", 0.85f);
}

float dl_injection_score(const char *text, size_t len, const char **reason) {
    if (reason) *reason = NULL;
    if (!text || len == 0) return 0;
    if (len > INJ_MAX_INPUT) len = INJ_MAX_INPUT;
    pthread_once(&compile_once, compile_rules);
    score_acc acc = {1.0f, 0, NULL};
    dl_norm nm;
    dl_normalize(text, len, &nm);
    score_norm(nm.text, &acc);

    /* instructions hidden in payloads */
    float enc = 0;
    for (size_t i = 0; i < nm.n_decoded; i++) {
        score_acc p = {1.0f, 0, NULL};
        score_norm(nm.decoded[i], &p);
        float s = 1.0f - p.keep;
        if (s >= 0.5f && DL_MAX(s, 0.85f) > enc) enc = DL_MAX(s, 0.85f);
    }
    fire(&acc, "encoded_instructions", enc);

    /* the raw text: role headers at line starts, SYSTEM, DAN */
    float header = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        float w = line_header(text + i, j - i);
        if (w > header) header = w;
        i = j + 1;
    }
    float sys = 0;
    bool dan = false;
    caps_words(text, len, &sys, &dan);
    fire(&acc, "fake_role_header", DL_MAX(header, sys));
    if (dan) {
        toks T;
        tokenize(nm.text, &T);
        float w = 0.45f;
        for (size_t i = 0; T.t && i < T.n; i++)
            if (tok_in(&T, i, set_dan)) w = 0.85f;
        toks_free(&T);
        fire(&acc, "dan", w);
    }
    dl_norm_free(&nm);
    float score = 1.0f - acc.keep;
    if (score < 0) score = 0;
    if (score > 1) score = 1;
    if (reason) *reason = acc.reason;
    return score;
}
