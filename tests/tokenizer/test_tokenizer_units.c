/* Unit tests for the tokenizer's parts and its error handling, on small
 * vocabularies built in memory (no fixtures needed), plus a randomised
 * round-trip check over the fixture vocabularies. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "base/base.h"
#include "gguf/gguf.h"
#include "tokenizer/tok_int.h"
#include "tokenizer/tokenizer.h"

/* ---- a tiny GGUF writer for metadata-only files ------------------------ */

typedef struct gb {
    dl_buf b;
    uint64_t n_kv;
} gb;

static void put_u32(dl_buf *b, uint32_t v) { dl_buf_append(b, &v, 4); }
static void put_u64(dl_buf *b, uint64_t v) { dl_buf_append(b, &v, 8); }
static void put_str(dl_buf *b, const char *s) {
    put_u64(b, strlen(s));
    dl_buf_append(b, s, strlen(s));
}
static void kv_head(gb *g, const char *key, uint32_t type) {
    put_str(&g->b, key);
    put_u32(&g->b, type);
    g->n_kv++;
}
static void kv_str(gb *g, const char *key, const char *v) {
    kv_head(g, key, DL_GGUF_STRING);
    put_str(&g->b, v);
}
static void kv_u32(gb *g, const char *key, uint32_t v) {
    kv_head(g, key, DL_GGUF_UINT32);
    put_u32(&g->b, v);
}
static void kv_bool(gb *g, const char *key, bool v) {
    kv_head(g, key, DL_GGUF_BOOL);
    uint8_t x = v;
    dl_buf_append(&g->b, &x, 1);
}
static void kv_strs(gb *g, const char *key, const char *const *v, size_t n) {
    kv_head(g, key, DL_GGUF_ARRAY);
    put_u32(&g->b, DL_GGUF_STRING);
    put_u64(&g->b, n);
    for (size_t i = 0; i < n; i++) put_str(&g->b, v[i]);
}
static void kv_f32s(gb *g, const char *key, const float *v, size_t n) {
    kv_head(g, key, DL_GGUF_ARRAY);
    put_u32(&g->b, DL_GGUF_FLOAT32);
    put_u64(&g->b, n);
    dl_buf_append(&g->b, v, n * 4);
}
static void kv_i32s(gb *g, const char *key, const int32_t *v, size_t n) {
    kv_head(g, key, DL_GGUF_ARRAY);
    put_u32(&g->b, DL_GGUF_INT32);
    put_u64(&g->b, n);
    dl_buf_append(&g->b, v, n * 4);
}

/* Wraps the key/values into a GGUF v3 file image (caller frees). */
static void *gb_finish(gb *g, size_t *size) {
    dl_buf f = {0};
    dl_buf_append(&f, "GGUF", 4);
    put_u32(&f, 3);
    put_u64(&f, 0);
    put_u64(&f, g->n_kv);
    dl_buf_append(&f, g->b.data, g->b.len);
    while (f.len % 32) dl_buf_append(&f, "", 1);
    dl_buf_free(&g->b);
    *size = f.len;
    return f.data;
}

typedef struct mem_tok {
    void *data;
    dl_gguf *g;
    dl_tokenizer *t;
    dl_error err;
} mem_tok;

/* Loads a tokenizer from g's metadata; t is NULL (and err set) on failure. */
static mem_tok load_mem(gb *g) {
    mem_tok m = {0};
    size_t size;
    m.data = gb_finish(g, &size);
    m.g = dl_gguf_open_memory(m.data, size, "mem.gguf", &m.err);
    if (!m.g) fail_msg("gguf: %s", m.err.msg);
    m.t = dl_tokenizer_load(m.g, &m.err);
    return m;
}

static void free_mem(mem_tok *m) {
    dl_tokenizer_free(m->t);
    dl_gguf_close(m->g);
    free(m->data);
}

static void expect_ids(const dl_tokenizer *t, const char *text, bool special, const int32_t *want,
                       size_t n_want) {
    int32_t *ids;
    size_t n;
    dl_error err = {0};
    assert_int_equal(dl_tokenize(t, text, strlen(text), special, special, &ids, &n, &err), 0);
    if (n != n_want || (n && memcmp(ids, want, n * sizeof *ids))) {
        print_message("text '%s': got", text);
        for (size_t i = 0; i < n; i++) print_message(" %d", ids[i]);
        print_message("\n");
        fail();
    }
    free(ids);
}

