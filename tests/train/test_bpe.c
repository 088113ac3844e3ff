/* BPE training: a vocabulary learnt from generated samples loads in the
 * project's tokenizer, round-trips every generated problem, keeps the
 * ChatML/think tokens whole, is deterministic, and its chat template is
 * recognised as Qwen3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "chat/chat.h"
#include "train/train.h"

static char **make_texts(uint64_t seed, dl_split split, int n) {
    char **t = calloc((size_t)n, sizeof(char *));
    dl_trng r;
    dl_trng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        dl_problem p;
        assert_int_equal(dl_task_generate(i % DL_TASK__COUNT, 1 + (i / DL_TASK__COUNT) % 5, split, &r, &p, NULL), 0);
        dl_buf b = {0};
        assert_int_equal(dl_sample_render(&p, &b, NULL, NULL), 0);
        t[i] = b.data;
        dl_problem_free(&p);
    }
    return t;
}

static void free_texts(char **t, int n) {
    for (int i = 0; i < n; i++) free(t[i]);
    free(t);
}

static void test_train_load_roundtrip(void **state) {
    (void)state;
    enum { N = 600 };
    char **texts = make_texts(7, DL_SPLIT_TRAIN, N);
    dl_bpe_vocab v, v2;
    dl_error err = {0};
    double t0 = dl_time_ms();
    assert_int_equal(dl_bpe_train((const char *const *)texts, N, 512, &v, &err), 0);
    print_message("trained 512 tokens on %d samples in %.0f ms\n", N, dl_time_ms() - t0);
    assert_int_equal(v.n_tokens, 512);
    assert_int_equal(v.n_merges, 512 - 256 - 5);
    assert_int_equal(v.id_endoftext, 507);
    assert_int_equal(v.id_think_end, 511);
    /* deterministic */
    assert_int_equal(dl_bpe_train((const char *const *)texts, N, 512, &v2, &err), 0);
    assert_int_equal(v2.n_corpus_tokens, v.n_corpus_tokens);
    for (int i = 0; i < v.n_tokens; i++) assert_string_equal(v.tokens[i], v2.tokens[i]);
    for (int i = 0; i < v.n_merges; i++) assert_string_equal(v.merges[i], v2.merges[i]);
    dl_bpe_vocab_free(&v2);
    free_texts(texts, N);

    char path[512];
    snprintf(path, sizeof path, "%s/bpe_test.gguf", dl_test_tmpdir());
    assert_int_equal(dl_bpe_save(&v, path, &err), 0);
    dl_gguf *g = dl_gguf_open(path, &err);
    assert_non_null(g);
    dl_tokenizer *tok = dl_tokenizer_load(g, &err);
    if (!tok) fail_msg("%s", err.msg);
    assert_int_equal(dl_tokenizer_n_vocab(tok), 512);
    /* the tokenizer splits the training texts exactly as training did: the
     * same pre-tokeniser and the same merges give the same token count */
    {
        char **again = make_texts(7, DL_SPLIT_TRAIN, N);
        int64_t n_plain = 0;
        for (int i = 0; i < N; i++) {
            int32_t *ids = NULL;
            size_t n = 0;
            assert_int_equal(dl_tokenize(tok, again[i], strlen(again[i]), false, true, &ids, &n, &err), 0);
            for (size_t k = 0; k < n; k++) n_plain += ids[k] < v.n_tokens - 5; /* not one of the 5 specials */
            free(ids);
        }
        free_texts(again, N);
        print_message("training corpus: %lld tokens by the trainer, %lld by src/tokenizer\n",
                      (long long)v.n_corpus_tokens, (long long)n_plain);
        assert_int_equal(n_plain, v.n_corpus_tokens);
    }
    assert_int_equal(dl_tokenizer_eos(tok), v.id_im_end);
    assert_true(dl_tokenizer_is_eog(tok, v.id_im_end));
    assert_false(dl_tokenizer_add_bos(tok));
    dl_chat_format f = dl_chat_format_from_template(dl_gguf_get_str(g, "tokenizer.chat_template"));
    assert_string_equal(dl_chat_format_name(f.id), "qwen3");
    /* read back */
    assert_int_equal(dl_bpe_load(g, &v2, &err), 0);
    assert_int_equal(v2.n_tokens, v.n_tokens);
    assert_int_equal(v2.id_think, v.id_think);
    dl_bpe_vocab_free(&v2);

    /* round trip of held-out samples; specials are single tokens */
    char **test = make_texts(8, DL_SPLIT_TEST, 300);
    size_t bytes = 0, toks = 0;
    for (int i = 0; i < 300; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        assert_int_equal(dl_tokenize(tok, test[i], strlen(test[i]), false, true, &ids, &n, &err), 0);
        dl_buf out = {0};
        int n_think = 0, n_im_start = 0;
        for (size_t k = 0; k < n; k++) {
            char piece[256];
            size_t len = dl_token_to_piece(tok, ids[k], true, piece, sizeof piece);
            assert_true(len < sizeof piece);
            dl_buf_append(&out, piece, len);
            n_think += ids[k] == v.id_think;
            n_im_start += ids[k] == v.id_im_start;
        }
        assert_int_equal(n_think, 1);
        assert_true(n_im_start >= 2);
        dl_buf_append(&out, "", 1);
        assert_string_equal(out.data, test[i]);
        bytes += strlen(test[i]);
        toks += n;
        dl_buf_free(&out);
        free(ids);
    }
    print_message("held-out samples: %.2f bytes per token\n", (double)bytes / (double)toks);
    assert_true((double)bytes / (double)toks > 2.0);
    /* the example builder's mask covers the assistant part only */
    dl_trng r;
    dl_trng_seed(&r, 3);
    dl_problem p;
    assert_int_equal(dl_task_generate(DL_TASK_ADD, 2, DL_SPLIT_TRAIN, &r, &p, NULL), 0);
    dl_example ex;
    assert_int_equal(dl_example_from_problem(tok, &p, &ex, &err), 0);
    int first = -1, count = 0;
    for (int i = 0; i < ex.n; i++)
        if (ex.mask[i]) {
            if (first < 0) first = i;
            count++;
        }
    assert_int_equal(ex.ids[first + 1], v.id_think);
    assert_int_equal(ex.ids[ex.n - 1], v.id_im_end);
    assert_int_equal(first + count, ex.n - 1); /* contiguous up to <|im_end|> */
    assert_int_equal(ex.mask[ex.n - 1], 0);
    dl_example_free(&ex);
    dl_problem_free(&p);

    free_texts(test, 300);
    dl_tokenizer_free(tok);
    dl_gguf_close(g);
    dl_bpe_vocab_free(&v);
}

static void test_bad_size(void **state) {
    (void)state;
    const char *t[] = {"hello"};
    dl_bpe_vocab v;
    dl_error err = {0};
    assert_int_equal(dl_bpe_train(t, 1, 100, &v, &err), -1);
    assert_int_equal(err.status, 400);
    /* a tiny corpus stops early: no pair occurs twice */
    assert_int_equal(dl_bpe_train(t, 1, 1000, &v, &err), 0);
    assert_int_equal(v.n_tokens, 256 + 5);
    dl_bpe_vocab_free(&v);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_load_roundtrip),
        cmocka_unit_test(test_bad_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
