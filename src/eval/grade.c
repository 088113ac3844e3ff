/* eval/grade: the grader registry behind dl_grade.
 * DEVELOPMENT NOTE: weak references while graders land on separate
 * branches; made strong once all have landed. */
#include <string.h>

#include "eval_int.h"

#define WEAKG(n)                                                                                   \
    int n(const char *, const char *, const json_t *, const dl_grade_ctx *, json_t **, dl_error *) \
        __attribute__((weak));
WEAKG(dl_grader_exact)
WEAKG(dl_grader_normalized)
WEAKG(dl_grader_numeric)
WEAKG(dl_grader_choice)
WEAKG(dl_grader_regex)
WEAKG(dl_grader_refusal)
WEAKG(dl_grader_harmful)
WEAKG(dl_grader_style)
WEAKG(dl_grader_rubric)
WEAKG(dl_grader_simpleqa)
WEAKG(dl_grader_strongreject)

typedef struct grader {
    const char *name;
    dl_grader_fn fn;
} grader;

static const grader *graders(void) {
    static grader g[] = {
        {"exact", NULL},     {"normalized", NULL}, {"numeric", NULL},  {"choice", NULL},
        {"regex", NULL},     {"refusal", NULL},    {"harmful", NULL},  {"style", NULL},
        {"rubric", NULL},    {"simpleqa", NULL},   {"strongreject", NULL}, {NULL, NULL}};
    g[0].fn = dl_grader_exact;
    g[1].fn = dl_grader_normalized;
    g[2].fn = dl_grader_numeric;
    g[3].fn = dl_grader_choice;
    g[4].fn = dl_grader_regex;
    g[5].fn = dl_grader_refusal;
    g[6].fn = dl_grader_harmful;
    g[7].fn = dl_grader_style;
    g[8].fn = dl_grader_rubric;
    g[9].fn = dl_grader_simpleqa;
    g[10].fn = dl_grader_strongreject;
    return g;
}

const char *const *dl_grader_names(void) {
    static const char *names[16];
    int n = 0;
    for (const grader *g = graders(); g->name; g++)
        if (g->fn) names[n++] = g->name;
    names[n] = NULL;
    return names;
}

int dl_grade(const char *name, const char *prompt, const char *response, const json_t *ref,
             const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    *verdict = NULL;
    static const dl_grade_ctx none = {0};
    for (const grader *g = graders(); g->name; g++)
        if (g->fn && !strcmp(g->name, name))
            return g->fn(prompt ? prompt : "", response ? response : "", ref, ctx ? ctx : &none,
                         verdict, err);
    dl_buf names = {0};
    for (const char *const *n = dl_grader_names(); *n; n++)
        dl_buf_printf(&names, "%s%s", names.len ? ", " : "", *n);
    dl_error_set(err, 400, "unknown grader '%s' (known: %s)", name, names.data ? names.data : "none");
    dl_buf_free(&names);
    return -1;
}
