/* The safety stack around one generation request, and /v1/moderations.
 *
 * Before generation: protected secrets are collected from the system and
 * developer messages; the last user message is checked; tool output is
 * scored for prompt injection (logged). A flagged input with a refusal style
 * is answered with that style's text and no generation; a safe-completion
 * style adds a developer instruction to answer at a high level only.
 * During generation: the answer is released in checked chunks (a sentence,
 * or 256 bytes): each chunk is released only after the answer so far passes
 * the classifier and leaks no secret; otherwise generation stops and the
 * refusal text is sent instead. After: the CoT monitor reads the reasoning
 * (flags logged), and a summary that fails the classifier is withheld. */
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

#define CHUNK_BYTES 256
#define CHECK_WINDOW 4096 /* the classifier sees the last 4 KiB of the answer */
#define CARE_MAX_TURNS 40 /* a break reminder every 40 user turns */

static const char developer_reliance[] =
    "Care policy for this reply: the user may be relying on this assistant emotionally. "
    "Reply warmly and without judgement, acknowledge their feelings, encourage connection "
    "with people in their life, and mention that professional support is available.";

static const char developer_safe_completion[] =
    "Safety policy for this reply: the request touches a sensitive area. Help only at a "
    "high level (concepts, history, safety information, where to get professional help). "
    "Give no operational detail: no steps, quantities, recipes, code or procedures.";

void srv_guard_begin(srv_guard *g, dl_server *s, const dl_chat_msg *msgs, size_t n,
                     const char *locale)
{
    memset(g, 0, sizeof(*g));
    g->srv = s;
    g->locale = locale && *locale ? locale : "en-US";
    g->msgs = msgs;
    g->n_msgs = n;
    if (!s->cfg.safety) return;
    g->on = true;
    g->secrets = dl_secrets_new();
    const char *last_user = NULL;
    for (size_t i = 0; i < n; i++) {
        const dl_chat_msg *m = &msgs[i];
        if (!m->content) continue;
        if (m->role == DL_ROLE_SYSTEM || m->role == DL_ROLE_DEVELOPER)
            dl_secrets_scan_instructions(g->secrets, m->content);
        if (m->role == DL_ROLE_USER) last_user = m->content;
        if (m->role == DL_ROLE_TOOL) {
            const char *why = NULL;
            float sc = dl_injection_score(m->content, strlen(m->content), &why);
            if (sc >= 0.5f)
                dl_log(DL_LOG_WARN, "safety: tool output %zu looks like a prompt injection (%s, %.2f)",
                       i, why ? why : "rules", sc);
        }
    }
    if (!last_user) return;
    dl_error err = {0};
    if (dl_safety_check(s->cfg.safety, last_user, strlen(last_user), &g->input, &err) != 0) {
        dl_log(DL_LOG_ERROR, "safety: input check failed: %s", err.msg);
        return;
    }
    g->input_checked = true;
    dl_action a = g->input.action;
    const char *instruction = NULL;
    if (a == DL_ACTION_SAFE_COMPLETE) instruction = developer_safe_completion;
    else if (a == DL_ACTION_ALLOW && dl_care_reliance(last_user, strlen(last_user)))
        instruction = developer_reliance; /* emotional reliance: the soft style's care */
    int user_turns = 0;
    for (size_t i = 0; i < n; i++) user_turns += msgs[i].role == DL_ROLE_USER;
    g->break_due = dl_care_break_due(user_turns, 0, CARE_MAX_TURNS, 0) &&
                   user_turns % CARE_MAX_TURNS == 0; /* once per CARE_MAX_TURNS turns */
    if (instruction) {
        /* the same conversation with the policy's instruction after the
         * system/developer messages */
        g->own = dl_xcalloc(n + 1, sizeof(dl_chat_msg));
        size_t k = 0, at = 0;
        while (at < n && (msgs[at].role == DL_ROLE_SYSTEM || msgs[at].role == DL_ROLE_DEVELOPER)) at++;
        for (size_t i = 0; i < n; i++) {
            if (i == at) g->own[k++] = (dl_chat_msg){DL_ROLE_DEVELOPER, instruction, NULL, NULL};
            g->own[k++] = msgs[i];
        }
        if (at == n) g->own[k++] = (dl_chat_msg){DL_ROLE_DEVELOPER, instruction, NULL, NULL};
        g->msgs = g->own;
        g->n_msgs = k;
    } else if (a != DL_ACTION_ALLOW) {
        g->refusal = dl_style_response(a, srv_guard_top_category(&g->input), g->locale);
    }
}

