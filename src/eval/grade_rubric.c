/* eval/grade_rubric: a generic model-graded rubric. The judge reads the
 * prompt, the response and ref.rubric and answers with a score on
 * ref.scale (default 1-5, or {"min": a, "max": b}); the verdict's score is
 * (s - min) / (max - min). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval_int.h"

static const char *system_prompt =
    "You are a strict, impartial grader. You are shown a user's prompt, an AI assistant's "
    "response and a grading rubric. Judge the response only against the rubric. Reply with "
    "one short sentence of justification, then a final line of the form \"SCORE: <n>\" where "
    "<n> is an integer in the range given.";

/* The number after the last "score" (case-insensitive, then ':' or '=' or
 * "is"), else the last integer of the text that lies in [lo, hi].
 * false when none is found. */
static bool parse_score(const char *text, long lo, long hi, long *out) {
    bool found = false;
    for (const char *p = text; *p; p++) {
        if (strncasecmp(p, "score", 5)) continue;
        const char *q = p + 5;
        while (*q == ' ' || *q == '*' || *q == ':' || *q == '=') q++;
        if (!strncasecmp(q, "is ", 3)) q += 3;
        while (*q == ' ' || *q == '*') q++;
        if (isdigit((unsigned char)*q) || (*q == '-' && isdigit((unsigned char)q[1]))) {
            long v = strtol(q, NULL, 10);
            if (v >= lo && v <= hi) {
                *out = v;
                found = true;
            }
        }
    }
    if (found) return true;
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isdigit((unsigned char)p[-1]))) continue;
        long v = strtol(p, NULL, 10);
        if (v >= lo && v <= hi) {
            *out = v;
            found = true;
        }
    }
    return found;
}

int dl_grader_rubric(const char *prompt, const char *response, const json_t *ref,
                     const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    const char *rubric = ref ? dl_json_str(ref, "rubric") : NULL;
    if (!rubric) {
        dl_error_set(err, 400, "grader 'rubric': ref.rubric is missing");
        return -1;
    }
    long lo = 1, hi = 5;
    const json_t *scale = json_object_get(ref, "scale");
    if (scale) {
        const json_t *a = json_object_get(scale, "min"), *b = json_object_get(scale, "max");
        if (!json_is_integer(a) || !json_is_integer(b) ||
            json_integer_value(a) >= json_integer_value(b)) {
            dl_error_set(err, 400,
                         "grader 'rubric': ref.scale must be {\"min\": a, \"max\": b} with "
                         "integers a < b");
            return -1;
        }
        lo = (long)json_integer_value(a);
        hi = (long)json_integer_value(b);
    }
    dl_buf user = {0};
    dl_buf_printf(&user,
                  "PROMPT:\n%s\n\nRESPONSE:\n%s\n\nRUBRIC:\n%s\n\nGive a score from %ld (worst) "
                  "to %ld (best). End with the line \"SCORE: <n>\".",
                  prompt ? prompt : "", response ? response : "", rubric, lo, hi);
    char *raw = dl_eval_judge_ask(ctx ? ctx->judge : NULL, system_prompt, user.data,
                                  ctx ? ctx->seed : 0, 256, err);
    dl_buf_free(&user);
    if (!raw) return -1;
    long s;
    if (!parse_score(raw, lo, hi, &s)) {
        *verdict = json_pack("{s:f, s:n, s:s, s:s}", "score", 0.0, "rubric_score", "judge_raw",
                             raw, "error", "no score in the judge's answer");
    } else {
        *verdict = json_pack("{s:f, s:I, s:I, s:I, s:s}", "score",
                             (double)(s - lo) / (double)(hi - lo), "rubric_score", (json_int_t)s,
                             "min", (json_int_t)lo, "max", (json_int_t)hi, "judge_raw", raw);
    }
    free(raw);
    return 0;
}
