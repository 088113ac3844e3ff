/* Letter counting: "how many r's are in strawberry?". The trace spells the
 * word one letter per line with the running count: front to back, front to
 * back with the target beside each letter, or back to front. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

static const char *const WORDS[] = {
    "cat", "dog", "sun", "tree", "book", "moon", "fish", "bird", "star", "milk", "rain", "door",
    "apple", "lemon", "grape", "water", "house", "river", "stone", "cloud", "bread", "green",
    "banana", "cherry", "orange", "pepper", "garden", "winter", "summer", "butter", "bottle",
    "letter", "rabbit", "yellow", "coffee", "cookie", "mirror", "pillow", "tomato", "carrot",
    "strawberry", "raspberry", "blueberry", "chocolate", "elephant", "mountain", "computer",
    "keyboard", "sandwich", "umbrella", "mississippi", "tennessee", "committee", "bookkeeper",
    "assessment", "possession", "embarrass", "occurrence", "necessary", "accommodate",
    "millennium", "parallel", "pineapple", "watermelon", "hippopotamus", "programming",
    "engineering", "independence", "abracadabra", "bananas", "balloon", "coffee", "success",
    "address", "character", "difference", "excellent", "beginning", "different", "tomorrow",
    "yesterday", "sometimes", "restaurant", "beautiful", "vegetable", "dictionary", "chemistry",
    "philosophy", "mathematics", "reasoning", "deliberate", "referee", "papaya", "llama",
    "zebra", "giraffe", "kangaroo", "penguin", "dolphin", "octopus", "squirrel", "butterfly",
    "caterpillar", "grasshopper", "peppermint", "cinnamon", "broccoli", "spaghetti", "avocado",
};

static const char *const LET_Q[] = {
    "How many {0}'s are in {1}?", "how many {0}s in {1}", "How many times does the letter {0} appear in \"{1}\"?",
    "Count the letter {0} in the word {1}.", "how many {0} are there in {1}?", "number of {0}'s in {1}?",
    "In the word \"{1}\", how many {0}'s are there?", "Count how many times '{0}' occurs in '{1}'.",
    "how many {0} in {1}", "How often does {0} occur in the word {1}?",
    "{1}: how many {0}'s?", "How many letter {0}s does {1} have?", "count the {0}s in {1}",
    "What's the number of {0}'s in \"{1}\"?", "how many {0}'s does the word {1} contain",
};

static const int LEN_LO[] = {3, 5, 7, 9, 11}, LEN_HI[] = {4, 6, 8, 10, 40};

void dl_task_gen_letters(int level, dl_trng *r, dl_problem *out) {
    char word[48];
    const char *w = NULL;
    if (level < 5 || dl_trng_range(r, 0, 1)) {
        /* a dictionary word of the level's length (or any word if none fits) */
        size_t fit[DL_ARRAY_LEN(WORDS)], nf = 0;
        for (size_t i = 0; i < DL_ARRAY_LEN(WORDS); i++) {
            int len = (int)strlen(WORDS[i]);
            if (len >= LEN_LO[level - 1] && len <= LEN_HI[level - 1]) fit[nf++] = i;
        }
        w = nf ? WORDS[fit[dl_trng_range(r, 0, (int64_t)nf - 1)]] : dl_tpick(r, WORDS, DL_ARRAY_LEN(WORDS));
        snprintf(word, sizeof word, "%s", w);
    } else {
        /* a made-up word: letters from a small alphabet so repeats happen */
        int len = (int)dl_trng_range(r, 6, 14);
        for (int i = 0; i < len; i++) word[i] = "abcdeilmnorst"[dl_trng_range(r, 0, 12)];
        word[len] = '\0';
    }
    size_t n = strlen(word);
    char letter = dl_trng_range(r, 0, 9) < 7 ? word[dl_trng_range(r, 0, (int64_t)n - 1)]
                                              : (char)('a' + dl_trng_range(r, 0, 25));
    out->canon = dl_tstrf("letters %c %s", letter, word);
    char ls[2] = {letter, 0};
    const char *args[] = {ls, word};
    out->question = dl_tsubst(dl_tpick(r, LET_Q, DL_ARRAY_LEN(LET_Q)), args, 2);
    dl_tcasual(r, out->question);
    /* three ways to count, drawn per problem (their mistakes differ, which is
     * what majority votes and RL's choice of method work on) */
    char *traces[3];
    int count = 0;
    for (int how = 0; how < 3; how++) {
        dl_buf t = {0};
        static const char *const HOW[] = {"letter by letter", "comparing each letter with", "from the last letter back"};
        if (how == 1) dl_buf_printf(&t, "count %c in %s, %s %c:\n", letter, word, HOW[how], letter);
        else dl_buf_printf(&t, "count %c in %s, %s:\n", letter, word, HOW[how]);
        count = 0;
        for (size_t k = 0; k < n; k++) {
            size_t i = how == 2 ? n - 1 - k : k;
            if (word[i] == letter) count++;
            /* "3 p no 0": the position keeps the place in the word, and after a
             * space the letter is the same token as the target in the line above;
             * "3 p vs e: no 0" puts the two letters side by side */
            if (how == 1)
                dl_buf_printf(&t, "%zu %c vs %c: %s %d\n", i + 1, word[i], letter, word[i] == letter ? "yes" : "no", count);
            else
                dl_buf_printf(&t, "%zu %c %s %d\n", i + 1, word[i], word[i] == letter ? "yes" : "no", count);
        }
        dl_buf_printf(&t, "%d", count);
        traces[how] = t.data;
    }
    dl_tchoose_trace(r, out, traces, 3);
    out->answer = dl_tstrf("%d", count);
}
