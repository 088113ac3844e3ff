/* Loading a model: hyper-parameters from metadata, every tensor checked for
 * presence, shape and type before the forward pass may touch it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"

typedef struct loader {
    dl_model *m;
    const char *path;
    dl_error *err;
    int64_t n_checked, n_total;
    void (*progress)(float, void *);
    void *ud;
} loader;

static int arch_from_name(const char *name, dl_arch *arch) {
    if (!strcmp(name, "llama")) *arch = DL_ARCH_LLAMA;
    else if (!strcmp(name, "qwen2")) *arch = DL_ARCH_QWEN2;
    else if (!strcmp(name, "qwen3")) *arch = DL_ARCH_QWEN3;
    else return -1;
    return 0;
}

/* Reads "<arch>.<suffix>" as a positive int32; `def` < 0 means required. */
static int get_hp(loader *L, const char *suffix, int64_t def, int32_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->m->hp.arch_name, suffix);
    const dl_gguf *g = L->m->gguf;
    int64_t idx = dl_gguf_find_key(g, key);
    if (idx < 0) {
        if (def < 0)
            return dl_error_set(L->err, 400, "%s: missing metadata key '%s'", L->path, key);
        *out = (int32_t)def;
        return 0;
    }
    if (dl_gguf_kv_type(g, idx) == DL_GGUF_ARRAY) {
        /* per-layer arrays: accept only when every entry is the same */
        dl_gguf_vtype et = dl_gguf_arr_type(g, idx);
        uint64_t n = dl_gguf_arr_len(g, idx);
        if ((et != DL_GGUF_UINT32 && et != DL_GGUF_INT32) || n == 0)
            return dl_error_set(L->err, 400, "%s: metadata key '%s' has an unsupported array type",
                                L->path, key);
        const unsigned char *d = dl_gguf_arr_data(g, idx);
        int32_t first, v;
        memcpy(&first, d, 4);
        for (uint64_t i = 1; i < n; i++) {
            memcpy(&v, d + 4 * i, 4);
            if (v != first)
                return dl_error_set(L->err, 400,
                                    "%s: metadata key '%s' varies per layer, which is not supported",
                                    L->path, key);
        }
        *out = first;
    } else {
        int64_t v;
        if (!dl_gguf_get_i64(g, key, &v) || v < 0 || v > INT32_MAX)
            return dl_error_set(L->err, 400, "%s: metadata key '%s' is not a valid count", L->path,
                                key);
        *out = (int32_t)v;
    }
    if (*out <= 0 && def < 0)
        return dl_error_set(L->err, 400, "%s: metadata key '%s' must be > 0", L->path, key);
    return 0;
}

static float get_hp_f32(loader *L, const char *suffix, float def) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", L->m->hp.arch_name, suffix);
    float v;
    return dl_gguf_get_f32(L->m->gguf, key, &v) ? v : def;
}

/* Block structs are read in place, so tensor data must be aligned for the
 * widest scalar they hold (a file with general.alignment 1 could break that). */
static int check_aligned(loader *L, const dl_gguf_tensor *t) {
    uintptr_t need = t->type == DL_TYPE_F32 ? 4 : 2;
    if ((uintptr_t)t->data % need != 0)
        return dl_error_set(L->err, 400,
                            "%s: tensor '%s' data at byte %llu is not %u-byte aligned (file alignment %llu)",
                            L->path, t->name, (unsigned long long)(dl_gguf_data_offset(L->m->gguf) + t->offset),
                            (unsigned)need, (unsigned long long)dl_gguf_alignment(L->m->gguf));
    return 0;
}

static void tick(loader *L) {
    L->n_checked++;
    if (L->progress && L->n_total > 0) L->progress((float)L->n_checked / (float)L->n_total, L->ud);
}

