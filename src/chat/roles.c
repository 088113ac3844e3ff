/* Roles and the default rendering options. */
#include "chat.h"

#include <string.h>

static const char *const role_names[] = {"system", "developer", "user", "assistant", "tool"};

const char *dl_role_name(dl_role r)
{
    if ((unsigned)r >= sizeof(role_names) / sizeof(role_names[0])) return "unknown";
    return role_names[r];
}

int dl_role_parse(const char *name, dl_role *out)
{
    for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++) {
        if (name && strcmp(name, role_names[i]) == 0) {
            *out = (dl_role)i;
            return 0;
        }
    }
    return -1;
}

dl_chat_opts dl_chat_default_opts(void)
{
    dl_chat_opts o = {0};
    o.add_generation_prompt = true;
    o.enable_thinking = true;
    return o;
}
