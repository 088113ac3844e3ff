/* Task generators: verifiers accept the generators' answers and reject wrong
 * ones, traces end with the answer, splits never overlap, generation is
 * deterministic by seed, and samples render as Qwen3 ChatML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "train/train.h"

/* Last line of a trace. */
static const char *last_line(const char *s) {
    const char *nl = strrchr(s, '\n');
    return nl ? nl + 1 : s;
}

static void test_verify_and_traces(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 1);
    int n = 0;
    for (int k = 0; k < DL_TASK__COUNT; k++)
        for (int level = 1; level <= DL_TASK_MAX_LEVEL; level++)
            for (int i = 0; i < 40; i++) {
                dl_problem p;
                dl_error err = {0};
                assert_int_equal(dl_task_generate(k, level, (dl_split)(i % 3), &r, &p, &err), 0);
                assert_int_equal(p.kind, k);
                assert_int_equal(dl_task_split_of(p.canon), i % 3);
                assert_string_equal(last_line(p.trace), p.answer);
                assert_true(dl_task_verify(&p, p.answer));
                /* a whole reply with reasoning and decoration */
                char reply[4096];
                snprintf(reply, sizeof reply, "<think>\n%s\n</think>\n\nThe answer is **%s**.", p.trace, p.answer);
                assert_true(dl_task_verify(&p, reply));
                /* wrong answers: last number off by one; reasoning without an answer */
                char wrong[256];
                if (k == DL_TASK_SORT) {
                    snprintf(wrong, sizeof wrong, "%s, 1000000", p.answer);
                    assert_false(dl_task_verify(&p, wrong));
                } else {
                    const char *num = strrchr(p.answer, ' ');
                    long long v = atoll(num ? num + 1 : p.answer);
                    snprintf(wrong, sizeof wrong, "%lld", v + 1);
                    assert_false(dl_task_verify(&p, wrong));
                }
                snprintf(reply, sizeof reply, "<think>\n%s", p.trace);
                assert_false(dl_task_verify(&p, reply));
                assert_false(dl_task_verify(&p, "I don't know"));
                dl_problem_free(&p);
                n++;
            }
    print_message("%d problems verified\n", n);
}

static void test_verify_lenient(void **state) {
    (void)state;
    dl_problem p = {.kind = DL_TASK_ADD, .answer = "1234"};
    assert_true(dl_task_verify(&p, "1,234"));
    assert_true(dl_task_verify(&p, "The sum is 1234."));
    assert_false(dl_task_verify(&p, "1235"));
    dl_problem c = {.kind = DL_TASK_COMPARE, .answer = "73"};
    assert_true(dl_task_verify(&c, "**73** is larger than 37"));
    assert_true(dl_task_verify(&c, "The answer is 73, since 37 < 73."));
    assert_true(dl_task_verify(&c, "Answer: 73 (not 37)"));
    assert_false(dl_task_verify(&c, "**37** is larger than 73"));
    dl_problem q = {.kind = DL_TASK_LINEAR, .answer = "x = -7"};
    assert_true(dl_task_verify(&q, "x = -7"));
    assert_true(dl_task_verify(&q, "x=-7"));
    assert_true(dl_task_verify(&q, "-7"));
    assert_false(dl_task_verify(&q, "x = 7"));
    dl_problem s = {.kind = DL_TASK_SORT, .answer = "3, 5, 12"};
    assert_true(dl_task_verify(&s, "3,5,12"));
    assert_true(dl_task_verify(&s, "Sorted: 3, 5, 12"));
    assert_false(dl_task_verify(&s, "3, 12, 5"));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_split_no_overlap(void **state) {
    (void)state;
    /* 10k problems per split; a canonical form seen in one split must never
     * appear in another */
    enum { N = 10000 };
    char **seen[3];
    dl_trng r;
    dl_trng_seed(&r, 42);
    for (int s = 0; s < 3; s++) {
        seen[s] = calloc(N, sizeof(char *));
        for (int i = 0; i < N; i++) {
            dl_problem p;
            dl_error err = {0};
            assert_int_equal(dl_task_generate(i % DL_TASK__COUNT, 1 + i % 3, (dl_split)s, &r, &p, &err), 0);
            seen[s][i] = strdup(p.canon);
            dl_problem_free(&p);
        }
        qsort(seen[s], N, sizeof(char *), cmp_str);
    }
    int cmp_calls = 0;
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            for (int i = 0; i < N; i++) {
                cmp_calls++;
                assert_null(bsearch(&seen[a][i], seen[b], N, sizeof(char *), cmp_str));
            }
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < N; i++) free(seen[s][i]);
        free(seen[s]);
    }
    print_message("%d cross-split lookups, no overlap\n", cmp_calls);
}

