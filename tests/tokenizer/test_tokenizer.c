/* Tests for src/tokenizer against the reference data in ../shared/fixtures:
 * the upstream vocab tests (.inp/.out), the tokenize.json cases, the prompt
 * ids of every reference model JSON, round trips, streaming decoding,
 * errors and speed. Every fixture test prints its pass count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/testutil.h"
#include "base/base.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

static const char *const VOCABS[] = {"llama-spm", "phi-3", "gpt-2", "deepseek-coder", "qwen2",
                                     "llama-bpe"};

typedef struct loaded {
    dl_gguf *g;
    dl_tokenizer *t;
} loaded;

static loaded load_path(const char *path) {
    dl_error err = {0};
    loaded l = {0};
    l.g = dl_gguf_open(path, &err);
    if (!l.g) fail_msg("open %s: %s", path, err.msg);
    l.t = dl_tokenizer_load(l.g, &err);
    if (!l.t) fail_msg("tokenizer %s: %s", path, err.msg);
    return l;
}

static loaded load_vocab(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf", name);
    return load_path(dl_test_fixture(rel));
}

static void unload(loaded *l) {
    dl_tokenizer_free(l->t);
    dl_gguf_close(l->g);
}

static char *read_fixture(const char *rel, size_t *len) {
    dl_error err = {0};
    char *s = dl_read_file(dl_test_fixture(rel), len, &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

/* Formats ids for a failure message. */
static const char *fmt_ids(const int32_t *ids, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o + 16 < cap; i++) o += (size_t)snprintf(buf + o, cap - o, "%s%d", i ? " " : "", ids[i]);
    return buf;
}

static bool same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* Tokenizes and compares; prints the difference on a mismatch. */
static bool check_case(const dl_tokenizer *t, const char *label, const char *text, size_t len,
                       bool add_special, bool parse_special, const int32_t *want, size_t n_want) {
    int32_t *ids = NULL;
    size_t n = 0;
    dl_error err = {0};
    if (dl_tokenize(t, text, len, add_special, parse_special, &ids, &n, &err) != 0) {
        print_message("  %s: error %s\n", label, err.msg);
        return false;
    }
    bool ok = same_ids(ids, n, want, n_want);
    if (!ok) {
        char a[2048], b[2048];
        print_message("  MISMATCH %s text=\"%.*s\"\n    got  %s\n    want %s\n", label,
                      (int)DL_MIN(len, 120), text, fmt_ids(ids, n, a, sizeof a),
                      fmt_ids(want, n_want, b, sizeof b));
    }
    free(ids);
    return ok;
}

/* Splits a .inp file into its texts (caller frees the array; texts point into s). */
static size_t split_inp(char *s, size_t len, char ***texts, size_t **lens) {
    static const char SEP[] = "\n__ggml_vocab_test__\n";
    size_t cap = 64, n = 0;
    *texts = malloc(cap * sizeof **texts);
    *lens = malloc(cap * sizeof **lens);
    char *p = s, *end = s + len;
    for (;;) {
        char *q = memmem(p, (size_t)(end - p), SEP, sizeof SEP - 1);
        if (!q) break; /* the piece after the last separator is empty */
        if (n == cap) {
            cap *= 2;
            *texts = realloc(*texts, cap * sizeof **texts);
            *lens = realloc(*lens, cap * sizeof **lens);
        }
        (*texts)[n] = p;
        (*lens)[n] = (size_t)(q - p);
        n++;
        p = q + sizeof SEP - 1;
    }
    return n;
}

static size_t parse_ids(const char *line, int32_t *out, size_t cap) {
    size_t n = 0;
    const char *p = line;
    while (*p && *p != '\n') {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p) {
            p++;
            continue;
        }
        if (n < cap) out[n++] = (int32_t)v;
        p = e;
    }
    return n;
}

static void test_vocab_inp_out(void **state) {
    DL_REQUIRE_FIXTURES();
    int total_fail = 0;
    for (size_t v = 0; v < DL_ARRAY_LEN(VOCABS); v++) {
        loaded l = load_vocab(VOCABS[v]);
        char rel[256];
        size_t inp_len, out_len;
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", VOCABS[v]);
        char *inp = read_fixture(rel, &inp_len);
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", VOCABS[v]);
        char *out = read_fixture(rel, &out_len);
        char **texts;
        size_t *lens;
        size_t n = split_inp(inp, inp_len, &texts, &lens);
        int pass = 0;
        char *line = out;
        static int32_t want[4096];
        for (size_t i = 0; i < n; i++) {
            assert_non_null(line);
            size_t nw = parse_ids(line, want, DL_ARRAY_LEN(want));
            char label[64];
            snprintf(label, sizeof label, "%s #%zu", VOCABS[v], i);
            pass += check_case(l.t, label, texts[i], lens[i], false, false, want, nw);
            line = strchr(line, '\n');
            if (line) line++;
        }
        print_message("%s.gguf.inp/.out: %d/%zu passed\n", VOCABS[v], pass, n);
        total_fail += (int)n - pass;
        assert_true(n >= 40);
        free(texts);
        free(lens);
        free(inp);
        free(out);
        unload(&l);
    }
    assert_int_equal(total_fail, 0);
}

