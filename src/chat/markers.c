/* dl_chat_markers_for: what each format's reasoning looks like in the
 * model's output (see chat.h). */
#include "chat_int.h"

#define THINK_FORCE_CLOSE "\n</think>\n\n"
#define HARMONY_FORCE_CLOSE "<|end|><|start|>assistant<|channel|>final<|message|>"

static dl_chat_markers think_tags(bool starts_in_reasoning, const char *force_close) {
    dl_chat_markers k = {0};
    k.has_reasoning = true;
    k.starts_in_reasoning = starts_in_reasoning;
    k.open = "<think>";
    k.close = "</think>";
    k.force_close = force_close;
    return k;
}

dl_chat_markers dl_chat_markers_for(const dl_chat_format *f, const dl_chat_opts *o) {
    dl_chat_markers none = {0};
    dl_chat_opts def = dl_chat_default_opts();
    if (!o) o = &def;
    if (!f) return none;
    switch (f->id) {
    case DL_CHAT_QWEN3:
        /* thinking off: the prompt already holds an empty think block */
        return o->enable_thinking ? think_tags(false, THINK_FORCE_CLOSE) : none;
    case DL_CHAT_QWQ:
    case DL_CHAT_DEEPSEEK_R1:
        /* the generation prompt opens "<think>\n"; only the switch variant
         * closes it again when thinking is off */
        if ((f->flags & DL_CHAT_F_THINK_SWITCH) && !o->enable_thinking) return none;
        return think_tags(true, THINK_FORCE_CLOSE);
    case DL_CHAT_SMOLLM3:
        /* thinking off writes "<think>\n\n</think>\n" after the generation prompt */
        return o->enable_thinking ? think_tags(false, "\n</think>\n") : none;
    case DL_CHAT_GPT_OSS: {
        dl_chat_markers k = {0};
        k.has_reasoning = true;
        k.harmony = true;
        k.force_close = HARMONY_FORCE_CLOSE;
        return k;
    }
    default:
        return none; /* ChatML / Qwen2.5, Llama 3, Phi-3, Mistral, Gemma 2, Granite */
    }
}