/* ---- small in-memory vocabularies -------------------------------------- */

static void test_tiny_bpe(void **state) {
    static const char *const toks[] = {"a", "b", "ab", "\xC4\xA0", "\304\240ab", "<|eot|>", "<u>"};
    static const char *const merges[] = {"a b", "\xC4\xA0 ab", "nospace"};
    static const int32_t types[] = {1, 1, 1, 1, 1, 3, 4};
    gb g = {0};
    kv_str(&g, "tokenizer.ggml.model", "gpt2");
    kv_str(&g, "tokenizer.ggml.pre", "gpt-2");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 7);
    kv_strs(&g, "tokenizer.ggml.merges", merges, 3);
    kv_i32s(&g, "tokenizer.ggml.token_type", types, 7);
    kv_u32(&g, "tokenizer.ggml.eos_token_id", 5);
    mem_tok m = load_mem(&g);
    if (!m.t) fail_msg("%s", m.err.msg);
    assert_int_equal(dl_tokenizer_n_vocab(m.t), 7);
    assert_false(dl_tokenizer_add_bos(m.t));
    assert_int_equal(dl_tokenizer_bos(m.t), -1); /* default 11 is out of range */
    assert_int_equal(dl_tokenizer_eos(m.t), 5);
    assert_true(dl_tokenizer_is_eog(m.t, 5));
    expect_ids(m.t, "ab ab", false, (const int32_t[]){2, 4}, 2);
    expect_ids(m.t, "abab", false, (const int32_t[]){2, 2}, 2);
    /* characters outside the vocabulary are dropped, as in the reference */
    expect_ids(m.t, "cab", false, (const int32_t[]){2}, 1);
    /* CONTROL only with parse_special, USER_DEFINED always */
    expect_ids(m.t, "ab<|eot|>", true, (const int32_t[]){2, 5}, 2);
    expect_ids(m.t, "a<u>b", false, (const int32_t[]){0, 6, 1}, 3);
    char buf[16];
    assert_int_equal(dl_token_to_piece(m.t, 4, false, buf, sizeof buf), 3);
    assert_memory_equal(buf, " ab", 3);
    assert_int_equal(dl_token_to_piece(m.t, 6, false, buf, sizeof buf), 3); /* user-defined: text */
    assert_int_equal(dl_token_to_piece(m.t, 5, false, buf, sizeof buf), 0); /* control: hidden */
    free_mem(&m);
}

static void test_tiny_spm(void **state) {
    static const char *const toks[] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b",
                                       "\342\226\201a", "ab", "\342\226\201ab", "<0x63>",
                                       "<0xC3>", "<0xA9>"};
    static const float scores[] = {0, 0, 0, -1, -2, -2, -3, -1, -0.5f, 0, 0, 0};
    static const int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 6, 6, 6};
    gb g = {0};
    kv_str(&g, "tokenizer.ggml.model", "llama");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 12);
    kv_f32s(&g, "tokenizer.ggml.scores", scores, 12);
    kv_i32s(&g, "tokenizer.ggml.token_type", types, 12);
    mem_tok m = load_mem(&g);
    if (!m.t) fail_msg("%s", m.err.msg);
    assert_true(dl_tokenizer_add_bos(m.t));
    assert_int_equal(dl_tokenizer_bos(m.t), 1);
    /* "▁ab": the best-scored merges win */
    expect_ids(m.t, "ab", false, (const int32_t[]){8}, 1);
    expect_ids(m.t, "ab", true, (const int32_t[]){1, 8}, 2);
    /* byte fallback; a byte without a token becomes <unk> */
    expect_ids(m.t, "c\xC3\xA9", false, (const int32_t[]){3, 9, 10, 11}, 4);
    expect_ids(m.t, "d", false, (const int32_t[]){3, 0}, 2);
    /* a space prefix after a special token too */
    expect_ids(m.t, "<s>ab", true, (const int32_t[]){1, 1, 8}, 3);
    free_mem(&m);

    /* add_space_prefix = false */
    gb g2 = {0};
    kv_str(&g2, "tokenizer.ggml.model", "llama");
    kv_strs(&g2, "tokenizer.ggml.tokens", toks, 12);
    kv_f32s(&g2, "tokenizer.ggml.scores", scores, 12);
    kv_i32s(&g2, "tokenizer.ggml.token_type", types, 12);
    kv_bool(&g2, "tokenizer.ggml.add_space_prefix", false);
    kv_bool(&g2, "tokenizer.ggml.add_bos_token", false);
    m = load_mem(&g2);
    if (!m.t) fail_msg("%s", m.err.msg);
    expect_ids(m.t, "ab", true, (const int32_t[]){7}, 1);
    free_mem(&m);
}

