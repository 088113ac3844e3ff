/* gpt-oss (harmony): "<|start|>ROLE<|message|>" TEXT "<|end|>" messages,
 * assistant answers on the "final" channel, tool results from
 * "functions.NAME" on the "commentary" channel (JSON-encoded), and a
 * generation prompt "<|start|>assistant" that leaves the channel to the model.
 *
 * Harmony's system message is fixed (identity, date, reasoning effort); the
 * conversation's instructions go in the developer message under
 * "# Instructions". The template uses only the first system or developer
 * message; deliberate keeps all of them: the system texts (joined by "\n\n")
 * then a developer block per developer message, or, with no system text,
 * the developer texts themselves (harmony's native developer slot). */
#include <string.h>

#include "chat_int.h"

static bool has_text(const dl_chat_msg *m, size_t n, dl_role r) {
    for (size_t i = 0; i < n; i++)
        if (m[i].role == r && m[i].content && m[i].content[0]) return true;
    return false;
}

static void developer_message(dl_pb *pb, const dl_chat_msg *m, size_t n) {
    bool sys = has_text(m, n, DL_ROLE_SYSTEM), dev = has_text(m, n, DL_ROLE_DEVELOPER);
    if (!sys && !dev) return;
    dl_pb_lit(pb, "<|start|>developer<|message|># Instructions\n\n");
    dl_role lead = sys ? DL_ROLE_SYSTEM : DL_ROLE_DEVELOPER;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (m[i].role != lead || !m[i].content || !m[i].content[0]) continue;
        if (!first) dl_pb_lit(pb, "\n\n");
        dl_pb_text(pb, dl_str_of(m[i].content));
        first = false;
    }
    for (size_t i = 0; sys && i < n; i++) {
        if (m[i].role != DL_ROLE_DEVELOPER || !m[i].content || !m[i].content[0]) continue;
        dl_pb_lit(pb, "\n\n");
        dl_pb_dev_block(pb, dl_str_of(m[i].content));
    }
    dl_pb_lit(pb, "\n\n<|end|>");
}

int dl_fmt_harmony(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                   const dl_chat_opts *o, dl_error *err) {
    const char *effort = o->reasoning_effort ? o->reasoning_effort : "medium";
    if (strcmp(effort, "low") != 0 && strcmp(effort, "medium") != 0 && strcmp(effort, "high") != 0)
        return dl_error_set(err, 400, "reasoning_effort must be low, medium or high");
    for (size_t i = 0; i < n; i++)
        if (m[i].role == DL_ROLE_TOOL && !m[i].name)
            return dl_error_set(err, 400,
                                "message %zu (tool): gpt-oss needs the tool's name (name) to "
                                "write a tool result",
                                i);
    struct tm tm;
    dl_chat_utc_date(o, &tm);
    dl_pb_lit(pb, "<|start|>system<|message|>You are ChatGPT, a large language model trained by "
                  "OpenAI.\nKnowledge cutoff: 2024-06\n");
    dl_pb_litf(pb, "Current date: %04d-%02d-%02d\n\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    dl_pb_litf(pb, "Reasoning: %s\n\n", effort);
    dl_pb_lit(pb, "# Valid channels: analysis, commentary, final. Channel must be included for "
                  "every message.<|end|>");
    developer_message(pb, m, n);
    for (size_t i = 0; i < n; i++) {
        dl_str c = dl_str_of(m[i].content);
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
        case DL_ROLE_DEVELOPER:
            break; /* in the developer message */
        case DL_ROLE_USER:
            dl_pb_lit(pb, "<|start|>user<|message|>");
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "<|end|>");
            break;
        case DL_ROLE_ASSISTANT:
            if (i == n - 1 && !o->add_generation_prompt) {
                /* a closing assistant turn (training / prefill): its reasoning is kept */
                if (m[i].reasoning) {
                    dl_pb_lit(pb, "<|start|>assistant<|channel|>analysis<|message|>");
                    dl_pb_text(pb, dl_str_of(m[i].reasoning));
                    dl_pb_lit(pb, "<|end|>");
                }
                dl_pb_lit(pb, "<|start|>assistant<|channel|>final<|message|>");
                dl_pb_text(pb, c);
                dl_pb_lit(pb, "<|return|>");
            } else {
                dl_pb_lit(pb, "<|start|>assistant<|channel|>final<|message|>");
                dl_pb_text(pb, c);
                dl_pb_lit(pb, "<|end|>");
            }
            break;
        case DL_ROLE_TOOL:
            dl_pb_lit(pb, "<|start|>functions.");
            dl_pb_lit(pb, m[i].name);
            dl_pb_lit(pb, " to=assistant<|channel|>commentary<|message|>");
            dl_pb_json_text(pb, c);
            dl_pb_lit(pb, "<|end|>");
            break;
        }
    }
    if (o->add_generation_prompt) dl_pb_lit(pb, "<|start|>assistant");
    (void)f;
    return 0;
}
