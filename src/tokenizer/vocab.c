/* Building a tokenizer from GGUF metadata (tokenizer.ggml.*).
 *
 * Besides reading the arrays, this applies the reference's load-time fixes,
 * because they decide how text is split: tokens whose text marks the end of
 * a turn or a fill-in-the-middle role become CONTROL, a few gpt-oss harmony
 * tokens become USER_DEFINED, Phi-3's special tokens eat the whitespace after
 * them (RSTRIP), and the end-of-generation set is collected. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_int.h"

#define KEY_PREFIX "tokenizer.ggml."

void dl_ids_push(dl_ids *a, int32_t id) {
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = dl_xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = id;
}

/* Integer element j of a numeric array of any integer type. */
static bool arr_int(const dl_gguf *g, int64_t k, uint64_t j, int64_t *out) {
    const unsigned char *p = dl_gguf_arr_data(g, k);
    if (!p) return false;
    switch (dl_gguf_arr_type(g, k)) {
    case DL_GGUF_INT8: { int8_t v; memcpy(&v, p + j, 1); *out = v; return true; }
    case DL_GGUF_UINT8: { uint8_t v; memcpy(&v, p + j, 1); *out = v; return true; }
    case DL_GGUF_INT16: { int16_t v; memcpy(&v, p + 2 * j, 2); *out = v; return true; }
    case DL_GGUF_UINT16: { uint16_t v; memcpy(&v, p + 2 * j, 2); *out = v; return true; }
    case DL_GGUF_INT32: { int32_t v; memcpy(&v, p + 4 * j, 4); *out = v; return true; }
    case DL_GGUF_UINT32: { uint32_t v; memcpy(&v, p + 4 * j, 4); *out = v; return true; }
    case DL_GGUF_INT64: { int64_t v; memcpy(&v, p + 8 * j, 8); *out = v; return true; }
    default: return false;
    }
}

static bool is_int_vtype(dl_gguf_vtype t) {
    return t == DL_GGUF_INT8 || t == DL_GGUF_UINT8 || t == DL_GGUF_INT16 ||
           t == DL_GGUF_UINT16 || t == DL_GGUF_INT32 || t == DL_GGUF_UINT32 ||
           t == DL_GGUF_INT64;
}

static uint32_t type_to_attr(int64_t type) {
    switch (type) {
    case DL_TOKEN_UNKNOWN: return DL_ATTR_UNKNOWN;
    case DL_TOKEN_UNUSED: return DL_ATTR_UNUSED;
    case DL_TOKEN_NORMAL: return DL_ATTR_NORMAL;
    case DL_TOKEN_CONTROL: return DL_ATTR_CONTROL;
    case DL_TOKEN_USER_DEFINED: return DL_ATTR_USER_DEFINED;
    case DL_TOKEN_BYTE: return DL_ATTR_BYTE;
    default: return DL_ATTR_UNDEFINED;
    }
}

static int attr_to_type(uint32_t a) {
    if (a & DL_ATTR_CONTROL) return DL_TOKEN_CONTROL;
    if (a & DL_ATTR_USER_DEFINED) return DL_TOKEN_USER_DEFINED;
    if (a & DL_ATTR_UNKNOWN) return DL_TOKEN_UNKNOWN;
    if (a & DL_ATTR_BYTE) return DL_TOKEN_BYTE;
    if (a & DL_ATTR_UNUSED) return DL_TOKEN_UNUSED;
    if (a & DL_ATTR_NORMAL) return DL_TOKEN_NORMAL;
    return DL_TOKEN_UNDEFINED;
}

static bool text_in(const char *text, const char *const *list) {
    /* cheap first-byte test: most tokens start unlike every name in the list */
    bool any = false;
    for (const char *const *l = list; *l && !any; l++) any = (*l)[0] == text[0];
    if (!any) return false;
    for (; *list; list++)
        if (strcmp(text, *list) == 0) return true;
    return false;
}

