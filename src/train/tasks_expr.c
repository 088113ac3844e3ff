/* Arithmetic expressions with precedence and parentheses, and linear
 * equations in one unknown. The expression trace rewrites the whole
 * expression after each single operation (innermost parentheses first,
 * then * before + and -, left to right). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

/* An expression as a token list: numbers, operators and parentheses. */
typedef struct etok {
    char op; /* 0 = number, else '+', '-', '*', '(', ')' */
    int64_t v;
} etok;

typedef struct expr {
    etok t[64];
    int n;
} expr;

static void push_num(expr *e, int64_t v) { e->t[e->n++] = (etok){0, v}; }
static void push_op(expr *e, char op) { e->t[e->n++] = (etok){op, 0}; }

static void expr_print(dl_buf *b, const expr *e) {
    for (int i = 0; i < e->n; i++) {
        const etok *k = &e->t[i];
        if (k->op == 0) dl_buf_printf(b, "%lld", (long long)k->v);
        else if (k->op == '(') dl_buf_printf(b, "(");
        else if (k->op == ')') dl_buf_printf(b, ")");
        else dl_buf_printf(b, " %c ", k->op);
    }
}

/* Random expression of n_terms numbers; parentheses around a random
 * sub-range when `parens`. */
static void expr_random(dl_trng *r, expr *e, int n_terms, int max_digits, bool parens) {
    static const char OPS[] = {'+', '-', '*'};
    int open_at = -1, close_at = -1;
    if (parens && n_terms >= 3) {
        open_at = (int)dl_trng_range(r, 0, n_terms - 2);
        close_at = (int)dl_trng_range(r, open_at + 1, DL_MIN(n_terms - 1, open_at + 2));
        if (open_at == 0 && close_at == n_terms - 1) close_at = n_terms - 2;
        if (close_at <= open_at) open_at = close_at = -1;
    }
    e->n = 0;
    char prev_op = 0;
    for (int i = 0; i < n_terms; i++) {
        if (i > 0) {
            prev_op = OPS[dl_trng_range(r, 0, 2)];
            push_op(e, prev_op);
        }
        if (i == open_at) push_op(e, '(');
        /* keep products small: one-digit factors next to '*' */
        int d = prev_op == '*' ? 1 : (int)dl_trng_range(r, 1, max_digits);
        push_num(e, d == 1 ? dl_trng_range(r, 1, 9) : dl_tnum_digits(r, d));
        if (i == close_at) push_op(e, ')');
    }
}

/* Applies one operation at operator index i (numbers at i-1 and i+1),
 * writing it to t as a reasoning step (dl_trace_op: column work for
 * multi-digit numbers, then "a op b = v"). */
static void reduce_at(expr *e, int i, dl_buf *t) {
    int64_t v = dl_trace_op(t, e->t[i].op, e->t[i - 1].v, e->t[i + 1].v, true);
    e->t[i - 1].v = v;
    memmove(&e->t[i], &e->t[i + 2], sizeof(etok) * (size_t)(e->n - i - 2));
    e->n -= 2;
}

/* One evaluation step (its work written to t); false when e is a single number. */
static bool expr_step(expr *e, dl_buf *t) {
    if (e->n <= 1) return false;
    int lo = 0, hi = e->n; /* the innermost parenthesised group, else everything */
    for (int i = 0; i < e->n; i++) {
        if (e->t[i].op == '(') lo = i + 1;
        if (e->t[i].op == ')') {
            hi = i;
            break;
        }
    }
    if (hi - lo == 1 && lo > 0) { /* "(7)" -> "7" */
        memmove(&e->t[hi], &e->t[hi + 1], sizeof(etok) * (size_t)(e->n - hi - 1));
        memmove(&e->t[lo - 1], &e->t[lo], sizeof(etok) * (size_t)(e->n - lo));
        e->n -= 2;
        return true;
    }
    for (int i = lo; i < hi; i++)
        if (e->t[i].op == '*') {
            reduce_at(e, i, t);
            return true;
        }
    for (int i = lo; i < hi; i++)
        if (e->t[i].op == '+' || e->t[i].op == '-') {
            reduce_at(e, i, t);
            return true;
        }
    return false;
}

static const char *const EXPR_Q[] = {
    "What is {0}?", "Evaluate {0}.", "compute {0}", "{0} = ?", "{0}", "what's {0}",
    "Calculate {0}.", "Find the value of {0}.", "Work out {0}.", "Simplify: {0}",
};