static size_t json_ids(json_t *arr, int32_t **out) {
    size_t n = json_array_size(arr);
    *out = malloc((n ? n : 1) * sizeof **out);
    for (size_t i = 0; i < n; i++) (*out)[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    return n;
}

/* Runs every case of a tokenize.json file; returns the number of failures. */
static int run_tokenize_json(const dl_tokenizer *t, const char *rel, const char *label) {
    json_error_t jerr;
    json_t *root = json_load_file(dl_test_fixture(rel), 0, &jerr);
    if (!root) fail_msg("%s: %s", rel, jerr.text);
    size_t n = json_array_size(root);
    int pass = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(root, i);
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t len = json_string_length(json_object_get(c, "text"));
        int32_t *plain, *special;
        size_t np = json_ids(json_object_get(c, "ids_plain"), &plain);
        size_t ns = json_ids(json_object_get(c, "ids_add_special_parse_special"), &special);
        char lab[128];
        snprintf(lab, sizeof lab, "%s #%zu plain", label, i);
        pass += check_case(t, lab, text, len, false, false, plain, np);
        snprintf(lab, sizeof lab, "%s #%zu special", label, i);
        pass += check_case(t, lab, text, len, true, true, special, ns);
        free(plain);
        free(special);
    }
    print_message("%s: %d/%zu passed\n", rel, pass, 2 * n);
    json_decref(root);
    assert_true(n >= 10);
    return (int)(2 * n) - pass;
}

static void test_vocab_tokenize_json(void **state) {
    DL_REQUIRE_FIXTURES();
    int fails = 0;
    for (size_t v = 0; v < DL_ARRAY_LEN(VOCABS); v++) {
        loaded l = load_vocab(VOCABS[v]);
        char rel[256];
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.tokenize.json", VOCABS[v]);
        fails += run_tokenize_json(l.t, rel, VOCABS[v]);
        unload(&l);
    }
    assert_int_equal(fails, 0);
}

static void test_gpt_oss_tokenize_json(void **state) {
    DL_REQUIRE_FIXTURES();
    loaded l = load_path(dl_test_fixture("models/tiny-gpt-oss-f32.gguf"));
    int fails = run_tokenize_json(l.t, "reference/tiny-gpt-oss.tokenize.json", "tiny-gpt-oss");
    /* end of generation as the reference computes it for harmony */
    static const int32_t eog[] = {2022, 2024, 2041, 2042, 2043, 2052, 2053};
    int n_eog = 0;
    for (int32_t id = 0; id < dl_tokenizer_n_vocab(l.t); id++) n_eog += dl_tokenizer_is_eog(l.t, id);
    assert_int_equal(n_eog, (int)DL_ARRAY_LEN(eog));
    for (size_t i = 0; i < DL_ARRAY_LEN(eog); i++) assert_true(dl_tokenizer_is_eog(l.t, eog[i]));
    assert_false(dl_tokenizer_is_eog(l.t, dl_tokenizer_find(l.t, "<|end|>")));
    unload(&l);
    assert_int_equal(fails, 0);
}