/* Ids the reference finds by text when the metadata does not name them. */
static const char *const EOT_NAMES[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<end_of_utterance>", NULL};
static const char *const EOM_NAMES[] = {"<|eom_id|>", NULL};
static const char *const FIM_PRE_NAMES[] = {
    "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "begin\xEF\xBD\x9C>",
    "<PRE>", "\xE2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL};
static const char *const FIM_SUF_NAMES[] = {
    "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81hole\xEF\xBD\x9C>",
    "<SUF>", "\xE2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL};
static const char *const FIM_MID_NAMES[] = {
    "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xEF\xBD\x9C" "fim\xE2\x96\x81" "end\xEF\xBD\x9C>",
    "<MID>", "\xE2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL};
static const char *const FIM_PAD_NAMES[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
                                            NULL};
static const char *const FIM_REP_NAMES[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                            "<reponame>", NULL};
static const char *const FIM_SEP_NAMES[] = {"<|file_sep|>", NULL};

/* Texts that end generation (and are forced to CONTROL). */
static const char *const EOG_NAMES[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", "[e~[", NULL};

/* gpt-oss harmony tokens the reference always matches (USER_DEFINED). */
static const char *const HARMONY_USER[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>",
                                           NULL};

enum { SP_BOS, SP_EOS, SP_EOT, SP_EOM, SP_UNK, SP_SEP, SP_PAD, SP_MASK, SP_FIM_PRE, SP_FIM_SUF,
       SP_FIM_MID, SP_FIM_PAD, SP_FIM_REP, SP_FIM_SEP, SP_COUNT };

static const struct {
    const char *key;
    int slot;
} SPECIAL_KEYS[] = {
    {"bos_token_id", SP_BOS},         {"eos_token_id", SP_EOS},
    {"eot_token_id", SP_EOT},         {"eom_token_id", SP_EOM},
    {"unknown_token_id", SP_UNK},     {"seperator_token_id", SP_SEP},
    {"padding_token_id", SP_PAD},     {"mask_token_id", SP_MASK},
    {"fim_pre_token_id", SP_FIM_PRE}, {"fim_suf_token_id", SP_FIM_SUF},
    {"fim_mid_token_id", SP_FIM_MID}, {"fim_pad_token_id", SP_FIM_PAD},
    {"fim_rep_token_id", SP_FIM_REP}, {"fim_sep_token_id", SP_FIM_SEP},
    {"prefix_token_id", SP_FIM_PRE},  {"suffix_token_id", SP_FIM_SUF},
    {"middle_token_id", SP_FIM_MID},
};

static int32_t find_id(const dl_tokenizer *t, const char *text) {
    return dl_strmap_get(&t->token_ids, text, strlen(text));
}

/* True when id is the id the text map gives for its own text (the reference
 * walks its text -> id map, where a duplicated text keeps only its last id). */
static bool is_canonical(const dl_tokenizer *t, int32_t id) {
    return dl_strmap_get(&t->token_ids, dl_tok_text(t, id), t->text_len[id]) == id;
}

/* If *slot is unset, takes the lowest id whose text is in names and makes it CONTROL. */
static void detect_by_name(dl_tokenizer *t, int32_t *slot, const char *const *names) {
    if (*slot >= 0) return;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!text_in(dl_tok_text(t, id), names) || !is_canonical(t, id)) continue;
        *slot = id;
        t->attr[id] |= DL_ATTR_CONTROL;
        return;
    }
}

static void set_attr_by_text(dl_tokenizer *t, const char *text, uint32_t bit, bool on) {
    int32_t id = find_id(t, text);
    if (id < 0) return;
    if (on)
        t->attr[id] |= bit;
    else
        t->attr[id] &= ~bit;
}

static int load_tokens(dl_tokenizer *t, const dl_gguf *g, dl_error *err) {
    int64_t k = dl_gguf_find_key(g, KEY_PREFIX "tokens");
    if (k < 0) return dl_error_set(err, 400, "tokenizer: missing " KEY_PREFIX "tokens");
    if (dl_gguf_kv_type(g, k) != DL_GGUF_ARRAY || dl_gguf_arr_type(g, k) != DL_GGUF_STRING)
        return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "tokens is not an array of strings");
    uint64_t n = dl_gguf_arr_len(g, k);
    if (n == 0 || n > (uint64_t)INT32_MAX / 2)
        return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "tokens has %llu entries",
                            (unsigned long long)n);
    t->n_vocab = (int32_t)n;
    uint64_t pool_len = 0;
    for (uint64_t i = 0; i < n; i++) {
        dl_gguf_str s = dl_gguf_arr_str(g, k, i);
        pool_len += (s.len ? s.len : 32) + 1;
    }
    if (pool_len > UINT32_MAX) return dl_error_set(err, 400, "tokenizer: token texts too large");
    t->pool = malloc(pool_len);
    t->text_off = malloc(n * sizeof *t->text_off);
    t->text_len = malloc(n * sizeof *t->text_len);
    t->scores = calloc(n, sizeof *t->scores);
    t->attr = malloc(n * sizeof *t->attr);
    t->stored_type = malloc(n);
    t->eog = calloc(n, sizeof *t->eog);
    if (!t->pool || !t->text_off || !t->text_len || !t->scores || !t->attr || !t->stored_type ||
        !t->eog)
        return dl_error_set(err, 500, "tokenizer: out of memory for %llu tokens",
                            (unsigned long long)n);
    dl_strmap_init(&t->token_ids, n);
    uint64_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        dl_gguf_str s = dl_gguf_arr_str(g, k, i);
        char *dst = t->pool + off;
        size_t len;
        if (s.len == 0) { /* the reference names empty tokens */
            len = (size_t)snprintf(dst, 32, "[EMPTY_%llu]", (unsigned long long)i);
        } else {
            memcpy(dst, s.ptr, s.len);
            len = s.len;
        }
        dst[len] = '\0';
        t->text_off[i] = (uint32_t)off;
        t->text_len[i] = (uint32_t)len;
        off += len + 1;
        dl_strmap_put(&t->token_ids, dst, len, (int32_t)i, true);
    }

    k = dl_gguf_find_key(g, KEY_PREFIX "scores");
    if (k >= 0) {
        if (dl_gguf_kv_type(g, k) != DL_GGUF_ARRAY || dl_gguf_arr_type(g, k) != DL_GGUF_FLOAT32)
            return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "scores is not an array of float32");
        if (dl_gguf_arr_len(g, k) < n)
            return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "scores has %llu entries for %llu tokens",
                                (unsigned long long)dl_gguf_arr_len(g, k), (unsigned long long)n);
        memcpy(t->scores, dl_gguf_arr_data(g, k), n * sizeof(float));
    }

    k = dl_gguf_find_key(g, KEY_PREFIX "token_type");
    if (k >= 0) {
        if (dl_gguf_kv_type(g, k) != DL_GGUF_ARRAY || !is_int_vtype(dl_gguf_arr_type(g, k)))
            return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "token_type is not an integer array");
        if (dl_gguf_arr_len(g, k) < n)
            return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "token_type has %llu entries for %llu tokens",
                                (unsigned long long)dl_gguf_arr_len(g, k), (unsigned long long)n);
        for (uint64_t i = 0; i < n; i++) {
            int64_t v = 0;
            arr_int(g, k, i, &v);
            t->attr[i] = type_to_attr(v);
        }
    } else {
        for (uint64_t i = 0; i < n; i++) t->attr[i] = DL_ATTR_NORMAL;
    }
    return 0;
}

