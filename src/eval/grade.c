/* eval/grade: the grader registry behind dl_grade (each grader is defined in
 * its grade_<name>.c; eval_int.h declares them). */
#include <string.h>

#include "eval_int.h"

typedef struct grader {
    const char *name;
    dl_grader_fn fn;
} grader;

static const grader *graders(void) {
    static const grader g[] = {{"exact", dl_grader_exact},
                               {"normalized", dl_grader_normalized},
                               {"numeric", dl_grader_numeric},
                               {"choice", dl_grader_choice},
                               {"regex", dl_grader_regex},
                               {"refusal", dl_grader_refusal},
                               {"harmful", dl_grader_harmful},
                               {"style", dl_grader_style},
                               {"rubric", dl_grader_rubric},
                               {"simpleqa", dl_grader_simpleqa},
                               {"strongreject", dl_grader_strongreject},
                               {NULL, NULL}};
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
