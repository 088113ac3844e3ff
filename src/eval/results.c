/* eval/results: the results document (docs/eval.md) — every stored run with
 * its configuration and metrics, as reports, comparisons and the scorecard
 * read it. */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* One run as a results-document entry. */
static json_t *run_json(const dl_store_eval_run *r) {
    json_t *metrics = r->metrics_json ? json_loads(r->metrics_json, 0, NULL) : NULL;
    if (!json_is_object(metrics)) {
        json_decref(metrics);
        metrics = json_object();
    }
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string(r->id));
    json_object_set_new(j, "eval", json_string(r->eval ? r->eval : ""));
    json_object_set_new(j, "kind", json_string(r->kind ? r->kind : ""));
    json_object_set_new(j, "category", json_string(r->category ? r->category : ""));
    json_object_set_new(j, "primary", json_string(r->primary ? r->primary : ""));
    json_object_set_new(j, "model", json_string(r->model ? r->model : ""));
    json_object_set_new(j, "mitigation", json_string(r->mitigation));
    json_object_set_new(j, "effort", json_string(r->effort));
    json_object_set_new(j, "n", json_integer(r->n));
    json_object_set_new(j, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(j, "limit", json_integer(r->limit));
    json_object_set_new(j, "created_at", json_integer(r->created_at));
    json_object_set_new(j, "finished_at", r->finished_at ? json_integer(r->finished_at) : json_null());
    json_object_set_new(j, "complete", json_boolean(r->complete));
    json_object_set_new(j, "n_samples", json_integer(r->n_samples));
    json_object_set_new(j, "metrics", metrics);
    return j;
}

int dl_eval_results_json(dl_store *st, const char *run_ids, const char *model, const char *eval,
                         json_t **out, dl_error *err) {
    *out = NULL;
    dl_store_eval_run *runs;
    size_t n;
    if (dl_store_eval_runs_list(st, run_ids, model, eval, &runs, &n, err)) return -1;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, run_json(&runs[i]));
    dl_store_eval_runs_free(runs, n);
    *out = json_pack("{s:o}", "runs", arr);
    return 0;
}
