/* Column arithmetic (addition, subtraction, multiplication), comparison and
 * sorting: generators, phrasings and step-by-step traces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

#define NUMSTR(buf, v) (snprintf(buf, sizeof buf, "%lld", (long long)(v)), buf)

static int digits_of(int64_t v, int *d) { /* little-endian digits; returns count */
    int n = 0;
    do {
        d[n++] = (int)(v % 10);
        v /= 10;
    } while (v > 0);
    return n;
}

/* The result so far: digit `d` written in front of the digits before it. */
static void so_far(char *acc, size_t cap, int d) {
    size_t n = strlen(acc);
    if (n + 1 >= cap) return;
    memmove(acc + 1, acc, n + 1);
    acc[0] = (char)('0' + d);
}

void dl_trace_add(dl_buf *t, int64_t a, int64_t b) {
    int da[20], db[20];
    int na = digits_of(a, da), nb = digits_of(b, db), carry = 0;
    int n = DL_MAX(na, nb);
    char acc[24] = "";
    for (int i = 0; i < n; i++) {
        int x = i < na ? da[i] : 0, y = i < nb ? db[i] : 0, s = x + y + carry;
        so_far(acc, sizeof acc, s % 10);
        dl_buf_printf(t, "%d + %d + %d = %d, write %d, carry %d, so far %s\n", x, y, carry, s, s % 10, s / 10, acc);
        carry = s / 10;
    }
    if (carry) {
        so_far(acc, sizeof acc, carry);
        dl_buf_printf(t, "write the last carry %d, so far %s\n", carry, acc);
    }
}

void dl_trace_sub(dl_buf *t, int64_t a, int64_t b) { /* a >= b */
    int da[20], db[20];
    int na = digits_of(a, da), nb = digits_of(b, db), borrow = 0;
    char acc[24] = "";
    for (int i = 0; i < na; i++) {
        int x = da[i], y = i < nb ? db[i] : 0;
        int r = x - y - borrow;
        so_far(acc, sizeof acc, r < 0 ? r + 10 : r);
        if (r < 0)
            dl_buf_printf(t, "%d - %d - %d = %d, write %d, borrow 1, so far %s\n", x + 10, y, borrow, r + 10, r + 10, acc);
        else
            dl_buf_printf(t, "%d - %d - %d = %d, write %d, borrow 0, so far %s\n", x, y, borrow, r, r, acc);
        borrow = r < 0;
    }
    if (acc[0] == '0' && acc[1] != '\0') {
        const char *p = acc;
        while (p[0] == '0' && p[1] != '\0') p++;
        dl_buf_printf(t, "drop the leading zeros: %s\n", p);
    }
}

/* a * d for one digit d, digit by digit on one line, each step showing the
 * product so far. */
static void trace_mul_digit(dl_buf *t, int64_t a, int d) {
    int da[20];
    int na = digits_of(a, da), carry = 0;
    char acc[24] = "";
    dl_buf_printf(t, "%lld * %d:", (long long)a, d);
    for (int i = 0; i < na; i++) {
        int p = da[i] * d + carry;
        if (i + 1 < na) so_far(acc, sizeof acc, p % 10);
        else { /* the last product goes in front whole: "23" + "13" */
            char head[8];
            int hl = snprintf(head, sizeof head, "%d", p);
            size_t al = strlen(acc);
            if (hl > 0 && (size_t)hl + al < sizeof acc) {
                memmove(acc + hl, acc, al + 1);
                memcpy(acc, head, (size_t)hl);
            }
        }
        dl_buf_printf(t, " %d*%d+%d=%d so far %s%s", da[i], d, carry, p, acc, i + 1 < na ? "," : "");
        carry = p / 10;
    }
    dl_buf_printf(t, "\n");
}

void dl_trace_mul(dl_buf *t, int64_t a, int64_t b) {
    int db[20];
    int nb = digits_of(b, db);
    int64_t total = 0, shift = 1;
    for (int i = 0; i < nb; i++, shift *= 10) {
        trace_mul_digit(t, a, db[i]);
        int64_t part = a * db[i] * shift;
        if (i > 0) dl_buf_printf(t, "shift %d: %lld\n", i, (long long)part);
        if (i > 0) dl_buf_printf(t, "%lld + %lld = %lld\n", (long long)total, (long long)part, (long long)(total + part));
        total += part;
    }
}

