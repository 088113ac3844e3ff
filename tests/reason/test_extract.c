/* Tests for answer extraction, voting, the built-in verifiers and the
 * reasoning settings' names (src/reason/{extract,vote,verify,names}.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "reason/extract_int.h"
#include "reason/reason.h"

/* ---- extraction ------------------------------------------------------------------ */

typedef struct xcase {
    dl_extract_kind kind;
    const char *text;
    const char *want; /* NULL: no answer */
} xcase;

#define AU DL_EXTRACT_AUTO
#define NU DL_EXTRACT_NUMBER
#define CH DL_EXTRACT_CHOICE
#define BX DL_EXTRACT_BOXED
#define LL DL_EXTRACT_LAST_LINE

static const xcase cases[] = {
    /* boxed */
    {BX, "so \\boxed{42}", "42"},
    {BX, "\\boxed{\\frac{1}{2}}", "1/2"},
    {BX, "\\boxed{\\dfrac{2}{4}}", "1/2"},
    {BX, "\\boxed{-\\frac{3}{4}}", "-3/4"},
    {BX, "\\boxed{\\frac{-3}{4}}", "-3/4"},
    {BX, "first \\boxed{1}, then \\boxed{2}, finally \\boxed{3}.", "3"},
    {BX, "\\boxed{x^{2}+1}", "x^{2}+1"},
    {BX, "\\boxed{ x + 1 }", "x+1"},
    {BX, "\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"},
    {BX, "\\boxed{\\text{Paris}}", "Paris"},
    {BX, "\\boxed{\\text{New   York}}", "New York"},
    {BX, "\\boxed{12\\text{ cm}}", "12"},
    {BX, "\\boxed{50\\%}", "50"},
    {BX, "\\boxed{\\$1,000.00}", "1000"},
    {BX, "\\boxed{B}", "B"},
    {BX, "\\boxed{e}", "e"},
    {BX, "\\boxed {7}", "7"},
    {BX, "\\boxed{\\{1,2\\}}", "\\{1,2\\}"},
    {BX, "\\boxed{5} and a cut-off \\boxed{6", "5"},
    {BX, "\\boxed{} \\boxed{  }", NULL},
    {BX, "no box here: 42", NULL},
    {BX, "", NULL},
    /* numbers */
    {NU, "The answer is 1,234.", "1234"},
    {NU, "Answer: -3.50", "-3.5"},
    {NU, "**Answer:** 12", "12"},
    {NU, "It costs $12.00", "12"},
    {NU, "3/4", "3/4"},
    {NU, "6/8 of it", "3/4"},
    {NU, "4/2", "2"},
    {NU, "0/5", "0"},
    {NU, "1/0", "1/0"},
    {NU, "x = 7", "7"},
    {NU, "We get 5 + 3 = 8.", "8"},
    {NU, "total 1,234,567.890 units", "1234567.89"},
    {NU, "list 1,2,3", "3"},
    {NU, "12345,678", "678"},
    {NU, "-0", "0"},
    {NU, "-0.000", "0"},
    {NU, "+5", "5"},
    {NU, "0.0010", "0.001"},
    {NU, "007", "7"},
    {NU, ".5 of it", "0.5"},
    {NU, "1e3", "1000"},
    {NU, "2.5E-3", "0.0025"},
    {NU, "-1.5e+2", "-150"},
    {NU, "3 eggs", "3"},
    {NU, "3eggs", "3"},
    {NU, "H2O and CO2", NULL},
    {NU, "5-3", "3"},
    {NU, "x=-3", "-3"},
    {NU, "\xe2\x88\x92" "4 degrees", "-4"},
    {NU, "on 1/2/2024 we had 9", "9"},
    {NU, "$\\frac{3}{4}$", "3/4"},
    {NU, "The answer is 7. Then I checked 3 more times.", "7"},
    {NU, "The answer to part 1 is 5", "5"},
    {NU, "The answer is x = 12, since 3*4 = 12.", "12"},
    {NU, "Final Answer: The final answer is $14$. I hope it is correct.", "14"},
    {NU, "Answer:\n\n  99\n", "99"},
    {NU, "The answer is below.\nIt is 42", "42"},
    {NU, "so \\boxed{17} (step 3)", "17"},
    {NU, "\\boxed{x = 5}", "5"},
    {NU, "trailing period 42.", "42"},
    {NU, "answers 3 and 4", "4"},
    {NU, "no numbers here", NULL},
    {NU, "", NULL},
    {NU, "   \n\t", NULL},
    {NU, "value 3.14.15", "15"},
    {NU, "a\r\nAnswer: 8\r\n", "8"},
    {NU, "100000000000000000000/400000000000000000000", "100000000000000000000/400000000000000000000"},
    /* choices */
    {CH, "(B)", "B"},
    {CH, "I pick (C) over (A) ... final: (D)", "D"},
    {CH, "The answer is C.", "C"},
    {CH, "Answer: d", "D"},
    {CH, "Answer: (b)", "B"},
    {CH, "The answer is option E", "E"},
    {CH, "The answer is **F**", "F"},
    {CH, "The answer is B because it fits.", "B"},
    {CH, "The answer is a bit unclear; (C)", "C"},
    {CH, "Answer: A because", NULL},
    {CH, "B) because the rate doubles", "B"},
    {CH, "Options:\nA. 3\nB. 4\nC. 5", "C"},
    {CH, "The correct one:\n**B.** 4", "B"},
    {CH, "Because it is so.", NULL},
    {CH, "I think A is wrong", NULL},
    {CH, "f(A) is defined", NULL},
    {CH, "(K)", NULL},
    {CH, "b", "B"},
    {CH, "  c.  ", "C"},
    {CH, "\\boxed{\\text{D}}", "D"},
    {CH, "Answer: $\\boxed{G}$", "G"},
    {CH, "Answer: (a+b)^2", NULL},
    {CH, "", NULL},
    /* last line */
    {LL, "first\nsecond line  \n\n  \n", "second line"},
    {LL, "one\r\ntwo\r\n", "two"},
    {LL, "  only  ", "only"},
    {LL, "\n\n", NULL},
    {LL, "", NULL},
    /* auto */
    {AU, "so \\boxed{42}. The answer is 7.", "42"},
    {AU, "\\boxed{\\frac{1}{2}}", "1/2"},
    {AU, "The answer is 1,234.", "1234"},
    {AU, "Answer: -3.50", "-3.5"},
    {AU, "**Answer:** 12", "12"},
    {AU, "The answer is C.", "C"},
    {AU, "Answer: d", "D"},
    {AU, "Answer: Paris.", "Paris"},
    {AU, "The answer is **Mount Everest**", "Mount Everest"},
    {AU, "We add 2 and 3.\nThe answer is 5 apples.", "5"},
    {AU, "B", "B"},
    {AU, "(c)", "C"},
    {AU, "It has 5 apples and 7 pears", "7"},
    {AU, "The capital is Paris.\n\n", "The capital is Paris."},
    {AU, "I think A is wrong", "I think A is wrong"},
    {AU, "x = 7", "7"},
    {AU, "", NULL},
    {AU, " \r\n ", NULL},
};