static void test_reference_prompts(void **state) {
    DL_REQUIRE_FIXTURES();
    static const char *const FILES[] = {
        "stories260K-f32",   "stories260K-q4_k_m", "tiny-qwen3-f32",    "tiny-qwen3-f16",
        "tiny-qwen3-q8_0",   "tiny-qwen3-q4_0",    "tiny-qwen3-q4_k_m", "tiny-llama-f32",
        "tiny-llama-f16",    "tiny-llama-q8_0",    "tiny-llama-q4_0",   "tiny-llama-q4_k_m",
        "tiny-qwen3moe-f32", "tiny-qwen3moe-q8_0", "tiny-gpt-oss-f32",  "tiny-gpt-oss-mxfp4",
    };
    int fails = 0;
    for (size_t f = 0; f < DL_ARRAY_LEN(FILES); f++) {
        char rel[256];
        snprintf(rel, sizeof rel, "reference/%s.json", FILES[f]);
        json_error_t jerr;
        json_t *root = json_load_file(dl_test_fixture(rel), 0, &jerr);
        if (!root) fail_msg("%s: %s", rel, jerr.text);
        const char *model = json_string_value(json_object_get(root, "model_file"));
        assert_non_null(model);
        loaded l = load_path(dl_test_fixture(model));
        json_t *prompts = json_object_get(root, "prompts");
        int pass = 0;
        for (size_t i = 0; i < json_array_size(prompts); i++) {
            json_t *p = json_array_get(prompts, i);
            int32_t *want;
            size_t nw = json_ids(json_object_get(p, "tokens"), &want);
            char lab[128];
            snprintf(lab, sizeof lab, "%s prompt %zu", FILES[f], i);
            json_t *txt = json_object_get(p, "prompt");
            pass += check_case(l.t, lab, json_string_value(txt), json_string_length(txt), true, true, want, nw);
            free(want);
        }
        print_message("%s: prompt tokens %d/%zu passed\n", rel, pass, json_array_size(prompts));
        fails += (int)json_array_size(prompts) - pass;
        assert_true(json_array_size(prompts) >= 3);
        unload(&l);
        json_decref(root);
    }
    assert_int_equal(fails, 0);
}

/* Decodes ids with the streaming decoder (checking every step is valid UTF-8). */
static char *detok_all(const dl_tokenizer *t, const int32_t *ids, size_t n, bool special) {
    dl_detok d;
    dl_detok_init(&d, t, special);
    dl_buf out = {0};
    for (size_t i = 0; i < n; i++) {
        dl_detok_push(&d, ids[i], &out);
        assert_true(dl_utf8_valid(out.data ? out.data : "", out.len, NULL));
    }
    dl_detok_flush(&d, &out);
    dl_buf_append(&out, "", 0);
    return out.data;
}

static void test_round_trip(void **state) {
    DL_REQUIRE_FIXTURES();
    for (size_t v = 0; v < DL_ARRAY_LEN(VOCABS); v++) {
        loaded l = load_vocab(VOCABS[v]);
        char rel[256];
        size_t inp_len;
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", VOCABS[v]);
        char *inp = read_fixture(rel, &inp_len);
        char **texts;
        size_t *lens;
        size_t n = split_inp(inp, inp_len, &texts, &lens);
        int pass = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t *ids;
            size_t n_ids;
            dl_error err = {0};
            assert_int_equal(dl_tokenize(l.t, texts[i], lens[i], false, false, &ids, &n_ids, &err), 0);
            /* piece by piece */
            dl_buf cat = {0};
            for (size_t k = 0; k < n_ids; k++) {
                char piece[256];
                size_t pl = dl_token_to_piece(l.t, ids[k], false, piece, sizeof piece);
                assert_true(pl <= sizeof piece);
                dl_buf_append(&cat, piece, pl);
            }
            dl_buf_append(&cat, "", 0);
            char *streamed = detok_all(l.t, ids, n_ids, false);
            bool spm = dl_tokenizer_add_bos(l.t) && dl_tokenizer_token_text(l.t, 0) &&
                       !strcmp(dl_tokenizer_token_text(l.t, 0), "<unk>");
            /* SPM adds one leading space that the streaming decoder removes */
            const char *cat_text = cat.data + (spm && lens[i] > 0 && cat.len > 0 && cat.data[0] == ' ' ? 1 : 0);
            bool ok = strlen(streamed) == lens[i] && memcmp(streamed, texts[i], lens[i]) == 0 &&
                      strlen(cat_text) == lens[i] && memcmp(cat_text, texts[i], lens[i]) == 0;
            if (!ok)
                print_message("  %s #%zu round trip: \"%.*s\" -> \"%s\"\n", VOCABS[v], i, (int)lens[i],
                              texts[i], streamed);
            pass += ok;
            free(streamed);
            dl_buf_free(&cat);
            free(ids);
        }
        print_message("%s: round trip %d/%zu\n", VOCABS[v], pass, n);
        /* Byte-level BPE is lossless; SPM vocabularies are checked too and
         * are lossless on these texts as well. */
        assert_int_equal(pass, (int)n);
        free(texts);
        free(lens);
        free(inp);
        unload(&l);
    }
}