int64_t dl_trace_op(dl_buf *t, char op, int64_t a, int64_t b, bool columns) {
    int64_t v = op == '+' ? a + b : op == '-' ? a - b : a * b;
    int64_t A = a < 0 ? -a : a, B = b < 0 ? -b : b;
    if (columns && (A >= 10 || B >= 10)) {
        if (op == '*') {
            dl_buf_printf(t, "%lld * %lld:\n", (long long)A, (long long)B);
            dl_trace_mul(t, A, B);
        } else {
            /* a + s: same signs add the sizes, different signs subtract the smaller */
            int64_t s = op == '-' ? -b : b, S = s < 0 ? -s : s;
            if ((a < 0) == (s < 0)) {
                dl_buf_printf(t, "%lld + %lld:\n", (long long)A, (long long)S);
                dl_trace_add(t, A, S);
            } else {
                int64_t hi = DL_MAX(A, S), lo = DL_MIN(A, S);
                dl_buf_printf(t, "%lld - %lld:\n", (long long)hi, (long long)lo);
                dl_trace_sub(t, hi, lo);
            }
        }
    }
    dl_buf_printf(t, "%lld %c %lld = %lld\n", (long long)a, op, (long long)b, (long long)v);
    return v;
}

static char *finish_trace(dl_buf *t, const char *answer) {
    dl_buf_printf(t, "%s", answer);
    return t->data;
}

/* ---- addition / subtraction / multiplication ---- */

static const char *const ADD_Q[] = {
    "What is {0} + {1}?", "what's {0}+{1}", "Compute {0} + {1}.", "{0} + {1} = ?", "{0}+{1}",
    "Add {0} and {1}.", "What do you get when you add {0} to {1}?", "calculate {0} plus {1}",
    "Find the sum of {0} and {1}.", "{0} plus {1}?", "How much is {0} + {1}?", "sum of {0} and {1}?",
    "{0}+{1}=", "pls add {0} and {1}", "quick one: {0} + {1}", "What is the total of {0} and {1}?",
};
static const char *const SUB_Q[] = {
    "What is {0} - {1}?", "what's {0}-{1}", "Compute {0} - {1}.", "{0} - {1} = ?", "{0}-{1}",
    "Subtract {1} from {0}.", "What is {0} minus {1}?", "calculate {0} minus {1}",
    "Find the difference {0} - {1}.", "How much is {0} take away {1}?",
    "{0}-{1}=", "{0} minus {1} equals?", "take {1} away from {0}",
};
static const char *const MUL_Q[] = {
    "What is {0} * {1}?", "what's {0}*{1}", "Compute {0} × {1}.", "{0} x {1} = ?", "{0}*{1}",
    "Multiply {0} by {1}.", "What is {0} times {1}?", "calculate {0} times {1}",
    "Find the product of {0} and {1}.", "{0} × {1}", "How much is {0} multiplied by {1}?",
    "{0}*{1}=", "what is {0} x {1}", "{0} times {1}?", "Multiply {0} and {1}.",
};

static void set_question(dl_trng *r, dl_problem *out, const char *const *tpls, size_t n,
                         const char *const *args, int n_args) {
    out->question = dl_tsubst(dl_tpick(r, tpls, n), args, n_args);
    dl_tcasual(r, out->question);
}

void dl_task_gen_add(int level, dl_trng *r, dl_problem *out) {
    int64_t a = dl_tnum_digits(r, level), b = dl_tnum_digits(r, (int)dl_trng_range(r, 1, level));
    if (dl_trng_range(r, 0, 1)) { int64_t s = a; a = b; b = s; }
    char sa[24], sb[24], ans[24];
    NUMSTR(sa, a); NUMSTR(sb, b); NUMSTR(ans, a + b);
    out->canon = dl_tstrf("add %s %s", sa, sb);
    const char *args[] = {sa, sb};
    set_question(r, out, ADD_Q, DL_ARRAY_LEN(ADD_Q), args, 2);
    dl_buf t = {0};
    dl_buf_printf(&t, "%s + %s, column by column from the right:\n", sa, sb);
    dl_trace_add(&t, a, b);
    out->trace = finish_trace(&t, ans);
    out->answer = dl_xstrdup(ans);
}