static void expect_load_error(gb *g, const char *needle) {
    mem_tok m = load_mem(g);
    assert_null(m.t);
    assert_int_equal(m.err.status, 400);
    if (!strstr(m.err.msg, needle)) fail_msg("error '%s' lacks '%s'", m.err.msg, needle);
    free_mem(&m);
}

static void test_load_errors(void **state) {
    static const char *const toks[] = {"a", "b"};
    gb g = {0};
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 2);
    expect_load_error(&g, "missing tokenizer.ggml.model");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "bert");
    expect_load_error(&g, "unsupported tokenizer.ggml.model 'bert'");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "llama");
    expect_load_error(&g, "missing tokenizer.ggml.tokens");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "llama");
    kv_str(&g, "tokenizer.ggml.tokens", "a");
    expect_load_error(&g, "not an array of strings");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "llama");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 2);
    kv_f32s(&g, "tokenizer.ggml.scores", (const float[]){0}, 1);
    expect_load_error(&g, "scores has 1 entries for 2 tokens");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "llama");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 2);
    kv_strs(&g, "tokenizer.ggml.token_type", toks, 2);
    expect_load_error(&g, "token_type is not an integer array");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "gpt2");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 2);
    expect_load_error(&g, "without tokenizer.ggml.merges");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "gpt2");
    kv_str(&g, "tokenizer.ggml.pre", "no-such-pre");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 2);
    kv_strs(&g, "tokenizer.ggml.merges", (const char *const[]){"a b"}, 1);
    expect_load_error(&g, "unsupported pre-tokenizer 'no-such-pre'");

    g = (gb){0};
    kv_str(&g, "tokenizer.ggml.model", "gpt2");
    kv_strs(&g, "tokenizer.ggml.tokens", toks, 2);
    kv_strs(&g, "tokenizer.ggml.merges", (const char *const[]){"a b"}, 1);
    kv_bool(&g, "tokenizer.ggml.add_bos_token", true);
    expect_load_error(&g, "asks for BOS but has no BOS token");
}

/* ---- parts ------------------------------------------------------------- */

static void test_byte_alphabet(void **state) {
    bool seen[0x200] = {0};
    for (int b = 0; b < 256; b++) {
        char out[2];
        int n = dl_bytelevel_encode((unsigned char)b, out);
        uint32_t cp;
        assert_int_equal(dl_utf8_decode(out, (size_t)n, &cp), n);
        assert_true(cp < 0x200);
        assert_false(seen[cp]);
        seen[cp] = true;
        assert_int_equal(dl_bytelevel_decode(cp), b);
    }
    char out[2];
    assert_int_equal(dl_bytelevel_encode(' ', out), 2);
    assert_memory_equal(out, "\xC4\xA0", 2); /* Ġ */
    assert_int_equal(dl_bytelevel_encode('\n', out), 2);
    assert_memory_equal(out, "\xC4\x8A", 2); /* Ċ */
    assert_int_equal(dl_bytelevel_decode(0x144), -1);
    assert_int_equal(dl_bytelevel_decode(0x20), -1);
}

static void test_strmap_and_heap(void **state) {
    dl_strmap m;
    dl_strmap_init(&m, 2);
    static char keys[2000][16];
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        dl_strmap_put(&m, keys[i], strlen(keys[i]), i, false);
    }
    dl_strmap_put(&m, keys[5], strlen(keys[5]), 99, false); /* keep the first */
    assert_int_equal(dl_strmap_get(&m, "k5", 2), 5);
    dl_strmap_put(&m, keys[5], strlen(keys[5]), 99, true);
    assert_int_equal(dl_strmap_get(&m, "k5", 2), 99);
    assert_int_equal(dl_strmap_get(&m, "k1999", 5), 1999);
    assert_int_equal(dl_strmap_get(&m, "k2000", 5), -1);
    assert_int_equal(dl_strmap_get(&m, "k1", 1), -1);
    dl_strmap_free(&m);

    dl_bheap h = {0};
    uint32_t x = 12345;
    for (int i = 0; i < 500; i++) {
        x = x * 1103515245u + 12345u;
        dl_bheap_push(&h, (dl_bigram){(double)((x >> 16) % 50), (int32_t)(i % 7), 0, 0});
    }
    dl_bigram prev, cur;
    assert_true(dl_bheap_pop(&h, &prev));
    int n = 1;
    while (dl_bheap_pop(&h, &cur)) {
        assert_true(prev.key < cur.key || (prev.key == cur.key && prev.left <= cur.left));
        prev = cur;
        n++;
    }
    assert_int_equal(n, 500);
    free(h.v);
}

