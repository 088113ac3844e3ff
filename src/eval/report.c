/* eval/report: writes the report of a results document — one
 * self-contained HTML page and, optionally, the same content as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_int.h"

/* Writes data to path through a temporary file renamed into place, so a
 * reader never sees half a report. */
static int write_file(const char *path, const char *data, size_t len, dl_error *err) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return dl_error_set(err, 500, "cannot write %s", path);
    bool ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return dl_error_set(err, 500, "cannot write %s", path);
    }
    return 0;
}

int dl_eval_report_write_scorecard(const json_t *results, const char *title,
                                   const char *scorecard_path, const char *html_path,
                                   const char *json_path, dl_error *err) {
    json_t *rep = dl_report_build(results, title, scorecard_path, err);
    if (!rep) return -1;
    int rc = 0;
    if (html_path) {
        char *html = dl_report_html(rep);
        rc = write_file(html_path, html, strlen(html), err);
        free(html);
    }
    if (rc == 0 && json_path) {
        char *js = json_dumps(rep, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        if (!js) {
            rc = dl_error_set(err, 500, "cannot encode the report as JSON");
        } else {
            dl_buf b = {0};
            dl_buf_printf(&b, "%s\n", js);
            free(js);
            rc = write_file(json_path, b.data, b.len, err);
            dl_buf_free(&b);
        }
    }
    json_decref(rep);
    return rc;
}

int dl_eval_report_write(const json_t *results, const char *title, const char *html_path,
                         const char *json_path, dl_error *err) {
    return dl_eval_report_write_scorecard(results, title, NULL, html_path, json_path, err);
}
