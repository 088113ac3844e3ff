/* safety/taxonomy: names of the moderation categories, their MLCommons
 * hazard counterparts (docs/safety.md, "Taxonomy"), and the names of
 * actions and layers. */
#include <string.h>

#include "safety.h"

static const struct {
    const char *name;
    const char *mlcommons;
} CATEGORIES[DL_CAT__COUNT] = {
    [DL_CAT_HARASSMENT] = {"harassment", "S5,S10"},
    [DL_CAT_HARASSMENT_THREATENING] = {"harassment/threatening", "S1,S10"},
    [DL_CAT_HATE] = {"hate", "S10"},
    [DL_CAT_HATE_THREATENING] = {"hate/threatening", "S1,S10"},
    [DL_CAT_ILLICIT] = {"illicit", "S2,S7,S8,S14"},
    [DL_CAT_ILLICIT_VIOLENT] = {"illicit/violent", "S1,S9"},
    [DL_CAT_SELF_HARM] = {"self-harm", "S11"},
    [DL_CAT_SELF_HARM_INTENT] = {"self-harm/intent", "S11"},
    [DL_CAT_SELF_HARM_INSTRUCTIONS] = {"self-harm/instructions", "S11"},
    [DL_CAT_SEXUAL] = {"sexual", "S3,S12"},
    [DL_CAT_SEXUAL_MINORS] = {"sexual/minors", "S4"},
    [DL_CAT_VIOLENCE] = {"violence", "S1"},
    [DL_CAT_VIOLENCE_GRAPHIC] = {"violence/graphic", "S1"},
};

const char *dl_category_name(dl_category c) {
    return (unsigned)c < DL_CAT__COUNT ? CATEGORIES[c].name : "unknown";
}

int dl_category_parse(const char *name, dl_category *out) {
    if (!name) return -1;
    for (int i = 0; i < DL_CAT__COUNT; i++)
        if (strcmp(CATEGORIES[i].name, name) == 0) {
            if (out) *out = (dl_category)i;
            return 0;
        }
    return -1;
}

const char *dl_category_mlcommons(dl_category c) {
    return (unsigned)c < DL_CAT__COUNT ? CATEGORIES[c].mlcommons : "";
}

const char *dl_action_name(dl_action a) {
    switch (a) {
    case DL_ACTION_ALLOW: return "allow";
    case DL_ACTION_SAFE_COMPLETE: return "safe_complete";
    case DL_ACTION_SOFT_REFUSE: return "soft_refuse";
    case DL_ACTION_HARD_REFUSE: return "hard_refuse";
    case DL_ACTION_BLOCK: return "block";
    }
    return "unknown";
}

const char *dl_layer_name(dl_layer l) {
    switch (l) {
    case DL_LAYER_NONE: return "none";
    case DL_LAYER_CLASSIFIER: return "classifier";
    case DL_LAYER_POLICY: return "policy";
    case DL_LAYER_GUARD: return "guard";
    case DL_LAYER_COT_MONITOR: return "cot_monitor";
    case DL_LAYER_CARE: return "care";
    }
    return "unknown";
}
