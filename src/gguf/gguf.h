/* gguf: read (over mmap) and write GGUF v2/v3 files.
 *
 * The reader validates everything before trusting it: header counts, string
 * lengths, UTF-8 keys, value types, tensor dimensions, types, offsets, sizes,
 * alignment and overlap. A bad file gives one line naming the file, the field
 * and the byte offset, e.g.
 *   "model.gguf: tensor 'blk.0.attn_q.weight': data [1024, 99999999) runs past end of file (size 5000) at byte 812"
 * All pointers returned by getters stay valid until dl_gguf_close. */
#ifndef DL_GGUF_H
#define DL_GGUF_H

#include "../base/base.h"

/* Metadata value types (numbering of the GGUF format). */
typedef enum dl_gguf_vtype {
    DL_GGUF_UINT8 = 0,
    DL_GGUF_INT8 = 1,
    DL_GGUF_UINT16 = 2,
    DL_GGUF_INT16 = 3,
    DL_GGUF_UINT32 = 4,
    DL_GGUF_INT32 = 5,
    DL_GGUF_FLOAT32 = 6,
    DL_GGUF_BOOL = 7,
    DL_GGUF_STRING = 8,
    DL_GGUF_ARRAY = 9,
    DL_GGUF_UINT64 = 10,
    DL_GGUF_INT64 = 11,
    DL_GGUF_FLOAT64 = 12,
    DL_GGUF_VTYPE_COUNT
} dl_gguf_vtype;

/* Tensor element types, numbered as in GGUF/ggml. The format fixes each
 * type's block size (elements) and bytes per block; the arithmetic lives in
 * kernels/. Values not listed are unknown to deliberate and rejected. */
typedef enum dl_type {
    DL_TYPE_F32 = 0,
    DL_TYPE_F16 = 1,
    DL_TYPE_Q4_0 = 2,
    DL_TYPE_Q4_1 = 3,
    DL_TYPE_Q5_0 = 6,
    DL_TYPE_Q5_1 = 7,
    DL_TYPE_Q8_0 = 8,
    DL_TYPE_Q8_1 = 9,
    DL_TYPE_Q2_K = 10,
    DL_TYPE_Q3_K = 11,
    DL_TYPE_Q4_K = 12,
    DL_TYPE_Q5_K = 13,
    DL_TYPE_Q6_K = 14,
    DL_TYPE_Q8_K = 15,
    DL_TYPE_I8 = 24,
    DL_TYPE_I16 = 25,
    DL_TYPE_I32 = 26,
    DL_TYPE_I64 = 27,
    DL_TYPE_F64 = 28,
    DL_TYPE_BF16 = 30,
    DL_TYPE_MXFP4 = 39,
    DL_TYPE_COUNT = 40
} dl_type;

/* Block size in elements and bytes per block; false for unknown types. */
bool dl_type_block(int type, int64_t *block_elems, int64_t *block_bytes);
const char *dl_type_name(int type); /* "q4_K", ... or "unknown" */
/* Bytes of a row of n elements; -1 when n is not a multiple of the block. */
int64_t dl_type_row_bytes(int type, int64_t n);

#define DL_GGUF_MAX_DIMS 4
#define DL_GGUF_DEFAULT_ALIGNMENT 32

/* A string inside the mapped file: NOT NUL-terminated. */
typedef struct dl_gguf_str {
    const char *ptr;
    uint64_t len;
} dl_gguf_str;

/* One tensor of the table. `type` uses ggml's numbering (see kernels.h,
 * dl_type); the reader only accepts types dl_type_block knows. */
typedef struct dl_gguf_tensor {
    const char *name;          /* NUL-terminated copy */
    int n_dims;
    int64_t ne[DL_GGUF_MAX_DIMS]; /* ne[0] = row length; unused dims are 1 */
    int type;                  /* dl_type */
    uint64_t offset;           /* relative to the data section */
    uint64_t size;             /* bytes */
    const void *data;          /* points into the mapping */
} dl_gguf_tensor;

typedef struct dl_gguf dl_gguf; /* opaque */

/* Opens and validates a file. NULL on failure with *err set (status 400). */
dl_gguf *dl_gguf_open(const char *path, dl_error *err);
/* Same, over a caller-owned memory buffer (used by the fuzzer and tests);
 * `name` is used in messages. The buffer must outlive the dl_gguf. */
dl_gguf *dl_gguf_open_memory(const void *data, size_t size, const char *name, dl_error *err);
void dl_gguf_close(dl_gguf *g);

