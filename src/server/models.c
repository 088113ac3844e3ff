/* GET /v1/models, /v1/models/{id}, /health. */
#include <time.h>

#include "server_int.h"

static time_t g_started;

static json_t *model_json(const srv_model *m)
{
    if (!g_started) g_started = time(NULL);
    return json_pack("{s:s, s:s, s:I, s:s}", "id", m->name, "object", "model", "created",
                     (json_int_t)g_started, "owned_by", "deliberate");
}

enum MHD_Result srv_handle_models(srv_req *r, const char *id)
{
    const dl_server *s = r->srv;
    if (id) {
        const srv_model *m = srv_find_model(s, id);
        if (!m) {
            srv_err e;
            srv_fail(&e, 404, "model_not_found", "model", "the model '%s' does not exist", id);
            return srv_reply_err(r, &e);
        }
        return srv_reply_json(r, 200, model_json(m));
    }
    json_t *data = json_array();
    for (size_t i = 0; i < s->n_models; i++) json_array_append_new(data, model_json(&s->models[i]));
    return srv_reply_json(r, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

enum MHD_Result srv_handle_health(srv_req *r)
{
    const dl_server *s = r->srv;
    json_t *models = json_array();
    for (size_t i = 0; i < s->n_models; i++)
        json_array_append_new(models, json_pack("{s:s, s:b}", "id", s->models[i].name, "loaded", 1));
    json_t *body = json_pack("{s:s, s:b, s:o}", "status", "ok", "model_loaded", s->n_models > 0,
                             "models", models);
    if (s->n_models == 0)
        json_object_set_new(body, "note",
                            json_string("no model is configured: /v1/chat/completions and "
                                        "/v1/responses need one (deliberate serve -m NAME=PATH)"));
    return srv_reply_json(r, 200, body);
}
