/* chat: conversations, the prompt formats of the model families users run,
 * and the streaming split of a model's output into a reasoning channel and
 * an answer channel.
 *
 * Instruction hierarchy: system > developer > user > tool output. The prompt
 * builder keeps every message in its own role's slot of the model's format;
 * a lower role's text is never merged into a higher role's message. Formats
 * with no developer role get the developer text in a delimited block after
 * the system text (docs/chat.md lists the exact text per format). Message
 * text is never parsed for the format's special tokens: dl_chat_prompt marks
 * which bytes came from messages so the caller tokenises them as plain text.
 *
 * No dependency on the engine: formats are pure text; the backend tokenises. */
#ifndef DL_CHAT_H
#define DL_CHAT_H

#include "../base/base.h"

/* ---- messages ------------------------------------------------------------ */

typedef enum dl_role {
    DL_ROLE_SYSTEM = 0,
    DL_ROLE_DEVELOPER = 1,
    DL_ROLE_USER = 2,
    DL_ROLE_ASSISTANT = 3,
    DL_ROLE_TOOL = 4,
} dl_role;

const char *dl_role_name(dl_role r); /* "system", "developer", ... */
/* 0 and *out set for a known role name, -1 otherwise. */
int dl_role_parse(const char *name, dl_role *out);

typedef struct dl_chat_msg {
    dl_role role;
    const char *content;   /* UTF-8; NULL = empty */
    const char *reasoning; /* assistant turns: past reasoning kept apart from the
                            * content (OpenAI `reasoning_content`); NULL = none */
    const char *name;      /* tool turns: the tool's name; NULL = none */
} dl_chat_msg;

/* ---- formats ------------------------------------------------------------- */

typedef enum dl_chat_format_id {
    DL_CHAT_UNKNOWN = 0,
    DL_CHAT_CHATML,       /* Qwen2.5-Instruct and plain ChatML */
    DL_CHAT_QWEN3,        /* ChatML + <think>, enable_thinking */
    DL_CHAT_QWQ,          /* ChatML, generation prompt opens <think> */
    DL_CHAT_DEEPSEEK_R1,  /* R1 distills (Qwen and Llama based) */
    DL_CHAT_LLAMA3,       /* Llama 3.1 / 3.2 / 3.3 Instruct */
    DL_CHAT_GPT_OSS,      /* harmony: analysis / commentary / final channels */
    DL_CHAT_SMOLLM3,
    DL_CHAT_PHI3,
    DL_CHAT_MISTRAL_NEMO,
    DL_CHAT_GEMMA2,
    DL_CHAT_GRANITE,
    DL_CHAT__COUNT
} dl_chat_format_id;

/* Variant bits a recogniser sets for templates of one family that render
 * differently (see docs/chat.md). */
enum {
    /* QwQ / R1: the template honours enable_thinking=false by writing
     * "</think>" after the opening "<think>\n" (llama.cpp's edited copies). */
    DL_CHAT_F_THINK_SWITCH = 1u << 0,
    /* Llama 3.2: no built-in tools block. */
    DL_CHAT_F_LLAMA32 = 1u << 1,
    /* ChatML: Qwen2.5's default system text when the conversation has none
     * (without it, DL_CHAT_CHATML is plain ChatML). */
    DL_CHAT_F_QWEN25 = 1u << 2,
};

typedef struct dl_chat_format {
    dl_chat_format_id id;
    unsigned flags; /* DL_CHAT_F_* */
} dl_chat_format;

/* Short names used by --chat-format: "chatml", "qwen3", "qwq", "deepseek-r1",
 * "llama3", "gpt-oss", "smollm3", "phi3", "mistral-nemo", "gemma2",
 * "granite". */
const char *dl_chat_format_name(dl_chat_format_id id);
/* Parses a --chat-format name; -1 + err (400, listing the names) if unknown. */
int dl_chat_format_parse(const char *name, dl_chat_format *out, dl_error *err);
/* Recognises a tokenizer.chat_template text (Jinja source). id is
 * DL_CHAT_UNKNOWN when the template is not one deliberate knows. */
dl_chat_format dl_chat_format_from_template(const char *tmpl);
/* Fallback when a GGUF carries no template: guess from the architecture name
 * and which special tokens the vocabulary has (has_token(text, ud) says
 * whether a token with exactly that text exists). DL_CHAT_UNKNOWN if none. */
dl_chat_format dl_chat_format_guess(const char *arch,
                                    bool (*has_token)(const char *text, void *ud), void *ud);