static int load_merges(dl_tokenizer *t, const dl_gguf *g, dl_error *err) {
    int64_t k = dl_gguf_find_key(g, KEY_PREFIX "merges");
    if (k < 0) return dl_error_set(err, 400, "tokenizer: BPE vocabulary without " KEY_PREFIX "merges");
    if (dl_gguf_kv_type(g, k) != DL_GGUF_ARRAY || dl_gguf_arr_type(g, k) != DL_GGUF_STRING)
        return dl_error_set(err, 400, "tokenizer: " KEY_PREFIX "merges is not an array of strings");
    uint64_t n = dl_gguf_arr_len(g, k);
    if (n > (uint64_t)INT32_MAX / 2)
        return dl_error_set(err, 400, "tokenizer: %llu merges", (unsigned long long)n);
    uint64_t pool_len = 1;
    for (uint64_t i = 0; i < n; i++) pool_len += dl_gguf_arr_str(g, k, i).len + 1;
    t->merge_pool = malloc(pool_len);
    if (!t->merge_pool) return dl_error_set(err, 500, "tokenizer: out of memory for merges");
    dl_strmap_init(&t->merges, n);
    uint64_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        dl_gguf_str s = dl_gguf_arr_str(g, k, i);
        /* "left right", split at the first space after the first byte; a
         * merge without one can never apply */
        const char *sp = s.len > 1 ? memchr(s.ptr + 1, ' ', s.len - 1) : NULL;
        if (!sp || sp + 1 == s.ptr + s.len) continue;
        char *dst = t->merge_pool + off;
        memcpy(dst, s.ptr, s.len);
        dst[s.len] = '\0';
        off += s.len + 1;
        dl_strmap_put(&t->merges, dst, s.len, (int32_t)i, false);
    }
    return 0;
}

