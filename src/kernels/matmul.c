/* dl_matmul / dl_matmul_multi: converts the activations once per format
 * (split by tokens across the pool when there are several), then multiplies.
 *
 * The rows of all the products of one call are cut into chunks that the
 * threads claim from a shared counter, so a thread the OS delays does not
 * leave the others waiting at the end of the call:
 * - up to MM_STREAM_MAX_TOK tokens (decoding, batched decoding of a few
 *   sequences: one token tile, so every kernel passes over the weights once):
 *   guided chunks, each about 1/(2 nth) of the bytes still unassigned (between
 *   MM_MIN_CHUNK and max(MM_MAX_CHUNK, total / (MM_MAX_CHUNKS / 2))), so the
 *   first chunks are long streams and the last ones short;
 * - more tokens: blocks of rows whose weights fit in L2 (prefill then
 *   re-reads the weights from cache, not memory, for every token tile), or
 *   for a kernel that works on panels (dl_isa_table.panel_rows) guided
 *   chunks of whole panels (about 1/(2 nth) of what is left, at most
 *   MM_PANEL_CHUNK bytes of weights): the panel, not the block, is what
 *   stays in cache, and the kernel prefetches one panel ahead within a
 *   chunk, so long chunks stall less often on their first panel and the
 *   short last ones keep the threads finishing together.
 * Chunk boundaries are multiples of 16 rows (64 bytes of y). */
#include <stdatomic.h>
#include <string.h>

#include "kernels_int.h"

#ifndef DL_L2_BLOCK_BYTES
#define DL_L2_BLOCK_BYTES (192 * 1024) /* weights per row block in prefill */
#endif
#define MM_MIN_CHUNK (128 * 1024)
#define MM_MAX_CHUNK (1024 * 1024)
#define MM_MAX_CHUNKS 512
#define MM_ROW_ALIGN 16
#define MM_STREAM_MAX_TOK 4 /* the token tile of every kernel holds at least 4 */
#define MM_PANEL_CHUNK (1024 * 1024) /* weights per chunk of a panel kernel in prefill */

void dl_matmul_ws_free(dl_matmul_ws *ws) {
    if (!ws) return;
    dl_aligned_free(ws->buf);
    ws->buf = NULL;
    ws->cap = 0;
}

typedef struct mm_op {
    dl_gemm_fn gemm;
    const char *w;
    size_t wstride;
    int64_t rows;
    const char *act; /* converted activations, or x itself */
    size_t astride;
    float *y;
    int64_t ldy;
    int64_t panel; /* rows per panel of the prefill kernel, 0: none (see dl_isa_table) */
} mm_op;

typedef struct mm_conv {
    dl_quant_fn fn;
    size_t off; /* offset of its rows in the workspace */
    char *dst;
    size_t astride;
} mm_conv;

typedef struct mm_chunk {
    int op;
    int64_t r0, r1;
} mm_chunk;

typedef struct mm_job {
    mm_op ops[DL_MATMUL_MAX_OPS];
    int n_ops;
    mm_conv conv[DL_MATMUL_MAX_OPS];
    int n_conv;
    int64_t cols, n_tok;
    const float *x;
    int n_chunks;
    mm_chunk chunks[MM_MAX_CHUNKS];
    _Alignas(64) _Atomic int next; /* next chunk to claim, alone in its cache line */
    char pad[60];
} mm_job;

static void quant_task(void *ctx, int ith, int nth) {
    mm_job *j = ctx;
    int64_t b, e;
    dl_split_range(j->n_tok, ith, nth, 1, &b, &e);
    for (int k = 0; k < j->n_conv; k++)
        for (int64_t t = b; t < e; t++)
            j->conv[k].fn(j->x + t * j->cols, j->conv[k].dst + (size_t)t * j->conv[k].astride, j->cols);
}

