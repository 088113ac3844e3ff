/* eval/kinds: the registry of eval kinds (each defined in its kind_<name>.c). */
#include <string.h>

#include "eval_int.h"


const dl_eval_kind *const *dl_eval_kinds(void) {
    static const dl_eval_kind *const list[] = {
        &dl_kind_refusal, &dl_kind_math,        &dl_kind_jailbreak, &dl_kind_simpleqa,
        &dl_kind_truthfulqa, &dl_kind_halueval, &dl_kind_bbq,       &dl_kind_crows_pairs,
        &dl_kind_style,   &dl_kind_ih,          NULL};
    return list;
}

const dl_eval_kind *dl_eval_kind_find(const char *name) {
    for (const dl_eval_kind *const *k = dl_eval_kinds(); *k; k++)
        if (!strcmp((*k)->name, name)) return *k;
    return NULL;
}