dl_category srv_guard_top_category(const dl_verdict *v)
{
    int top = 0;
    for (int c = 1; c < DL_CAT__COUNT; c++) {
        bool better = v->flagged[c] && !v->flagged[top];
        if (better || (v->flagged[c] == v->flagged[top] && v->scores.p[c] > v->scores.p[top])) top = c;
    }
    return (dl_category)top;
}

/* True when text (the answer so far) may be shown. */
static bool output_ok(srv_guard *g, const char *text, size_t len)
{
    if (!g->on) return true;
    size_t which = 0;
    if (dl_secrets_leaked(g->secrets, text, len, &which)) {
        g->output_action = DL_ACTION_BLOCK;
        snprintf(g->why, sizeof g->why, "the answer would reveal protected secret #%zu", which + 1);
        return false;
    }
    const char *from = len > CHECK_WINDOW ? text + len - CHECK_WINDOW : text;
    dl_verdict v;
    dl_error err = {0};
    if (dl_safety_check(g->srv->cfg.safety, from, (size_t)(text + len - from), &v, &err) != 0) {
        dl_log(DL_LOG_ERROR, "safety: output check failed: %s", err.msg);
        return true;
    }
    if (g->input_checked && g->input.action == DL_ACTION_SAFE_COMPLETE) {
        /* a safe completion must stay at a high level: no operational detail */
        dl_style_grade grade;
        dl_style_grade_response(DL_ACTION_SAFE_COMPLETE, text, &grade);
        if (grade.operational) {
            g->output_action = DL_ACTION_HARD_REFUSE;
            g->output_category = srv_guard_top_category(&g->input);
            snprintf(g->why, sizeof g->why,
                     "the answer to a sensitive request gave operational detail (%s)",
                     dl_category_name(g->output_category));
            return false;
        }
    }
    if (v.any_flagged && v.action != DL_ACTION_ALLOW && v.action != DL_ACTION_SAFE_COMPLETE) {
        g->output_action = v.action;
        g->output_category = srv_guard_top_category(&v);
        snprintf(g->why, sizeof g->why, "the answer was flagged (%s)",
                 dl_category_name(g->output_category));
        return false;
    }
    return true;
}

char *srv_guard_output_refusal(srv_guard *g)
{
    if (g->output_action == DL_ACTION_BLOCK)
        return dl_xstrdup("I'm sorry, but I can't share that.");
    return dl_style_response(g->output_action, g->output_category, g->locale);
}

/* ---- release in checked chunks ----
 * Chunk ends depend on the text only (after '.', '!', '?' or a newline, or
 * 256 bytes after the previous end), never on how the text arrived, so a
 * streamed answer and the same answer returned whole go through exactly the
 * same checks and come out the same. */

static size_t next_chunk_end(const srv_guard *g, size_t from)
{
    for (size_t p = from; p < g->answer.len; p++) {
        char c = g->answer.data[p];
        if (c == '.' || c == '!' || c == '?' || c == '\n' || p + 1 - from >= CHUNK_BYTES) return p + 1;
    }
    return 0; /* no complete chunk yet */
}

