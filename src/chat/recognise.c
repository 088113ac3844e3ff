/* Format names, and choosing a format from a GGUF's chat template (by
 * distinctive pieces of its text, so other revisions of a family's template
 * still match) or, without a template, from the architecture and the
 * vocabulary's special tokens. */
#include <string.h>

#include "chat_int.h"

static const char *const format_names[DL_CHAT__COUNT] = {
    [DL_CHAT_UNKNOWN] = "unknown",
    [DL_CHAT_CHATML] = "chatml",
    [DL_CHAT_QWEN3] = "qwen3",
    [DL_CHAT_QWQ] = "qwq",
    [DL_CHAT_DEEPSEEK_R1] = "deepseek-r1",
    [DL_CHAT_LLAMA3] = "llama3",
    [DL_CHAT_GPT_OSS] = "gpt-oss",
    [DL_CHAT_SMOLLM3] = "smollm3",
    [DL_CHAT_PHI3] = "phi3",
    [DL_CHAT_MISTRAL_NEMO] = "mistral-nemo",
    [DL_CHAT_GEMMA2] = "gemma2",
    [DL_CHAT_GRANITE] = "granite",
};

const char *dl_chat_format_name(dl_chat_format_id id) {
    if ((unsigned)id >= DL_CHAT__COUNT) return "unknown";
    return format_names[id];
}

/* Names accepted besides the canonical ones, with their variant bits. */
static const struct {
    const char *name;
    dl_chat_format f;
} aliases[] = {
    {"qwen2.5", {DL_CHAT_CHATML, DL_CHAT_F_QWEN25}},
    {"llama3.2", {DL_CHAT_LLAMA3, DL_CHAT_F_LLAMA32}},
};

int dl_chat_format_parse(const char *name, dl_chat_format *out, dl_error *err) {
    if (name) {
        for (int id = DL_CHAT_UNKNOWN + 1; id < DL_CHAT__COUNT; id++) {
            if (strcmp(name, format_names[id]) != 0) continue;
            out->id = (dl_chat_format_id)id;
            /* a chosen QwQ / R1 format honours thinking off */
            out->flags = id == DL_CHAT_QWQ || id == DL_CHAT_DEEPSEEK_R1 ? DL_CHAT_F_THINK_SWITCH : 0;
            return 0;
        }
        for (size_t i = 0; i < DL_ARRAY_LEN(aliases); i++) {
            if (strcmp(name, aliases[i].name) == 0) {
                *out = aliases[i].f;
                return 0;
            }
        }
    }
    return dl_error_set(err, 400,
                        "unknown chat format '%s' (known: chatml, qwen2.5, qwen3, qwq, "
                        "deepseek-r1, llama3, llama3.2, gpt-oss, smollm3, phi3, mistral-nemo, "
                        "gemma2, granite)",
                        name ? name : "");
}

static bool has(const char *t, const char *s) {
    return strstr(t, s) != NULL;
}

/* A string literal of the template as Jinja source writes it: with the
 * newline escaped ("\\n") or as a real newline. `s` uses '\n'. */
static bool has_lit(const char *t, const char *s) {
    char esc[128];
    size_t k = 0;
    for (const char *p = s; *p && k + 2 < sizeof esc; p++) {
        if (*p == '\n') {
            esc[k++] = '\\';
            esc[k++] = 'n';
        } else {
            esc[k++] = *p;
        }
    }
    esc[k] = '\0';
    return has(t, s) || has(t, esc);
}

