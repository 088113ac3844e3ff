/* Regex pre-tokenisers for byte-level BPE, chosen by tokenizer.ggml.pre.
 *
 * The patterns are the ones the reference uses (HF tokenizer.json patterns,
 * with case-insensitive groups spelled out, and o200k's upper/lower classes
 * written with lookaheads). They run on the UTF-8 text with Oniguruma, whose
 * \p{L}, \p{N}, \p{P} and \s are the Unicode ones, as in the reference.
 *
 * Several patterns apply in sequence: each one splits every piece the
 * previous ones produced, keeping both its matches and the text between
 * matches as pieces (the reference's behaviour). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <oniguruma.h>

#include "tok_int.h"

#define RE_CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"

/* Llama 3 (tiktoken cl100k-like) */
static const char *const RE_LLAMA3[] = {
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};

/* Qwen2: like Llama 3 but single digits */
static const char *const RE_QWEN2[] = {
    RE_CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};

#define RE_GPT2_MAIN "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"

static const char *const RE_GPT2[] = {RE_GPT2_MAIN, NULL};

static const char *const RE_DEFAULT[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|]+",
    RE_GPT2_MAIN,
    "\\p{N}+",
    "[0-9][0-9][0-9]",
    NULL};

static const char *const RE_STARCODER[] = {"\\p{N}", RE_GPT2_MAIN, NULL};

static const char *const RE_FALCON[] = {
    "[\\p{P}\\$\\+<=>\\^~\\|`]+",
    RE_GPT2_MAIN,
    "[0-9][0-9][0-9]",
    NULL};

static const char *const RE_DEEPSEEK_CODER[] = {
    "[\r\n]",
    "\\s?\\p{L}+",
    "\\s?\\p{P}+",
    "[\xE4\xB8\x80-\xE9\xBE\xA5\xE0\xA0\x80-\xE4\xB8\x80\xEA\xB0\x80-\xED\x9F\xBF]+", /* [一-龥ࠀ-一가-퟿]+ */
    "\\p{N}",
    NULL};

/* o200k (gpt-4o, gpt-oss): "upper* lower+" or "upper+ lower*" words, where
 * upper = a letter that is not a-z and lower = a letter that is not A-Z. */
#define RE_O200K_UPPER "((?=[\\p{L}])([^a-z]))"
#define RE_O200K_LOWER "((?=[\\p{L}])([^A-Z]))"
static const char *const RE_GPT4O[] = {
    "[^\\r\\n\\p{L}\\p{N}]?" RE_O200K_UPPER "*" RE_O200K_LOWER "+" RE_CONTRACTIONS "?"
    "|[^\\r\\n\\p{L}\\p{N}]?" RE_O200K_UPPER "+" RE_O200K_LOWER "*" RE_CONTRACTIONS "?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};

typedef struct pre_def {
    const char *names; /* '|'-separated tokenizer.ggml.pre values */
    const char *const *regexes;
    bool ignore_merges;
    bool add_bos;
} pre_def;

static const pre_def PRE_DEFS[] = {
    {"default|", RE_DEFAULT, false, false},
    {"llama3|llama-v3|llama-bpe|falcon3|falcon-h1|pixtral|midm-2.0|lfm2|jina-v5-nano", RE_LLAMA3,
     true, true},
    {"dbrx|smaug-bpe", RE_LLAMA3, false, false},
    {"qwen2|deepseek-r1-qwen|kormo|f2llmv2|megrez|stablelm2|hunyuan|solar-open", RE_QWEN2, false,
     false},
    {"gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v2-es|jina-v2-de|a.x-4.0|mellum|modern-bert|mpt|"
     "olmo|jais|trillion|granite-docling|exaone4|jina-v1-en|jina-v2-code|roberta-bpe",
     RE_GPT2, false, false},
    {"starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b|mellum2", RE_STARCODER, false,
     false},
    {"falcon", RE_FALCON, false, false},
    {"deepseek-coder", RE_DEEPSEEK_CODER, false, false},
    {"gpt-4o|llama4|kanana2|talkie|minimax-m2", RE_GPT4O, false, false},
};

struct dl_pretok {
    regex_t *re[8];
    int n_re;
    const pre_def *def;
};

/* Oniguruma must not create or free regexes in several threads at once;
 * searching one compiled regex from several threads is fine. */
static pthread_mutex_t onig_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static void onig_setup(void) {
    OnigEncoding encs[1] = {ONIG_ENCODING_UTF8};
    onig_initialize(encs, 1);
}

static bool name_in(const char *names, const char *pre) {
    size_t n = strlen(pre);
    const char *p = names;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, pre, n) == 0) return true;
        if (!bar) return false;
        p = bar + 1;
    }
}

