/* Learning a byte-level BPE vocabulary from text, and writing it as GGUF
 * tokenizer metadata (model gpt2, pre qwen2) with a Qwen3-style ChatML
 * template.
 *
 * Training: special-token strings are cut out of the texts, the qwen2
 * pre-tokeniser (the same code the tokenizer runs) splits the rest into
 * words, distinct words are counted, and merges are learnt greedily: the
 * most frequent adjacent pair (ties: the lower pair of ids) becomes a new
 * token, applied to every word, until the vocabulary is full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

static const char *const SPECIALS[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>",
                                       "</think>"};
#define N_SPECIALS 5

/* A Qwen3-style ChatML template, written for this project: system and user
 * turns, assistant turns with their reasoning in a think block, and the
 * generation prompt (an empty think block when thinking is turned off). */
static const char CHAT_TEMPLATE[] =
    "{%- for message in messages %}\n"
    "{%- if message.role == 'assistant' %}\n"
    "{%- set content = message.content %}\n"
    "{%- set reasoning = '' %}\n"
    "{%- if message.reasoning_content is string %}{%- set reasoning = message.reasoning_content %}\n"
    "{%- elif '</think>' in content %}{%- set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') %}"
    "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}\n"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if loop.last or reasoning %}{{- '<think>\\n' + reasoning + '\\n</think>\\n\\n' }}{%- endif %}"
    "{{- content + '<|im_end|>\\n' }}\n"
    "{%- else %}\n"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}\n"
    "{%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}\n"
    "{%- endif %}\n";

void dl_bpe_vocab_free(dl_bpe_vocab *v) {
    if (!v) return;
    for (int32_t i = 0; i < v->n_tokens; i++) free(v->tokens[i]);
    for (int32_t i = 0; i < v->n_merges; i++) free(v->merges[i]);
    free(v->tokens);
    free(v->types);
    free(v->merges);
    memset(v, 0, sizeof *v);
}

/* ---- word counting ---- */

typedef struct word {
    char *text; /* raw bytes, NUL-terminated */
    int64_t freq;
    int32_t *sym; /* current symbols (token ids) */
    int32_t n_sym;
} word;

typedef struct word_set {
    word *w;
    size_t n, cap;
    int64_t *slots; /* open addressing: index + 1, 0 = empty */
    size_t n_slots;
} word_set;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static void ws_grow(word_set *ws) {
    size_t ns = ws->n_slots ? ws->n_slots * 2 : 1024;
    int64_t *slots = dl_xcalloc(ns, sizeof(int64_t));
    for (size_t i = 0; i < ws->n; i++) {
        size_t j = hash_bytes(ws->w[i].text, strlen(ws->w[i].text)) & (ns - 1);
        while (slots[j]) j = (j + 1) & (ns - 1);
        slots[j] = (int64_t)i + 1;
    }
    free(ws->slots);
    ws->slots = slots;
    ws->n_slots = ns;
}

static void ws_add(word_set *ws, const char *s, size_t n) {
    if (n == 0) return;
    if (2 * (ws->n + 1) > ws->n_slots) ws_grow(ws);
    size_t j = hash_bytes(s, n) & (ws->n_slots - 1);
    while (ws->slots[j]) {
        word *w = &ws->w[ws->slots[j] - 1];
        if (strlen(w->text) == n && memcmp(w->text, s, n) == 0) {
            w->freq++;
            return;
        }
        j = (j + 1) & (ws->n_slots - 1);
    }
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? 2 * ws->cap : 256;
        ws->w = dl_xrealloc(ws->w, ws->cap * sizeof(word));
    }
    word *w = &ws->w[ws->n];
    w->text = dl_xstrndup(s, n);
    w->freq = 1;
    w->n_sym = (int32_t)n;
    w->sym = dl_xmalloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) w->sym[i] = (unsigned char)s[i];
    ws->slots[j] = (int64_t)++ws->n;
}

static void ws_free(word_set *ws) {
    for (size_t i = 0; i < ws->n; i++) {
        free(ws->w[i].text);
        free(ws->w[i].sym);
    }
    free(ws->w);
    free(ws->slots);
}

/* Splits one text at special tokens and adds its words. */
static int count_text(const dl_pretok *pt, const char *text, word_set *ws, dl_error *err) {
    const char *p = text;
    while (*p) {
        const char *next = NULL;
        size_t slen = 0;
        for (int k = 0; k < N_SPECIALS; k++) {
            const char *q = strstr(p, SPECIALS[k]);
            if (q && (!next || q < next)) next = q, slen = strlen(SPECIALS[k]);
        }
        size_t seg = next ? (size_t)(next - p) : strlen(p);
        if (seg > 0) {
            if (!dl_utf8_valid(p, seg, NULL)) return dl_error_set(err, 400, "bpe: text is not valid UTF-8");
            size_t *spans = NULL, n_words = 0;
            if (dl_pretok_split(pt, p, seg, &spans, &n_words, err)) return -1;
            for (size_t i = 0; i < n_words; i++) ws_add(ws, p + spans[2 * i], spans[2 * i + 1]);
            free(spans);
        }
        if (!next) break;
        p = next + slen;
    }
    return 0;
}