/* Finds a 2-D weight named `name` with shape (cols, rows) in GGUF order. */
static int get_weight(loader *L, const char *name, int64_t cols, int64_t rows, bool optional,
                      dl_weight *w) {
    const dl_gguf_tensor *t = dl_gguf_find_tensor(L->m->gguf, name);
    memset(w, 0, sizeof *w);
    if (!t) {
        if (optional) return 0;
        return dl_error_set(L->err, 400, "%s: missing tensor '%s'", L->path, name);
    }
    tick(L);
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
        return dl_error_set(L->err, 400,
                            "%s: tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                            L->path, name, (long long)t->ne[0], (long long)t->ne[1],
                            (long long)t->ne[2], (long long)t->ne[3], (long long)cols,
                            (long long)rows);
    if (!dl_type_supported(t->type))
        return dl_error_set(L->err, 400, "%s: tensor '%s' has type %s, which is not supported",
                            L->path, name, dl_type_name(t->type));
    if (check_aligned(L, t)) return -1;
    w->data = t->data;
    w->type = t->type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = dl_type_row_bytes(t->type, cols);
    L->m->n_params += (uint64_t)(rows * cols);
    L->m->weight_bytes += t->size;
    return 0;
}

/* Finds a 1-D tensor of n elements and returns a float copy owned by the model. */
static int get_vector(loader *L, const char *name, int64_t n, bool optional, float **out) {
    const dl_gguf_tensor *t = dl_gguf_find_tensor(L->m->gguf, name);
    *out = NULL;
    if (!t) {
        if (optional) return 0;
        return dl_error_set(L->err, 400, "%s: missing tensor '%s'", L->path, name);
    }
    tick(L);
    if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1)
        return dl_error_set(L->err, 400, "%s: tensor '%s' has shape [%lld, %lld], expected [%lld]",
                            L->path, name, (long long)t->ne[0], (long long)t->ne[1],
                            (long long)n);
    if (check_aligned(L, t)) return -1;
    float *v = dl_xmalloc((size_t)n * sizeof(float));
    if (dl_dequantize_row(t->type, t->data, v, n) != 0) {
        free(v);
        return dl_error_set(L->err, 400, "%s: tensor '%s' has type %s, which is not supported",
                            L->path, name, dl_type_name(t->type));
    }
    dl_model *m = L->m;
    m->owned = dl_xrealloc(m->owned, (size_t)(m->n_owned + 1) * sizeof(float *));
    m->owned[m->n_owned++] = v;
    m->n_params += (uint64_t)n;
    m->weight_bytes += t->size;
    *out = v;
    return 0;
}