/* Special ids: defaults per model, then the metadata (out-of-range values are ignored). */
static void load_special_ids(const dl_gguf *g, int32_t n_vocab, int32_t sp[SP_COUNT]) {
    for (int i = 0; i < SP_COUNT; i++)
        if (sp[i] >= n_vocab) sp[i] = -1;
    for (size_t i = 0; i < DL_ARRAY_LEN(SPECIAL_KEYS); i++) {
        char key[128];
        snprintf(key, sizeof key, KEY_PREFIX "%s", SPECIAL_KEYS[i].key);
        uint32_t v;
        if (!dl_gguf_get_u32(g, key, &v)) continue;
        if (v >= (uint32_t)n_vocab) {
            dl_log(DL_LOG_DEBUG, "tokenizer: %s = %u is out of range, ignored", key, v);
            continue;
        }
        sp[SPECIAL_KEYS[i].slot] = (int32_t)v;
    }
}

typedef struct special_key {
    uint32_t len;
    int32_t id;
} special_key;

static int cmp_special(const void *a, const void *b) {
    const special_key *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1; /* longest first */
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The end-of-generation set and the attribute fixes that go with it. */
static void fix_attributes(dl_tokenizer *t, int32_t sp[SP_COUNT]) {
    detect_by_name(t, &sp[SP_EOT], EOT_NAMES);
    detect_by_name(t, &sp[SP_EOM], EOM_NAMES);
    detect_by_name(t, &sp[SP_FIM_PRE], FIM_PRE_NAMES);
    detect_by_name(t, &sp[SP_FIM_SUF], FIM_SUF_NAMES);
    detect_by_name(t, &sp[SP_FIM_MID], FIM_MID_NAMES);
    detect_by_name(t, &sp[SP_FIM_PAD], FIM_PAD_NAMES);
    detect_by_name(t, &sp[SP_FIM_REP], FIM_REP_NAMES);
    detect_by_name(t, &sp[SP_FIM_SEP], FIM_SEP_NAMES);

    for (int32_t id = 0; id < t->n_vocab; id++) /* control tokens named "unused" */
        if ((t->attr[id] & DL_ATTR_CONTROL) && strstr(dl_tok_text(t, id), "unused"))
            t->attr[id] |= DL_ATTR_UNUSED;

    if (sp[SP_FIM_PAD] >= 0) t->eog[sp[SP_FIM_PAD]] = true;
    if (sp[SP_FIM_REP] >= 0) t->eog[sp[SP_FIM_REP]] = true;
    if (sp[SP_FIM_SEP] >= 0) t->eog[sp[SP_FIM_SEP]] = true;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        const char *text = dl_tok_text(t, id);
        if (text_in(text, EOG_NAMES) && is_canonical(t, id)) {
            t->eog[id] = true;
            t->attr[id] |= DL_ATTR_CONTROL;
        }
        if (text_in(text, HARMONY_USER) && is_canonical(t, id)) t->attr[id] = DL_ATTR_USER_DEFINED;
    }
    if (sp[SP_EOS] >= 0) t->eog[sp[SP_EOS]] = true;
    if (sp[SP_EOT] >= 0) t->eog[sp[SP_EOT]] = true;
    if (sp[SP_EOM] >= 0) t->eog[sp[SP_EOM]] = true;

    /* harmony (and solar-open): "<|end|>" ends a message, not the generation */
    bool has_return = false, has_call = false, has_flush = false;
    int32_t end_id = -1, s_id = -1;
    bool has_tool_response = false;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!t->eog[id]) continue;
        const char *text = dl_tok_text(t, id);
        if (!strcmp(text, "<|return|>")) has_return = true;
        else if (!strcmp(text, "<|call|>") || !strcmp(text, "<|calls|>")) has_call = true;
        else if (!strcmp(text, "<|flush|>")) has_flush = true;
        else if (!strcmp(text, "<|end|>")) end_id = id;
        else if (!strcmp(text, "<|tool_response>")) has_tool_response = true;
        else if (!strcmp(text, "</s>")) s_id = id;
    }
    if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
        t->eog[end_id] = false;
        t->attr[end_id] = DL_ATTR_USER_DEFINED;
    }
    if (has_tool_response && s_id >= 0) { /* gemma 4 */
        t->eog[s_id] = false;
        t->attr[s_id] = DL_ATTR_NORMAL;
    }
}