/* ---- pair counting ---- */

typedef struct pair_map {
    uint64_t *keys; /* (a << 32 | b) + 1, 0 = empty */
    int64_t *counts;
    size_t n_slots;
} pair_map;

static void pm_add(pair_map *pm, uint64_t key, int64_t c) {
    size_t j = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (pm->n_slots - 1);
    while (pm->keys[j] && pm->keys[j] != key + 1) j = (j + 1) & (pm->n_slots - 1);
    pm->keys[j] = key + 1;
    pm->counts[j] += c;
}

/* The most frequent pair (count >= 2; ties: lowest key); false if none. */
static bool best_pair(const word_set *ws, pair_map *pm, int32_t *a, int32_t *b) {
    size_t total = 0;
    for (size_t i = 0; i < ws->n; i++) total += (size_t)ws->w[i].n_sym;
    size_t ns = 1024;
    while (ns < 2 * total) ns *= 2;
    if (ns > pm->n_slots) {
        free(pm->keys);
        free(pm->counts);
        pm->keys = dl_xmalloc(ns * sizeof(uint64_t));
        pm->counts = dl_xmalloc(ns * sizeof(int64_t));
        pm->n_slots = ns;
    }
    memset(pm->keys, 0, pm->n_slots * sizeof(uint64_t));
    memset(pm->counts, 0, pm->n_slots * sizeof(int64_t));
    for (size_t i = 0; i < ws->n; i++) {
        const word *w = &ws->w[i];
        for (int32_t k = 0; k + 1 < w->n_sym; k++)
            pm_add(pm, (uint64_t)(uint32_t)w->sym[k] << 32 | (uint32_t)w->sym[k + 1], w->freq);
    }
    int64_t best = 1;
    uint64_t best_key = 0;
    for (size_t j = 0; j < pm->n_slots; j++) {
        if (!pm->keys[j]) continue;
        uint64_t key = pm->keys[j] - 1;
        if (pm->counts[j] > best || (pm->counts[j] == best && best > 1 && key < best_key)) {
            best = pm->counts[j];
            best_key = key;
        }
    }
    if (best < 2) return false;
    *a = (int32_t)(best_key >> 32);
    *b = (int32_t)(best_key & 0xffffffffu);
    return true;
}

static void apply_merge(word_set *ws, int32_t a, int32_t b, int32_t id) {
    for (size_t i = 0; i < ws->n; i++) {
        word *w = &ws->w[i];
        int32_t o = 0;
        for (int32_t k = 0; k < w->n_sym; k++) {
            if (k + 1 < w->n_sym && w->sym[k] == a && w->sym[k + 1] == b) {
                w->sym[o++] = id;
                k++;
            } else {
                w->sym[o++] = w->sym[k];
            }
        }
        w->n_sym = o;
    }
}

static void push_token(dl_bpe_vocab *v, char *text, int32_t type) {
    v->tokens = dl_xrealloc(v->tokens, (size_t)(v->n_tokens + 1) * sizeof(char *));
    v->types = dl_xrealloc(v->types, (size_t)(v->n_tokens + 1) * sizeof(int32_t));
    v->tokens[v->n_tokens] = text;
    v->types[v->n_tokens] = type;
    v->n_tokens++;
}

static int32_t find_token(const dl_bpe_vocab *v, const char *text) {
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (!strcmp(v->tokens[i], text)) return i;
    return -1;
}

static void set_special_ids(dl_bpe_vocab *v) {
    v->id_endoftext = find_token(v, "<|endoftext|>");
    v->id_im_start = find_token(v, "<|im_start|>");
    v->id_im_end = find_token(v, "<|im_end|>");
    v->id_think = find_token(v, "<think>");
    v->id_think_end = find_token(v, "</think>");
}

int dl_bpe_train(const char *const *texts, size_t n, int32_t vocab_size, dl_bpe_vocab *out,
                 dl_error *err) {
    memset(out, 0, sizeof *out);
    if (vocab_size < 256 + N_SPECIALS || vocab_size > 1 << 20)
        return dl_error_set(err, 400, "bpe: vocabulary size %d is outside %d..%d", vocab_size,
                            256 + N_SPECIALS, 1 << 20);
    dl_pretok *pt = dl_pretok_new(DL_BPE_PRE, err);
    if (!pt) return -1;
    word_set ws = {0};
    pair_map pm = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++)
        if (count_text(pt, texts[i], &ws, err)) goto out;
    for (int b = 0; b < 256; b++) {
        char t[3] = {0};
        dl_bytelevel_encode((unsigned char)b, t);
        push_token(out, dl_xstrdup(t), DL_TOKEN_NORMAL);
    }
    int32_t a, b;
    while (out->n_tokens < vocab_size - N_SPECIALS && best_pair(&ws, &pm, &a, &b)) {
        size_t la = strlen(out->tokens[a]), lb = strlen(out->tokens[b]);
        char *text = dl_xmalloc(la + lb + 1);
        memcpy(text, out->tokens[a], la);
        memcpy(text + la, out->tokens[b], lb + 1);
        char *merge = dl_xmalloc(la + lb + 2);
        memcpy(merge, out->tokens[a], la);
        merge[la] = ' ';
        memcpy(merge + la + 1, out->tokens[b], lb + 1);
        out->merges = dl_xrealloc(out->merges, (size_t)(out->n_merges + 1) * sizeof(char *));
        out->merges[out->n_merges++] = merge;
        /* two merge paths can spell the same string: one token for both */
        int32_t id = find_token(out, text);
        if (id < 0) {
            id = out->n_tokens;
            push_token(out, text, DL_TOKEN_NORMAL);
        } else {
            free(text);
        }
        apply_merge(&ws, a, b, id);
    }
    for (size_t i = 0; i < ws.n; i++) out->n_corpus_tokens += ws.w[i].freq * ws.w[i].n_sym;
    for (int k = 0; k < N_SPECIALS; k++)
        push_token(out, dl_xstrdup(SPECIALS[k]), k < 3 ? DL_TOKEN_CONTROL : DL_TOKEN_USER_DEFINED);
    set_special_ids(out);
    rc = 0;
