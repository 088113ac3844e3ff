/* base/csv: an RFC 4180 reader (quoted fields, doubled quotes, commas and
 * newlines inside quotes, CRLF or LF line ends). Rows are read one at a
 * time from a buffer the caller owns. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

void dl_csv_init(dl_csv *c, const char *data, size_t len) {
    memset(c, 0, sizeof *c);
    c->p = data;
    c->end = data + len;
}

static void clear_row(dl_csv *c) {
    for (size_t i = 0; i < c->nf; i++) free(c->f[i]);
    c->nf = 0;
}

void dl_csv_free(dl_csv *c) {
    clear_row(c);
    free(c->f);
    dl_buf_free(&c->cell);
    c->f = NULL;
    c->capf = 0;
}

bool dl_csv_next(dl_csv *c) {
    clear_row(c);
    if (c->p >= c->end) return false;
    c->line++;
    for (;;) {
        c->cell.len = 0;
        bool quoted = false;
        if (c->p < c->end && *c->p == '"') {
            quoted = true;
            c->p++;
        }
        while (c->p < c->end) {
            char ch = *c->p;
            if (quoted) {
                if (ch == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        dl_buf_append(&c->cell, "\"", 1);
                        c->p += 2;
                        continue;
                    }
                    quoted = false;
                    c->p++;
                    continue;
                }
                if (ch == '\n') c->lines_in_row++;
            } else if (ch == ',' || ch == '\n' || ch == '\r') {
                break;
            }
            dl_buf_append(&c->cell, &ch, 1);
            c->p++;
        }
        if (quoted) c->unterminated = true;
        if (c->nf == c->capf) {
            c->capf = c->capf ? c->capf * 2 : 16;
            c->f = dl_xrealloc(c->f, c->capf * sizeof *c->f);
        }
        c->f[c->nf++] = dl_xstrndup(c->cell.data ? c->cell.data : "", c->cell.len);
        if (c->p >= c->end) break;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == '\r') c->p++;
        if (c->p < c->end && *c->p == '\n') c->p++;
        break;
    }
    c->line += c->lines_in_row;
    c->lines_in_row = 0;
    return true;
}

int dl_csv_col(const dl_csv *c, const char *name) {
    for (size_t i = 0; i < c->nf; i++)
        if (!strcmp(c->f[i], name)) return (int)i;
    return -1;
}