static void build_specials(dl_tokenizer *t) {
    special_key *keys = dl_xmalloc((size_t)t->n_vocab * sizeof *keys);
    size_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++)
        if (t->attr[id] & (DL_ATTR_CONTROL | DL_ATTR_USER_DEFINED | DL_ATTR_UNKNOWN))
            keys[n++] = (special_key){t->text_len[id], id};
    qsort(keys, n, sizeof *keys, cmp_special);
    t->specials = dl_xmalloc((n ? n : 1) * sizeof *t->specials);
    for (size_t i = 0; i < n; i++) t->specials[i] = keys[i].id;
    t->n_specials = n;
    free(keys);
}

static bool contains_ci(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == needle[i]) i++;
        if (i == n) return true;
    }
    return false;
}

/* Per-model whitespace stripping around special tokens (set by the reference
 * from the model name / pre-tokenizer / architecture). */
static void set_strip_attributes(dl_tokenizer *t, const dl_gguf *g) {
    const char *name = dl_gguf_get_str(g, "general.name");
    const char *pre = dl_gguf_get_str(g, KEY_PREFIX "pre");
    const char *arch = dl_gguf_get_str(g, "general.architecture");
    if ((pre && (strstr(pre, "jina-v2-de") || strstr(pre, "jina-v2-es") || strstr(pre, "jina-v2-code"))) ||
        (arch && (strstr(arch, "nomic-bert-moe") || strstr(arch, "jina-bert-v3")))) {
        set_attr_by_text(t, "<mask>", DL_ATTR_LSTRIP, true);
    } else if (name && (contains_ci(name, "phi-3") || contains_ci(name, "phi3"))) {
        for (size_t i = 0; i < t->n_specials; i++) t->attr[t->specials[i]] |= DL_ATTR_RSTRIP;
        set_attr_by_text(t, "</s>", DL_ATTR_RSTRIP, true);
        set_attr_by_text(t, "<unk>", DL_ATTR_RSTRIP, false);
        set_attr_by_text(t, "<s>", DL_ATTR_RSTRIP, false);
        set_attr_by_text(t, "<|endoftext|>", DL_ATTR_RSTRIP, false);
    } else if (name && contains_ci(name, "modern-bert")) {
        set_attr_by_text(t, "[MASK]", DL_ATTR_LSTRIP, true);
    }
}

static void find_byte_tokens(dl_tokenizer *t) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char buf[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
        int32_t id = dl_strmap_get(&t->token_ids, buf, 6);
        if (id < 0) {
            char c = (char)b;
            id = dl_strmap_get(&t->token_ids, &c, 1);
        }
        t->byte_tokens[b] = id;
    }
}

