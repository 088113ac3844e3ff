/* dl_matmul: converts the activations once (split by tokens across the
 * pool), then multiplies (split by weight rows). Within a thread, rows are
 * taken in blocks whose weights fit in L2, so prefill re-reads weights from
 * cache, not memory, for every group of tokens. */
#include <string.h>

#include "kernels_int.h"

#ifndef DL_L2_BLOCK_BYTES
#define DL_L2_BLOCK_BYTES (192 * 1024) /* weights per row block in prefill */
#endif

void dl_matmul_ws_free(dl_matmul_ws *ws) {
    if (!ws) return;
    dl_aligned_free(ws->buf);
    ws->buf = NULL;
    ws->cap = 0;
}

typedef struct mm_job {
    const dl_type_traits *tt;
    dl_quant_fn act_quant;
    dl_gemm_fn gemm;
    const char *w;
    size_t wstride;
    int64_t rows, cols;
    const float *x;
    int64_t n_tok;
    char *act;
    size_t astride;
    float *y;
    int64_t ldy;
} mm_job;

static void quant_task(void *ctx, int ith, int nth) {
    mm_job *j = ctx;
    int64_t b, e;
    dl_split_range(j->n_tok, ith, nth, 1, &b, &e);
    for (int64_t t = b; t < e; t++)
        j->act_quant(j->x + t * j->cols, j->act + (size_t)t * j->astride, j->cols);
}

static void gemm_task(void *ctx, int ith, int nth) {
    mm_job *j = ctx;
    int64_t b, e;
    dl_split_range(j->rows, ith, nth, 4, &b, &e);
    if (b >= e) return;
    int64_t rb = e - b;
    if (j->n_tok > 1) {
        rb = (int64_t)(DL_L2_BLOCK_BYTES / j->wstride) & ~(int64_t)3;
        if (rb < 4) rb = 4;
    }
    for (int64_t r = b; r < e; r += rb) {
        int64_t nr = DL_MIN(rb, e - r);
        j->gemm(j->cols, j->w + (size_t)r * j->wstride, j->wstride, nr, j->act, j->astride, j->n_tok,
                j->y + r, j->ldy);
    }
}

int dl_matmul(dl_pool *pool, dl_matmul_ws *ws, int type, const void *w, int64_t rows,
              int64_t cols, const float *x, int64_t n_tok, float *y, int64_t ldy,
              dl_error *err) {
    const dl_type_traits *tt = dl_traits(type);
    if (!tt) return dl_error_set(err, 501, "matmul: unsupported tensor type %d", type);
    if (cols <= 0 || cols % tt->blck)
        return dl_error_set(err, 400, "matmul: %s row length %lld is not a positive multiple of %lld",
                            tt->name, (long long)cols, (long long)tt->blck);
    if (rows < 0 || n_tok < 0 || (n_tok > 1 && ldy < rows))
        return dl_error_set(err, 400, "matmul: bad shape (rows %lld, n_tok %lld, ldy %lld)",
                            (long long)rows, (long long)n_tok, (long long)ldy);
    if (rows == 0 || n_tok == 0) return 0;
    if (!w || !x || !y) return dl_error_set(err, 400, "matmul: NULL operand");

    mm_job j = {.tt = tt, .gemm = dl_gemm_for(dl_isa(), type), .w = w,
                .wstride = dl_row_size(type, cols), .rows = rows, .cols = cols, .x = x,
                .n_tok = n_tok, .y = y, .ldy = ldy};
    if (tt->act_quant) {
        const dl_isa_table *isa = dl_isa();
        j.act_quant = isa->act_quant[type] ? isa->act_quant[type] : tt->act_quant;
        j.astride = dl_row_size(tt->act_type, cols);
        j.astride = (j.astride + 63) & ~(size_t)63; /* every activation row 64-byte aligned */
        size_t need = j.astride * (size_t)n_tok;
        if (!ws) return dl_error_set(err, 500, "matmul: no workspace for quantised activations");
        if (ws->cap < need) {
            void *p = dl_aligned_alloc(need);
            if (!p) return dl_error_set(err, 500, "matmul: out of memory (%zu bytes)", need);
            dl_aligned_free(ws->buf);
            ws->buf = p;
            ws->cap = need;
        }
        j.act = ws->buf;
        if (n_tok == 1 || !pool || dl_pool_size(pool) == 1) quant_task(&j, 0, 1);
        else dl_pool_run(pool, quant_task, &j);
    } else {
        j.act = (char *)x;
        j.astride = (size_t)cols * sizeof(float);
    }
    if (!pool || dl_pool_size(pool) == 1) gemm_task(&j, 0, 1);
    else dl_pool_run(pool, gemm_task, &j);
    return 0;
}