void dl_task_gen_expr(int level, dl_trng *r, dl_problem *out) {
    static const int TERMS[] = {3, 3, 4, 4, 5}, DIG[] = {1, 2, 2, 2, 3};
    expr e;
    expr_random(r, &e, TERMS[level - 1], DIG[level - 1], level >= 2 && dl_trng_range(r, 0, 2) > 0);
    dl_buf q = {0};
    expr_print(&q, &e);
    out->canon = dl_tstrf("expr %s", q.data);
    const char *args[] = {q.data};
    out->question = dl_tsubst(dl_tpick(r, EXPR_Q, DL_ARRAY_LEN(EXPR_Q)), args, 1);
    dl_tcasual(r, out->question);
    dl_buf t = {0};
    dl_buf_printf(&t, "%s\n", q.data);
    dl_buf_free(&q);
    while (expr_step(&e, &t)) {
        dl_buf_printf(&t, "= ");
        expr_print(&t, &e);
        dl_buf_printf(&t, "\n");
    }
    dl_buf_printf(&t, "%lld", (long long)e.t[0].v);
    out->trace = t.data;
    out->answer = dl_tstrf("%lld", (long long)e.t[0].v);
}

/* ---- linear equations ---- */

static const char *const LIN_Q[] = {
    "Solve for x: {0}", "solve {0}", "{0}, what is x?", "Find x if {0}.", "If {0}, what's x?",
    "What value of x satisfies {0}?", "solve for x {0}", "{0}. x = ?",
};

/* "3x", "x", "-x", "-3x" */
static void coef_x(dl_buf *b, int64_t a) {
    if (a == 1) dl_buf_printf(b, "x");
    else if (a == -1) dl_buf_printf(b, "-x");
    else dl_buf_printf(b, "%lldx", (long long)a);
}

void dl_task_gen_linear(int level, dl_trng *r, dl_problem *out) {
    /* a*x + b = c  (levels 1-3)  or  a*x + b = d*x + c  (levels 4-5) */
    int64_t xmax = level <= 2 ? 9 : level == 3 ? 20 : 30;
    int64_t x = dl_trng_range(r, level <= 2 ? 0 : -xmax, xmax);
    int64_t a = dl_trng_range(r, 1, level == 1 ? 5 : 9);
    if (level >= 3 && dl_trng_range(r, 0, 3) == 0) a = -a;
    int64_t b = dl_trng_range(r, level == 1 ? 0 : -30, 30), d = 0;
    if (level >= 4) {
        do d = dl_trng_range(r, -9, 9);
        while (d == 0 || d == a);
    }
    int64_t c = (a - d) * x + b; /* a*x + b = d*x + c  <=>  (a-d)x = c - b */
    dl_buf eq = {0};
    coef_x(&eq, a);
    if (b > 0) dl_buf_printf(&eq, " + %lld", (long long)b);
    if (b < 0) dl_buf_printf(&eq, " - %lld", (long long)-b);
    dl_buf_printf(&eq, " = ");
    if (d != 0) {
        coef_x(&eq, d);
        if (c > 0) dl_buf_printf(&eq, " + %lld", (long long)c);
        if (c < 0) dl_buf_printf(&eq, " - %lld", (long long)-c);
    } else {
        dl_buf_printf(&eq, "%lld", (long long)c);
    }
    out->canon = dl_tstrf("linear %s", eq.data);
    const char *args[] = {eq.data};
    out->question = dl_tsubst(dl_tpick(r, LIN_Q, DL_ARRAY_LEN(LIN_Q)), args, 1);
    dl_tcasual(r, out->question);
    dl_buf t = {0};
    dl_buf_printf(&t, "%s\n", eq.data);
    dl_buf_free(&eq);
    int64_t A = a;
    if (d != 0) {
        A = a - d;
        if (d == 1) dl_buf_printf(&t, "subtract x from both sides: ");
        else if (d == -1) dl_buf_printf(&t, "add x to both sides: ");
        else if (d > 0) dl_buf_printf(&t, "subtract %lldx from both sides: ", (long long)d);
        else dl_buf_printf(&t, "add %lldx to both sides: ", (long long)-d);
        coef_x(&t, A);
        if (b > 0) dl_buf_printf(&t, " + %lld", (long long)b);
        if (b < 0) dl_buf_printf(&t, " - %lld", (long long)-b);
        dl_buf_printf(&t, " = %lld\n", (long long)c);
    }
    int64_t rhs = c - b;
    if (b != 0) {
        /* "subtract 13 from both sides: 3x = 37 - 13", the work, "3x = 24" */
        dl_buf_printf(&t, "%s %lld %s both sides: ", b > 0 ? "subtract" : "add", (long long)(b > 0 ? b : -b),
                      b > 0 ? "from" : "to");
        coef_x(&t, A);
        dl_buf_printf(&t, " = %lld %c %lld\n", (long long)c, b > 0 ? '-' : '+', (long long)(b > 0 ? b : -b));
        dl_trace_op(&t, b > 0 ? '-' : '+', c, b > 0 ? b : -b, true);
        coef_x(&t, A);
        dl_buf_printf(&t, " = %lld\n", (long long)rhs);
    }
    if (A != 1) dl_buf_printf(&t, "divide both sides by %lld: x = %lld / %lld\n%lld / %lld = %lld\n", (long long)A,
                              (long long)rhs, (long long)A, (long long)rhs, (long long)A, (long long)x);
    dl_buf_printf(&t, "x = %lld", (long long)x);
    out->trace = t.data;
    out->answer = dl_tstrf("x = %lld", (long long)x);
}