/* Checks the answer up to `end` and releases it; false when withheld. */
static bool release_upto(srv_guard *g, size_t end, srv_release_fn release, void *ud)
{
    if (!output_ok(g, g->answer.data, end)) {
        g->withheld = true;
        dl_log(DL_LOG_WARN, "safety: %s; generation stopped", g->why);
        free(g->replacement);
        g->replacement = srv_guard_output_refusal(g);
        if (g->released) release(ud, "\n\n", 2);
        release(ud, g->replacement, strlen(g->replacement));
        return false;
    }
    size_t from = g->released;
    g->released = end;
    return release(ud, g->answer.data + from, end - from);
}

bool srv_guard_stream(srv_guard *g, const char *text, size_t len, srv_release_fn release, void *ud)
{
    if (g->withheld) return false;
    dl_buf_append(&g->answer, text, len);
    if (!g->on) {
        g->released = g->answer.len;
        return release(ud, text, len);
    }
    for (size_t end; (end = next_chunk_end(g, g->released)) != 0;)
        if (!release_upto(g, end, release, ud)) return false;
    return true;
}

bool srv_guard_flush(srv_guard *g, srv_release_fn release, void *ud)
{
    if (g->withheld) return false;
    if (g->released == g->answer.len) return true;
    return release_upto(g, g->answer.len, release, ud);
}

/* ---- after generation ---- */

static bool collect(void *ud, const char *text, size_t len)
{
    dl_buf_append((dl_buf *)ud, text, len);
    return true;
}

const char *srv_guard_final_answer(srv_guard *g, const char *answer)
{
    if (!g->on) return answer;
    dl_buf out = {0};
    if (!g->withheld && g->answer.len == 0) {
        /* a whole answer: the same chunked checks as a streamed one */
        if (srv_guard_stream(g, answer, strlen(answer), collect, &out))
            srv_guard_flush(g, collect, &out);
    } else if (!g->withheld) {
        srv_guard_flush(g, collect, &out); /* streamed: only the tail is left */
        dl_buf_free(&out);
        dl_buf_append(&out, g->answer.data, g->released);
    } else {
        dl_buf_append(&out, g->answer.data, g->released);
        if (g->released) dl_buf_append(&out, "\n\n", 2);
        dl_buf_append(&out, g->replacement, strlen(g->replacement));
    }
    if (!g->withheld && g->break_due) /* a long conversation: a gentle break reminder */
        dl_buf_printf(&out, "\n\n%s", dl_care_break_text());
    free(g->final);
    g->final = out.data ? out.data : dl_xstrdup("");
    return g->final;
}

const char *srv_guard_summary(srv_guard *g, const char *summary)
{
    if (!g->on || !summary || !*summary) return summary;
    dl_verdict v;
    dl_error err = {0};
    bool leak = dl_secrets_leaked(g->secrets, summary, strlen(summary), NULL);
    if (leak || (dl_safety_check(g->srv->cfg.safety, summary, strlen(summary), &v, &err) == 0 &&
                 v.any_flagged && v.action != DL_ACTION_ALLOW)) {
        dl_log(DL_LOG_WARN, "safety: a reasoning summary was withheld");
        return "[the summary was withheld by the safety checks]";
    }
    return summary;
}

void srv_guard_reasoning(srv_guard *g, const char *reasoning)
{
    if (!g->on || !reasoning || !*reasoning) return;
    dl_cot_report rep;
    dl_cot_monitor(g->srv->cfg.safety, reasoning, strlen(reasoning), &rep);
    if (rep.flags) {
        g->cot_flags = rep.flags;
        dl_log(DL_LOG_WARN, "safety: CoT monitor flags 0x%x (%s)", rep.flags, rep.evidence);
    }
}

void srv_guard_next_answer(srv_guard *g)
{
    free(g->final);
    g->final = NULL;
    g->answer.len = 0;
    g->released = 0;
    g->withheld = false;
    free(g->replacement);
    g->replacement = NULL;
}