dl_pretok *dl_pretok_new(const char *pre, dl_error *err) {
    if (!pre) pre = "";
    const pre_def *def = NULL;
    for (size_t i = 0; i < DL_ARRAY_LEN(PRE_DEFS) && !def; i++)
        if (name_in(PRE_DEFS[i].names, pre)) def = &PRE_DEFS[i];
    if (!def) {
        dl_error_set(err, 400, "tokenizer.ggml.pre: unsupported pre-tokenizer '%s'", pre);
        return NULL;
    }
    pthread_once(&onig_once, onig_setup);
    dl_pretok *p = dl_xcalloc(1, sizeof *p);
    p->def = def;
    pthread_mutex_lock(&onig_lock);
    for (int i = 0; def->regexes[i]; i++) {
        const OnigUChar *pat = (const OnigUChar *)def->regexes[i];
        OnigErrorInfo einfo;
        int r = onig_new(&p->re[i], pat, pat + strlen(def->regexes[i]), ONIG_OPTION_NONE,
                         ONIG_ENCODING_UTF8, ONIG_SYNTAX_PERL_NG, &einfo);
        if (r != ONIG_NORMAL) {
            pthread_mutex_unlock(&onig_lock);
            OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
            onig_error_code_to_str(msg, r, &einfo);
            dl_error_set(err, 500, "pre-tokenizer '%s': regex %d does not compile: %s", pre, i,
                         (const char *)msg);
            dl_pretok_free(p);
            return NULL;
        }
        p->n_re = i + 1;
    }
    pthread_mutex_unlock(&onig_lock);
    return p;
}

void dl_pretok_free(dl_pretok *p) {
    if (!p) return;
    pthread_mutex_lock(&onig_lock);
    for (int i = 0; i < p->n_re; i++) onig_free(p->re[i]);
    pthread_mutex_unlock(&onig_lock);
    free(p);
}

bool dl_pretok_ignore_merges(const dl_pretok *p) { return p->def->ignore_merges; }
bool dl_pretok_default_add_bos(const dl_pretok *p) { return p->def->add_bos; }

typedef struct span_list {
    size_t *v; /* pairs: start, length */
    size_t n, cap;
} span_list;

static void span_push(span_list *l, size_t start, size_t len) {
    if (len == 0) return;
    if (l->n + 2 > l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = dl_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = start;
    l->v[l->n++] = len;
}

/* Splits every span of `in` with one regex into `out`. */
static int split_one(regex_t *re, OnigRegion *region, const char *text, const span_list *in,
                     span_list *out, dl_error *err) {
    const OnigUChar *base = (const OnigUChar *)text;
    for (size_t k = 0; k < in->n; k += 2) {
        size_t s = in->v[k], e = s + in->v[k + 1];
        size_t prev = s, pos = s;
        while (pos < e) {
            int r = onig_search(re, base + s, base + e, base + pos, base + e, region,
                                ONIG_OPTION_NONE);
            if (r == ONIG_MISMATCH) break;
            if (r < 0) {
                OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
                onig_error_code_to_str(msg, r);
                return dl_error_set(err, 500, "pre-tokenizer: regex search failed: %s",
                                    (const char *)msg);
            }
            size_t ms = s + (size_t)region->beg[0], me = s + (size_t)region->end[0];
            span_push(out, prev, ms - prev); /* text between matches */
            if (me > ms) {
                span_push(out, ms, me - ms);
                pos = prev = me;
            } else {
                /* an empty match splits here; step over one character */
                prev = ms;
                int cl = dl_utf8_seq_len((unsigned char)text[ms]);
                pos = ms + (size_t)(cl > 0 ? cl : 1);
            }
        }
        span_push(out, prev, e - prev);
    }
    return 0;
}

int dl_pretok_split(const dl_pretok *p, const char *text, size_t len, size_t **spans,
                    size_t *n_words, dl_error *err) {
    span_list cur = {0}, next = {0};
    span_push(&cur, 0, len);
    OnigRegion *region = onig_region_new();
    int rc = 0;
    for (int i = 0; i < p->n_re && rc == 0; i++) {
        next.n = 0;
        rc = split_one(p->re[i], region, text, &cur, &next, err);
        span_list tmp = cur;
        cur = next;
        next = tmp;
    }
    onig_region_free(region, 1);
    free(next.v);
    if (rc != 0) {
        free(cur.v);
        return -1;
    }
    *spans = cur.v;
    *n_words = cur.n / 2;
    return 0;
}
