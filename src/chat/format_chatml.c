/* ChatML formats: plain ChatML and Qwen2.5 (DL_CHAT_CHATML), Qwen3, QwQ,
 * and SmolLM3 (ChatML with its own metadata system block).
 *
 * Turns are "<|im_start|>ROLE\n" TEXT "<|im_end|>\n". Qwen's templates put
 * consecutive tool results in one user turn as "\n<tool_response>\n" TEXT
 * "\n</tool_response>" pieces. */
#include <stdlib.h>
#include <string.h>

#include "chat_int.h"

#define QWEN25_DEFAULT_SYSTEM "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

static void turn_open(dl_pb *pb, const char *role) {
    dl_pb_lit(pb, "<|im_start|>");
    dl_pb_lit(pb, role);
    dl_pb_lit(pb, "\n");
}

static void turn_close(dl_pb *pb) {
    dl_pb_lit(pb, "<|im_end|>\n");
}

/* Qwen3: index of the last user message that is not a tool response pasted
 * as user text (the template's last_query_index); n - 1 when there is none. */
static size_t qwen3_last_query(const dl_chat_msg *m, size_t n) {
    for (size_t i = n; i-- > 0;) {
        if (m[i].role != DL_ROLE_USER) continue;
        dl_str c = dl_str_of(m[i].content);
        if (!(dl_str_starts(c, "<tool_response>") && dl_str_ends(c, "</tool_response>")))
            return i;
    }
    return n - 1;
}

/* Qwen3 assistant turn i: reasoning from the reasoning field, or else split
 * off the content at "</think>"; written only for turns after the last user
 * query (the last message, or a turn that has reasoning). */
static void qwen3_assistant(dl_pb *pb, const dl_chat_msg *m, size_t n, size_t i,
                            size_t last_query) {
    dl_str content = dl_str_of(m[i].content), reasoning = {"", 0};
    if (m[i].reasoning) {
        reasoning = dl_str_of(m[i].reasoning);
    } else if (dl_str_contains(content, "</think>")) {
        dl_str whole = content;
        content = dl_str_lstrip_nl(dl_str_after_last(whole, "</think>", NULL));
        dl_str r = dl_str_before_first(whole, "</think>");
        while (r.n > 0 && r.p[r.n - 1] == '\n') r.n--;
        reasoning = dl_str_lstrip_nl(dl_str_after_last(r, "<think>", NULL));
    }
    turn_open(pb, "assistant");
    if (i > last_query && (i == n - 1 || reasoning.n > 0)) {
        dl_pb_lit(pb, "<think>\n");
        dl_pb_text(pb, dl_str_strip_nl(reasoning));
        dl_pb_lit(pb, "\n</think>\n\n");
        dl_pb_text(pb, dl_str_lstrip_nl(content));
    } else {
        dl_pb_text(pb, content);
    }
    turn_close(pb);
}

int dl_fmt_chatml(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                  const dl_chat_opts *o, dl_error *err) {
    const char *default_sys =
        f->id == DL_CHAT_CHATML && (f->flags & DL_CHAT_F_QWEN25) ? QWEN25_DEFAULT_SYSTEM : NULL;
    size_t k = dl_chat_preamble_end(m, n);
    if (k > 0 || default_sys) {
        turn_open(pb, "system");
        dl_pb_instructions(pb, m, 0, k, default_sys, 0);
        turn_close(pb);
    }
    size_t last_query = f->id == DL_CHAT_QWEN3 ? qwen3_last_query(m, n) : 0;
    for (size_t i = k; i < n; i++) {
        dl_str c = dl_str_of(m[i].content);
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
            turn_open(pb, "system");
            dl_pb_text(pb, c);
            turn_close(pb);
            break;
        case DL_ROLE_DEVELOPER: /* no developer role: a system turn holding the block */
            turn_open(pb, "system");
            dl_pb_dev_block(pb, c);
            turn_close(pb);
            break;
        case DL_ROLE_USER:
            turn_open(pb, "user");
            dl_pb_text(pb, c);
            turn_close(pb);
            break;
        case DL_ROLE_ASSISTANT:
            if (f->id == DL_CHAT_QWEN3) {
                qwen3_assistant(pb, m, n, i, last_query);
                break;
            }
            if (f->id == DL_CHAT_QWQ && i != n - 1)
                c = dl_str_lstrip_nl(dl_str_after_last(c, "</think>", NULL));
            turn_open(pb, "assistant");
            dl_pb_text(pb, c);
            turn_close(pb);
            break;
        case DL_ROLE_TOOL:
            if (i == 0 || m[i - 1].role != DL_ROLE_TOOL) dl_pb_lit(pb, "<|im_start|>user");
            dl_pb_lit(pb, "\n<tool_response>\n");
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "\n</tool_response>");
            if (i == n - 1 || m[i + 1].role != DL_ROLE_TOOL) turn_close(pb);
            break;
        }
    }
    if (o->add_generation_prompt) {
        turn_open(pb, "assistant");
        if (f->id == DL_CHAT_QWEN3 && !o->enable_thinking) dl_pb_lit(pb, "<think>\n\n</think>\n\n");
        if (f->id == DL_CHAT_QWQ) {
            dl_pb_lit(pb, "<think>\n");
            if ((f->flags & DL_CHAT_F_THINK_SWITCH) && !o->enable_thinking) dl_pb_lit(pb, "</think>");
        }
    }
    (void)err;
    return 0;
}