static void test_extract_table(void **state)
{
    int failed = 0;
    for (size_t i = 0; i < DL_ARRAY_LEN(cases); i++) {
        const xcase *c = &cases[i];
        char *got = dl_extract_answer(c->text, c->kind);
        bool ok = (!got && !c->want) || (got && c->want && strcmp(got, c->want) == 0);
        if (!ok) {
            print_message("case %zu %s \"%s\": got %s%s%s, want %s%s%s\n", i,
                          dl_extract_kind_name(c->kind), c->text, got ? "\"" : "",
                          got ? got : "NULL", got ? "\"" : "", c->want ? "\"" : "",
                          c->want ? c->want : "NULL", c->want ? "\"" : "");
            failed++;
        }
        free(got);
    }
    print_message("extraction: %zu cases, %d failed\n", DL_ARRAY_LEN(cases), failed);
    assert_int_equal(failed, 0);
}

static void test_extract_null_text(void **state)
{
    for (int k = 0; k <= DL_EXTRACT_LAST_LINE; k++)
        assert_null(dl_extract_answer(NULL, (dl_extract_kind)k));
}

/* Equal answers written differently extract to the same string. */
static void test_extract_equal_answers(void **state)
{
    const char *groups[][4] = {
        {"The answer is 1,234.", "\\boxed{1234}", "Answer: 1234.00", "so it is 1234"},
        {"\\boxed{\\frac{3}{4}}", "Answer: 3/4", "\\boxed{6/8}", "$\\dfrac{3}{4}$"},
        {"The answer is (B).", "Answer: b", "\\boxed{B}", "B"},
        {"\\boxed{x+1}", "\\boxed{ x + 1 }", "\\boxed{$x+1$}", "\\boxed{\\left(x+1\\right)}"},
    };
    for (size_t g = 0; g < DL_ARRAY_LEN(groups); g++) {
        char *first = dl_extract_answer(groups[g][0], DL_EXTRACT_AUTO);
        assert_non_null(first);
        for (size_t k = 1; k < 4; k++) {
            char *other = dl_extract_answer(groups[g][k], DL_EXTRACT_AUTO);
            if (g == 3 && k == 3) { /* \left( ... \right) keeps its parentheses */
                assert_string_equal(other, "(x+1)");
            } else {
                assert_non_null(other);
                assert_string_equal(other, first);
            }
            free(other);
        }
        free(first);
    }
}

