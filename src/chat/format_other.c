/* Phi-3 / 3.5, Mistral Nemo, Gemma 2 and Granite 3.x: formats without
 * reasoning, each a few lines of turn syntax. */
#include "chat_int.h"

/* ---- Phi-3 ------------------------------------------------------------------
 * "<|system|>\n" / "<|user|>\n" / "<|assistant|>\n" TEXT "<|end|>\n"; an empty
 * system message writes nothing. Developer text: a block in the system turn
 * (or a system turn of its own later on); tool results: tool blocks in a
 * user turn. Without a generation prompt the template ends with the EOS text. */
int dl_fmt_phi3(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                const dl_chat_opts *o, dl_error *err) {
    size_t k = dl_chat_preamble_end(m, n);
    if (!dl_chat_instr_empty(m, 0, k, 0)) {
        dl_pb_lit(pb, "<|system|>\n");
        dl_pb_instructions(pb, m, 0, k, NULL, 0);
        dl_pb_lit(pb, "<|end|>\n");
    }
    for (size_t i = k; i < n;) {
        dl_str c = dl_str_of(m[i].content);
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
            if (c.n > 0) {
                dl_pb_lit(pb, "<|system|>\n");
                dl_pb_text(pb, c);
                dl_pb_lit(pb, "<|end|>\n");
            }
            i++;
            break;
        case DL_ROLE_DEVELOPER:
            dl_pb_lit(pb, "<|system|>\n");
            dl_pb_dev_block(pb, c);
            dl_pb_lit(pb, "<|end|>\n");
            i++;
            break;
        case DL_ROLE_USER:
        case DL_ROLE_ASSISTANT:
            dl_pb_lit(pb, m[i].role == DL_ROLE_USER ? "<|user|>\n" : "<|assistant|>\n");
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "<|end|>\n");
            i++;
            break;
        case DL_ROLE_TOOL:
            dl_pb_lit(pb, "<|user|>\n");
            i = dl_pb_tool_run(pb, m, n, i, false);
            dl_pb_lit(pb, "<|end|>\n");
            break;
        }
    }
    dl_pb_lit(pb, o->add_generation_prompt ? "<|assistant|>\n" : "<|endoftext|>");
    (void)f;
    (void)err;
    return 0;
}

/* ---- Mistral Nemo --------------------------------------------------------------
 * "<s>[INST]" USER "[/INST]" ANSWER "</s>[INST]"...; no generation prompt of
 * its own (the prompt ends with "[/INST]"). Mistral has no system turn: the
 * template puts the system text, then "\n\n", in front of the last user
 * message when that message ends the conversation. Deliberate does that for
 * the last user message wherever it is (so the text is never lost), with
 * every system message and the developer blocks; with no user message at
 * all, an [INST] turn of its own right after "<s>". Tool results: tool blocks
 * in an [INST] turn. Roles need not alternate. */
int dl_fmt_mistral(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                   const dl_chat_opts *o, dl_error *err) {
    bool instr = dl_chat_has_role(m, 0, n, DL_ROLE_SYSTEM) ||
                 dl_chat_has_role(m, 0, n, DL_ROLE_DEVELOPER);
    size_t last_user = n;
    for (size_t i = 0; i < n; i++)
        if (m[i].role == DL_ROLE_USER) last_user = i;
    dl_pb_bos(pb, "<s>");
    if (instr && last_user == n) {
        dl_pb_lit(pb, "[INST]");
        dl_pb_instructions(pb, m, 0, n, NULL, 0);
        dl_pb_lit(pb, "[/INST]");
    }
    for (size_t i = 0; i < n;) {
        dl_str c = dl_str_of(m[i].content);
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
        case DL_ROLE_DEVELOPER:
            i++;
            break;
        case DL_ROLE_USER:
            dl_pb_lit(pb, "[INST]");
            if (i == last_user && instr) {
                dl_pb_instructions(pb, m, 0, n, NULL, 0);
                dl_pb_lit(pb, "\n\n");
            }
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "[/INST]");
            i++;
            break;
        case DL_ROLE_ASSISTANT:
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "</s>");
            i++;
            break;
        case DL_ROLE_TOOL:
            dl_pb_lit(pb, "[INST]");
            i = dl_pb_tool_run(pb, m, n, i, false);
            dl_pb_lit(pb, "[/INST]");
            break;
        }
    }
    (void)f;
    (void)o;
    (void)err;
    return 0;
}