typedef struct dl_chat_opts {
    bool add_generation_prompt;   /* end with the opening of an assistant turn */
    bool enable_thinking;         /* false: the format's "thinking off" where it has one */
    const char *reasoning_effort; /* gpt-oss "Reasoning: low|medium|high"; NULL = medium */
    int64_t now;                  /* unix seconds for dates formats print; 0 = current time */
} dl_chat_opts;
dl_chat_opts dl_chat_default_opts(void); /* generation prompt on, thinking on */

/* A byte range of the prompt that came from message text. */
typedef struct dl_chat_span {
    size_t off, len;
} dl_chat_span;

typedef struct dl_chat_prompt {
    char *text;          /* the whole prompt, NUL-terminated (owned) */
    size_t len;
    dl_chat_span *spans; /* message text, in order, never parsed for special tokens (owned) */
    size_t n_spans;
    size_t bos_len;      /* > 0 when the text starts with the BOS token's text, which the
                          * caller drops if its tokenizer adds a BOS itself */
} dl_chat_prompt;

/* Builds the prompt for msgs[0..n) in format f. Fails (400) on a
 * conversation the format cannot express, naming the message and why. */
int dl_chat_render(const dl_chat_format *f, const dl_chat_msg *msgs, size_t n,
                   const dl_chat_opts *o, dl_chat_prompt *out, dl_error *err);
void dl_chat_prompt_free(dl_chat_prompt *p);

/* ---- reasoning markers ---------------------------------------------------- */

/* What a format's reasoning looks like in the model's output, for the channel
 * parser and for budget forcing. */
typedef struct dl_chat_markers {
    bool has_reasoning;       /* the family writes a reasoning block at all */
    bool harmony;             /* gpt-oss channels instead of think tags */
    bool starts_in_reasoning; /* the generation prompt already opened the block */
    const char *open;         /* "<think>" (NULL for harmony / no reasoning) */
    const char *close;        /* "</think>" */
    /* Text appended to the output to end the reasoning early and make the
     * model answer (e.g. "\n</think>\n\n", or harmony's
     * "<|end|><|start|>assistant<|channel|>final<|message|>"). */
    const char *force_close;
} dl_chat_markers;
/* Markers for format f given the options the prompt was rendered with (with
 * thinking off, Qwen3's prompt already holds an empty block, so the output
 * starts in the answer). */
dl_chat_markers dl_chat_markers_for(const dl_chat_format *f, const dl_chat_opts *o);

/* ---- channel parser --------------------------------------------------------- */

typedef enum dl_channel {
    DL_CHANNEL_REASONING = 0,
    DL_CHANNEL_ANSWER = 1,
} dl_channel;

/* What the parser reports, in order of the output. */
typedef enum dl_chan_event {
    DL_CHAN_TEXT = 0,          /* text of `channel` */
    DL_CHAN_REASONING_END = 1, /* the model closed its reasoning block */
} dl_chan_event;

/* Called for each piece the parser is sure of. `raw_off` is the byte offset in
 * the raw output (everything fed so far) where the piece, or for
 * DL_CHAN_REASONING_END the closing marker, begins. */
typedef void (*dl_chan_emit_fn)(void *ud, dl_chan_event ev, dl_channel ch, const char *text,
                                size_t len, size_t raw_off);

/* Streaming parser over the model's raw output text (detokenised with special
 * tokens shown). Markers split across feed calls are recognised; text that
 * might be the start of a marker is held back until it is decided. Marker
 * text never reaches the emitted channels. */
typedef struct dl_chan_parser dl_chan_parser;
dl_chan_parser *dl_chan_parser_new(const dl_chat_markers *m);
void dl_chan_parser_free(dl_chan_parser *p);
void dl_chan_parser_feed(dl_chan_parser *p, const char *text, size_t len, dl_chan_emit_fn emit,
                         void *ud);
/* End of output: flushes held-back text. An unterminated reasoning block
 * stays reasoning. */
void dl_chan_parser_finish(dl_chan_parser *p, dl_chan_emit_fn emit, void *ud);
dl_channel dl_chan_parser_channel(const dl_chan_parser *p); /* channel of the next text */
/* Forget everything after raw byte offset `raw_off` and continue from there
 * (the backend rolled the output back, e.g. to replace a closing marker with
 * a continuation cue). Returns to the channel that was current at raw_off. */
void dl_chan_parser_rewind(dl_chan_parser *p, size_t raw_off);

/* Removes reasoning from a past assistant turn's content: returns a malloc'd
 * copy of `content` without any "<think>...</think>" prefix block (or without
 * everything up to the last "</think>"), as the Qwen3 / R1 templates do. */
char *dl_chat_strip_reasoning(const char *content);

#endif