uint32_t dl_gguf_version(const dl_gguf *g);
uint64_t dl_gguf_file_size(const dl_gguf *g);
const char *dl_gguf_path(const dl_gguf *g);
uint64_t dl_gguf_alignment(const dl_gguf *g);
uint64_t dl_gguf_data_offset(const dl_gguf *g); /* start of the tensor data section */

/* ---- metadata ---- */
int64_t dl_gguf_n_kv(const dl_gguf *g);
int64_t dl_gguf_find_key(const dl_gguf *g, const char *key); /* index, or -1 */
const char *dl_gguf_key(const dl_gguf *g, int64_t i);      /* NUL-terminated */
dl_gguf_vtype dl_gguf_kv_type(const dl_gguf *g, int64_t i);
/* For arrays: element type and count. */
dl_gguf_vtype dl_gguf_arr_type(const dl_gguf *g, int64_t i);
uint64_t dl_gguf_arr_len(const dl_gguf *g, int64_t i);
/* Raw pointer to array element data (numeric arrays; NULL for string arrays).
 * May be unaligned: read with memcpy. */
const void *dl_gguf_arr_data(const dl_gguf *g, int64_t i);
/* Element j of a string array. */
dl_gguf_str dl_gguf_arr_str(const dl_gguf *g, int64_t i, uint64_t j);
/* Scalar values. The numeric getters convert between integer types when the
 * value fits, and return false when the key is missing, has a non-numeric
 * type or does not fit. */
bool dl_gguf_get_u64(const dl_gguf *g, const char *key, uint64_t *out);
bool dl_gguf_get_i64(const dl_gguf *g, const char *key, int64_t *out);
bool dl_gguf_get_u32(const dl_gguf *g, const char *key, uint32_t *out);
bool dl_gguf_get_f32(const dl_gguf *g, const char *key, float *out); /* any numeric type */
bool dl_gguf_get_bool(const dl_gguf *g, const char *key, bool *out);
/* String value as a NUL-terminated pointer (the reader keeps a copy), or NULL. */
const char *dl_gguf_get_str(const dl_gguf *g, const char *key);
/* Value of entry i formatted for humans (arrays abbreviated after `max_items`). */
void dl_gguf_format_value(const dl_gguf *g, int64_t i, dl_buf *out, int max_items);

/* ---- tensors ---- */
int64_t dl_gguf_n_tensors(const dl_gguf *g);
const dl_gguf_tensor *dl_gguf_tensor_at(const dl_gguf *g, int64_t i);
const dl_gguf_tensor *dl_gguf_find_tensor(const dl_gguf *g, const char *name);

/* ---- writer ----
 * Builds a GGUF v3 file in memory order: add metadata and tensors, then
 * dl_gguf_writer_write. Tensor data is copied. Keys must be unique. */
typedef struct dl_gguf_writer dl_gguf_writer;
dl_gguf_writer *dl_gguf_writer_new(void);
void dl_gguf_writer_free(dl_gguf_writer *w);
void dl_gguf_writer_set_u32(dl_gguf_writer *w, const char *key, uint32_t v);
void dl_gguf_writer_set_i32(dl_gguf_writer *w, const char *key, int32_t v);
void dl_gguf_writer_set_u64(dl_gguf_writer *w, const char *key, uint64_t v);
void dl_gguf_writer_set_f32(dl_gguf_writer *w, const char *key, float v);
void dl_gguf_writer_set_bool(dl_gguf_writer *w, const char *key, bool v);
void dl_gguf_writer_set_str(dl_gguf_writer *w, const char *key, const char *v);
/* Arrays: numeric element data is copied (n elements of `type`). */
void dl_gguf_writer_set_arr(dl_gguf_writer *w, const char *key, dl_gguf_vtype type,
                            const void *data, uint64_t n);
void dl_gguf_writer_set_arr_str(dl_gguf_writer *w, const char *key, const dl_gguf_str *strs,
                                uint64_t n);
/* Copies metadata entry i of g (any type, arrays included). */
void dl_gguf_writer_copy_kv(dl_gguf_writer *w, const dl_gguf *g, int64_t i);
/* Adds a tensor; `size` must equal the row size of type x ne. */
void dl_gguf_writer_add_tensor(dl_gguf_writer *w, const char *name, int type, int n_dims,
                               const int64_t *ne, const void *data, uint64_t size);
int dl_gguf_writer_write(dl_gguf_writer *w, const char *path, dl_error *err);

const char *dl_gguf_vtype_name(dl_gguf_vtype t);
/* Bytes of one value of a numeric/bool type; 0 for strings and arrays. */
size_t dl_gguf_vtype_size(dl_gguf_vtype t);

#endif