/* ---- Gemma 2 ---------------------------------------------------------------------
 * "<bos>", then "<start_of_turn>user\n" / "<start_of_turn>model\n" TEXT
 * "<end_of_turn>\n" with texts trimmed. Gemma has no system role (its
 * template refuses one): deliberate opens the first user turn with the system
 * text in a <system_instructions> block and the developer blocks, then "\n\n"
 * and the user's text; when the conversation does not start with a user
 * message they get a user turn of their own. Tool results: tool blocks in a
 * user turn. Roles need not alternate. */
int dl_fmt_gemma2(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                  const dl_chat_opts *o, dl_error *err) {
    const unsigned how = DL_INSTR_TRIM | DL_INSTR_WRAP_SYS;
    bool pending = !dl_chat_instr_empty(m, 0, n, how);
    size_t first = 0;
    while (first < n && (m[first].role == DL_ROLE_SYSTEM || m[first].role == DL_ROLE_DEVELOPER))
        first++;
    dl_pb_bos(pb, "<bos>");
    if (pending && (first == n || m[first].role != DL_ROLE_USER)) {
        dl_pb_lit(pb, "<start_of_turn>user\n");
        dl_pb_instructions(pb, m, 0, n, NULL, how);
        dl_pb_lit(pb, "<end_of_turn>\n");
        pending = false;
    }
    for (size_t i = 0; i < n;) {
        dl_str c = dl_str_trim(dl_str_of(m[i].content));
        switch (m[i].role) {
        case DL_ROLE_SYSTEM:
        case DL_ROLE_DEVELOPER:
            i++;
            break;
        case DL_ROLE_USER:
            dl_pb_lit(pb, "<start_of_turn>user\n");
            if (pending) {
                dl_pb_instructions(pb, m, 0, n, NULL, how);
                dl_pb_lit(pb, "\n\n");
                pending = false;
            }
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "<end_of_turn>\n");
            i++;
            break;
        case DL_ROLE_ASSISTANT:
            dl_pb_lit(pb, "<start_of_turn>model\n");
            dl_pb_text(pb, c);
            dl_pb_lit(pb, "<end_of_turn>\n");
            i++;
            break;
        case DL_ROLE_TOOL:
            dl_pb_lit(pb, "<start_of_turn>user\n");
            i = dl_pb_tool_run(pb, m, n, i, true);
            dl_pb_lit(pb, "<end_of_turn>\n");
            break;
        }
    }
    if (o->add_generation_prompt) dl_pb_lit(pb, "<start_of_turn>model\n");
    (void)f;
    (void)err;
    return 0;
}

/* ---- Granite 3.x ------------------------------------------------------------------
 * "<|start_of_role|>ROLE<|end_of_role|>" TEXT "<|end_of_text|>\n" for every
 * message under its own role name (developer and tool included, as the
 * template writes them); with no leading system message, a default system
 * text with today's date. Granite's `thinking` mode is not used. */
int dl_fmt_granite(dl_pb *pb, const dl_chat_format *f, const dl_chat_msg *m, size_t n,
                   const dl_chat_opts *o, dl_error *err) {
    size_t i = 0;
    dl_pb_lit(pb, "<|start_of_role|>system<|end_of_role|>");
    if (m[0].role == DL_ROLE_SYSTEM) {
        dl_pb_text(pb, dl_str_of(m[i++].content));
    } else {
        struct tm tm;
        dl_chat_utc_date(o, &tm);
        dl_pb_litf(pb, "Knowledge Cutoff Date: April 2024. Today's Date: %s %02d, %d. ",
                   dl_chat_month(tm.tm_mon, true), tm.tm_mday, tm.tm_year + 1900);
        dl_pb_lit(pb, "You are Granite, developed by IBM. You are a helpful AI assistant.");
    }
    dl_pb_lit(pb, "<|end_of_text|>\n");
    for (; i < n; i++) {
        dl_pb_lit(pb, "<|start_of_role|>");
        dl_pb_lit(pb, dl_role_name(m[i].role));
        dl_pb_lit(pb, "<|end_of_role|>");
        dl_pb_text(pb, dl_str_of(m[i].content));
        dl_pb_lit(pb, "<|end_of_text|>\n");
    }
    if (o->add_generation_prompt) dl_pb_lit(pb, "<|start_of_role|>assistant<|end_of_role|>");
    (void)f;
    (void)err;
    return 0;
}