void dl_task_gen_sub(int level, dl_trng *r, dl_problem *out) {
    int64_t a = dl_tnum_digits(r, level), b = dl_tnum_digits(r, (int)dl_trng_range(r, 1, level));
    /* mostly a >= b; at levels 3+ sometimes a negative result */
    if (a < b && !(level >= 3 && dl_trng_range(r, 0, 3) == 0)) { int64_t s = a; a = b; b = s; }
    char sa[24], sb[24], ans[24];
    NUMSTR(sa, a); NUMSTR(sb, b); NUMSTR(ans, a - b);
    out->canon = dl_tstrf("sub %s %s", sa, sb);
    const char *args[] = {sa, sb};
    set_question(r, out, SUB_Q, DL_ARRAY_LEN(SUB_Q), args, 2);
    dl_buf t = {0};
    if (a >= b) {
        dl_buf_printf(&t, "%s - %s, column by column from the right:\n", sa, sb);
        dl_trace_sub(&t, a, b);
    } else {
        dl_buf_printf(&t, "%s is less than %s, so compute %s - %s and make it negative:\n", sa, sb, sb, sa);
        dl_trace_sub(&t, b, a);
        dl_buf_printf(&t, "%s - %s = %lld\n", sb, sa, (long long)(b - a));
    }
    out->trace = finish_trace(&t, ans);
    out->answer = dl_xstrdup(ans);
}

/* a * b the second way. One-digit a: "7 * 4, counting up in steps of 7:"
 * then "2 * 7 = 7 + 7 = 14" ... up to b (b <= 1 is said directly). Longer a:
 * "77 * 2, splitting 77 into 70 + 7:", each part's digit times b ("7 * 2 =
 * 14", column work when b has two or more digits) and, for a part with
 * zeros, "so 70 * 2 = 140" on the next line; each part after the first is
 * added to the sum so far (column work). */
static void trace_mul_split(dl_buf *t, int64_t a, int64_t b) {
    if (a < 10) {
        if (b <= 1) {
            dl_buf_printf(t, "%lld * %lld: %s\n", (long long)a, (long long)b, b == 0 ? "anything times 0 is 0" : "times 1 is the number itself");
            return;
        }
        dl_buf_printf(t, "%lld * %lld, counting up in steps of %lld:\n1 * %lld = %lld\n", (long long)a, (long long)b,
                      (long long)a, (long long)a, (long long)a);
        for (int64_t k = 2; k <= b; k++)
            dl_buf_printf(t, "%lld * %lld = %lld + %lld = %lld\n", (long long)k, (long long)a, (long long)((k - 1) * a),
                          (long long)a, (long long)(k * a));
        return;
    }
    int d[20];
    int n = digits_of(a, d);
    int64_t parts[20], scale[20];
    int np = 0;
    for (int i = n - 1; i >= 0; i--) {
        if (d[i] == 0) continue;
        int64_t s = 1;
        for (int k = 0; k < i; k++) s *= 10;
        parts[np] = d[i];
        scale[np++] = s;
    }
    dl_buf_printf(t, "%lld * %lld, splitting %lld into ", (long long)a, (long long)b, (long long)a);
    for (int i = 0; i < np; i++) dl_buf_printf(t, "%s%lld", i ? " + " : "", (long long)(parts[i] * scale[i]));
    dl_buf_printf(t, ":\n");
    int64_t total = 0;
    for (int i = 0; i < np; i++) {
        int64_t v = dl_trace_op(t, '*', parts[i], b, true);
        int64_t part = v * scale[i];
        if (scale[i] > 1)
            dl_buf_printf(t, "so %lld * %lld = %lld\n", (long long)(parts[i] * scale[i]), (long long)b, (long long)part);
        if (i > 0) dl_trace_op(t, '+', total, part, true);
        total += part;
    }
}