static int load_hparams(loader *L) {
    dl_model *m = L->m;
    dl_hparams *hp = &m->hp;
    const char *arch = dl_gguf_get_str(m->gguf, "general.architecture");
    if (!arch) return dl_error_set(L->err, 400, "%s: missing metadata key 'general.architecture'", L->path);
    if (strlen(arch) >= sizeof hp->arch_name || arch_from_name(arch, &hp->arch) != 0)
        return dl_error_set(L->err, 400,
                            "%s: architecture '%.40s' is not supported (supported: llama, qwen2, qwen3)",
                            L->path, arch);
    snprintf(hp->arch_name, sizeof hp->arch_name, "%s", arch);
    if (get_hp(L, "context_length", -1, &hp->n_ctx_train) || get_hp(L, "embedding_length", -1, &hp->n_embd) ||
        get_hp(L, "block_count", -1, &hp->n_layer) || get_hp(L, "feed_forward_length", -1, &hp->n_ff) ||
        get_hp(L, "attention.head_count", -1, &hp->n_head))
        return -1;
    if (get_hp(L, "attention.head_count_kv", hp->n_head, &hp->n_head_kv)) return -1;
    if (hp->n_head_kv <= 0 || hp->n_head % hp->n_head_kv != 0)
        return dl_error_set(L->err, 400, "%s: head_count %d is not a multiple of head_count_kv %d",
                            L->path, hp->n_head, hp->n_head_kv);
    if (get_hp(L, "attention.key_length", hp->n_embd / hp->n_head, &hp->head_dim)) return -1;
    int32_t v_len;
    if (get_hp(L, "attention.value_length", hp->head_dim, &v_len)) return -1;
    if (v_len != hp->head_dim)
        return dl_error_set(L->err, 400, "%s: key_length %d != value_length %d is not supported",
                            L->path, hp->head_dim, v_len);
    if (hp->head_dim <= 0 || hp->head_dim % 2 != 0 || hp->head_dim > 1024)
        return dl_error_set(L->err, 400, "%s: head dimension %d is not supported", L->path, hp->head_dim);
    if (get_hp(L, "rope.dimension_count", hp->head_dim, &hp->n_rot)) return -1;
    if (hp->n_rot <= 0 || hp->n_rot > hp->head_dim || hp->n_rot % 2 != 0)
        return dl_error_set(L->err, 400, "%s: rope.dimension_count %d is invalid for head dimension %d",
                            L->path, hp->n_rot, hp->head_dim);
    hp->rope_freq_base = get_hp_f32(L, "rope.freq_base", 10000.0f);
    hp->rms_eps = get_hp_f32(L, "attention.layer_norm_rms_epsilon", 1e-6f);
    hp->rope_freq_scale = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    const char *scaling = dl_gguf_get_str(m->gguf, key);
    float factor = get_hp_f32(L, "rope.scaling.factor", 0.0f);
    if (scaling && strcmp(scaling, "none") != 0) {
        if (strcmp(scaling, "linear") != 0)
            return dl_error_set(L->err, 400, "%s: rope scaling '%.32s' is not supported (only linear)",
                                L->path, scaling);
        if (factor > 0.0f) hp->rope_freq_scale = 1.0f / factor;
    } else if (!scaling && factor > 1.0f) {
        hp->rope_freq_scale = 1.0f / factor;
    }
    if (!(hp->rope_freq_base > 0.0f) || !(hp->rms_eps > 0.0f))
        return dl_error_set(L->err, 400, "%s: rope.freq_base and layer_norm_rms_epsilon must be > 0", L->path);
    hp->rope_style = hp->arch == DL_ARCH_LLAMA ? DL_ROPE_NORMAL : DL_ROPE_NEOX;
    return 0;
}

static int load_tensors(loader *L) {
    dl_model *m = L->m;
    dl_hparams *hp = &m->hp;
    const int64_t E = hp->n_embd, HD = hp->head_dim;
    const int64_t QD = (int64_t)hp->n_head * HD, KVD = (int64_t)hp->n_head_kv * HD;
    const dl_gguf_tensor *te = dl_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!te) return dl_error_set(L->err, 400, "%s: missing tensor 'token_embd.weight'", L->path);
    hp->n_vocab = (int32_t)te->ne[1];
    if (hp->n_vocab != dl_tokenizer_n_vocab(m->tok))
        return dl_error_set(L->err, 400, "%s: token_embd has %d rows but the vocabulary has %d tokens",
                            L->path, hp->n_vocab, dl_tokenizer_n_vocab(m->tok));
    if (get_weight(L, "token_embd.weight", E, hp->n_vocab, false, &m->tok_embd)) return -1;
    if (get_vector(L, "output_norm.weight", E, false, &m->output_norm)) return -1;
    if (get_weight(L, "output.weight", E, hp->n_vocab, true, &m->output)) return -1;
    hp->tied_output = m->output.data == NULL;
    if (hp->tied_output) m->output = m->tok_embd;
    m->layers = dl_xcalloc((size_t)hp->n_layer, sizeof(dl_layer));
    char name[96];