dl_chat_format dl_chat_format_from_template(const char *t) {
    dl_chat_format f = {DL_CHAT_UNKNOWN, 0};
    if (!t) return f;
    bool think_switch = has(t, "enable_thinking");
    if (has(t, "<|start|>") && has(t, "<|channel|>") && has(t, "<|message|>")) {
        f.id = DL_CHAT_GPT_OSS;
    } else if (has(t, "<｜User｜>") && has(t, "<｜Assistant｜><think>")) {
        /* R1 distills; DeepSeek V3's template has no think block and is not this */
        f.id = DL_CHAT_DEEPSEEK_R1;
        if (think_switch) f.flags |= DL_CHAT_F_THINK_SWITCH;
    } else if (has(t, "<|im_start|>")) {
        if (has(t, "Reasoning Mode") || has(t, "SmolLM")) {
            f.id = DL_CHAT_SMOLLM3;
        } else if (has_lit(t, "<|im_start|>assistant\n<think>")) {
            f.id = DL_CHAT_QWQ; /* the generation prompt opens the think block */
            if (think_switch) f.flags |= DL_CHAT_F_THINK_SWITCH;
        } else if (has(t, "<think>") || has(t, "reasoning_content")) {
            f.id = DL_CHAT_QWEN3;
        } else if (has(t, "<|im_end|>")) {
            f.id = DL_CHAT_CHATML;
            if (has(t, "You are Qwen, created by Alibaba Cloud")) f.flags |= DL_CHAT_F_QWEN25;
        }
    } else if (has(t, "<|start_header_id|>") && has(t, "<|eot_id|>") &&
               has(t, "Cutting Knowledge Date")) {
        f.id = DL_CHAT_LLAMA3;
        if (!has(t, "builtin_tools")) f.flags |= DL_CHAT_F_LLAMA32;
    } else if (has(t, "<|user|>") && has(t, "<|assistant|>") && has(t, "<|end|>")) {
        f.id = DL_CHAT_PHI3;
    } else if (has(t, "[INST]") && has(t, "[/INST]") && !has(t, "[INST] ") &&
               !has(t, "[SYSTEM_PROMPT]")) {
        /* Nemo writes "[INST]" + text with no space (older Mistral and Llama 2
         * templates write "[INST] ") */
        f.id = DL_CHAT_MISTRAL_NEMO;
    } else if (has(t, "<start_of_turn>") && has(t, "<end_of_turn>")) {
        f.id = DL_CHAT_GEMMA2;
    } else if (has(t, "<|start_of_role|>") && has(t, "<|end_of_role|>")) {
        f.id = DL_CHAT_GRANITE;
    }
    return f;
}

static bool tok(bool (*has_token)(const char *, void *), void *ud, const char *text) {
    return has_token && has_token(text, ud);
}

static bool arch_is(const char *arch, const char *prefix) {
    return arch && strncmp(arch, prefix, strlen(prefix)) == 0;
}

dl_chat_format dl_chat_format_guess(const char *arch,
                                    bool (*has_token)(const char *text, void *ud), void *ud) {
    dl_chat_format f = {DL_CHAT_UNKNOWN, 0};
    if (tok(has_token, ud, "<|channel|>") && tok(has_token, ud, "<|start|>")) {
        f.id = DL_CHAT_GPT_OSS;
    } else if (tok(has_token, ud, "<｜User｜>") && tok(has_token, ud, "<｜Assistant｜>")) {
        f.id = DL_CHAT_DEEPSEEK_R1;
    } else if (arch_is(arch, "smollm3")) {
        f.id = DL_CHAT_SMOLLM3;
    } else if (tok(has_token, ud, "<|im_start|>") && tok(has_token, ud, "<|im_end|>")) {
        if (tok(has_token, ud, "<think>")) {
            f.id = arch_is(arch, "qwen3") ? DL_CHAT_QWEN3 : DL_CHAT_QWQ;
        } else {
            f.id = DL_CHAT_CHATML;
            if (arch_is(arch, "qwen2")) f.flags |= DL_CHAT_F_QWEN25;
        }
    } else if (tok(has_token, ud, "<|start_header_id|>") && tok(has_token, ud, "<|eot_id|>")) {
        f.id = DL_CHAT_LLAMA3;
    } else if (tok(has_token, ud, "<|user|>") && tok(has_token, ud, "<|assistant|>") &&
               tok(has_token, ud, "<|end|>")) {
        f.id = DL_CHAT_PHI3;
    } else if (tok(has_token, ud, "<start_of_turn>") && tok(has_token, ud, "<end_of_turn>")) {
        f.id = DL_CHAT_GEMMA2;
    } else if (tok(has_token, ud, "<|start_of_role|>") && tok(has_token, ud, "<|end_of_role|>")) {
        f.id = DL_CHAT_GRANITE;
    } else if (tok(has_token, ud, "[INST]") && tok(has_token, ud, "[/INST]")) {
        f.id = DL_CHAT_MISTRAL_NEMO;
    } else if (arch_is(arch, "gpt-oss")) {
        f.id = DL_CHAT_GPT_OSS;
    } else if (arch_is(arch, "qwen3")) {
        f.id = DL_CHAT_QWEN3;
    } else if (arch_is(arch, "qwen2")) {
        f = (dl_chat_format){DL_CHAT_CHATML, DL_CHAT_F_QWEN25};
    } else if (arch_is(arch, "phi3")) {
        f.id = DL_CHAT_PHI3;
    } else if (arch_is(arch, "gemma2") || arch_is(arch, "gemma3")) {
        f.id = DL_CHAT_GEMMA2;
    } else if (arch_is(arch, "granite")) {
        f.id = DL_CHAT_GRANITE;
    }
    return f;
}