void dl_task_gen_mul(int level, dl_trng *r, dl_problem *out) {
    static const int DA[] = {1, 2, 2, 3, 3}, DB[] = {1, 1, 2, 2, 3};
    int64_t a = dl_tnum_digits(r, DA[level - 1]), b = dl_tnum_digits(r, DB[level - 1]);
    if (level == 1) a = dl_trng_range(r, 2, 9), b = dl_trng_range(r, 2, 9);
    char sa[24], sb[24], ans[24];
    NUMSTR(sa, a); NUMSTR(sb, b); NUMSTR(ans, a * b);
    out->canon = dl_tstrf("mul %s %s", sa, sb);
    bool swap = dl_trng_range(r, 0, 3) == 0; /* sometimes the shorter number first */
    const char *args[] = {swap ? sb : sa, swap ? sa : sb};
    set_question(r, out, MUL_Q, DL_ARRAY_LEN(MUL_Q), args, 2);
    /* two ways: long multiplication, or a split by place value (counting up
     * in steps of a when a has one digit) */
    char *traces[2];
    dl_buf t = {0};
    dl_buf_printf(&t, "%s * %s, one digit of %s at a time from the right:\n", sa, sb, sb);
    dl_trace_mul(&t, a, b);
    traces[0] = finish_trace(&t, ans);
    t = (dl_buf){0};
    trace_mul_split(&t, a, b);
    traces[1] = finish_trace(&t, ans);
    dl_tchoose_trace(r, out, traces, 2);
    out->answer = dl_xstrdup(ans);
}

/* ---- comparison and sorting ---- */

static const char *const CMP_MAX_Q[] = {
    "Which is larger, {0} or {1}?", "which is bigger: {0} or {1}", "What is the larger of {0} and {1}?",
    "Is {0} or {1} greater?", "max({0}, {1})?", "Which number is greater, {0} or {1}?",
    "{0} vs {1}, which is bigger?",
};
static const char *const CMP_MIN_Q[] = {
    "Which is smaller, {0} or {1}?", "which is less: {0} or {1}", "What is the smaller of {0} and {1}?",
    "min({0}, {1})?", "Which number is lower, {0} or {1}?", "{0} vs {1}, which is smaller?",
};

/* Compares a and b digit by digit, writing the reasoning; returns a > b. */
static bool trace_compare(dl_buf *t, int64_t a, int64_t b) {
    char sa[24], sb[24];
    NUMSTR(sa, a); NUMSTR(sb, b);
    size_t la = strlen(sa), lb = strlen(sb);
    if (la != lb) {
        dl_buf_printf(&*t, "%s has %zu digits, %s has %zu digits\n", sa, la, sb, lb);
        return la > lb;
    }
    dl_buf_printf(t, "both have %zu digits\n", la);
    for (size_t i = 0; i < la; i++) {
        if (sa[i] != sb[i]) {
            dl_buf_printf(t, "digit %zu: %c vs %c\n", i + 1, sa[i], sb[i]);
            return sa[i] > sb[i];
        }
        dl_buf_printf(t, "digit %zu: %c = %c\n", i + 1, sa[i], sb[i]);
    }
    return false;
}

/* a has level + 1 digits, or (one time in four) any length up to that, so
 * one-digit pairs ("5 or 9") are in the data; b is shorter or the same
 * length; half the time they swap places, so the longer number is not
 * always the first. */
void dl_task_gen_compare(int level, dl_trng *r, dl_problem *out) {
    int la = dl_trng_range(r, 0, 3) == 0 ? (int)dl_trng_range(r, 1, level + 1) : level + 1;
    int64_t a = dl_tnum_digits(r, la), b;
    if (dl_trng_range(r, 0, 2) == 0) b = dl_tnum_digits(r, (int)dl_trng_range(r, 1, la));
    else { /* same length, often sharing a prefix: the interesting case */
        char s[24];
        NUMSTR(s, a);
        size_t keep = (size_t)dl_trng_range(r, 0, (int64_t)strlen(s) - 1);
        b = 0;
        for (size_t i = 0; i < strlen(s); i++)
            b = b * 10 + (i < keep ? s[i] - '0' : (i == 0 ? dl_trng_range(r, 1, 9) : dl_trng_range(r, 0, 9)));
    }
    if (a == b) b = a + 1;
    if (dl_trng_range(r, 0, 1)) {
        int64_t t = a;
        a = b, b = t;
    }
    bool want_max = dl_trng_range(r, 0, 1);
    char sa[24], sb[24];
    NUMSTR(sa, a); NUMSTR(sb, b);
    out->canon = dl_tstrf("%s %s %s", want_max ? "max" : "min", sa, sb);
    const char *args[] = {sa, sb};
    if (want_max) set_question(r, out, CMP_MAX_Q, DL_ARRAY_LEN(CMP_MAX_Q), args, 2);
    else set_question(r, out, CMP_MIN_Q, DL_ARRAY_LEN(CMP_MIN_Q), args, 2);
    dl_buf t = {0};
    bool a_gt = trace_compare(&t, a, b);
    int64_t big = a_gt ? a : b, small = a_gt ? b : a;
    dl_buf_printf(&t, "%lld > %lld\n", (long long)big, (long long)small);
    char ans[24];
    NUMSTR(ans, want_max ? big : small);
    out->trace = finish_trace(&t, ans);
    out->answer = dl_xstrdup(ans);
}

