/* Tests for src/base: UTF-8, half floats, buffers, thread pool, errors. */
#include <stdatomic.h>
#include <string.h>

#include "../common/testutil.h"
#include "base/base.h"

static void test_utf8_decode_valid(void **state) {
    uint32_t cp;
    assert_int_equal(dl_utf8_decode("A", 1, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(dl_utf8_decode("\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(dl_utf8_decode("\xE2\x9C\x85", 3, &cp), 3);
    assert_int_equal(cp, 0x2705);
    assert_int_equal(dl_utf8_decode("\xF0\x9F\xA6\x99", 4, &cp), 4);
    assert_int_equal(cp, 0x1F999);
}

static void test_utf8_rejects_bad(void **state) {
    uint32_t cp;
    assert_int_equal(dl_utf8_decode("\xC0\xAF", 2, &cp), 0);          /* overlong */
    assert_int_equal(dl_utf8_decode("\xED\xA0\x80", 3, &cp), 0);      /* surrogate */
    assert_int_equal(dl_utf8_decode("\xF4\x90\x80\x80", 4, &cp), 0);  /* > U+10FFFF */
    assert_int_equal(dl_utf8_decode("\xE2\x9C", 2, &cp), 0);          /* truncated */
    assert_int_equal(dl_utf8_decode("\x80", 1, &cp), 0);              /* stray continuation */
    size_t bad = 99;
    assert_false(dl_utf8_valid("ab\xFF" "c", 4, &bad));
    assert_int_equal(bad, 2);
    assert_true(dl_utf8_valid("h\xC3\xA9llo", 6, NULL));
}

static void test_utf8_roundtrip_and_tail(void **state) {
    char buf[4];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp += 97) {
        int n = dl_utf8_encode(cp, buf);
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            assert_int_equal(n, 0);
            continue;
        }
        uint32_t back;
        assert_int_equal(dl_utf8_decode(buf, (size_t)n, &back), n);
        assert_int_equal(back, cp);
    }
    assert_int_equal(dl_utf8_incomplete_tail("ab\xF0\x9F", 4), 2);
    assert_int_equal(dl_utf8_incomplete_tail("ab\xF0\x9F\xA6\x99", 6), 0);
    assert_int_equal(dl_utf8_incomplete_tail("ab\xE2", 3), 1);
    assert_int_equal(dl_utf8_incomplete_tail("abc", 3), 0);
}

static void test_half_conversions(void **state) {
    /* known bit patterns */
    assert_int_equal(dl_f32_to_f16(1.0f), 0x3C00);
    assert_int_equal(dl_f32_to_f16(-2.0f), 0xC000);
    assert_int_equal(dl_f32_to_f16(65504.0f), 0x7BFF);
    assert_int_equal(dl_f32_to_f16(65520.0f), 0x7C00); /* rounds to inf */
    assert_int_equal(dl_f32_to_f16(5.9604645e-08f), 0x0001); /* smallest subnormal */
    assert_true(dl_f16_to_f32(0x0001) == 5.9604645e-08f);
    assert_int_equal(dl_f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3C00); /* tie -> even */
    assert_int_equal(dl_f32_to_f16(1.0f + 3.0f / 2048.0f), 0x3C02); /* tie -> even */
    /* every half round-trips */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) continue; /* NaN payloads */
        assert_int_equal(dl_f32_to_f16(dl_f16_to_f32((uint16_t)h)), h);
    }
    assert_int_equal(dl_f32_to_bf16(1.0f), 0x3F80);
    assert_true(dl_bf16_to_f32(0x4049) == 3.140625f);
    assert_int_equal(dl_f32_to_bf16(1.00390625f), 0x3F80); /* tie -> even */
}

static void test_buf_max(void **state) {
    dl_buf b = {.max = 8};
    assert_int_equal(dl_buf_append(&b, "abcd", 4), 0);
    assert_int_equal(dl_buf_printf(&b, "%d", 123), 0);
    assert_string_equal(b.data, "abcd123");
    assert_int_equal(dl_buf_append(&b, "xy", 2), -1);
    assert_int_equal(b.len, 7);
    dl_buf_free(&b);
}

static void test_error_one_line(void **state) {
    dl_error e;
    assert_int_equal(dl_error_set(&e, 400, "bad\nthing %d", 7), -1);
    assert_string_equal(e.msg, "bad thing 7");
    assert_int_equal(e.status, 400);
    assert_string_equal(e.type, "invalid_request_error");
}

typedef struct {
    _Atomic int64_t sum;
    _Atomic int calls;
} pool_ctx;

static void pool_job(void *p, int ith, int nth) {
    pool_ctx *c = p;
    int64_t b, e;
    dl_split_range(1000, ith, nth, 1, &b, &e);
    int64_t s = 0;
    for (int64_t i = b; i < e; i++) s += i;
    atomic_fetch_add(&c->sum, s);
    atomic_fetch_add(&c->calls, 1);
}

static void test_pool_runs_every_thread(void **state) {
    for (int nt = 1; nt <= 4; nt++) {
        dl_pool *pool = dl_pool_create(nt);
        assert_int_equal(dl_pool_size(pool), nt);
        for (int rep = 0; rep < 200; rep++) {
            pool_ctx c = {0};
            dl_pool_run(pool, pool_job, &c);
            assert_int_equal(atomic_load(&c.sum), 999 * 1000 / 2);
            assert_int_equal(atomic_load(&c.calls), nt);
        }
        dl_pool_free(pool);
    }
}

static void test_split_range(void **state) {
    int64_t b, e, total = 0;
    for (int i = 0; i < 3; i++) {
        dl_split_range(100, i, 3, 8, &b, &e);
        assert_int_equal(b % 8, 0);
        total += e - b;
    }
    assert_int_equal(total, 100);
    dl_split_range(5, 3, 4, 1, &b, &e);
    assert_true(b <= e && e <= 5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_decode_valid),
        cmocka_unit_test(test_utf8_rejects_bad),
        cmocka_unit_test(test_utf8_roundtrip_and_tail),
        cmocka_unit_test(test_half_conversions),
        cmocka_unit_test(test_buf_max),
        cmocka_unit_test(test_error_one_line),
        cmocka_unit_test(test_pool_runs_every_thread),
        cmocka_unit_test(test_split_range),
    };
    return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