/* Splits text and compares the pieces with want ("|"-separated). */
static void expect_split(const char *pre, const char *text, const char *want) {
    dl_error err = {0};
    dl_pretok *p = dl_pretok_new(pre, &err);
    if (!p) fail_msg("%s", err.msg);
    size_t *spans, n;
    assert_int_equal(dl_pretok_split(p, text, strlen(text), &spans, &n, &err), 0);
    dl_buf got = {0};
    for (size_t i = 0; i < n; i++) {
        if (i) dl_buf_append(&got, "|", 1);
        dl_buf_append(&got, text + spans[2 * i], spans[2 * i + 1]);
    }
    dl_buf_append(&got, "", 0);
    if (strcmp(got.data, want)) fail_msg("%s: '%s' -> '%s', want '%s'", pre, text, got.data, want);
    dl_buf_free(&got);
    free(spans);
    dl_pretok_free(p);
}

static void test_pretokenizers(void **state) {
    expect_split("gpt-2", "Hello world's  test\n\n123", "Hello| world|'s| | test|\n|\n|123");
    expect_split("llama-bpe", "Hello world's  test\n\n12345", "Hello| world|'s| | test|\n\n|123|45");
    expect_split("llama-bpe", "I'M HERE", "I|'M| HERE");
    expect_split("qwen2", "abc 12345 x", "abc| |1|2|3|4|5| x");
    expect_split("deepseek-r1-qwen", "abc 12", "abc| |1|2");
    expect_split("gpt-4o", " className getHTTPResponse", " class|Name| get|HTTPResponse");
    expect_split("gpt-4o", "don't I'M", "don't| I'M");
    expect_split("deepseek-coder", "a,b\n12", "a|,|b|\n|1|2");
    expect_split("default", "a+b 1234", "a|+|b| |123|4");
    expect_split("qwen2", "\xE4\xBD\xA0\xE5\xA5\xBD \xD0\xBC\xD0\xB8\xD1\x80", "\xE4\xBD\xA0\xE5\xA5\xBD| \xD0\xBC\xD0\xB8\xD1\x80");
    dl_error err = {0};
    assert_null(dl_pretok_new("nope", &err));
    assert_int_equal(err.status, 400);
}

/* ---- randomised round trip over the fixture vocabularies --------------- */

static uint32_t rnd(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static size_t random_text(uint64_t *seed, char *out, size_t cap) {
    static const char *const bits[] = {" ", "  ", "\n", "\t", "\r\n", "'s", "'LL", "123", "a", "Hello",
                                       "\xC3\xA9", "\xE4\xBD\xA0", "\xF0\x9F\xA6\x99", "\xE2\x80\x8D",
                                       "<|im_end|>", "</s>", "<think>", "\xE2\x96\x81", "\xC2\xA0",
                                       "\xE3\x80\x80", "!?", "//"};
    size_t n = 0;
    int parts = 1 + (int)(rnd(seed) % 24);
    for (int i = 0; i < parts && n + 8 < cap; i++) {
        if (rnd(seed) % 3) {
            const char *b = bits[rnd(seed) % DL_ARRAY_LEN(bits)];
            size_t l = strlen(b);
            if (n + l >= cap) break;
            memcpy(out + n, b, l);
            n += l;
        } else {
            uint32_t cp;
            do {
                uint32_t r = rnd(seed);
                cp = (r & 1) ? r % 0x3000 : r % 0x110000;
            } while (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF));
            n += (size_t)dl_utf8_encode(cp, out + n);
        }
    }
    return n;
}

