/* dl_chat_render: checks the conversation, runs the format's renderer and
 * hands the prompt over. */
#include <stdlib.h>
#include <string.h>

#include "chat_int.h"

static const dl_fmt_fn renderers[DL_CHAT__COUNT] = {
    [DL_CHAT_CHATML] = dl_fmt_chatml,     [DL_CHAT_QWEN3] = dl_fmt_chatml,
    [DL_CHAT_QWQ] = dl_fmt_chatml,        [DL_CHAT_DEEPSEEK_R1] = dl_fmt_deepseek,
    [DL_CHAT_LLAMA3] = dl_fmt_llama3,     [DL_CHAT_GPT_OSS] = dl_fmt_harmony,
    [DL_CHAT_SMOLLM3] = dl_fmt_smollm3,   [DL_CHAT_PHI3] = dl_fmt_phi3,
    [DL_CHAT_MISTRAL_NEMO] = dl_fmt_mistral, [DL_CHAT_GEMMA2] = dl_fmt_gemma2,
    [DL_CHAT_GRANITE] = dl_fmt_granite,
};

/* A tool name goes into template text (headers, attributes): 1..64 of
 * A-Z a-z 0-9 _ . - */
static bool tool_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

static int check_utf8(size_t i, const dl_chat_msg *m, const char *field, const char *s,
                      dl_error *err) {
    size_t bad = 0;
    if (s && !dl_utf8_valid(s, strlen(s), &bad))
        return dl_error_set(err, 400, "message %zu (%s): %s is not valid UTF-8 (byte %zu)", i,
                            dl_role_name(m->role), field, bad);
    return 0;
}

/* The checks every format relies on. */
static int check_conversation(const dl_chat_msg *msgs, size_t n, dl_error *err) {
    if (!msgs || n == 0) return dl_error_set(err, 400, "the conversation has no messages");
    for (size_t i = 0; i < n; i++) {
        const dl_chat_msg *m = &msgs[i];
        if ((unsigned)m->role > DL_ROLE_TOOL)
            return dl_error_set(err, 400, "message %zu: unknown role %d", i, (int)m->role);
        if (check_utf8(i, m, "content", m->content, err) ||
            check_utf8(i, m, "reasoning", m->reasoning, err))
            return -1;
        if (m->role == DL_ROLE_TOOL && m->name && !tool_name_ok(m->name))
            return dl_error_set(err, 400,
                                "message %zu (tool): the tool name must be 1 to 64 characters "
                                "from A-Z a-z 0-9 _ . -",
                                i);
    }
    return 0;
}

int dl_chat_render(const dl_chat_format *f, const dl_chat_msg *msgs, size_t n,
                   const dl_chat_opts *o, dl_chat_prompt *out, dl_error *err) {
    memset(out, 0, sizeof *out);
    if (!f || f->id <= DL_CHAT_UNKNOWN || f->id >= DL_CHAT__COUNT || !renderers[f->id])
        return dl_error_set(err, 400, "no chat format chosen (pass --chat-format)");
    if (check_conversation(msgs, n, err)) return -1;
    dl_chat_opts def = dl_chat_default_opts();
    if (!o) o = &def;

    dl_pb pb = {0};
    int rc = renderers[f->id](&pb, f, msgs, n, o, err);
    if (rc == 0 && pb.too_big)
        rc = dl_error_set(err, 413, "the prompt is larger than %zu bytes", DL_CHAT_MAX_PROMPT);
    if (rc != 0) {
        dl_buf_free(&pb.buf);
        free(pb.spans);
        return -1;
    }
    if (!pb.buf.data) dl_buf_append(&pb.buf, "", 0);
    out->text = pb.buf.data;
    out->len = pb.buf.len;
    out->spans = pb.spans;
    out->n_spans = pb.n_spans;
    out->bos_len = pb.bos_len;
    return 0;
}

void dl_chat_prompt_free(dl_chat_prompt *p) {
    if (!p) return;
    free(p->text);
    free(p->spans);
    memset(p, 0, sizeof *p);
}
