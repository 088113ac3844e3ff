/* DeepSeek-R1 distills (Qwen and Llama based): "<｜begin▁of▁sentence｜>"
 * SYSTEM, then "<｜User｜>" TEXT and "<｜Assistant｜>" TEXT
 * "<｜end▁of▁sentence｜>"; the generation prompt opens a think block.
 *
 * The templates keep only the last system message and drop developer
 * messages; deliberate writes every system text (joined by "\n\n") and the
 * developer blocks where the system text goes. Tool results use the
 * template's "<｜tool▁outputs▁begin｜>" form, closed at the end of each run
 * of tool messages (the template forgets to close a run that a user message
 * follows). */
#include "chat_int.h"

#define R1_BOS "<｜begin▁of▁sentence｜>"
#define R1_EOS "<｜end▁of▁sentence｜>"

/* Index of the next message after i that is not system or developer (those
 * are all written at the top), or n. */
static size_t next_turn(const dl_chat_msg *m, size_t n, size_t i) {
    for (i++; i < n; i++)
        if (m[i].role != DL_ROLE_SYSTEM && m[i].role != DL_ROLE_DEVELOPER) break;
    return i;
}

int dl_fmt_deepseek(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                    const dl_chat_opts *o, dl_error *err) {
    dl_pb_bos(pb, R1_BOS);
    dl_pb_instructions(pb, m, 0, n, NULL, 0);
    bool after_tool = false; /* the last message written was a tool result */
    for (size_t i = 0; i < n; i++) {
        dl_str c = dl_str_of(m[i].content);
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
        case DL_ROLE_DEVELOPER:
            continue; /* written above */
        case DL_ROLE_USER:
            dl_pb_lit(pb, "<｜User｜>");
            dl_pb_text(pb, c);
            after_tool = false;
            break;
        case DL_ROLE_ASSISTANT:
            if (after_tool) {
                /* the answer continues the turn that called the tools */
                dl_pb_text(pb, c);
            } else {
                dl_pb_lit(pb, "<｜Assistant｜>");
                dl_pb_text(pb, dl_str_after_last(c, "</think>", NULL));
            }
            dl_pb_lit(pb, R1_EOS);
            after_tool = false;
            break;
        case DL_ROLE_TOOL: {
            dl_pb_lit(pb, after_tool ? "\n<｜tool▁output▁begin｜>"
                                     : "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>");
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "<｜tool▁output▁end｜>");
            after_tool = true;
            size_t next = next_turn(m, n, i);
            if (next == n || m[next].role != DL_ROLE_TOOL) dl_pb_lit(pb, "<｜tool▁outputs▁end｜>");
            break;
        }
        }
    }
    if (o->add_generation_prompt) {
        /* after tool results the template adds nothing (the turn goes on);
         * deliberate still opens the think block there */
        if (!after_tool) dl_pb_lit(pb, "<｜Assistant｜>");
        dl_pb_lit(pb, "<think>\n");
        if ((f->flags & DL_CHAT_F_THINK_SWITCH) && !o->enable_thinking) dl_pb_lit(pb, "</think>");
    }
    (void)err;
    return 0;
}