/* Normalising a normalised value changes nothing. */
static void test_norm_idempotent(void **state)
{
    const char *vals[] = {"1234.5", "-3/4", "0.001", "B", "x+1", "New York", "\\frac{\\sqrt{3}}{2}",
                          "1000", "0", "e", "2\\times 3"};
    for (size_t i = 0; i < DL_ARRAY_LEN(vals); i++) {
        char *a = dl_extract_norm_value(vals[i], strlen(vals[i]), true);
        assert_non_null(a);
        char *b = dl_extract_norm_value(a, strlen(a), true);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    char *v = dl_extract_norm_value("  (b) ", 6, false);
    assert_string_equal(v, "(b)");
    free(v);
    v = dl_extract_norm_value("  (b) ", 6, true);
    assert_string_equal(v, "B");
    free(v);
    assert_null(dl_extract_norm_value("  $ $ ", 6, true));
    assert_null(dl_extract_norm_value("", 0, true));

    double x;
    assert_true(dl_extract_number_value("-3/4", &x));
    assert_true(x == -0.75);
    assert_true(dl_extract_number_value("12.5", &x));
    assert_true(x == 12.5);
    assert_false(dl_extract_number_value("1/0", &x));
    assert_false(dl_extract_number_value("abc", &x));
    assert_false(dl_extract_number_value("1.", &x));
    assert_false(dl_extract_number_value("", &x));
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

/* Random texts from tricky fragments: no crash (run under ASan), and the
 * results keep their kind's shape (numbers and boxed values normalise to
 * themselves, choices are one letter A-J, lines are trimmed). */
static void test_extract_random(void **state)
{
    static const char *const frags[] = {
        "\\boxed{", "}", "{", "answer", "Answer", ":", " is ", "1", "23", ",", "000", ".", "/",
        "-", "e", "E", "(", "B", "c", ")", "\n", "\r\n", "$", "\\frac", "\\text{", "*", " ",
        "=", "\\", "\xe2\x88\x92", "\\left", "\\,", "%", "\\$", "0", "x",
    };
    uint64_t seed = 99;
    char buf[512];
    int found[DL_EXTRACT_LAST_LINE + 1] = {0};
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        int nf = (int)(lcg(&seed) % 30);
        for (int k = 0; k < nf; k++) {
            const char *f = frags[lcg(&seed) % DL_ARRAY_LEN(frags)];
            size_t fl = strlen(f);
            memcpy(buf + len, f, fl);
            len += fl;
        }
        buf[len] = '\0';
        bool blank = true;
        for (size_t k = 0; k < len; k++) blank = blank && strchr(" \t\r\n", buf[k]);
        for (int kind = 0; kind <= DL_EXTRACT_LAST_LINE; kind++) {
            char *r = dl_extract_answer(buf, (dl_extract_kind)kind);
            if (kind == DL_EXTRACT_AUTO || kind == DL_EXTRACT_LAST_LINE) {
                if (blank != (r == NULL)) print_message("text \"%s\" kind %d\n", buf, kind);
                assert_true(blank == (r == NULL));
            }
            if (!r) continue;
            found[kind]++;
            assert_true(r[0] != '\0');
            if (kind == DL_EXTRACT_NUMBER || kind == DL_EXTRACT_BOXED) {
                char *again = dl_extract_norm_value(r, strlen(r), false);
                if (!again || strcmp(again, r) != 0)
                    print_message("text \"%s\" kind %d: \"%s\" -> \"%s\"\n", buf, kind, r,
                                  again ? again : "NULL");
                assert_non_null(again);
                assert_string_equal(again, r);
                free(again);
            }
            if (kind == DL_EXTRACT_CHOICE) {
                assert_int_equal(strlen(r), 1);
                assert_true(r[0] >= 'A' && r[0] <= 'J');
            }
            if (kind == DL_EXTRACT_LAST_LINE) {
                assert_null(strchr(r, '\n'));
                assert_false(strchr(" \t\r", r[0]) || strchr(" \t\r", r[strlen(r) - 1]));
            }
            free(r);
        }
    }
    print_message("random texts: answers found auto %d number %d choice %d boxed %d line %d\n",
                  found[0], found[1], found[2], found[3], found[4]);
    for (int kind = 0; kind <= DL_EXTRACT_LAST_LINE; kind++) assert_true(found[kind] > 100);
}

/* ---- voting ---------------------------------------------------------------------- */

static void test_vote(void **state)
{
    int votes = 99;
    assert_int_equal(dl_vote_majority(NULL, 0, &votes), -1);
    assert_int_equal(votes, 0);

    /* plain majority; the winner is the best item carrying the answer */
    dl_vote_item a[] = {{"5", -1.0}, {"7", -0.1}, {"5", -0.5}, {"5", -2.0}, {NULL, 0.0}};
    assert_int_equal(dl_vote_majority(a, 5, &votes), 2);
    assert_int_equal(votes, 3);
    assert_int_equal(dl_vote_majority(a, 5, NULL), 2);

    /* tie 2-2: the answer whose best item has the higher mean_logprob */
    dl_vote_item b[] = {{"x", -1.0}, {"y", -0.3}, {"x", -0.5}, {"y", -2.0}};
    assert_int_equal(dl_vote_majority(b, 4, &votes), 1);
    assert_int_equal(votes, 2);

    /* full tie: the answer that appears first */
    dl_vote_item c[] = {{"x", -2.0}, {"y", -1.0}, {"x", -1.0}, {"y", -2.0}};
    assert_int_equal(dl_vote_majority(c, 4, &votes), 2);
    assert_int_equal(votes, 2);

    /* equal strings count together even at different addresses */
    char s1[] = "42", s2[] = "42";
    dl_vote_item d[] = {{"1", 0.0}, {s1, -1.0}, {s2, -1.0}};
    assert_int_equal(dl_vote_majority(d, 3, &votes), 1);
    assert_int_equal(votes, 2);

    /* NULL never wins while there is an answer, even when more common */
    dl_vote_item e[] = {{NULL, 0.0}, {NULL, 0.0}, {"3", -5.0}};
    assert_int_equal(dl_vote_majority(e, 3, &votes), 2);
    assert_int_equal(votes, 1);

    /* all NULL: the best item, no votes */
    dl_vote_item f[] = {{NULL, -3.0}, {NULL, -1.0}, {NULL, -1.0}};
    assert_int_equal(dl_vote_majority(f, 3, &votes), 1);
    assert_int_equal(votes, 0);

    /* a single item; NaN log-probabilities rank last */
    dl_vote_item g[] = {{"z", NAN}};
    assert_int_equal(dl_vote_majority(g, 1, &votes), 0);
    assert_int_equal(votes, 1);
    dl_vote_item h[] = {{"z", NAN}, {"z", -9.0}};
    assert_int_equal(dl_vote_majority(h, 2, &votes), 1);
    assert_int_equal(votes, 2);
}

/* ---- verifiers -------------------------------------------------------------------- */

static void test_verifiers(void **state)
{
    const char *exp = "1,234";
    void *ud = &exp;
    assert_true(dl_verify_exact(ud, "1234", "text") == 1.0);
    assert_true(dl_verify_exact(ud, "1234.0", "text") == 1.0);
    assert_true(dl_verify_exact(ud, "1235", "text") == 0.0);
    assert_true(dl_verify_exact(ud, NULL, "text") == 0.0);
    assert_true(dl_verify_numeric(ud, "1234", NULL) == 1.0);
    assert_true(dl_verify_numeric(ud, NULL, NULL) == 0.0);

    exp = "0.75";
    assert_true(dl_verify_exact(ud, "3/4", "") == 0.0); /* exact: different forms */
    assert_true(dl_verify_numeric(ud, "3/4", "") == 1.0);
    assert_true(dl_verify_numeric(ud, "0.7500000000001", "") == 1.0);
    assert_true(dl_verify_numeric(ud, "0.7501", "") == 0.0);
    assert_true(dl_verify_numeric(ud, "-3/4", "") == 0.0);

    exp = "\\frac{1}{3}";
    assert_true(dl_verify_numeric(ud, "0.3333333333333", "") == 1.0);
    assert_true(dl_verify_numeric(ud, "0.333", "") == 0.0);
    assert_true(dl_verify_exact(ud, "1/3", "") == 1.0);

    exp = "0";
    assert_true(dl_verify_numeric(ud, "-0", "") == 1.0);
    assert_true(dl_verify_numeric(ud, "0.000000001", "") == 0.0);

    exp = "b";
    assert_true(dl_verify_exact(ud, "B", "") == 1.0);
    assert_true(dl_verify_numeric(ud, "B", "") == 1.0);
    assert_true(dl_verify_exact(ud, "C", "") == 0.0);

    exp = "New York";
    assert_true(dl_verify_exact(ud, "New  York", "") == 1.0);
    assert_true(dl_verify_exact(ud, "new york", "") == 0.0);
    assert_true(dl_verify_numeric(ud, "12", "") == 0.0);

    /* no expected answer */
    assert_true(dl_verify_exact(NULL, "1", "") == 0.0);
    const char *none = NULL;
    assert_true(dl_verify_numeric(&none, "1", "") == 0.0);
}

/* ---- names ---------------------------------------------------------------------------- */

static void test_names(void **state)
{
    dl_error err = {0};
    const char *efforts[] = {"none", "minimal", "low", "medium", "high"};
    for (int i = 0; i < DL_EFFORT__COUNT; i++) {
        dl_effort e = DL_EFFORT__COUNT;
        assert_string_equal(dl_effort_name((dl_effort)i), efforts[i]);
        assert_int_equal(dl_effort_parse(efforts[i], &e, &err), 0);
        assert_int_equal(e, i);
    }
    dl_effort e;
    assert_int_equal(dl_effort_parse("HIGH", &e, &err), 0);
    assert_int_equal(e, DL_EFFORT_HIGH);
    assert_int_equal(dl_effort_parse("extreme", &e, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "'extreme'"));
    assert_non_null(strstr(err.msg, "none, minimal, low, medium, high"));
    assert_int_equal(dl_effort_parse(NULL, &e, &err), -1);
    assert_string_equal(dl_effort_name((dl_effort)99), "unknown");

    const char *sums[] = {"off", "auto", "concise", "detailed"};
    for (int i = 0; i < 4; i++) {
        dl_summary_mode m;
        assert_string_equal(dl_summary_name((dl_summary_mode)i), sums[i]);
        assert_int_equal(dl_summary_parse(sums[i], &m, &err), 0);
        assert_int_equal(m, i);
    }
    dl_summary_mode m;
    dl_error_clear(&err);
    assert_int_equal(dl_summary_parse("verbose", &m, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "off, auto, concise, detailed"));

    const char *kinds[] = {"auto", "number", "choice", "boxed", "last-line"};
    for (int i = 0; i < 5; i++) {
        dl_extract_kind k;
        assert_string_equal(dl_extract_kind_name((dl_extract_kind)i), kinds[i]);
        assert_int_equal(dl_extract_kind_parse(kinds[i], &k, &err), 0);
        assert_int_equal(k, i);
    }
    dl_extract_kind k;
    assert_int_equal(dl_extract_kind_parse("last_line", &k, &err), 0);
    assert_int_equal(k, DL_EXTRACT_LAST_LINE);
    dl_error_clear(&err);
    assert_int_equal(dl_extract_kind_parse("regex", &k, &err), -1);
    assert_int_equal(err.status, 400);
    assert_non_null(strstr(err.msg, "auto, number, choice, boxed, last-line"));
}

static void test_budgets(void **state)
{
    dl_error err = {0};
    dl_effort_budgets b = dl_effort_default_budgets();
    const int32_t def[] = {0, 64, 512, 2048, 8192};
    for (int i = 0; i < DL_EFFORT__COUNT; i++) assert_int_equal(b.budget[i], def[i]);

    assert_int_equal(dl_effort_budgets_parse(&b, "low=256,high=4096", &err), 0);
    const int32_t want[] = {0, 64, 256, 2048, 4096};
    for (int i = 0; i < DL_EFFORT__COUNT; i++) assert_int_equal(b.budget[i], want[i]);

    assert_int_equal(dl_effort_budgets_parse(&b, " Minimal = 8 , medium=0,none=0", &err), 0);
    assert_int_equal(b.budget[DL_EFFORT_MINIMAL], 8);
    assert_int_equal(b.budget[DL_EFFORT_MEDIUM], 0);
    assert_int_equal(dl_effort_budgets_parse(&b, "high=2147483647", &err), 0);
    assert_int_equal(b.budget[DL_EFFORT_HIGH], 2147483647);

    /* errors name the bad part and leave *b unchanged */
    struct {
        const char *spec, *needle;
    } bad[] = {
        {"low=256,huge=1", "'huge'"},
        {"low=abc", "'abc'"},
        {"low=12x", "'12x'"},
        {"low=-5", "negative"},
        {"low=256,,high=1", "empty item"},
        {"", "empty item"},
        {"low=1,", "empty item"},
        {"low", "'low' is not level=tokens"},
        {"low=", "no token count"},
        {"high=2147483648", "too large"},
        {"none=5", "'none'"},
    };
    dl_effort_budgets before = b;
    for (size_t i = 0; i < DL_ARRAY_LEN(bad); i++) {
        dl_error_clear(&err);
        if (dl_effort_budgets_parse(&b, bad[i].spec, &err) != -1 || err.status != 400 ||
            !strstr(err.msg, bad[i].needle))
            print_message("spec \"%s\": status %d msg \"%s\"\n", bad[i].spec, err.status, err.msg);
        assert_int_equal(err.status, 400);
        assert_non_null(strstr(err.msg, bad[i].needle));
        assert_memory_equal(&b, &before, sizeof(b));
    }
    dl_error_clear(&err);
    assert_int_equal(dl_effort_budgets_parse(&b, "x=1", &err), -1);
    assert_non_null(strstr(err.msg, "none, minimal, low, medium, high"));
    assert_int_equal(dl_effort_budgets_parse(&b, NULL, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extract_table),
        cmocka_unit_test(test_extract_null_text),
        cmocka_unit_test(test_extract_equal_answers),
        cmocka_unit_test(test_norm_idempotent),
        cmocka_unit_test(test_extract_random),
        cmocka_unit_test(test_vote),
        cmocka_unit_test(test_verifiers),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_budgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
