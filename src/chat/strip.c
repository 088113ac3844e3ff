/* dl_chat_strip_reasoning: a past assistant answer without its reasoning. */
#include "chat_int.h"

char *dl_chat_strip_reasoning(const char *content) {
    dl_str s = dl_str_of(content);
    bool found;
    dl_str after = dl_str_after_last(s, "</think>", &found);
    if (found) after = dl_str_lstrip_nl(after);
    return dl_xstrndup(after.p, after.n);
}
