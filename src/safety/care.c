/* safety/care: care in long conversations (docs/safety.md, "Care"):
 * emotional-reliance cues in a user message, and break reminders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safety_int.h"

#define CARE_MAX_INPUT ((size_t)64 << 10) /* cues are looked for in the first 64 KB */
#define CARE_DEFAULT_TURNS 40
#define CARE_DEFAULT_MINUTES 120.0

/* Cue phrases, in the canonical form built by canonical(): lower case,
 * words separated by one space, no apostrophes, "you are" -> "youre",
 * "i am" -> "im", "cannot"/"can not" -> "cant", "do not" -> "dont",
 * "i would" -> "id". */
static const char *const CUES[] = {
    "youre the only one i can talk to",     "youre the only one i talk to",
    "youre the only one who understands me", "youre the only one that understands me",
    "youre the only one who gets me",        "youre the only one who listens",
    "youre the only one i have",             "youre the only one i trust",
    "only you understand me",                "you understand me better than anyone",
    "youre all i have",                      "youre all i need",
    "youre my only friend",                  "my only friend is you",
    "youre my best friend",                  "youre my everything",
    "i cant live without you",               "i cant live without talking to you",
    "i cant go a day without talking to you", "i cant stop talking to you",
    "i cant function without you",           "i cant cope without you",
    "i dont need anyone else",               "i dont need anybody else",
    "i dont need other people",              "i dont need real friends",
    "i dont have anyone else",               "i have no one else",
    "i have nobody else",                    "i dont have anybody else",
    "no one else understands me",            "nobody else understands me",
    "nobody understands me like you",        "no one understands me like you",
    "no one gets me like you",               "nobody gets me like you",
    "id rather talk to you than",            "i prefer talking to you",
    "i prefer you to real people",           "i only talk to you",
    "im in love with you",                   "im addicted to talking to you",
    "im addicted to you",                    "dont leave me",
    "without you i would",                   "without you id",
    "talking to you is the only thing",      "i talk to you more than",
    "i spend all day talking to you",        "you are the reason i keep going",
    "youre the reason i keep going",         "youre the only reason i",
    "i need you more than",                  "i depend on you",
};

static const struct {
    const char *from, *to;
} CONTRACT[] = {
    {" you are ", " youre "}, {" i am ", " im "},     {" can not ", " cant "},
    {" cannot ", " cant "},   {" do not ", " dont "}, {" i would ", " id "},
    {" you re ", " youre "},  {" i m ", " im "},      {" i d ", " id "},
};

/* " word word ... " from the normalised text: letters and digits kept,
 * apostrophes dropped, anything else a space, contractions unified. */
static char *canonical(const char *norm) {
    size_t n = strlen(norm);
    char *c = dl_xmalloc(n + 3);
    size_t k = 0;
    c[k++] = ' ';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)norm[i];
        if (ch == '\'') continue;
        bool keep = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80;
        char out = keep ? (char)ch : ' ';
        if (out == ' ' && c[k - 1] == ' ') continue;
        c[k++] = out;
    }
    if (c[k - 1] != ' ') c[k++] = ' ';
    c[k] = '\0';
    /* contractions (each replacement is no longer than what it replaces) */
    for (size_t r = 0; r < DL_ARRAY_LEN(CONTRACT); r++) {
        size_t fl = strlen(CONTRACT[r].from), tl = strlen(CONTRACT[r].to);
        char *p;
        size_t from = 0;
        while ((p = strstr(c + from, CONTRACT[r].from)) != NULL) {
            memcpy(p, CONTRACT[r].to, tl);
            memmove(p + tl, p + fl, strlen(p + fl) + 1);
            from = (size_t)(p - c) + tl - 1; /* keep the trailing space for the next match */
        }
    }
    return c;
}

bool dl_care_reliance(const char *text, size_t len) {
    if (!text || len == 0) return false;
    if (len > CARE_MAX_INPUT) len = CARE_MAX_INPUT;
    dl_norm nm;
    dl_normalize(text, len, &nm);
    char *c = canonical(nm.text);
    dl_norm_free(&nm);
    bool hit = false;
    char pat[96];
    for (size_t i = 0; i < DL_ARRAY_LEN(CUES) && !hit; i++) {
        /* whole words: " cue" followed by a space */
        snprintf(pat, sizeof pat, " %s ", CUES[i]);
        hit = strstr(c, pat) != NULL;
    }
    free(c);
    return hit;
}

bool dl_care_break_due(int n_turns, double minutes, int max_turns, double max_minutes) {
    if (max_turns <= 0) max_turns = CARE_DEFAULT_TURNS;
    if (!(max_minutes > 0)) max_minutes = CARE_DEFAULT_MINUTES;
    return n_turns >= max_turns || minutes >= max_minutes;
}

const char *dl_care_break_text(void) {
    return "You've been chatting for a while. This might be a good moment for a short break: "
           "stretch, get some water, or check in with someone you know. I'll be here if you "
           "want to pick up again afterwards.";
}