static void test_determinism(void **state) {
    (void)state;
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        dl_trng a, b;
        dl_trng_seed(&a, 99);
        dl_trng_seed(&b, 99);
        for (int i = 0; i < 20; i++) {
            dl_problem p, q;
            assert_int_equal(dl_task_generate(k, 3, DL_SPLIT_TRAIN, &a, &p, NULL), 0);
            assert_int_equal(dl_task_generate(k, 3, DL_SPLIT_TRAIN, &b, &q, NULL), 0);
            assert_string_equal(p.question, q.question);
            assert_string_equal(p.trace, q.trace);
            assert_string_equal(p.answer, q.answer);
            assert_true((p.system == NULL) == (q.system == NULL));
            dl_problem_free(&p);
            dl_problem_free(&q);
        }
    }
}

/* Phrasings: the question's shape (numbers, the letter and the word
 * replaced) takes many forms per task, and system / developer messages
 * and thinking-off samples all occur. */
static void test_phrasings(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 5);
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        char *shapes[600];
        int n_shapes = 0, n_sys = 0, n_dev = 0, n_off = 0, n_cut = 0;
        for (int i = 0; i < 600; i++) {
            dl_problem p;
            assert_int_equal(dl_task_generate(k, 2, DL_SPLIT_TRAIN, &r, &p, NULL), 0);
            n_sys += p.system != NULL;
            n_dev += p.developer != NULL;
            n_off += p.no_thinking;
            if (p.cut) {
                n_cut++;
                assert_false(p.no_thinking);
                assert_true(p.cut > 0 && (size_t)p.cut < strlen(p.trace));
            }
            /* shape: digits -> '#', lower-case, no final punctuation */
            char shape[512];
            size_t j = 0;
            for (const char *c = p.question; *c && j + 1 < sizeof shape; c++) {
                if (*c >= '0' && *c <= '9') {
                    if (j == 0 || shape[j - 1] != '#') shape[j++] = '#';
                } else {
                    shape[j++] = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
                }
            }
            while (j > 0 && (shape[j - 1] == '?' || shape[j - 1] == '.' || shape[j - 1] == ' ')) j--;
            shape[j] = '\0';
            if (k == DL_TASK_LETTERS || k == DL_TASK_WORD) {
                /* words vary by design: count the template by its first 8 bytes */
                shape[DL_MIN(j, 8)] = '\0';
            }
            bool seen = false;
            for (int q = 0; q < n_shapes && !seen; q++) seen = !strcmp(shapes[q], shape);
            if (!seen) shapes[n_shapes++] = strdup(shape);
            dl_problem_free(&p);
        }
        print_message("  %-8s %3d question shapes; system %d, developer %d, thinking off %d, cut %d of 600\n",
                      dl_task_name((dl_task_kind)k), n_shapes, n_sys, n_dev, n_off, n_cut);
        assert_true(n_cut > 30 && n_cut < 100);
        assert_true(n_shapes >= 6);
        assert_true(n_sys > 200 && n_sys < 400);
        assert_true(n_dev > 20 && n_dev < 120);
        assert_true(n_off > 20 && n_off < 120);
        for (int q = 0; q < n_shapes; q++) free(shapes[q]);
    }
}