static void test_streaming_utf8(void **state) {
    DL_REQUIRE_FIXTURES();
    /* SPM: the llama emoji is not in the vocabulary -> 4 byte tokens */
    loaded l = load_vocab("llama-spm");
    const char *text = "\xF0\x9F\xA6\x99"; /* U+1F999 */
    int32_t *ids;
    size_t n;
    dl_error err = {0};
    assert_int_equal(dl_tokenize(l.t, text, strlen(text), false, false, &ids, &n, &err), 0);
    /* "▁" then <0xF0> <0x9F> <0xA6> <0x99> */
    assert_true(n >= 4);
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) nb += dl_tokenizer_token_type(l.t, ids[i]) == DL_TOKEN_BYTE;
    assert_int_equal(nb, 4);
    dl_detok d;
    dl_detok_init(&d, l.t, false);
    dl_buf out = {0};
    for (size_t i = 0; i + 1 < n; i++) {
        dl_detok_push(&d, ids[i], &out);
        assert_true(dl_utf8_valid(out.data ? out.data : "", out.len, NULL));
    }
    assert_int_equal(out.len, 0); /* the "▁" prefix is dropped, the emoji held back */
    dl_detok_push(&d, ids[n - 1], &out);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, text, 4);
    /* a cut-off sequence becomes U+FFFD on flush */
    dl_detok_push(&d, ids[n - 4], &out);
    assert_int_equal(out.len, 4);
    dl_detok_flush(&d, &out);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.data + 4, "\xEF\xBF\xBD", 3);
    dl_buf_free(&out);
    free(ids);
    unload(&l);

    /* byte-level BPE: emoji split over several tokens */
    l = load_vocab("qwen2");
    text = "a \xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F b \xF0\x9F\xA6\x99";
    assert_int_equal(dl_tokenize(l.t, text, strlen(text), false, false, &ids, &n, &err), 0);
    int partial = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[64];
        size_t pl = dl_token_to_piece(l.t, ids[i], false, piece, sizeof piece);
        partial += !dl_utf8_valid(piece, pl, NULL);
    }
    assert_true(partial > 0); /* some pieces are partial characters */
    char *s = detok_all(l.t, ids, n, false);
    assert_string_equal(s, text);
    free(s);
    free(ids);
    unload(&l);
}

