/* eval/grade_simpleqa: SimpleQA's grading method, judged by a model.
 *
 * The judge gets the question, the gold target and the predicted answer
 * with the rules below and answers with one letter: A = CORRECT,
 * B = INCORRECT, C = NOT_ATTEMPTED. The letter is read with reason's choice
 * extractor ("B", "(B)", "The answer is: C"), or from a reply that is only
 * one grade word ("INCORRECT") or names one grade in capitals; anything else
 * is a malformed reply (400), never a default grade. Verdict: grade,
 * letter, score (1 = CORRECT), judge_raw. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eval_int.h"

static const char SYSTEM[] =
    "You grade answers to short factual questions. Apply the rules exactly and reply with a "
    "single letter.";

static const char RULES[] =
    "Your task: compare a predicted answer with the gold target for a question and give it one "
    "of three grades.\n\n"
    "A = CORRECT. The predicted answer states the gold target (its essential meaning) and says "
    "nothing that contradicts it.\n"
    "- Only meaning counts: capitalisation, punctuation, grammar, word order and small spelling "
    "slips in names do not matter.\n"
    "- Hedging or guessing is acceptable (\"I believe it was X, but I'm not certain\") as long "
    "as the answer finally given is the gold target.\n"
    "- Extra information is acceptable if none of it contradicts the gold target.\n"
    "- The answer only has to answer the question: if the gold target holds more than the "
    "question asks for, or part of it is obvious from the question, leaving that part out is "
    "fine (question \"Which city is the company based in?\", gold \"Austin, Texas\": \"Austin\" "
    "is CORRECT).\n\n"
    "B = INCORRECT. The predicted answer makes a factual claim that contradicts the gold target.\n"
    "- A hedged answer that is wrong is INCORRECT (\"I'm not sure, but I think it was Y\" when "
    "the gold target is X).\n"
    "- An answer that offers several candidates, any of which is wrong, is INCORRECT (\"it was "
    "either X or Y\").\n"
    "- An answer that first gives the gold target and then takes it back or contradicts it is "
    "INCORRECT.\n\n"
    "C = NOT_ATTEMPTED. The predicted answer does not commit to the gold target and does not "
    "contradict it either.\n"
    "- Examples: \"I don't know\", \"I can't find that information\", \"I would need to look it "
    "up\", a refusal, or a vague statement that neither gives nor excludes the gold target.\n"
    "- Giving correct surrounding facts while leaving out the asked-for answer is NOT_ATTEMPTED.\n\n"
    "Numbers: a numeric answer must match the gold target to the gold target's last "
    "significant figure. With gold \"3,400\", the answers \"3,400\", \"3,420\" and \"3,350\" "
    "are CORRECT; \"3,000\" and \"3,600\" are INCORRECT; \"a few thousand\" or \"over 2,000\" "
    "are NOT_ATTEMPTED because they neither confirm nor contradict it.\n\n"
    "Grade only the predicted answer against the gold target; do not judge the question, and "
    "do not use your own knowledge to overrule the gold target.\n\n";

static const char *grade_name(char letter) {
    return letter == 'A' ? "CORRECT" : letter == 'B' ? "INCORRECT" : "NOT_ATTEMPTED";
}

/* The grade word of `w[0..n)` (any case), or 0. */
static char grade_word(const char *w, size_t n) {
    if (n == 7 && !strncasecmp(w, "CORRECT", 7)) return 'A';
    if (n == 9 && !strncasecmp(w, "INCORRECT", 9)) return 'B';
    if (n == 13 && (!strncasecmp(w, "NOT_ATTEMPTED", 13) || !strncasecmp(w, "NOT ATTEMPTED", 13)))
        return 'C';
    return 0;
}

