/* Rule-based rewards for RL on the generated tasks: verified correctness,
 * the reasoning-then-answer format, and length discipline. */
#include <string.h>

#include "train_int.h"

dl_reward_params dl_reward_default_params(void) {
    return (dl_reward_params){.w_correct = 1.0f, .w_format = 0.2f, .w_length = 0.2f};
}

/* A one-line, non-empty answer: no newline except trailing ones. */
static bool one_line(const char *s, size_t n) {
    while (n > 0 && s[n - 1] == '\n') n--;
    if (n == 0) return false;
    return memchr(s, '\n', n) == NULL;
}

dl_reward dl_task_reward(const dl_problem *p, const char *reply, const dl_reward_params *rp) {
    dl_reward_params def = dl_reward_default_params();
    if (!rp) rp = &def;
    dl_reward r = {0};
    if (!p || !reply) return r;
    r.correct = dl_task_verify(p, reply) ? 1.0f : 0.0f;
    size_t n = strlen(reply);
    size_t reasoning = 0;
    if (p->no_thinking) {
        r.format = !strstr(reply, "<think>") && !strstr(reply, "</think>") && one_line(reply, n) ? 1.0f : 0.0f;
    } else {
        static const char OPEN[] = "<think>\n", CLOSE[] = "\n</think>\n\n";
        const char *close = strstr(reply, CLOSE);
        bool ok = strncmp(reply, OPEN, strlen(OPEN)) == 0 && close && close >= reply + strlen(OPEN) &&
                  !strstr(reply + 1, "<think>") && !strstr(close + strlen(CLOSE), "</think>");
        if (ok) {
            const char *ans = close + strlen(CLOSE);
            ok = one_line(ans, strlen(ans));
            reasoning = (size_t)(close - (reply + strlen(OPEN)));
        }
        r.format = ok ? 1.0f : 0.0f;
    }
    if (r.format > 0) {
        if (p->no_thinking) {
            r.length = 1.0f;
        } else {
            double ref = p->trace_ref ? (double)p->trace_ref : p->trace ? (double)strlen(p->trace) : 0.0, x = ref > 0 ? (double)reasoning / ref : 1.0;
            r.length = x <= 1.5 ? 1.0f : x >= 3.0 ? 0.0f : (float)((3.0 - x) / 1.5);
        }
    }
    r.total = rp->w_correct * r.correct + rp->w_format * r.format + rp->w_length * r.length;
    return r;
}
