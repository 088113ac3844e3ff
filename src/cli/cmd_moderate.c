/* deliberate moderate: the safety stack on one text — the same code as
 * /v1/moderations (stage 1 classifier; with --policy and -m, stage 2). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../safety/safety.h"
#include "cli.h"

static const char MODERATE_HELP[] =
    "usage: deliberate moderate [options] TEXT|-\n"
    "\n"
    "Checks TEXT (or standard input with '-') with the safety stack and prints the\n"
    "verdict: per-category scores (OpenAI's 13 moderation categories), what is\n"
    "flagged, the action (allow, safe_complete, soft_refuse, hard_refuse, block)\n"
    "and which layer decided. Exit status 0 either way (1 on errors).\n"
    "\n"
    "  --classifier FILE     stage-1 weights (default: the shipped models/safety/classifier.bin)\n"
    "  --policy FILE         a policy for stage 2 (gpt-oss-safeguard layout); repeatable\n"
    "  -m, --model FILE      GGUF model that reasons over the policies (stage 2)\n"
    "  --band LOW,HIGH       stage-1 scores escalated to stage 2 (default 0.35,0.65)\n"
    "  --styles FILE         response-style policy (default: built in)\n"
    "  --locale TAG          locale for crisis resources in the response (default en-US)\n"
    "  --json                one JSON object\n";

static char *read_stdin(void)
{
    dl_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) dl_buf_append(&b, chunk, n);
    dl_buf_append(&b, "", 1);
    return b.data;
}

int cli_moderate(int argc, char **argv)
{
    const char *text_arg = NULL, *clf_path = NULL, *model = NULL, *styles = NULL,
               *locale = "en-US";
    const char *policy_files[16];
    size_t n_policy = 0;
    bool json = false;
    float lo = 0.35f, hi = 0.65f;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(MODERATE_HELP, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--classifier") || !strcmp(a, "--policy") || !strcmp(a, "-m") ||
                   !strcmp(a, "--model") || !strcmp(a, "--band") || !strcmp(a, "--styles") ||
                   !strcmp(a, "--locale")) {
            if (!v) return cli_usage_error("moderate", "option %s needs a value", a);
            i++;
            if (!strcmp(a, "--classifier")) clf_path = v;
            else if (!strcmp(a, "--styles")) styles = v;
            else if (!strcmp(a, "--locale")) locale = v;
            else if (!strcmp(a, "--policy")) {
                if (n_policy == 16) return cli_usage_error("moderate", "at most 16 policies");
                policy_files[n_policy++] = v;
            } else if (!strcmp(a, "--band")) {
                if (sscanf(v, "%f,%f", &lo, &hi) != 2 || !(lo >= 0 && lo <= hi && hi <= 1))
                    return cli_usage_error("moderate", "--band: '%s' is not LOW,HIGH within 0..1", v);
            } else model = v;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("moderate", "unknown argument '%s'", a);
        } else if (!text_arg) {
            text_arg = a;
        } else {
            return cli_usage_error("moderate", "give one TEXT (quote it), or - for standard input");
        }
    }
    if (!text_arg) return cli_usage_error("moderate", "missing TEXT (or - for standard input)");
    if (n_policy && !model) return cli_usage_error("moderate", "--policy needs -m MODEL to reason over it");

    dl_error err = {0};
    int rc = 1;
    char *text = !strcmp(text_arg, "-") ? read_stdin() : dl_xstrdup(text_arg);
    dl_classifier *clf = clf_path ? dl_classifier_load(clf_path, &err) : dl_classifier_load_default(&err);
    dl_policy policies[16];
    size_t n_loaded = 0;
    dl_backend *reasoner = NULL;
    dl_safety *s = NULL;
    if (!clf) {
        cli_fail("%s", err.msg);
        goto out;
    }
    for (; n_loaded < n_policy; n_loaded++) {
        if (dl_policy_load(policy_files[n_loaded], &policies[n_loaded], &err) != 0) {
            cli_fail("%s", err.msg);
            goto out;
        }
    }
    if (model) {
        dl_local_opts lo_opts = {0};
        reasoner = dl_backend_local_open(model, &lo_opts, &err);
        if (!reasoner) {
            cli_fail("%s", err.msg);
            goto out;
        }
    }
    dl_safety_config cfg = {0};
    cfg.classifier = clf;
    cfg.reasoner = reasoner;
    cfg.policies = policies;
    cfg.n_policies = n_loaded;
    cfg.band_low = lo;
    cfg.band_high = hi;
    cfg.max_escalation_share = 1.0f; /* one text: the cap is for traffic */
    cfg.styles_file = styles;
    s = dl_safety_new(&cfg, &err);
    if (!s) {
        cli_fail("%s", err.msg);
        goto out;
    }
    dl_verdict v;
    if (dl_safety_check(s, text, strlen(text), &v, &err) != 0) {
        cli_fail("%s", err.msg);
        goto out;
    }
    int top = 0;
    for (int c = 1; c < DL_CAT__COUNT; c++)
        if (v.scores.p[c] > v.scores.p[top]) top = c;
    char *response = v.action == DL_ACTION_ALLOW
                         ? NULL
                         : dl_style_response(v.action, (dl_category)top, locale);
    if (json) {
        json_t *scores = json_object(), *cats = json_object();
        for (int c = 0; c < DL_CAT__COUNT; c++) {
            json_object_set_new(scores, dl_category_name((dl_category)c), json_real(v.scores.p[c]));
            json_object_set_new(cats, dl_category_name((dl_category)c), json_boolean(v.flagged[c]));
        }
        json_t *o = json_pack("{s:b, s:o, s:o, s:s, s:s, s:s, s:b, s:f, s:i}", "flagged",
                              v.any_flagged, "categories", cats, "category_scores", scores, "action",
                              dl_action_name(v.action), "layer", dl_layer_name(v.layer), "rationale",
                              v.rationale, "escalated", v.escalated, "cost_ms", v.cost_ms,
                              "cost_tokens", v.cost_tokens);
        json_object_set_new(o, "response", response ? json_string(response) : json_null());
        json_dumpf(o, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(o);
    } else {
        printf("flagged:   %s\naction:    %s (decided by %s)\n", v.any_flagged ? "yes" : "no",
               dl_action_name(v.action), dl_layer_name(v.layer));
        if (v.rationale[0]) printf("rationale: %s\n", v.rationale);
        for (int c = 0; c < DL_CAT__COUNT; c++)
            printf("  %-24s %.3f%s\n", dl_category_name((dl_category)c), v.scores.p[c],
                   v.flagged[c] ? "  flagged" : "");
        if (response) printf("response:  %s\n", response);
    }
    free(response);
    rc = 0;
out:
    dl_safety_free(s);
    dl_backend_free(reasoner);
    for (size_t i = 0; i < n_loaded; i++) dl_policy_free(&policies[i]);
    dl_classifier_free(clf);
    free(text);
    return rc;
}
