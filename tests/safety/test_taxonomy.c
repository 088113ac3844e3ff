/* Tests of the taxonomy: the 13 category names round trip, unknown names
 * are rejected, every category maps to MLCommons hazards S1..S14, and the
 * action and layer names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/testutil.h"
#include "safety/safety.h"

static void test_names_round_trip(void **state) {
    (void)state;
    static const char *const want[] = {
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
        "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual",
        "sexual/minors", "violence", "violence/graphic",
    };
    assert_int_equal(DL_CAT__COUNT, 13);
    assert_int_equal(DL_ARRAY_LEN(want), 13);
    for (int i = 0; i < DL_CAT__COUNT; i++) {
        assert_string_equal(dl_category_name((dl_category)i), want[i]);
        dl_category c = DL_CAT__COUNT;
        assert_int_equal(dl_category_parse(want[i], &c), 0);
        assert_int_equal(c, i);
    }
    dl_category c = DL_CAT_HATE;
    assert_int_equal(dl_category_parse("Hate", &c), -1);
    assert_int_equal(dl_category_parse("violence/", &c), -1);
    assert_int_equal(dl_category_parse("", &c), -1);
    assert_int_equal(dl_category_parse(NULL, &c), -1);
    assert_int_equal(c, DL_CAT_HATE); /* untouched on failure */
    assert_string_equal(dl_category_name(DL_CAT__COUNT), "unknown");
}

/* Every entry is a comma-separated list of S1..S14, non-empty. */
static void test_mlcommons(void **state) {
    (void)state;
    bool seen[15] = {0};
    for (int i = 0; i < DL_CAT__COUNT; i++) {
        const char *m = dl_category_mlcommons((dl_category)i);
        assert_non_null(m);
        assert_true(m[0] != '\0');
        const char *p = m;
        while (*p) {
            assert_int_equal(*p, 'S');
            char *end;
            long v = strtol(p + 1, &end, 10);
            assert_true(end > p + 1 && v >= 1 && v <= 14);
            seen[v] = true;
            p = end;
            if (*p == ',') p++;
            else assert_int_equal(*p, '\0');
        }
    }
    assert_string_equal(dl_category_mlcommons(DL_CAT_SEXUAL_MINORS), "S4");
    assert_string_equal(dl_category_mlcommons(DL_CAT_SELF_HARM_INSTRUCTIONS), "S11");
    assert_string_equal(dl_category_mlcommons(DL_CAT_HATE), "S10");
    assert_string_equal(dl_category_mlcommons(DL_CAT_ILLICIT_VIOLENT), "S1,S9");
    /* S6 specialized advice and S13 elections have no moderation counterpart */
    for (int s = 1; s <= 14; s++) assert_int_equal(seen[s], s != 6 && s != 13);
    assert_string_equal(dl_category_mlcommons(DL_CAT__COUNT), "");
}

static void test_action_layer_names(void **state) {
    (void)state;
    assert_string_equal(dl_action_name(DL_ACTION_ALLOW), "allow");
    assert_string_equal(dl_action_name(DL_ACTION_SAFE_COMPLETE), "safe_complete");
    assert_string_equal(dl_action_name(DL_ACTION_SOFT_REFUSE), "soft_refuse");
    assert_string_equal(dl_action_name(DL_ACTION_HARD_REFUSE), "hard_refuse");
    assert_string_equal(dl_action_name(DL_ACTION_BLOCK), "block");
    assert_string_equal(dl_action_name((dl_action)99), "unknown");
    assert_string_equal(dl_layer_name(DL_LAYER_NONE), "none");
    assert_string_equal(dl_layer_name(DL_LAYER_CLASSIFIER), "classifier");
    assert_string_equal(dl_layer_name(DL_LAYER_POLICY), "policy");
    assert_string_equal(dl_layer_name(DL_LAYER_GUARD), "guard");
    assert_string_equal(dl_layer_name(DL_LAYER_COT_MONITOR), "cot_monitor");
    assert_string_equal(dl_layer_name(DL_LAYER_CARE), "care");
    assert_string_equal(dl_layer_name((dl_layer)-1), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_mlcommons),
        cmocka_unit_test(test_action_layer_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
