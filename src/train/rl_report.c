/* The RL training chart: mean reward and accuracy of the sampled
 * completions against RL step, from rl_log.csv. */
#include <stdlib.h>
#include <string.h>

#include "train_int.h"

int dl_rl_plot_log(const char *log_csv, const char *svg_path, dl_error *err) {
    size_t len;
    char *data = dl_read_file(log_csv, &len, err);
    if (!data) return -1;
    dl_csv c;
    dl_csv_init(&c, data, len);
    double *v[5] = {0}; /* step, reward, accuracy, smoothed reward, smoothed accuracy */
    size_t n = 0, cap = 0;
    int cs = -1, cr = -1, ca = -1, rc = -1;
    if (dl_csv_next(&c)) {
        cs = dl_csv_col(&c, "step");
        cr = dl_csv_col(&c, "reward");
        ca = dl_csv_col(&c, "accuracy");
    }
    if (cs < 0 || cr < 0 || ca < 0) {
        dl_error_set(err, 400, "%s: not an RL log (no step/reward/accuracy columns)", log_csv);
        goto out;
    }
    while (dl_csv_next(&c)) {
        if ((size_t)cs >= c.nf || (size_t)cr >= c.nf || (size_t)ca >= c.nf) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            for (int k = 0; k < 5; k++) v[k] = dl_xrealloc(v[k], cap * sizeof(double));
        }
        v[0][n] = strtod(c.f[cs], NULL);
        v[1][n] = strtod(c.f[cr], NULL);
        v[2][n] = strtod(c.f[ca], NULL);
        n++;
    }
    if (n == 0) {
        dl_error_set(err, 400, "%s: no RL steps logged", log_csv);
        goto out;
    }
    /* an exponential moving average whose span suits the run's length */
    double a = n < 20 ? 0.5 : n < 200 ? 0.8 : 0.95;
    for (size_t i = 0; i < n; i++) {
        v[3][i] = i ? a * v[3][i - 1] + (1 - a) * v[1][i] : v[1][i];
        v[4][i] = i ? a * v[4][i - 1] + (1 - a) * v[2][i] : v[2][i];
    }
    dl_svg_series s[4] = {{"reward per step", v[0], v[1], n, "#fdae6b", NULL, NULL},
                          {"reward (smoothed)", v[0], v[3], n, "#d94801", NULL, NULL},
                          {"accuracy per step", v[0], v[2], n, "#9ecae1", NULL, NULL},
                          {"accuracy (smoothed)", v[0], v[4], n, "#08519c", NULL, NULL}};
    rc = dl_svg_chart(svg_path, "RL: mean reward and accuracy of the sampled completions", "RL step",
                      "reward (max 1.4) / accuracy", s, 4, false, err);
out:
    for (int k = 0; k < 5; k++) free(v[k]);
    dl_csv_free(&c);
    free(data);
    return rc;
}
