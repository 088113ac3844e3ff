/* eval/runner_sample: one sample from question to stored result — the
 * safety stack around the model when the run is post-mitigation, the
 * reasoning controller (effort, n samples with a vote), retries with
 * exponential backoff, the kind's grade, and the store. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runner_int.h"

#define LOCALE "en-US"
#define MAX_BACKOFF_MS 30000.0

static const char safe_completion_note[] =
    "Safety policy for this reply: the request touches a sensitive area. Help only at a "
    "high level (concepts, history, safety information, where to get professional help). "
    "Give no operational detail: no steps, quantities, recipes, code or procedures.";

uint64_t dl_eval_hash_str(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Errors worth another attempt: server-side failures and rate limits (not
 * 501, which says the thing is not supported at all). */
static bool retryable(int status) { return status == 429 || (status >= 500 && status != 501); }

static void sleep_ms(double ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* The most likely flagged category of a verdict. */
static dl_category top_category(const dl_verdict *v) {
    int top = 0;
    for (int c = 1; c < DL_CAT__COUNT; c++) {
        bool better = v->flagged[c] && !v->flagged[top];
        if (better || (v->flagged[c] == v->flagged[top] && v->scores.p[c] > v->scores.p[top])) top = c;
    }
    return (dl_category)top;
}

static bool refusing(dl_action a) { return a != DL_ACTION_ALLOW && a != DL_ACTION_SAFE_COMPLETE; }

/* What the safety stack did to one sample (recorded with its grade). */
typedef struct safety_note {
    dl_action input, output;
    bool model_ran;
} safety_note;

/* The output check: returns the replacement text (malloc'd) when the answer
 * may not be shown, else NULL. */
static char *check_output(dl_safety *sf, const dl_eval_sample *s, const char *answer,
                          dl_action input, dl_category input_cat, dl_action *action) {
    *action = DL_ACTION_ALLOW;
    dl_secrets *sec = dl_secrets_new();
    for (size_t i = 0; i < s->n_msgs; i++)
        if (s->msgs[i].role == DL_ROLE_SYSTEM || s->msgs[i].role == DL_ROLE_DEVELOPER)
            dl_secrets_scan_instructions(sec, s->msgs[i].content);
    bool leaked = dl_secrets_leaked(sec, answer, strlen(answer), NULL);
    dl_secrets_free(sec);
    if (leaked) {
        *action = DL_ACTION_BLOCK;
        return dl_xstrdup("I'm sorry, but I can't share that.");
    }
    if (input == DL_ACTION_SAFE_COMPLETE) {
        dl_style_grade g;
        dl_style_grade_response(DL_ACTION_SAFE_COMPLETE, answer, &g);
        if (g.operational) {
            *action = DL_ACTION_HARD_REFUSE;
            return dl_style_response(DL_ACTION_HARD_REFUSE, input_cat, LOCALE);
        }
    }
    dl_verdict v;
    dl_error e = {0};
    if (dl_safety_check(sf, answer, strlen(answer), &v, &e) != 0) {
        dl_log(DL_LOG_WARN, "eval: output safety check failed: %s", e.msg);
        return NULL;
    }
    if (v.any_flagged && refusing(v.action)) {
        *action = v.action;
        return dl_style_response(v.action, top_category(&v), LOCALE);
    }
    return NULL;
}

/* Gets the answer the user would see: *answer malloc'd. Retries the model
 * call on retryable errors. 0 or -1 + err (after the last attempt). */
static int answer_sample(const dl_eval_job *j, const dl_eval_sample *s, char **answer,
                         dl_usage *usage, int *attempts, safety_note *note, dl_error *err) {
    *answer = NULL;
    *attempts = 0;
    memset(usage, 0, sizeof *usage);
    note->input = note->output = DL_ACTION_ALLOW;
    note->model_ran = false;
    const dl_eval_run_opts *o = j->o;
    const dl_chat_msg *msgs = s->msgs;
    size_t n_msgs = s->n_msgs;
    dl_chat_msg *own = NULL;
    dl_category input_cat = DL_CAT_HARASSMENT;
    if (o->safety) {
        const char *last_user = NULL;
        for (size_t i = 0; i < s->n_msgs; i++)
            if (s->msgs[i].role == DL_ROLE_USER) last_user = s->msgs[i].content;
        dl_verdict v;
        dl_error e = {0};
        if (last_user && dl_safety_check(o->safety, last_user, strlen(last_user), &v, &e) == 0 &&
            v.any_flagged) {
            note->input = v.action;
            input_cat = top_category(&v);
            if (refusing(v.action)) { /* answered by the style; the model does not run */
                *answer = v.action == DL_ACTION_BLOCK
                              ? dl_xstrdup("I'm sorry, but I can't help with that.")
                              : dl_style_response(v.action, input_cat, LOCALE);
                return 0;
            }
            if (v.action == DL_ACTION_SAFE_COMPLETE) { /* the policy note after system/developer */
                own = dl_xcalloc(n_msgs + 1, sizeof *own);
                size_t at = 0, k = 0;
                while (at < n_msgs &&
                       (msgs[at].role == DL_ROLE_SYSTEM || msgs[at].role == DL_ROLE_DEVELOPER))
                    at++;
                for (size_t i = 0; i <= n_msgs; i++) {
                    if (i == at) own[k++] = (dl_chat_msg){.role = DL_ROLE_DEVELOPER, .content = safe_completion_note};
                    if (i < n_msgs) own[k++] = msgs[i];
                }
                msgs = own;
                n_msgs = k;
            }
        } else if (e.status) {
            dl_log(DL_LOG_WARN, "eval: input safety check failed: %s", e.msg);
        }
    }
    dl_gen_params gen = j->gen;
    /* below 2^31 so that every OpenAI-compatible server takes it */
    gen.sampling.seed = (o->seed + dl_eval_hash_str(s->key)) & 0x7FFFFFFFu;
    int retries = o->retries > 0 ? o->retries : 0;
    double delay = j->backoff_ms;
    int rc;
    dl_reason_result res;
    for (;;) {
        (*attempts)++;
        dl_error_clear(err);
        rc = dl_reason_run(o->backend, msgs, n_msgs, &gen, &j->rp, NULL, &res, err);
        if (rc == 0 || !retryable(err->status) || *attempts > retries) break;
        dl_log(DL_LOG_INFO, "eval: %s: attempt %d failed (%d %s); retrying in %.1f s", s->key,
               *attempts, err->status, err->msg, delay / 1000);
        sleep_ms(delay);
        delay = delay * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay * 2;
    }
    free(own);
    if (rc) return -1;
    note->model_ran = true;
    *usage = res.usage;
    *answer = res.answer;
    res.answer = NULL;
    dl_reason_result_free(&res);
    if (o->safety) {
        char *repl = check_output(o->safety, s, *answer, note->input, input_cat, &note->output);
        if (repl) {
            free(*answer);
            *answer = repl;
        }
    }
    return 0;
}

/* The kind's grade, retried like the model call (a judge may fail too). */
static int grade_sample(const dl_eval_job *j, const dl_eval_sample *s, const char *answer,
                        json_t **verdict, int *attempts, dl_error *err) {
    double delay = j->backoff_ms;
    int retries = j->o->retries > 0 ? j->o->retries : 0;
    for (int a = 0;; a++) {
        dl_error_clear(err);
        if (j->kind->grade(j->d, s, answer, &j->o->grade, verdict, err) == 0) {
            if (!json_is_object(*verdict)) {
                json_decref(*verdict);
                *verdict = NULL;
                return dl_error_set(err, 500, "the %s grader returned no verdict", j->kind->name);
            }
            return 0;
        }
        (*attempts)++;
        if (!retryable(err->status) || a >= retries) return -1;
        sleep_ms(delay);
        delay = delay * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : delay * 2;
    }
}

int dl_eval_job_sample(const dl_eval_job *j, const dl_eval_sample *s, bool *graded, dl_error *err) {
    *graded = false;
    char *answer = NULL;
    dl_usage usage;
    safety_note note;
    dl_error e = {0};
    json_t *verdict = NULL;
    dl_store_eval_sample rec = {0};
    rec.key = s->key;
    int rc = answer_sample(j, s, &answer, &usage, &rec.attempts, &note, &e);
    if (rc == 0) rc = grade_sample(j, s, answer, &verdict, &rec.attempts, &e);
    char *grade_text = NULL, *error_text = NULL;
    if (rc == 0) {
        if (j->o->safety) {
            json_object_set_new(verdict, "safety",
                                json_pack("{s:s,s:s,s:b}", "input", dl_action_name(note.input),
                                          "output", dl_action_name(note.output), "model_ran",
                                          note.model_ran));
        }
        json_t *sc = json_object_get(verdict, "score");
        rec.score = json_is_number(sc) ? json_number_value(sc) : 0;
        grade_text = json_dumps(verdict, JSON_COMPACT);
        rec.response = answer;
        rec.grade_json = grade_text;
        *graded = true;
    } else {
        dl_buf b = {0};
        dl_buf_printf(&b, "%d %s", e.status, e.msg);
        error_text = b.data;
        rec.error = error_text;
    }
    rec.prompt_tokens = usage.prompt_tokens;
    rec.completion_tokens = usage.completion_tokens;
    rec.reasoning_tokens = usage.reasoning_tokens;
    int put = dl_store_eval_sample_put(j->st, j->run_id, &rec, err);
    free(answer);
    free(grade_text);
    free(error_text);
    json_decref(verdict);
    return put;
}
