/* eval/kinds: the registry of eval kinds.
 * DEVELOPMENT NOTE: the references are weak while the kinds are written on
 * separate branches; the lead makes them strong once every kind has landed. */
#include <string.h>

#include "eval_int.h"

#define WEAK __attribute__((weak))
extern const dl_eval_kind dl_kind_refusal WEAK;

const dl_eval_kind *const *dl_eval_kinds(void) {
    static const dl_eval_kind *list[16];
    static int built;
    if (!built) {
        const dl_eval_kind *all[] = {&dl_kind_refusal,    &dl_kind_math,       &dl_kind_jailbreak,
                                     &dl_kind_simpleqa,   &dl_kind_truthfulqa, &dl_kind_halueval,
                                     &dl_kind_bbq,        &dl_kind_crows_pairs, &dl_kind_style,
                                     &dl_kind_ih};
        int n = 0;
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            if (all[i]) list[n++] = all[i];
        list[n] = NULL;
        built = 1;
    }
    return list;
}

const dl_eval_kind *dl_eval_kind_find(const char *name) {
    for (const dl_eval_kind *const *k = dl_eval_kinds(); *k; k++)
        if (!strcmp((*k)->name, name)) return *k;
    return NULL;
}