static bool is_wordc(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* Grade words written in capitals ("... so the grade is INCORRECT"): the
 * letter when all such words agree, 0 when none, '?' when they disagree. */
static char capital_grade(const char *raw) {
    static const char *const words[] = {"NOT_ATTEMPTED", "NOT ATTEMPTED", "INCORRECT", "CORRECT"};
    char found = 0;
    for (const char *p = raw; *p; p++) {
        if (p > raw && is_wordc(p[-1])) continue;
        for (size_t w = 0; w < 4; w++) {
            size_t n = strlen(words[w]);
            if (strncmp(p, words[w], n) != 0 || is_wordc(p[n])) continue;
            char g = grade_word(words[w], n);
            if (found && found != g) return '?';
            found = g;
            p += n - 1;
            break;
        }
    }
    return found;
}

/* A letter A-C standing alone after the last cue word ("Grade: B",
 * "verdict is C"), or 0. */
static char cued_letter(const char *raw) {
    static const char *const cues[] = {"grade", "verdict", "letter"};
    char found = 0;
    for (size_t c = 0; c < DL_ARRAY_LEN(cues); c++) {
        size_t n = strlen(cues[c]);
        for (const char *p = strcasestr(raw, cues[c]); p; p = strcasestr(p + n, cues[c])) {
            if (p > raw && is_wordc(p[-1])) continue;
            const char *q = p + n;
            while (*q == ' ' || *q == ':' || *q == '*' || *q == '=' || *q == '"' || *q == '\'')
                q++;
            if (!strncasecmp(q, "is ", 3)) q += 3;
            while (*q == ' ' || *q == '*' || *q == '"' || *q == '(') q++;
            if (*q >= 'A' && *q <= 'C' && !is_wordc(q[1])) found = *q;
        }
    }
    return found;
}

/* The grade letter of a judge reply, or 0 when it cannot be read. */
static char parse_letter(const char *raw) {
    char *a = dl_extract_answer(raw, DL_EXTRACT_CHOICE);
    if (!a) {
        /* "B\nbecause ...": the first non-empty line alone */
        const char *s = raw;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        const char *nl = strchr(s, '\n');
        if (nl) {
            char *line = dl_xstrndup(s, (size_t)(nl - s));
            a = dl_extract_answer(line, DL_EXTRACT_CHOICE);
            free(line);
        }
    }
    if (a) {
        char c = a[1] ? 0 : a[0];
        free(a);
        return c == 'A' || c == 'B' || c == 'C' ? c : 0;
    }
    char c = cued_letter(raw);
    if (c) return c;
    /* a reply that is one grade word, markdown and punctuation aside */
    const char *s = raw, *e = raw + strlen(raw);
    while (s < e && !is_wordc(*s)) s++;
    while (e > s && !is_wordc(e[-1])) e--;
    char g = grade_word(s, (size_t)(e - s));
    if (g) return g;
    g = capital_grade(raw);
    return g == '?' ? 0 : g;
}

int dl_grader_simpleqa(const char *prompt, const char *response, const json_t *ref,
                       const dl_grade_ctx *ctx, json_t **verdict, dl_error *err) {
    *verdict = NULL;
    const char *gold = dl_json_str(ref, "answer");
    const char *question = dl_json_str(ref, "question");
    if (!question || !*question) question = prompt;
    if (!gold || !*gold)
        return dl_error_set(err, 400, "simpleqa: needs the gold target (ref.answer)");
    if (!question || !*question)
        return dl_error_set(err, 400, "simpleqa: needs the question (ref.question or the prompt)");
    dl_buf user = {0};
    dl_buf_printf(&user,
                  "%sQuestion: %s\nGold target: %s\nPredicted answer: %s\n\n"
                  "Grade the predicted answer. Reply with only the letter: A (CORRECT), "
                  "B (INCORRECT) or C (NOT_ATTEMPTED).",
                  RULES, question, gold, response ? response : "");
    char *raw = dl_eval_judge_ask(ctx ? ctx->judge : NULL, SYSTEM, user.data, ctx ? ctx->seed : 0,
                                  256, err);
    dl_buf_free(&user);
    if (!raw) return -1;
    char letter = parse_letter(raw);
    if (!letter) {
        char ex[120];
        size_t k = 0;
        for (const char *p = raw; *p && k + 1 < sizeof ex; p++) ex[k++] = *p == '\n' ? ' ' : *p;
        ex[k] = 0;
        dl_error_set(err, 400, "simpleqa: malformed judge reply, expected A, B or C (reply: \"%s\")",
                     ex);
        free(raw);
        return -1;
    }
    char l[2] = {letter, 0};
    *verdict = json_pack("{s:f,s:s,s:s,s:s}", "score", letter == 'A' ? 1.0 : 0.0, "grade", grade_name(letter),
                         "letter", l, "judge_raw", raw);
    free(raw);
    return 0;
}