static void test_rewards(void **state) {
    (void)state;
    dl_problem p = {.kind = DL_TASK_ADD, .trace = "2 + 2 + 0 = 4, write 4, carry 0, so far 4\n4", .answer = "4"};
    dl_reward r = dl_task_reward(&p, "<think>\n2 + 2 + 0 = 4, write 4, carry 0, so far 4\n4\n</think>\n\n4", NULL);
    assert_float_equal(r.correct, 1, 0);
    assert_float_equal(r.format, 1, 0);
    assert_float_equal(r.length, 1, 0);
    assert_float_equal(r.total, 1.4, 1e-6);
    /* wrong answer, right format */
    r = dl_task_reward(&p, "<think>\nhmm\n</think>\n\n5", NULL);
    assert_float_equal(r.correct, 0, 0);
    assert_float_equal(r.total, 0.4, 1e-6);
    /* right answer, no reasoning block */
    r = dl_task_reward(&p, "4", NULL);
    assert_float_equal(r.correct, 1, 0);
    assert_float_equal(r.format, 0, 0);
    assert_float_equal(r.length, 0, 0);
    /* two think blocks, or an answer over several lines: bad format */
    assert_float_equal(dl_task_reward(&p, "<think>\na\n</think>\n\n<think>\nb\n</think>\n\n4", NULL).format, 0, 0);
    assert_float_equal(dl_task_reward(&p, "<think>\na\n</think>\n\nwell\n4", NULL).format, 0, 0);
    /* reasoning 2.25x the reference: length 0.5 */
    char reply[512], reason[256];
    size_t ref = strlen(p.trace), want = ref * 9 / 4;
    memset(reason, 'x', want);
    reason[want] = '\0';
    snprintf(reply, sizeof reply, "<think>\n%s\n</think>\n\n4", reason);
    r = dl_task_reward(&p, reply, NULL);
    assert_float_equal(r.length, (3.0 - (double)want / (double)ref) / 1.5, 1e-6);
    /* thinking off: the answer alone */
    p.no_thinking = true;
    r = dl_task_reward(&p, "4", NULL);
    assert_float_equal(r.total, 1.4, 1e-6);
    assert_float_equal(dl_task_reward(&p, "<think>\nx\n</think>\n\n4", NULL).format, 0, 0);
    /* custom weights */
    dl_reward_params w = {2.0f, 0.0f, 0.0f};
    assert_float_equal(dl_task_reward(&p, "4", &w).total, 2.0, 1e-6);
    /* every generated reference reply earns the full reward */
    dl_trng g;
    dl_trng_seed(&g, 8);
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        dl_problem q;
        assert_int_equal(dl_task_generate(k, 3, DL_SPLIT_TRAIN, &g, &q, NULL), 0);
        dl_buf b = {0};
        size_t at;
        assert_int_equal(dl_sample_render(&q, &b, &at, NULL), 0);
        /* the reply as the model writes it: without "<|im_end|>\n" */
        b.data[b.len - strlen("<|im_end|>\n")] = '\0';
        assert_float_equal(dl_task_reward(&q, b.data + at, NULL).total, 1.4, 1e-6);
        dl_buf_free(&b);
        dl_problem_free(&q);
    }
}

/* Checks every line of a trace that states arithmetic: "a op b = v" and
 * "k * a = p + a = v" must be true. Returns the number of lines checked. */
static int check_arith_lines(const char *trace) {
    int checked = 0;
    for (const char *l = trace; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        long long a, b, v, p, q;
        char op;
        if (sscanf(l, "%lld * %lld = %lld + %lld = %lld", &a, &b, &p, &q, &v) == 5) {
            assert_int_equal(a * b, v);
            assert_int_equal(p + q, v);
            checked++;
        } else if (sscanf(l, "%lld %c %lld = %lld", &a, &op, &b, &v) == 4 && strchr("+-*", op)) {
            assert_int_equal(op == '+' ? a + b : op == '-' ? a - b : a * b, v);
            checked++;
        } else if (sscanf(l, "so %lld * %lld = %lld", &a, &b, &v) == 3) {
            assert_int_equal(a * b, v);
            checked++;
        }
    }
    return checked;
}

/* Checks the letter lines ("3 p no 0", "3 p vs e: no 0"): the letter is the
 * word's letter at that position, yes/no says whether it is the target, and
 * the count is the number of yes so far. */
static void check_letter_lines(const char *trace, char target, const char *word) {
    int count = 0, lines = 0;
    for (const char *l = strchr(trace, '\n') + 1; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        int pos, c;
        char ch, vs, yn[4];
        if (sscanf(l, "%d %c vs %c: %3s %d", &pos, &ch, &vs, yn, &c) == 5) assert_int_equal(vs, target);
        else if (sscanf(l, "%d %c %3s %d", &pos, &ch, yn, &c) != 4) continue;
        assert_true(pos >= 1 && pos <= (int)strlen(word));
        assert_int_equal(ch, word[pos - 1]);
        assert_int_equal(strcmp(yn, "yes") == 0, ch == target);
        count += ch == target;
        assert_int_equal(c, count);
        lines++;
    }
    assert_int_equal(lines, (int)strlen(word));
}

