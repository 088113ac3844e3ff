/* Self-consistency: majority vote over extracted answers. */
#include "reason.h"

#include <math.h>
#include <string.h>

/* NaN log-probabilities rank below everything. */
static double rank_lp(double lp) { return isnan(lp) ? -INFINITY : lp; }

static bool same_answer(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* For each distinct answer (counted at its first item): its count and its
 * best item (highest mean_logprob, the earlier on equal ones). The winner has
 * the most items; ties go to the higher best mean_logprob, then to the
 * answer that appears first. NULL answers only take part when all are NULL;
 * then the best item wins and *votes is 0 (no sample carried an answer). */
int dl_vote_majority(const dl_vote_item *items, size_t n, int *votes)
{
    if (votes) *votes = 0;
    if (n == 0 || !items) return -1;
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) any = items[i].answer != NULL;
    int win = -1, win_count = 0;
    double win_lp = 0;
    for (size_t i = 0; i < n; i++) {
        if (any && !items[i].answer) continue;
        bool seen = false; /* counted with an earlier item already */
        for (size_t j = 0; j < i && !seen; j++) seen = same_answer(items[j].answer, items[i].answer);
        if (seen) continue;
        int count = 0;
        size_t best = i;
        for (size_t j = i; j < n; j++) {
            if (!same_answer(items[j].answer, items[i].answer)) continue;
            count++;
            if (rank_lp(items[j].mean_logprob) > rank_lp(items[best].mean_logprob)) best = j;
        }
        double lp = rank_lp(items[best].mean_logprob);
        if (win < 0 || count > win_count || (count == win_count && lp > win_lp)) {
            win = (int)best;
            win_count = count;
            win_lp = lp;
        }
    }
    if (votes) *votes = any ? win_count : 0;
    return win;
}