/* ---- SmolLM3 ---------------------------------------------------------------- */

#define SMOL_DEFAULT_THINK                                                                      \
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an "    \
    "assistant involves thoroughly exploring questions through a systematic thinking process " \
    "before providing the final precise and accurate solutions. This requires engaging in a "   \
    "comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, "     \
    "backtracking, and iteration to develop well-considered thinking process. Please "          \
    "structure your response into two main sections: Thought and Solution using the "           \
    "specified format: <think> Thought section </think> Solution section. In the Thought "      \
    "section, detail your reasoning process in steps. Each step should include detailed "       \
    "considerations such as analysing questions, summarizing relevant findings, "               \
    "brainstorming new ideas, verifying the accuracy of the current steps, refining any "       \
    "errors, and revisiting previous steps. In the Solution section, based on various "         \
    "attempts, explorations, and reflections from the Thought section, systematically "         \
    "present the final solution that you deem correct. The Solution section should be "         \
    "logical, accurate, and concise and detail necessary steps needed to reach the "            \
    "conclusion."
#define SMOL_DEFAULT_NO_THINK "You are a helpful AI assistant named SmolLM, trained by Hugging Face."

/* Copy of s with every `what` removed (Python's str.replace(what, "")). */
static char *remove_all(dl_str s, const char *what, size_t *len) {
    size_t k = strlen(what), o = 0;
    char *t = dl_xmalloc(s.n + 1);
    for (size_t i = 0; i < s.n;) {
        if (s.n - i >= k && memcmp(s.p + i, what, k) == 0) {
            i += k;
        } else {
            t[o++] = s.p[i++];
        }
    }
    t[o] = '\0';
    *len = o;
    return t;
}

/* A system text as SmolLM3 shows it: "/no_think" and "/think" removed, then
 * trailing whitespace. Caller frees. */
static char *smol_custom(const char *content, size_t *len) {
    size_t n1;
    char *a = remove_all(dl_str_of(content), "/no_think", &n1);
    char *b = remove_all((dl_str){a, n1}, "/think", len);
    free(a);
    *len = dl_str_rtrim((dl_str){b, *len}).n;
    return b;
}

/* SmolLM3 (Unsloth's template). Every system message and developer message
 * goes in the metadata block ("## Custom Instructions"); the reasoning mode
 * follows enable_thinking unless a system text says "/no_think" or "/think".
 * The template writes tool results as plain user turns; deliberate writes a
 * tool block in the user turn. */
int dl_fmt_smollm3(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                   const dl_chat_opts *o, dl_error *err) {
    bool think = o->enable_thinking;
    bool has_sys = false;
    for (size_t i = 0; i < n; i++) {
        if (m[i].role != DL_ROLE_SYSTEM) continue;
        has_sys = true;
        dl_str c = dl_str_of(m[i].content);
        if (dl_str_contains(c, "/no_think")) {
            think = false;
            break;
        }
        if (dl_str_contains(c, "/think")) think = true;
    }
    dl_pb_lit(pb, "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\n");
    dl_pb_lit(pb, think ? "Reasoning Mode: /think\n\n" : "Reasoning Mode: /no_think\n\n");
    dl_pb_lit(pb, "## Custom Instructions\n\n");
    bool any = false;
    if (has_sys) {
        for (size_t i = 0; i < n; i++) {
            if (m[i].role != DL_ROLE_SYSTEM) continue;
            size_t len;
            char *t = smol_custom(m[i].content, &len);
            if (len > 0) {
                if (any) dl_pb_lit(pb, "\n\n");
                dl_pb_text(pb, (dl_str){t, len});
                any = true;
            }
            free(t);
        }
    }
    if (!any) dl_pb_lit(pb, think ? SMOL_DEFAULT_THINK : SMOL_DEFAULT_NO_THINK);
    for (size_t i = 0; i < n; i++) {
        if (m[i].role != DL_ROLE_DEVELOPER) continue;
        dl_pb_lit(pb, "\n\n");
        dl_pb_dev_block(pb, dl_str_of(m[i].content));
    }
    dl_pb_lit(pb, "\n\n<|im_end|>\n");
    for (size_t i = 0; i < n;) {
        dl_str c = dl_str_of(m[i].content);
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
        case DL_ROLE_DEVELOPER:
            i++;
            break;
        case DL_ROLE_USER:
            turn_open(pb, "user");
            dl_pb_text(pb, c);
            turn_close(pb);
            i++;
            break;
        case DL_ROLE_ASSISTANT:
            turn_open(pb, "assistant");
            if (!think) dl_pb_lit(pb, "<think>\n\n</think>\n");
            dl_pb_text(pb, dl_str_lstrip_nl(c));
            turn_close(pb);
            i++;
            break;
        case DL_ROLE_TOOL:
            turn_open(pb, "user");
            i = dl_pb_tool_run(pb, m, n, i, false);
            turn_close(pb);
            break;
        }
    }
    if (o->add_generation_prompt) {
        turn_open(pb, "assistant");
        if (!think) dl_pb_lit(pb, "<think>\n\n</think>\n");
    }
    (void)f;
    (void)err;
    return 0;
}
