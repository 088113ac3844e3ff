/* Templated word problems that chain two or three operations. The trace
 * names each step, then works it (with column steps for multi-digit
 * numbers at the higher levels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

static const char *const NAMES[] = {"Ann", "Ben", "Maria", "Tom", "Aisha", "Li", "Sara", "Omar",
                                    "Noah", "Emma", "Ravi", "Yuki", "Lucas", "Zoe"};
static const char *const ITEMS[] = {"apple", "marble", "sticker", "book", "pencil", "cookie",
                                    "card", "stamp", "shell", "coin", "egg", "balloon"};

/* The operations a word problem's reasoning works, in order; written out
 * once the way of working them is drawn. */
typedef struct word_steps {
    char op[4];
    int64_t a[4], b[4];
    int n;
} word_steps;

static int64_t word_step(word_steps *w, char op, int64_t a, int64_t b) {
    w->op[w->n] = op;
    w->a[w->n] = a;
    w->b[w->n++] = b;
    return op == '+' ? a + b : op == '-' ? a - b : a * b;
}

void dl_task_gen_word(int level, dl_trng *r, dl_problem *out) {
    const char *name = dl_tpick(r, NAMES, DL_ARRAY_LEN(NAMES));
    const char *item = dl_tpick(r, ITEMS, DL_ARRAY_LEN(ITEMS));
    int dig = level <= 2 ? 1 : level <= 4 ? 2 : 3;
    int64_t a = dl_tnum_digits(r, dig) + 1, b = dl_trng_range(r, 2, 9), c = dl_trng_range(r, 2, 9), d;
    int form = (int)dl_trng_range(r, 0, level <= 1 ? 2 : 5);
    dl_buf q = {0}, t = {0};
    word_steps w = {0};
    int64_t ans;
    switch (form) {
    case 0: /* a + b */
        b = dl_tnum_digits(r, dig) + 1;
        dl_buf_printf(&q, "%s has %lld %ss and gets %lld more. How many %ss does %s have now?", name,
                      (long long)a, item, (long long)b, item, name);
        dl_buf_printf(&t, "gets more: add\n");
        ans = word_step(&w, '+', a, b);
        break;
    case 1: /* a - b */
        b = dl_trng_range(r, 1, a);
        dl_buf_printf(&q, "%s had %lld %ss and gave away %lld. How many are left?", name, (long long)a,
                      item, (long long)b);
        dl_buf_printf(&t, "gave away: subtract\n");
        ans = word_step(&w, '-', a, b);
        break;
    case 2: /* b * a */
        dl_buf_printf(&q, "There are %lld boxes with %lld %ss in each. How many %ss are there in total?",
                      (long long)b, (long long)a, item, item);
        dl_buf_printf(&t, "equal boxes: multiply\n");
        ans = word_step(&w, '*', a, b);
        break;
    case 3: /* b * c + a */
        dl_buf_printf(&q, "%s has %lld %ss and buys %lld packs of %lld %ss. How many %ss does %s have now?",
                      name, (long long)a, item, (long long)b, (long long)c, item, item, name);
        dl_buf_printf(&t, "packs: multiply, then add\n");
        d = word_step(&w, '*', b, c);
        ans = word_step(&w, '+', a, d);
        break;
    case 4: /* a + b*c - d */
        d = dl_trng_range(r, 1, a + b * c);
        dl_buf_printf(&q, "%s has %lld %ss, buys %lld bags of %lld, then gives %lld to a friend. How many %ss are left?",
                      name, (long long)a, item, (long long)b, (long long)c, (long long)d, item);
        dl_buf_printf(&t, "bags: multiply, add, then subtract what was given\n");
        c = word_step(&w, '*', b, c);
        a = word_step(&w, '+', a, c);
        ans = word_step(&w, '-', a, d);
        break;
    default: { /* change: m - p*n */
        int64_t p = dl_trng_range(r, 2, level >= 4 ? 25 : 9), n = dl_trng_range(r, 2, 9);
        int64_t m = p * n + dl_trng_range(r, 0, level >= 4 ? 60 : 20);
        m = (m + 4) / 5 * 5;
        dl_buf_printf(&q, "A %s costs %lld dollars. %s buys %lld of them and pays with %lld dollars. How much change does %s get?",
                      item, (long long)p, name, (long long)n, (long long)m, name);
        dl_buf_printf(&t, "cost: multiply, change: subtract\n");
        int64_t cost = word_step(&w, '*', p, n);
        ans = word_step(&w, '-', m, cost);
        break;
    }
    }
    out->canon = dl_tstrf("word %s", q.data);
    out->question = q.data;
    /* at levels 1-2 two ways: one-line facts ("9 + 24 = 33"), or column work
     * for every step with a two-digit number; from level 3 always columns */
    char *traces[2];
    int n_ways = level >= 3 ? 1 : 2;
    for (int way = 0; way < n_ways; way++) {
        dl_buf tw = {0};
        dl_buf_printf(&tw, "%s", t.data);
        for (int i = 0; i < w.n; i++) dl_trace_op(&tw, w.op[i], w.a[i], w.b[i], level >= 3 || way == 1);
        dl_buf_printf(&tw, "%lld", (long long)ans);
        traces[way] = tw.data;
    }
    dl_buf_free(&t);
    dl_tchoose_trace(r, out, traces, n_ways);
    out->answer = dl_tstrf("%lld", (long long)ans);
}
