/* eval/progress: the runner's progress bar on stderr —
 *   gsm8k [##########..........]  60/120  3.4/s  ETA 0:17  (1 failed)
 * The rate counts samples finished by this process (resumed ones excluded),
 * so the ETA of a resumed run is honest. */
#include <stdio.h>

#include "runner_int.h"

#define WIDTH 24

void dl_eval_progress_start(dl_eval_progress *p, bool on, const char *label, int64_t total,
                            int64_t done) {
    p->on = on;
    p->label = label;
    p->total = total;
    p->start_done = done;
    p->t0_ms = p->last_ms = dl_time_ms();
    if (on) dl_eval_progress_update(p, done, 0, true);
}

void dl_eval_progress_update(dl_eval_progress *p, int64_t done, int64_t failed, bool last) {
    if (!p->on) return;
    double now = dl_time_ms();
    if (!last && now - p->last_ms < 100) return;
    p->last_ms = now;
    double secs = (now - p->t0_ms) / 1000.0;
    int64_t mine = done + failed - p->start_done;
    double rate = secs > 0 && mine > 0 ? (double)mine / secs : 0;
    int64_t left = p->total - done - failed;
    int fill = p->total > 0 ? (int)((double)(done + failed) * WIDTH / (double)p->total) : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = 0;
    fprintf(stderr, "\r\033[K%s [%s] %lld/%lld", p->label, bar, (long long)(done + failed),
            (long long)p->total);
    if (rate > 0) {
        fprintf(stderr, "  %.2f/s", rate);
        if (left > 0) {
            long eta = (long)((double)left / rate + 0.5);
            fprintf(stderr, "  ETA %ld:%02ld:%02ld", eta / 3600, eta / 60 % 60, eta % 60);
        }
    }
    if (failed) fprintf(stderr, "  (%lld failed)", (long long)failed);
    fflush(stderr);
}

void dl_eval_progress_end(dl_eval_progress *p) {
    if (!p->on) return;
    fputc('\n', stderr);
    fflush(stderr);
}