static void test_random_round_trip(void **state) {
    DL_REQUIRE_FIXTURES();
    static const char *const files[] = {"vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-llama-bpe.gguf",
                                        "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-deepseek-coder.gguf",
                                        "vocab/ggml-vocab-llama-spm.gguf", "models/tiny-qwen3-f32.gguf",
                                        "models/tiny-gpt-oss-f32.gguf", "models/stories260K.gguf"};
    uint64_t seed = 42;
    for (size_t f = 0; f < DL_ARRAY_LEN(files); f++) {
        dl_error err = {0};
        dl_gguf *g = dl_gguf_open(dl_test_fixture(files[f]), &err);
        if (!g) fail_msg("%s", err.msg);
        dl_tokenizer *t = dl_tokenizer_load(g, &err);
        if (!t) fail_msg("%s", err.msg);
        int pass = 0, runs = 300;
        bool spm = strcmp(dl_gguf_get_str(g, "tokenizer.ggml.model"), "llama") == 0;
        for (int r = 0; r < runs; r++) {
            char text[512];
            size_t len = random_text(&seed, text, sizeof text);
            /* SentencePiece cannot give back a literal U+2581: it is its space */
            while (spm && memmem(text, len, "\xE2\x96\x81", 3)) len = random_text(&seed, text, sizeof text);
            int32_t *ids;
            size_t n;
            assert_int_equal(dl_tokenize(t, text, len, false, false, &ids, &n, &err), 0);
            /* special parsing must not crash either */
            int32_t *ids2;
            size_t n2;
            assert_int_equal(dl_tokenize(t, text, len, true, true, &ids2, &n2, &err), 0);
            free(ids2);
            dl_detok d;
            dl_detok_init(&d, t, false);
            dl_buf out = {0};
            for (size_t i = 0; i < n; i++) dl_detok_push(&d, ids[i], &out);
            dl_detok_flush(&d, &out);
            bool ok = out.len == len && (len == 0 || memcmp(out.data, text, len) == 0);
            if (!ok && pass == r)
                print_message("  %s: first failure on \"%.*s\" -> \"%.*s\"\n", files[f], (int)len, text,
                              (int)out.len, out.data ? out.data : "");
            pass += ok;
            dl_buf_free(&out);
            free(ids);
        }
        print_message("%s: random round trip %d/%d\n", files[f], pass, runs);
        assert_int_equal(pass, runs);
        dl_tokenizer_free(t);
        dl_gguf_close(g);
    }
}

typedef struct thread_job {
    const dl_tokenizer *t;
    const char *text;
    const int32_t *want;
    size_t n_want;
    int ok;
} thread_job;

static void *tokenize_many(void *arg) {
    thread_job *j = arg;
    j->ok = 1;
    for (int r = 0; r < 40; r++) {
        int32_t *ids;
        size_t n;
        dl_error err = {0};
        if (dl_tokenize(j->t, j->text, strlen(j->text), true, true, &ids, &n, &err) != 0 ||
            n != j->n_want || memcmp(ids, j->want, n * sizeof *ids) != 0)
            j->ok = 0;
        free(ids);
    }
    return NULL;
}

/* One tokenizer used from several threads gives the same ids as one thread. */
static void test_threads(void **state) {
    DL_REQUIRE_FIXTURES();
    dl_error err = {0};
    dl_gguf *g = dl_gguf_open(dl_test_fixture("models/tiny-gpt-oss-f32.gguf"), &err);
    if (!g) fail_msg("%s", err.msg);
    dl_tokenizer *t = dl_tokenizer_load(g, &err);
    if (!t) fail_msg("%s", err.msg);
    const char *text = "<|start|>user<|message|>The className of getHTTPResponse is 12345 \xF0\x9F\xA6\x99"
                       " and  spaces\n\n<|end|>";
    int32_t *want;
    size_t n_want;
    assert_int_equal(dl_tokenize(t, text, strlen(text), true, true, &want, &n_want, &err), 0);
    pthread_t th[4];
    thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (thread_job){t, text, want, n_want, 0};
        assert_int_equal(pthread_create(&th[i], NULL, tokenize_many, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].ok, 1);
    }
    free(want);
    dl_tokenizer_free(t);
    dl_gguf_close(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_bpe),        cmocka_unit_test(test_tiny_spm),
        cmocka_unit_test(test_load_errors),     cmocka_unit_test(test_byte_alphabet),
        cmocka_unit_test(test_strmap_and_heap), cmocka_unit_test(test_pretokenizers),
        cmocka_unit_test(test_random_round_trip), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