static void gemm_task(void *ctx, int ith, int nth) {
    (void)ith;
    (void)nth;
    mm_job *j = ctx;
    for (;;) {
        int c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (c >= j->n_chunks) break;
        const mm_chunk *ch = &j->chunks[c];
        const mm_op *o = &j->ops[ch->op];
        o->gemm(j->cols, o->w + (size_t)ch->r0 * o->wstride, o->wstride, ch->r1 - ch->r0, o->act, o->astride,
                j->n_tok, o->y + ch->r0, o->ldy);
    }
}

static int64_t align_rows(int64_t r) { return (r + MM_ROW_ALIGN - 1) / MM_ROW_ALIGN * MM_ROW_ALIGN; }

/* Cuts the rows of every op into chunks (see the header comment). */
static void plan_chunks(mm_job *j, int nth) {
    int64_t total = 0;
    for (int i = 0; i < j->n_ops; i++) total += j->ops[i].rows * (int64_t)j->ops[i].wstride;
    int64_t max_chunk = DL_MAX((int64_t)MM_MAX_CHUNK, total / (MM_MAX_CHUNKS / 2));
    int64_t left = total;
    j->n_chunks = 0;
    for (int i = 0; i < j->n_ops; i++) {
        const mm_op *o = &j->ops[i];
        int64_t rows_per = 0; /* fixed chunk size in rows (many tokens, or one thread) */
        if (nth == 1 && j->n_tok == 1) rows_per = o->rows;
        else if (j->n_tok > MM_STREAM_MAX_TOK && !o->panel) {
            rows_per = DL_MAX((int64_t)4, (int64_t)(DL_L2_BLOCK_BYTES / o->wstride) & ~(int64_t)3);
            /* keep within the chunk table: ops after this one get at most their share */
            int64_t cap_rows = total / (MM_MAX_CHUNKS - j->n_ops) / (int64_t)o->wstride + 1;
            if (rows_per < cap_rows) rows_per = align_rows(cap_rows);
        }
        for (int64_t r = 0; r < o->rows;) {
            int64_t n;
            if (rows_per) n = rows_per;
            else if (o->panel) { /* guided, whole panels */
                int64_t pb = o->panel * (int64_t)o->wstride;
                int64_t bytes = DL_MIN(DL_MAX((int64_t)MM_PANEL_CHUNK, total / (MM_MAX_CHUNKS / 2)),
                                       DL_MAX(pb, left / (2 * nth)));
                n = (bytes + pb - 1) / pb * o->panel;
            } else {
                int64_t bytes = DL_MIN(max_chunk, DL_MAX((int64_t)MM_MIN_CHUNK, left / (2 * nth)));
                n = align_rows(DL_MAX((int64_t)1, bytes / (int64_t)o->wstride));
            }
            if (j->n_chunks >= MM_MAX_CHUNKS - (j->n_ops - i)) n = o->rows - r; /* safety net for the table */
            n = DL_MIN(n, o->rows - r);
            j->chunks[j->n_chunks++] = (mm_chunk){.op = i, .r0 = r, .r1 = r + n};
            r += n;
            left -= n * (int64_t)o->wstride;
        }
    }
}

