/* fp16 / bf16 conversions (bit-exact, round to nearest even). */
#include <string.h>

#include "base.h"

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float dl_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t mant = h & 0x3FF;
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        /* subnormal: value = mant * 2^-24 */
        float v = (float)mant * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return bits_f32(sign | 0x7F800000u | (mant << 13));
    return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t dl_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7FFFFFFF;
    if (ax > 0x7F800000u) return (uint16_t)(sign | 0x7E00); /* NaN */
    if (ax >= 0x47800000u) {                                 /* >= 65536: overflow or inf */
        /* values that round to < 65520 stay finite; handled below otherwise */
        if (ax == 0x7F800000u || ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00);
    }
    if (ax >= 0x38800000u) { /* normal half range */
        uint32_t mant = ax & 0x7FFFFF;
        uint32_t exp = (ax >> 23) - 112;
        uint32_t h = (exp << 10) | (mant >> 13);
        uint32_t rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
        if (h >= 0x7C00) return (uint16_t)(sign | 0x7C00);
        return (uint16_t)(sign | h);
    }
    if (ax < 0x33000000u) return (uint16_t)sign; /* < 2^-25: rounds to zero */
    /* subnormal half: value / 2^-24, rounded to nearest even */
    uint32_t exp = ax >> 23;
    uint32_t mant = (ax & 0x7FFFFF) | 0x800000;
    uint32_t shift = 126 - exp; /* 14..24 */
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

float dl_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t dl_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7FFFFFFF) > 0x7F800000u) return (uint16_t)((x >> 16) | 64); /* quiet NaN */
    return (uint16_t)((x + (0x7FFF + ((x >> 16) & 1))) >> 16);
}
