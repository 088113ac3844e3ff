/* Accuracy of a trained GGUF on generated problems, with the engine:
 * the prompt rendered exactly as in training, greedy decoding until an
 * end-of-generation token, the reply checked by the task's verifier. */
#include <stdlib.h>
#include <string.h>

#include "../model/model.h"
#include "train_int.h"

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* Greedy reply to p's prompt, appended to out. */
static int reply(dl_context *c, const dl_tokenizer *tok, int32_t n_vocab, const dl_problem *p,
                 int32_t max_tokens, dl_buf *out, dl_error *err) {
    dl_buf prompt = {0};
    size_t at = 0;
    if (dl_sample_render(p, &prompt, &at, err)) {
        dl_buf_free(&prompt);
        return -1;
    }
    prompt.len = at; /* up to and including "<|im_start|>assistant\n" */
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = dl_tokenize(tok, prompt.data, prompt.len, false, true, &ids, &n, err);
    dl_buf_free(&prompt);
    if (rc) return -1;
    dl_context_truncate(c, 0);
    int32_t room = dl_context_n_ctx(c) - (int32_t)n;
    if (room <= 0) {
        free(ids);
        return dl_error_set(err, 400, "evaluate: prompt of %zu tokens does not fit the context", n);
    }
    rc = dl_context_decode(c, ids, (int32_t)n, false, err);
    free(ids);
    if (rc) return -1;
    for (int32_t i = 0; i < DL_MIN(max_tokens, room); i++) {
        int32_t id = argmax(dl_context_logits(c, 0), n_vocab);
        if (dl_tokenizer_is_eog(tok, id)) break;
        char piece[256];
        size_t len = dl_token_to_piece(tok, id, true, piece, sizeof piece);
        dl_buf_append(out, piece, DL_MIN(len, sizeof piece));
        if (i + 1 < DL_MIN(max_tokens, room) && dl_context_decode(c, &id, 1, false, err)) return -1;
    }
    return 0;
}

int dl_train_evaluate(const char *model_path, uint32_t task_mask, int min_level, int max_level, dl_split split,
                      int32_t n_per_task, int32_t max_tokens, bool thinking, uint64_t seed, int threads,
                      dl_eval_task_result res[DL_TASK__COUNT], FILE *show, dl_error *err) {
    memset(res, 0, sizeof(dl_eval_task_result) * DL_TASK__COUNT);
    dl_model *m = dl_model_load(model_path, NULL, NULL, err);
    if (!m) return -1;
    const dl_hparams *hp = dl_model_hparams(m);
    dl_context_params cp = {.n_ctx = DL_MIN(hp->n_ctx_train, 1024), .n_threads = threads};
    dl_context *c = dl_context_create(m, &cp, err);
    int rc = -1;
    if (!c) goto out;
    for (int k = 0; k < DL_TASK__COUNT; k++) {
        if (task_mask && !(task_mask >> k & 1)) continue;
        dl_trng r;
        dl_trng_seed(&r, seed + (uint64_t)k * 1000003u);
        for (int32_t i = 0; i < n_per_task; i++) {
            dl_problem p;
            int level = min_level + (int)(i % (max_level - min_level + 1));
            if (dl_task_generate((dl_task_kind)k, level, split, &r, &p, err)) goto out;
            p.no_thinking = !thinking;
            p.cut = 0;
            dl_buf out = {0};
            dl_buf_append(&out, "", 0);
            int e = reply(c, dl_model_tokenizer(m), hp->n_vocab, &p, max_tokens, &out, err);
            dl_buf_append(&out, "", 1);
            if (e) {
                dl_buf_free(&out);
                dl_problem_free(&p);
                goto out;
            }
            bool ok = dl_task_verify(&p, out.data);
            res[k].n++;
            res[k].correct += ok;
            res[k].reward_sum += dl_task_reward(&p, out.data, NULL).total;
            if (show) fprintf(show, "--- %s L%d %s\nQ: %s\nexpected: %s\nreply: %s\n", dl_task_name(p.kind), level,
                              ok ? "correct" : "WRONG", p.question, p.answer, out.data);
            dl_buf_free(&out);
            dl_problem_free(&p);
        }
    }
    rc = 0;
out:
    dl_context_free(c);
    dl_model_free(m);
    return rc;
}
