/* eval/judge: one question to a judge model, for model-graded rubrics. */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

char *dl_eval_judge_ask(dl_backend *judge, const char *system, const char *user, uint64_t seed,
                        int32_t max_tokens, dl_error *err) {
    if (!judge) {
        dl_error_set(err, 501, "this grader needs a judge model (--judge)");
        return NULL;
    }
    dl_chat_msg msgs[2];
    size_t n = 0;
    if (system && *system) msgs[n++] = (dl_chat_msg){.role = DL_ROLE_SYSTEM, .content = system};
    msgs[n++] = (dl_chat_msg){.role = DL_ROLE_USER, .content = user};
    dl_chat_request req = {.msgs = msgs, .n_msgs = n, .gen = dl_gen_default_params()};
    req.gen.thinking = false;
    req.gen.reasoning_budget = 0;
    req.gen.sampling.temperature = 0;
    req.gen.sampling.seed = seed;
    req.gen.max_tokens = max_tokens > 0 ? max_tokens : 512;
    dl_chat_result res;
    if (dl_backend_chat(judge, &req, NULL, &res, err) != 0) return NULL;
    char *answer = res.answer;
    res.answer = NULL;
    dl_chat_result_free(&res);
    return answer;
}