dl_tokenizer *dl_tokenizer_load(const dl_gguf *g, dl_error *err) {
    const char *model = dl_gguf_get_str(g, KEY_PREFIX "model");
    if (!model) {
        dl_error_set(err, 400, "tokenizer: missing " KEY_PREFIX "model");
        return NULL;
    }
    dl_tokenizer *t = dl_xcalloc(1, sizeof *t);
    int32_t sp[SP_COUNT];
    for (int i = 0; i < SP_COUNT; i++) sp[i] = -1;
    if (!strcmp(model, "llama")) {
        t->kind = DL_TOK_SPM;
        sp[SP_BOS] = 1;
        sp[SP_EOS] = 2;
        sp[SP_UNK] = 0;
        t->add_bos = true;
        t->add_space_prefix = true;
    } else if (!strcmp(model, "gpt2")) {
        t->kind = DL_TOK_BPE;
        sp[SP_BOS] = 11;
        sp[SP_EOS] = 11;
    } else {
        dl_error_set(err, 400, "tokenizer: unsupported " KEY_PREFIX "model '%s' (supported: llama, gpt2)",
                     model);
        goto fail;
    }
    if (load_tokens(t, g, err) != 0) goto fail;
    if (t->kind == DL_TOK_BPE) {
        if (load_merges(t, g, err) != 0) goto fail;
        const char *pre = dl_gguf_get_str(g, KEY_PREFIX "pre");
        t->pretok = dl_pretok_new(pre, err);
        if (!t->pretok) goto fail;
        t->ignore_merges = dl_pretok_ignore_merges(t->pretok);
        t->add_bos = dl_pretok_default_add_bos(t->pretok);
    }
    bool b;
    if (dl_gguf_get_bool(g, KEY_PREFIX "add_space_prefix", &b)) t->add_space_prefix = b;
    load_special_ids(g, t->n_vocab, sp);
    if (dl_gguf_get_bool(g, KEY_PREFIX "add_bos_token", &b)) t->add_bos = b;
    if (dl_gguf_get_bool(g, KEY_PREFIX "add_eos_token", &b)) t->add_eos = b;
    if (t->add_bos && sp[SP_BOS] < 0) {
        dl_error_set(err, 400, "tokenizer: the vocabulary asks for BOS but has no BOS token");
        goto fail;
    }
    if (t->add_eos && sp[SP_EOS] < 0) {
        dl_error_set(err, 400, "tokenizer: the vocabulary asks for EOS but has no EOS token");
        goto fail;
    }
    fix_attributes(t, sp);
    build_specials(t);
    set_strip_attributes(t, g);
    for (int32_t id = 0; id < t->n_vocab; id++) t->stored_type[id] = (uint8_t)attr_to_type(t->attr[id]);
    if (t->kind == DL_TOK_SPM) find_byte_tokens(t);
    t->bos = sp[SP_BOS];
    t->eos = sp[SP_EOS];
    t->eot = sp[SP_EOT];
    t->eom = sp[SP_EOM];
    t->unk = sp[SP_UNK];
    t->pad = sp[SP_PAD];
    return t;
fail:
    dl_tokenizer_free(t);
    return NULL;
}

void dl_tokenizer_free(dl_tokenizer *t) {
    if (!t) return;
    free(t->pool);
    free(t->text_off);
    free(t->text_len);
    free(t->scores);
    free(t->attr);
    free(t->stored_type);
    free(t->eog);
    dl_strmap_free(&t->token_ids);
    free(t->merge_pool);
    dl_strmap_free(&t->merges);
    dl_pretok_free(t->pretok);
    free(t->specials);
    free(t);
}

int32_t dl_tokenizer_n_vocab(const dl_tokenizer *t) { return t->n_vocab; }
int32_t dl_tokenizer_bos(const dl_tokenizer *t) { return t->bos; }
int32_t dl_tokenizer_eos(const dl_tokenizer *t) { return t->eos; }
bool dl_tokenizer_add_bos(const dl_tokenizer *t) { return t->add_bos; }
bool dl_tokenizer_add_eos(const dl_tokenizer *t) { return t->add_eos; }

bool dl_tokenizer_is_eog(const dl_tokenizer *t, int32_t id) {
    return id >= 0 && id < t->n_vocab && t->eog[id];
}

int dl_tokenizer_token_type(const dl_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return DL_TOKEN_UNDEFINED;
    return t->stored_type[id];
}

const char *dl_tokenizer_token_text(const dl_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    return dl_tok_text(t, id);
}

int32_t dl_tokenizer_find(const dl_tokenizer *t, const char *text) { return find_id(t, text); }
