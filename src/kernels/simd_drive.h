/* The tile driver shared by the SIMD kernel files (no intrinsics here). */
#ifndef DL_SIMD_DRIVE_H
#define DL_SIMD_DRIVE_H

#include "kernels_int.h"

typedef void (*tile_fn)(int64_t n, const char *w, size_t ws, const void *a, size_t as, float *y,
                        int64_t ldy);

/* Walks rows in tiles of rt, tokens in tiles of tt; tiles[nr-1][nt-1]
 * computes one tile. `prep` (may be NULL) repacks a token tile first. */
typedef void *(*prep_fn)(int64_t n, const char *a, size_t as, int nt, size_t *pstride);

/* Set by drive() for the tiles of the current call: true when the token
 * tiles pass over the weight rows at most twice (nt <= 2 token tiles), so
 * the first pass streams the weights from memory and the tiles prefetch
 * ahead in each row, as when decoding one token (batched decoding of a few
 * sequences). */
static _Thread_local bool dl_drive_stream;

static inline void drive(int64_t n, const void *w, size_t ws, int64_t nr, const void *a, size_t as,
                  int64_t nt, float *y, int64_t ldy, int rt, int tt, tile_fn tiles[4][4],
                  prep_fn prep) {
    dl_drive_stream = nt <= 2 * tt;
    for (int64_t t0 = 0; t0 < nt; t0 += tt) {
        int ntt = (int)DL_MIN(tt, nt - t0);
        const char *at = (const char *)a + (size_t)t0 * as;
        size_t ps = as;
        const void *ap = prep ? prep(n, at, as, ntt, &ps) : at;
        for (int64_t r0 = 0; r0 < nr; r0 += rt) {
            int nrr = (int)DL_MIN(rt, nr - r0);
            tiles[nrr - 1][ntt - 1](n, (const char *)w + (size_t)r0 * ws, ws, ap, ps, y + t0 * ldy + r0,
                                    ldy);
        }
    }
}

#define DL_TILES(PREFIX)                                                                      \
    DL_TILE(PREFIX, 1, 1) DL_TILE(PREFIX, 1, 2) DL_TILE(PREFIX, 1, 3) DL_TILE(PREFIX, 1, 4)   \
    DL_TILE(PREFIX, 2, 1) DL_TILE(PREFIX, 2, 2) DL_TILE(PREFIX, 2, 3) DL_TILE(PREFIX, 2, 4)   \
    DL_TILE(PREFIX, 3, 1) DL_TILE(PREFIX, 3, 2) DL_TILE(PREFIX, 3, 3) DL_TILE(PREFIX, 3, 4)   \
    DL_TILE(PREFIX, 4, 1) DL_TILE(PREFIX, 4, 2) DL_TILE(PREFIX, 4, 3) DL_TILE(PREFIX, 4, 4)   \
    static tile_fn PREFIX##_tiles[4][4] = {                                                   \
        {PREFIX##_1_1, PREFIX##_1_2, PREFIX##_1_3, PREFIX##_1_4},                             \
        {PREFIX##_2_1, PREFIX##_2_2, PREFIX##_2_3, PREFIX##_2_4},                             \
        {PREFIX##_3_1, PREFIX##_3_2, PREFIX##_3_3, PREFIX##_3_4},                             \
        {PREFIX##_4_1, PREFIX##_4_2, PREFIX##_4_3, PREFIX##_4_4}};

#endif