/* Tasks with several ways to reason draw one per problem: every way occurs
 * at the trained levels, in fair shares, each way's steps are right, and
 * the length reward's reference covers the drawn trace. */
static void test_strategies(void **state) {
    (void)state;
    static const struct {
        dl_task_kind kind;
        const char *way[3]; /* text that marks each way */
    } T[] = {
        {DL_TASK_LETTERS, {"letter by letter:", "comparing each letter with", "from the last letter back:"}},
        {DL_TASK_MUL, {"one digit of", "splitting", "counting up in steps of"}},
        {DL_TASK_SORT, {"smallest of", "in its place", "largest of"}},
        {DL_TASK_WORD, {NULL}},
    };
    dl_trng r;
    dl_trng_seed(&r, 7);
    for (size_t k = 0; k < sizeof T / sizeof T[0]; k++) {
        int seen[3] = {0}, n = 0, with_columns = 0, checked = 0;
        for (int level = 1; level <= 2; level++)
            for (int i = 0; i < 300; i++) {
                dl_problem p;
                assert_int_equal(dl_task_generate(T[k].kind, level, DL_SPLIT_TRAIN, &r, &p, NULL), 0);
                assert_true(p.trace_ref >= strlen(p.trace));
                assert_string_equal(last_line(p.trace), p.answer);
                for (int w = 0; w < 3; w++)
                    if (T[k].way[w] && strstr(p.trace, T[k].way[w])) seen[w]++;
                checked += check_arith_lines(p.trace);
                if (T[k].kind == DL_TASK_LETTERS) {
                    char target, word[64];
                    assert_int_equal(sscanf(p.canon, "letters %c %63s", &target, word), 2);
                    check_letter_lines(p.trace, target, word);
                }
                if (T[k].kind == DL_TASK_WORD && strstr(p.trace, ", so far ")) with_columns++;
                n++;
                dl_problem_free(&p);
            }
        if (T[k].kind == DL_TASK_LETTERS)
            for (int w = 0; w < 3; w++) assert_true(seen[w] > n / 4 && seen[w] < n / 2);
        if (T[k].kind == DL_TASK_MUL) { /* long multiplication half the time; the split or counting up the rest */
            assert_true(seen[0] > n * 2 / 5 && seen[0] < n * 3 / 5);
            assert_true(seen[1] > n / 5 && seen[2] > n / 10);
            assert_int_equal(seen[0] + seen[1] + seen[2], n);
        }
        if (T[k].kind == DL_TASK_SORT) { /* selection (smallest or largest first) or insertion */
            assert_true(seen[1] > n * 2 / 5 && seen[1] < n * 3 / 5);
            assert_int_equal(seen[0] + seen[1] + seen[2], n);
        }
        if (T[k].kind == DL_TASK_WORD) assert_true(with_columns > n / 10 && with_columns < n * 3 / 5);
        if (T[k].kind != DL_TASK_LETTERS && T[k].kind != DL_TASK_SORT) assert_true(checked >= n);
        print_message("%s: %d problems, ways %d / %d / %d, %d arithmetic lines checked\n", dl_task_name(T[k].kind), n,
                      seen[0], seen[1], seen[2], checked);
    }
    /* insertion: each line's list is in order and grows by one */
    dl_trng_seed(&r, 8);
    int insertion = 0;
    for (int i = 0; i < 200; i++) {
        dl_problem p;
        assert_int_equal(dl_task_generate(DL_TASK_SORT, 2, DL_SPLIT_TRAIN, &r, &p, NULL), 0);
        if (strstr(p.trace, "in its place")) {
            bool desc = strstr(p.trace, "largest first") != NULL;
            int len = 0;
            for (const char *l = strchr(p.trace, '\n') + 1; strchr(l, '\n'); l = strchr(l, '\n') + 1) {
                const char *c = strchr(l, ':');
                assert_non_null(c);
                long long v[8];
                int m = 0;
                for (const char *x = c + 1; *x != '\n';) {
                    char *end;
                    v[m++] = strtoll(x, &end, 10);
                    x = end;
                    if (*x == ',') x++;
                }
                assert_int_equal(m, ++len);
                for (int j = 1; j < m; j++) assert_true(desc ? v[j - 1] >= v[j] : v[j - 1] <= v[j]);
            }
            insertion++;
        }
        dl_problem_free(&p);
    }
    assert_true(insertion > 50);
}

