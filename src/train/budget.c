/* Thinking-budget hints: how many reasoning tokens each effort level allows
 * a model trained by deliberate, measured on its own held-out problems. */
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int dl_budget_hints_from(const dl_tokenizer *tok, const dl_problem *probs, int32_t n, dl_budget_hints *out,
                         dl_error *err) {
    memset(out, 0, sizeof *out);
    int32_t *len = dl_xcalloc((size_t)DL_MAX(n, 1), sizeof(int32_t));
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        /* the reasoning as generated after "<think>": "\nTRACE\n</think>" */
        dl_buf b = {0};
        dl_buf_printf(&b, "\n%s\n</think>", probs[i].trace);
        int32_t *ids = NULL;
        size_t n_ids = 0;
        int rc = dl_tokenize(tok, b.data, b.len, false, true, &ids, &n_ids, err);
        dl_buf_free(&b);
        free(ids);
        if (rc) {
            free(len);
            return -1;
        }
        len[k++] = (int32_t)n_ids;
    }
    if (k > 0) {
        qsort(len, (size_t)k, sizeof(int32_t), cmp_i32);
        out->low = len[(k - 1) * 35 / 100];
        out->medium = len[(k - 1) * 70 / 100];
        out->high = DL_MAX(32, len[k - 1] + (len[k - 1] + 1) / 2);
        if (out->medium <= out->low) out->medium = out->low + 1;
        if (out->high <= out->medium) out->high = out->medium + 1;
    }
    free(len);
    return 0;
}

dl_budget_hints dl_budget_hints_read(const dl_gguf *g) {
    dl_budget_hints h = {0};
    uint32_t v;
    if (dl_gguf_get_u32(g, "deliberate.reasoning.budget.low", &v) && v <= INT32_MAX) h.low = (int32_t)v;
    if (dl_gguf_get_u32(g, "deliberate.reasoning.budget.medium", &v) && v <= INT32_MAX) h.medium = (int32_t)v;
    if (dl_gguf_get_u32(g, "deliberate.reasoning.budget.high", &v) && v <= INT32_MAX) h.high = (int32_t)v;
    return h;
}