#define NAME(fmt) (snprintf(name, sizeof name, "blk.%d." fmt, l), name)
    for (int l = 0; l < hp->n_layer; l++) {
        dl_layer *ly = &m->layers[l];
        if (get_vector(L, NAME("attn_norm.weight"), E, false, &ly->attn_norm) ||
            get_weight(L, NAME("attn_q.weight"), E, QD, false, &ly->wq) ||
            get_weight(L, NAME("attn_k.weight"), E, KVD, false, &ly->wk) ||
            get_weight(L, NAME("attn_v.weight"), E, KVD, false, &ly->wv) ||
            get_weight(L, NAME("attn_output.weight"), QD, E, false, &ly->wo) ||
            get_vector(L, NAME("attn_q.bias"), QD, true, &ly->bq) ||
            get_vector(L, NAME("attn_k.bias"), KVD, true, &ly->bk) ||
            get_vector(L, NAME("attn_v.bias"), KVD, true, &ly->bv) ||
            get_vector(L, NAME("attn_q_norm.weight"), HD, hp->arch != DL_ARCH_QWEN3, &ly->q_norm) ||
            get_vector(L, NAME("attn_k_norm.weight"), HD, hp->arch != DL_ARCH_QWEN3, &ly->k_norm) ||
            get_vector(L, NAME("ffn_norm.weight"), E, false, &ly->ffn_norm) ||
            get_weight(L, NAME("ffn_gate.weight"), E, hp->n_ff, false, &ly->w_gate) ||
            get_weight(L, NAME("ffn_up.weight"), E, hp->n_ff, false, &ly->w_up) ||
            get_weight(L, NAME("ffn_down.weight"), hp->n_ff, E, false, &ly->w_down))
            return -1;
        if ((ly->bq != NULL) != (ly->bk != NULL) || (ly->bq != NULL) != (ly->bv != NULL))
            return dl_error_set(L->err, 400, "%s: layer %d has only some of the q/k/v biases", L->path, l);
        if ((ly->q_norm != NULL) != (ly->k_norm != NULL))
            return dl_error_set(L->err, 400, "%s: layer %d has only one of attn_q_norm/attn_k_norm", L->path, l);
        if (l == 0) {
            hp->has_qkv_bias = ly->bq != NULL;
            hp->has_qk_norm = ly->q_norm != NULL;
        } else if (hp->has_qkv_bias != (ly->bq != NULL) || hp->has_qk_norm != (ly->q_norm != NULL)) {
            return dl_error_set(L->err, 400, "%s: layer %d differs in structure from layer 0", L->path, l);
        }
    }
#undef NAME
    if (L->n_checked != dl_gguf_n_tensors(m->gguf)) {
        /* a tensor we do not use: say which, so a wrong architecture is noticed */
        for (int64_t i = 0; i < dl_gguf_n_tensors(m->gguf); i++) {
            const char *tn = dl_gguf_tensor_at(m->gguf, i)->name;
            if (strncmp(tn, "blk.", 4) == 0 || !strcmp(tn, "token_embd.weight") ||
                !strcmp(tn, "output_norm.weight") || !strcmp(tn, "output.weight") ||
                !strcmp(tn, "rope_freqs.weight"))
                continue;
            dl_log(DL_LOG_WARN, "%s: ignoring unused tensor '%s'", L->path, tn);
        }
    }
    return 0;
}

dl_model *dl_model_load(const char *path, void (*progress)(float, void *), void *ud, dl_error *err) {
    dl_model *m = dl_xcalloc(1, sizeof *m);
    loader L = {.m = m, .path = path, .err = err, .progress = progress, .ud = ud};
    m->gguf = dl_gguf_open(path, err);
    if (!m->gguf) goto fail;
    L.n_total = dl_gguf_n_tensors(m->gguf);
    if (load_hparams(&L)) goto fail;
    m->tok = dl_tokenizer_load(m->gguf, err);
    if (!m->tok) goto fail;
    if (load_tensors(&L)) goto fail;
    if (progress) progress(1.0f, ud);
    return m;
fail:
    dl_model_free(m);
    return NULL;
}

void dl_model_free(dl_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    dl_tokenizer_free(m->tok);
    dl_gguf_close(m->gguf);
    free(m);
}

const dl_hparams *dl_model_hparams(const dl_model *m) { return &m->hp; }
const dl_tokenizer *dl_model_tokenizer(const dl_model *m) { return m->tok; }
const dl_gguf *dl_model_gguf(const dl_model *m) { return m->gguf; }
uint64_t dl_model_n_params(const dl_model *m) { return m->n_params; }
uint64_t dl_model_weight_bytes(const dl_model *m) { return m->weight_bytes; }