/* Comparisons cover what people ask: one-digit pairs ("5 or 9") and the
 * longer number first or second, each answered right by the trace. */
static void test_compare_shapes(void **state) {
    (void)state;
    dl_trng r;
    dl_trng_seed(&r, 11);
    int one_digit = 0, longer_first = 0, longer_second = 0, n = 0;
    for (int level = 1; level <= 2; level++)
        for (int i = 0; i < 1000; i++, n++) {
            dl_problem p;
            dl_error err = {0};
            assert_int_equal(dl_task_generate(DL_TASK_COMPARE, level, DL_SPLIT_TRAIN, &r, &p, &err), 0);
            char op[4];
            long long a, b;
            assert_int_equal(sscanf(p.canon, "%3s %lld %lld", op, &a, &b), 3);
            assert_true(a != b);
            char sa[24], sb[24];
            snprintf(sa, sizeof sa, "%lld", a), snprintf(sb, sizeof sb, "%lld", b);
            one_digit += strlen(sa) == 1 && strlen(sb) == 1;
            longer_first += strlen(sa) > strlen(sb);
            longer_second += strlen(sa) < strlen(sb);
            long long want = !strcmp(op, "max") ? (a > b ? a : b) : (a < b ? a : b);
            char ws[24];
            snprintf(ws, sizeof ws, "%lld", want);
            assert_string_equal(p.answer, ws);
            assert_true(dl_task_verify(&p, p.trace));
            dl_problem_free(&p);
        }
    assert_true(one_digit > n / 40);
    printf("compare: %d problems, %d one-digit pairs, longer first %d, second %d\n", n, one_digit, longer_first,
           longer_second);
    assert_true(longer_first > n / 25 && longer_second > n / 25);
}

static void test_known_traces(void **state) {
    (void)state;
    /* find "strawberry / r" style problem through the verifier contract */
    dl_problem p = {.kind = DL_TASK_LETTERS, .answer = "3"};
    assert_true(dl_task_verify(&p, "<think>\ns no 0\n</think>\n\nThere are 3 r's in strawberry."));
    /* rendering */
    dl_problem s = {.kind = DL_TASK_ADD, .question = "what's 2+2", .trace = "2 + 2 + 0 = 4\n4", .answer = "4"};
    dl_buf b = {0};
    size_t at = 0;
    assert_int_equal(dl_sample_render(&s, &b, &at, NULL), 0);
    assert_string_equal(b.data, "<|im_start|>user\nwhat's 2+2<|im_end|>\n<|im_start|>assistant\n"
                                "<think>\n2 + 2 + 0 = 4\n4\n</think>\n\n4<|im_end|>\n");
    assert_string_equal(b.data + at, "<think>\n2 + 2 + 0 = 4\n4\n</think>\n\n4<|im_end|>\n");
    dl_buf_free(&b);
    /* thinking off: the prompt holds the empty think block (effort none) */
    s.no_thinking = true;
    s.system = "Be brief.";
    b = (dl_buf){0};
    assert_int_equal(dl_sample_render(&s, &b, &at, NULL), 0);
    assert_string_equal(b.data, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nwhat's 2+2<|im_end|>\n"
                                "<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>\n");
    assert_string_equal(b.data + at, "4<|im_end|>\n");
    dl_buf_free(&b);
    /* a cut reasoning closes as the engine closes it at a thinking budget */
    s.no_thinking = false;
    s.system = NULL;
    s.cut = 7;
    b = (dl_buf){0};
    assert_int_equal(dl_sample_render(&s, &b, &at, NULL), 0);
    assert_string_equal(b.data + at, "<think>\n2 + 2 +\n</think>\n\n4<|im_end|>\n");
    dl_buf_free(&b);
    s.cut = 0;
    dl_error err = {0};
    assert_int_equal(dl_task_generate(DL_TASK_ADD, 0, DL_SPLIT_TRAIN, NULL, &s, &err), -1);
    assert_int_equal(err.status, 400);
    assert_int_equal(dl_task_from_name("linear"), DL_TASK_LINEAR);
    assert_int_equal(dl_task_from_name("nope"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_and_traces), cmocka_unit_test(test_verify_lenient),
        cmocka_unit_test(test_split_no_overlap),  cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_phrasings),         cmocka_unit_test(test_rewards),
        cmocka_unit_test(test_known_traces),      cmocka_unit_test(test_strategies),
        cmocka_unit_test(test_compare_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