out:
    if (rc) dl_bpe_vocab_free(out);
    ws_free(&ws);
    free(pm.keys);
    free(pm.counts);
    dl_pretok_free(pt);
    return rc;
}

/* ---- GGUF ---- */

static void set_str_array(dl_gguf_writer *w, const char *key, char *const *s, int32_t n) {
    dl_gguf_str *a = dl_xmalloc((size_t)DL_MAX(n, 1) * sizeof(dl_gguf_str));
    for (int32_t i = 0; i < n; i++) a[i] = (dl_gguf_str){s[i], strlen(s[i])};
    dl_gguf_writer_set_arr_str(w, key, a, (uint64_t)n);
    free(a);
}

void dl_bpe_write_meta(const dl_bpe_vocab *v, dl_gguf_writer *w) {
    dl_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2");
    dl_gguf_writer_set_str(w, "tokenizer.ggml.pre", DL_BPE_PRE);
    set_str_array(w, "tokenizer.ggml.tokens", v->tokens, v->n_tokens);
    dl_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", DL_GGUF_INT32, v->types, (uint64_t)v->n_tokens);
    set_str_array(w, "tokenizer.ggml.merges", v->merges, v->n_merges);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->id_endoftext);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->id_im_end);
    dl_gguf_writer_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v->id_endoftext);
    dl_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", false);
    dl_gguf_writer_set_str(w, "tokenizer.chat_template", CHAT_TEMPLATE);
}

int dl_bpe_save(const dl_bpe_vocab *v, const char *path, dl_error *err) {
    dl_gguf_writer *w = dl_gguf_writer_new();
    dl_gguf_writer_set_str(w, "general.architecture", "qwen3");
    dl_gguf_writer_set_str(w, "general.name", "deliberate tokenizer");
    dl_bpe_write_meta(v, w);
    int rc = dl_gguf_writer_write(w, path, err);
    dl_gguf_writer_free(w);
    return rc;
}

int dl_bpe_load(const dl_gguf *g, dl_bpe_vocab *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    int64_t kt = dl_gguf_find_key(g, "tokenizer.ggml.tokens");
    int64_t ky = dl_gguf_find_key(g, "tokenizer.ggml.token_type");
    int64_t km = dl_gguf_find_key(g, "tokenizer.ggml.merges");
    if (kt < 0 || ky < 0 || km < 0 || dl_gguf_arr_type(g, kt) != DL_GGUF_STRING ||
        dl_gguf_arr_type(g, km) != DL_GGUF_STRING || dl_gguf_arr_type(g, ky) != DL_GGUF_INT32 ||
        dl_gguf_arr_len(g, ky) != dl_gguf_arr_len(g, kt))
        return dl_error_set(err, 400, "bpe: the file has no usable tokens/token_type/merges arrays");
    uint64_t n = dl_gguf_arr_len(g, kt), nm = dl_gguf_arr_len(g, km);
    if (n > (1u << 24) || nm > (1u << 24)) return dl_error_set(err, 400, "bpe: vocabulary too large");
    const char *types = dl_gguf_arr_data(g, ky);
    for (uint64_t i = 0; i < n; i++) {
        dl_gguf_str s = dl_gguf_arr_str(g, kt, i);
        int32_t ty;
        memcpy(&ty, types + 4 * i, 4);
        push_token(out, dl_xstrndup(s.ptr, (size_t)s.len), ty);
    }
    out->merges = dl_xmalloc((size_t)DL_MAX(nm, 1) * sizeof(char *));
    for (uint64_t i = 0; i < nm; i++) {
        dl_gguf_str s = dl_gguf_arr_str(g, km, i);
        out->merges[out->n_merges++] = dl_xstrndup(s.ptr, (size_t)s.len);
    }
    set_special_ids(out);
    if (out->id_im_start < 0 || out->id_im_end < 0 || out->id_think < 0 || out->id_think_end < 0 ||
        out->id_endoftext < 0) {
        dl_bpe_vocab_free(out);
        return dl_error_set(err, 400, "bpe: the vocabulary lacks the ChatML and think tokens");
    }
    return 0;
}