static void test_pieces_and_specials(void **state) {
    DL_REQUIRE_FIXTURES();
    loaded l = load_vocab("llama-spm");
    char buf[64];
    int32_t hello = dl_tokenizer_find(l.t, "\xE2\x96\x81Hello");
    assert_true(hello > 0);
    assert_int_equal(dl_token_to_piece(l.t, hello, false, buf, sizeof buf), 6);
    assert_memory_equal(buf, " Hello", 6);
    assert_int_equal(dl_token_to_piece(l.t, hello, false, buf, 3), 6); /* truncated, full length */
    assert_int_equal(dl_token_to_piece(l.t, 1, false, buf, sizeof buf), 0); /* <s> is CONTROL */
    assert_int_equal(dl_token_to_piece(l.t, 1, true, buf, sizeof buf), 3);
    assert_memory_equal(buf, "<s>", 3);
    int32_t nl = dl_tokenizer_find(l.t, "<0x0A>");
    assert_int_equal(dl_token_to_piece(l.t, nl, false, buf, sizeof buf), 1);
    assert_int_equal(buf[0], '\n');
    assert_int_equal(dl_token_to_piece(l.t, -1, true, buf, sizeof buf), 0);
    assert_int_equal(dl_token_to_piece(l.t, 1 << 30, true, buf, sizeof buf), 0);
    assert_int_equal(dl_tokenizer_bos(l.t), 1);
    assert_int_equal(dl_tokenizer_eos(l.t), 2);
    assert_true(dl_tokenizer_add_bos(l.t));
    assert_false(dl_tokenizer_add_eos(l.t));
    assert_true(dl_tokenizer_is_eog(l.t, 2));
    assert_false(dl_tokenizer_is_eog(l.t, 1));
    assert_int_equal(dl_tokenizer_token_type(l.t, 0), DL_TOKEN_UNKNOWN);
    assert_int_equal(dl_tokenizer_token_type(l.t, 1), DL_TOKEN_CONTROL);
    assert_int_equal(dl_tokenizer_token_type(l.t, nl), DL_TOKEN_BYTE);
    assert_int_equal(dl_tokenizer_find(l.t, "no such token \x01"), -1);
    /* empty input: BOS only with add_special, nothing without */
    int32_t *ids;
    size_t n;
    dl_error err = {0};
    assert_int_equal(dl_tokenize(l.t, "", 0, true, true, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 1);
    free(ids);
    assert_int_equal(dl_tokenize(l.t, "", 0, false, false, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    free(ids);
    unload(&l);

    l = load_vocab("qwen2");
    assert_false(dl_tokenizer_add_bos(l.t));
    assert_true(dl_tokenizer_is_eog(l.t, 151645)); /* <|im_end|> */
    assert_true(dl_tokenizer_is_eog(l.t, 151643)); /* <|endoftext|> */
    assert_false(dl_tokenizer_is_eog(l.t, 151644)); /* <|im_start|> */
    /* control text stays text unless parse_special; the piece needs special=true */
    const char *chat = "<|im_start|>user";
    assert_int_equal(dl_tokenize(l.t, chat, strlen(chat), false, true, &ids, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 151644);
    assert_int_equal(dl_token_to_piece(l.t, ids[0], false, buf, sizeof buf), 0);
    assert_int_equal(dl_token_to_piece(l.t, ids[0], true, buf, sizeof buf), 12);
    free(ids);
    assert_int_equal(dl_tokenize(l.t, chat, strlen(chat), false, false, &ids, &n, &err), 0);
    assert_true(n > 2);
    free(ids);
    unload(&l);

    l = load_vocab("llama-bpe");
    assert_true(dl_tokenizer_add_bos(l.t));
    assert_true(dl_tokenizer_is_eog(l.t, dl_tokenizer_find(l.t, "<|eot_id|>")));
    assert_true(dl_tokenizer_is_eog(l.t, dl_tokenizer_find(l.t, "<|end_of_text|>")));
    assert_false(dl_tokenizer_is_eog(l.t, dl_tokenizer_find(l.t, "<|start_header_id|>")));
    unload(&l);
}

static void test_invalid_utf8(void **state) {
    DL_REQUIRE_FIXTURES();
    static const struct {
        const char *s;
        size_t len, off;
    } BAD[] = {
        {"abc\xFF", 4, 3},          {"h\xC3", 2, 1},         {"ok \xED\xA0\x80 no", 9, 3},
        {"\xC0\xAF", 2, 0},         {"x\xF4\x90\x80\x80", 5, 1},
    };
    const char *names[] = {"llama-spm", "qwen2"};
    for (size_t v = 0; v < 2; v++) {
        loaded l = load_vocab(names[v]);
        for (size_t i = 0; i < DL_ARRAY_LEN(BAD); i++) {
            int32_t *ids = (int32_t *)&ids;
            size_t n = 99;
            dl_error err = {0};
            assert_int_equal(dl_tokenize(l.t, BAD[i].s, BAD[i].len, true, true, &ids, &n, &err), -1);
            assert_int_equal(err.status, 400);
            char want[64];
            snprintf(want, sizeof want, "at byte %zu", BAD[i].off);
            if (!strstr(err.msg, want)) fail_msg("message '%s' lacks '%s'", err.msg, want);
            assert_null(ids);
            assert_int_equal(n, 0);
        }
        unload(&l);
    }
}

static void test_speed_100k(void **state) {
    DL_REQUIRE_FIXTURES();
    loaded l = load_vocab("qwen2");
    size_t inp_len;
    char *inp = read_fixture("vocab/ggml-vocab-qwen2.gguf.inp", &inp_len);
    const size_t target = 100 * 1024;
    char *text = malloc(target + inp_len);
    size_t len = 0;
    while (len < target) {
        memcpy(text + len, inp, inp_len);
        len += inp_len;
    }
    int32_t *ids;
    size_t n;
    dl_error err = {0};
    double t0 = dl_time_ms();
    assert_int_equal(dl_tokenize(l.t, text, len, false, false, &ids, &n, &err), 0);
    double ms = dl_time_ms() - t0;
    print_message("qwen2: %zu bytes -> %zu tokens in %.1f ms\n", len, n, ms);
#if defined(__SANITIZE_ADDRESS__)
    const double limit = 10000.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    const double limit = 10000.0;
#else
    const double limit = 1000.0;
#endif
#else
    const double limit = 1000.0;
#endif
    assert_true(ms < limit);
    free(ids);
    free(text);
    free(inp);
    unload(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_inp_out),      cmocka_unit_test(test_vocab_tokenize_json),
        cmocka_unit_test(test_gpt_oss_tokenize_json), cmocka_unit_test(test_reference_prompts),
        cmocka_unit_test(test_round_trip),         cmocka_unit_test(test_streaming_utf8),
        cmocka_unit_test(test_pieces_and_specials), cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_speed_100k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