int dl_matmul_multi(dl_pool *pool, dl_matmul_ws *ws, const dl_matmul_op *ops, int n_ops, int64_t cols,
                    const float *x, int64_t n_tok, dl_error *err) {
    if (n_ops < 1 || n_ops > DL_MATMUL_MAX_OPS)
        return dl_error_set(err, 400, "matmul: %d products in one call (1..%d)", n_ops, DL_MATMUL_MAX_OPS);
    if (n_tok < 0) return dl_error_set(err, 400, "matmul: bad shape (n_tok %lld)", (long long)n_tok);
    const dl_isa_table *isa = dl_isa();
    mm_job job; /* ~12 KiB */
    mm_job *j = &job;
    memset(j, 0, offsetof(mm_job, chunks));
    atomic_init(&j->next, 0);
    j->n_ops = n_ops;
    j->cols = cols;
    j->n_tok = n_tok;
    j->x = x;
    size_t need = 0;
    int conv_of[DL_MATMUL_MAX_OPS];
    for (int i = 0; i < n_ops; i++) {
        const dl_matmul_op *op = &ops[i];
        const dl_type_traits *tt = dl_traits(op->type);
        if (!tt) return dl_error_set(err, 501, "matmul: unsupported tensor type %d", op->type);
        if (cols <= 0 || cols % tt->blck)
            return dl_error_set(err, 400, "matmul: %s row length %lld is not a positive multiple of %lld",
                                tt->name, (long long)cols, (long long)tt->blck);
        if (op->rows < 0 || (n_tok > 1 && op->ldy < op->rows))
            return dl_error_set(err, 400, "matmul: bad shape (rows %lld, n_tok %lld, ldy %lld)",
                                (long long)op->rows, (long long)n_tok, (long long)op->ldy);
        if (op->rows > 0 && n_tok > 0 && (!op->w || !x || !op->y))
            return dl_error_set(err, 400, "matmul: NULL operand");
        mm_op *o = &j->ops[i];
        *o = (mm_op){.gemm = dl_gemm_for(isa, op->type), .w = op->w, .wstride = dl_row_size(op->type, cols),
                     .rows = op->rows, .y = op->y, .ldy = op->ldy};
        if (n_tok >= isa->pack_min_tok) o->panel = isa->panel_rows[op->type];
        conv_of[i] = -1;
        if (!tt->act_quant) {
            o->act = (const char *)x;
            o->astride = (size_t)cols * sizeof(float);
            continue;
        }
        dl_quant_fn fn = isa->act_quant[op->type] ? isa->act_quant[op->type] : tt->act_quant;
        size_t arow = dl_row_size(tt->act_type, cols);
        if (isa->act_pack[op->type] && n_tok >= isa->pack_min_tok) { /* the prefill kernels' own layout */
            fn = isa->act_pack[op->type];
            arow = isa->act_pack_row[op->type](cols);
        }
        size_t astride = (arow + 63) & ~(size_t)63; /* 64-byte aligned rows */
        for (int k = 0; k < j->n_conv; k++)
            if (j->conv[k].fn == fn && j->conv[k].astride == astride) conv_of[i] = k;
        if (conv_of[i] < 0) {
            conv_of[i] = j->n_conv;
            j->conv[j->n_conv++] = (mm_conv){.fn = fn, .off = need, .astride = astride};
            need += astride * (size_t)n_tok;
        }
        o->astride = astride;
    }
    int64_t total_rows = 0;
    for (int i = 0; i < n_ops; i++) total_rows += ops[i].rows;
    if (total_rows == 0 || n_tok == 0) return 0;
    if (j->n_conv) {
        if (!ws) return dl_error_set(err, 500, "matmul: no workspace for quantised activations");
        if (ws->cap < need) {
            void *p = dl_aligned_alloc(need);
            if (!p) return dl_error_set(err, 500, "matmul: out of memory (%zu bytes)", need);
            dl_aligned_free(ws->buf);
            ws->buf = p;
            ws->cap = need;
        }
        for (int k = 0; k < j->n_conv; k++) j->conv[k].dst = (char *)ws->buf + j->conv[k].off;
        for (int i = 0; i < n_ops; i++)
            if (conv_of[i] >= 0) j->ops[i].act = j->conv[conv_of[i]].dst;
    }
    int nth = pool ? dl_pool_size(pool) : 1;
    if (j->n_conv) {
        if (n_tok == 1 || nth == 1) quant_task(j, 0, 1);
        else dl_pool_run(pool, quant_task, j);
    }
    plan_chunks(j, nth);
    if (nth == 1) gemm_task(j, 0, 1);
    else dl_pool_run(pool, gemm_task, j);
    return 0;
}

int dl_matmul(dl_pool *pool, dl_matmul_ws *ws, int type, const void *w, int64_t rows, int64_t cols,
              const float *x, int64_t n_tok, float *y, int64_t ldy, dl_error *err) {
    dl_matmul_op op = {.type = type, .w = w, .rows = rows, .y = y, .ldy = ldy};
    return dl_matmul_multi(pool, ws, &op, 1, cols, x, n_tok, err);
}