static const char *const SORT_ASC_Q[] = {
    "Sort these numbers from smallest to largest: {0}", "sort {0}", "Put {0} in ascending order.",
    "Order from least to greatest: {0}", "can you sort {0} ascending?", "Arrange in increasing order: {0}.",
};
static const char *const SORT_DESC_Q[] = {
    "Sort these numbers from largest to smallest: {0}", "sort {0} descending",
    "Put {0} in descending order.", "Order from greatest to least: {0}", "Arrange in decreasing order: {0}.",
};

static void list_str(dl_buf *b, const int64_t *v, int n) {
    for (int i = 0; i < n; i++) dl_buf_printf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
}

void dl_task_gen_sort(int level, dl_trng *r, dl_problem *out) {
    int n = level + 2;
    int64_t v[8];
    for (int i = 0; i < n; i++) v[i] = dl_tnum_digits(r, (int)dl_trng_range(r, 1, (level + 3) / 2));
    bool desc = dl_trng_range(r, 0, 2) == 0;
    dl_buf lb = {0}, cb = {0};
    list_str(&lb, v, n);
    dl_buf_printf(&cb, "%s ", desc ? "sortdesc" : "sortasc");
    list_str(&cb, v, n);
    out->canon = cb.data;
    const char *args[] = {lb.data};
    if (desc) set_question(r, out, SORT_DESC_Q, DL_ARRAY_LEN(SORT_DESC_Q), args, 1);
    else set_question(r, out, SORT_ASC_Q, DL_ARRAY_LEN(SORT_ASC_Q), args, 1);
    dl_buf_free(&lb);
    /* two ways: selection (repeatedly take the smallest, or largest, of what
     * is left) or insertion (each number put in its place in the list so far) */
    char *traces[2];
    dl_buf t = {0};
    int64_t left[8], done[8];
    int nl = n, nd = 0;
    memcpy(left, v, sizeof(int64_t) * (size_t)n);
    while (nl > 1) {
        int best = 0;
        for (int i = 1; i < nl; i++)
            if (desc ? left[i] > left[best] : left[i] < left[best]) best = i;
        dl_buf_printf(&t, "%s of ", desc ? "largest" : "smallest");
        list_str(&t, left, nl);
        dl_buf_printf(&t, ": %lld\n", (long long)left[best]);
        done[nd++] = left[best];
        memmove(left + best, left + best + 1, sizeof(int64_t) * (size_t)(nl - best - 1));
        nl--;
    }
    done[nd++] = left[0];
    dl_buf ab = {0};
    list_str(&ab, done, nd);
    traces[0] = finish_trace(&t, ab.data);
    t = (dl_buf){0};
    dl_buf_printf(&t, "put each number in its place, %s first:\n", desc ? "largest" : "smallest");
    nd = 0;
    for (int i = 0; i < n; i++) {
        int at = nd;
        while (at > 0 && (desc ? done[at - 1] < v[i] : done[at - 1] > v[i])) at--;
        memmove(done + at + 1, done + at, sizeof(int64_t) * (size_t)(nd - at));
        done[at] = v[i];
        nd++;
        dl_buf_printf(&t, "%lld: ", (long long)v[i]);
        list_str(&t, done, nd);
        dl_buf_printf(&t, "\n");
    }
    traces[1] = finish_trace(&t, ab.data);
    dl_tchoose_trace(r, out, traces, 2);
    out->answer = ab.data;
}
