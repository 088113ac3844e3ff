/* safety/confusables: letters that look like ASCII letters, after NFKC and
 * case folding (fullwidth and mathematical letters are already ASCII by
 * then). A hand-picked subset of Unicode's confusables list: the letters
 * obfuscators use (Cyrillic and Greek homoglyphs, IPA and small capitals,
 * Latin letters with strokes, enclosed letters). */
#include "safety_int.h"

typedef struct confusable {
    uint32_t cp;
    char ascii;
    bool cond; /* another script: mapped only in mixed or all-look-alike words */
} confusable;

/* Sorted by cp. */
static const confusable TABLE[] = {
    {0x00F0, 'd', false}, {0x00F8, 'o', false}, {0x0111, 'd', false}, {0x0127, 'h', false},
    {0x0131, 'i', false}, {0x0138, 'k', false}, {0x0142, 'l', false}, {0x0167, 't', false},
    {0x0180, 'b', false}, {0x0183, 'b', false}, {0x0188, 'c', false}, {0x018C, 'd', false},
    {0x0192, 'f', false}, {0x0199, 'k', false}, {0x019A, 'l', false}, {0x01A5, 'p', false},
    {0x01AB, 't', false}, {0x01AD, 't', false}, {0x01B4, 'y', false}, {0x01B6, 'z', false},
    {0x0237, 'j', false}, {0x023C, 'c', false}, {0x0247, 'e', false}, {0x0249, 'j', false},
    {0x024D, 'r', false}, {0x024F, 'y', false}, {0x0250, 'a', false}, {0x0251, 'a', false},
    {0x0253, 'b', false}, {0x0255, 'c', false}, {0x0256, 'd', false}, {0x0257, 'd', false},
    {0x025B, 'e', false}, {0x0260, 'g', false}, {0x0261, 'g', false}, {0x0262, 'g', false},
    {0x0266, 'h', false}, {0x0268, 'i', false}, {0x0269, 'i', false}, {0x026A, 'i', false},
    {0x026B, 'l', false}, {0x026C, 'l', false}, {0x026D, 'l', false}, {0x0271, 'm', false},
    {0x0272, 'n', false}, {0x0273, 'n', false}, {0x0274, 'n', false}, {0x0275, 'o', false},
    {0x027C, 'r', false}, {0x027D, 'r', false}, {0x027E, 'r', false}, {0x0280, 'r', false},
    {0x0282, 's', false}, {0x0288, 't', false}, {0x0289, 'u', false}, {0x028B, 'v', false},
    {0x028F, 'y', false}, {0x0290, 'z', false}, {0x0291, 'z', false}, {0x0299, 'b', false},
    {0x029C, 'h', false}, {0x029D, 'j', false}, {0x029F, 'l', false}, {0x02A0, 'q', false},
    /* Greek (lower case; the upper-case forms that look different are
     * handled in normalize.c before folding) */
    {0x03B1, 'a', true}, {0x03B2, 'b', true}, {0x03B3, 'y', true}, {0x03B5, 'e', true},
    {0x03B7, 'n', true}, {0x03B9, 'i', true}, {0x03BA, 'k', true}, {0x03BC, 'u', true},
    {0x03BD, 'v', true}, {0x03BF, 'o', true}, {0x03C1, 'p', true}, {0x03C4, 't', true},
    {0x03C5, 'u', true}, {0x03C7, 'x', true}, {0x03C9, 'w', true}, {0x03F2, 'c', true},
    {0x03F3, 'j', true},
    /* Cyrillic */
    {0x0430, 'a', true}, {0x0432, 'b', true}, {0x0433, 'r', true}, {0x0435, 'e', true},
    {0x043A, 'k', true}, {0x043C, 'm', true}, {0x043D, 'h', true}, {0x043E, 'o', true},
    {0x0440, 'p', true}, {0x0441, 'c', true}, {0x0442, 't', true}, {0x0443, 'y', true},
    {0x0445, 'x', true}, {0x044C, 'b', true}, {0x0450, 'e', true}, {0x0451, 'e', true},
    {0x0455, 's', true}, {0x0456, 'i', true}, {0x0457, 'i', true}, {0x0458, 'j', true},
    {0x045B, 'h', true}, {0x0461, 'w', true}, {0x0475, 'v', true}, {0x0493, 'f', true},
    {0x04AB, 'c', true}, {0x04AF, 'y', true}, {0x04BB, 'h', true}, {0x04BD, 'e', true},
    {0x04CF, 'l', true}, {0x04D1, 'a', true}, {0x04D3, 'a', true}, {0x04E7, 'o', true},
    {0x0501, 'd', true}, {0x051B, 'q', true}, {0x051D, 'w', true},
    /* Armenian */
    {0x0563, 'q', true}, {0x0566, 'q', true}, {0x0570, 'h', true}, {0x0578, 'n', true},
    {0x057D, 'u', true}, {0x0581, 'g', true}, {0x0585, 'o', true},
    /* small capitals */
    {0x1D00, 'a', false}, {0x1D04, 'c', false}, {0x1D05, 'd', false}, {0x1D07, 'e', false},
    {0x1D0A, 'j', false}, {0x1D0B, 'k', false}, {0x1D0D, 'm', false}, {0x1D0F, 'o', false},
    {0x1D18, 'p', false}, {0x1D1B, 't', false}, {0x1D1C, 'u', false}, {0x1D20, 'v', false},
    {0x1D21, 'w', false}, {0x1D22, 'z', false},
    {0x212E, 'e', false}, {0x2C65, 'a', false}, {0x2C66, 't', false},
    {0xA730, 'f', false}, {0xA731, 's', false},
};

char dl_confusable_ascii(uint32_t cp, bool *conditional) {
    if (conditional) *conditional = false;
    if (cp < 0x00F0) return 0;
    /* negative circled, negative squared letters and regional indicators */
    if (cp >= 0x1F150 && cp <= 0x1F169) return (char)('a' + (cp - 0x1F150));
    if (cp >= 0x1F170 && cp <= 0x1F189) return (char)('a' + (cp - 0x1F170));
    if (cp >= 0x1F1E6 && cp <= 0x1F1FF) return (char)('a' + (cp - 0x1F1E6));
    size_t lo = 0, hi = DL_ARRAY_LEN(TABLE);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (TABLE[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo < DL_ARRAY_LEN(TABLE) && TABLE[lo].cp == cp) {
        if (conditional) *conditional = TABLE[lo].cond;
        return TABLE[lo].ascii;
    }
    return 0;
}