const char *srv_locale(srv_req *r, char *buf, size_t cap)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Language");
    size_t n = 0;
    while (h && h[n] && h[n] != ',' && h[n] != ';' && h[n] != ' ' && n + 1 < cap) n++;
    if (n == 0 || (n == 1 && h[0] == '*')) return "en-US";
    memcpy(buf, h, n);
    buf[n] = 0;
    return buf;
}

void srv_guard_end(srv_guard *g)
{
    dl_secrets_free(g->secrets);
    dl_buf_free(&g->answer);
    free(g->refusal);
    free(g->replacement);
    free(g->final);
    free(g->own);
    memset(g, 0, sizeof(*g));
}

/* ---- /v1/moderations ---- */

static json_t *moderation_result(const dl_verdict *v)
{
    json_t *cats = json_object(), *scores = json_object(), *types = json_object();
    for (int c = 0; c < DL_CAT__COUNT; c++) {
        const char *name = dl_category_name((dl_category)c);
        json_object_set_new(cats, name, json_boolean(v->flagged[c]));
        json_object_set_new(scores, name, json_real(v->scores.p[c]));
        json_object_set_new(types, name, v->flagged[c] ? json_pack("[s]", "text") : json_array());
    }
    return json_pack("{s:b, s:o, s:o, s:o}", "flagged", v->any_flagged, "categories", cats,
                     "category_scores", scores, "category_applied_input_types", types);
}

enum MHD_Result srv_handle_moderations(srv_req *r)
{
    srv_err e;
    if (!r->srv->cfg.safety) {
        srv_fail(&e, 501, "not_implemented", NULL,
                 "/v1/moderations is not available: this server runs without the safety stack "
                 "(it was started with --no-safety or without classifier weights)");
        return srv_reply_err(r, &e);
    }
    json_t *req = srv_parse_body(r, &e);
    if (!req) return srv_reply_err(r, &e);
    const char *model = "deliberate-moderation";
    if (srv_get_string(req, "model", &model, &e) < 0) {
        json_decref(req);
        return srv_reply_err(r, &e);
    }
    json_t *input = json_object_get(req, "input");
    json_t *texts = json_array();
    if (json_is_string(input)) {
        json_array_append(texts, input);
    } else if (json_is_array(input) && json_array_size(input) > 0) {
        size_t i;
        json_t *it;
        json_array_foreach(input, i, it) {
            json_t *t = json_is_string(it) ? it : json_object_get(it, "text");
            const char *type = json_string_value(json_object_get(it, "type"));
            if (!json_is_string(t) || (!json_is_string(it) && (!type || strcmp(type, "text") != 0))) {
                json_decref(texts);
                json_decref(req);
                srv_fail(&e, 400, "invalid_value", "input",
                         "'input[%zu]' must be a string or a {\"type\": \"text\", \"text\": ...} part "
                         "(images are not supported)", i);
                return srv_reply_err(r, &e);
            }
            json_array_append(texts, t);
        }
    } else {
        json_decref(texts);
        json_decref(req);
        srv_fail(&e, 400, input ? "invalid_type" : "missing_required_parameter", "input",
                 "'input' must be a string or a non-empty array of strings");
        return srv_reply_err(r, &e);
    }
    json_t *results = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(texts, i, t) {
        dl_verdict v;
        dl_error de = {0};
        if (dl_safety_check(r->srv->cfg.safety, json_string_value(t), json_string_length(t), &v, &de) != 0) {
            json_decref(results);
            json_decref(texts);
            json_decref(req);
            srv_fail_dl(&e, &de, "input");
            return srv_reply_err(r, &e);
        }
        json_array_append_new(results, moderation_result(&v));
    }
    char id[64];
    srv_new_id("modr-", id, sizeof id);
    json_t *body = json_pack("{s:s, s:s, s:o}", "id", id, "model", model, "results", results);
    json_decref(texts);
    json_decref(req);
    return srv_reply_json(r, 200, body);
}
