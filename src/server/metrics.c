/* /metrics in Prometheus' text format: request counts by endpoint and
 * status, latency histograms by endpoint, tokens generated, the decode rate
 * of the last finished generation, requests in flight, queue depth and
 * active sequences (from the backends). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

static const double bucket_le[SRV_N_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                 1,     2.5,  5,     10,   30,  60,  120};

typedef struct count_row {
    const char *endpoint; /* static label */
    int status;
    uint64_t n;
} count_row;

typedef struct hist_row {
    const char *endpoint;
    uint64_t buckets[SRV_N_BUCKETS];
    uint64_t count;
    double sum;
} hist_row;

struct srv_metrics {
    pthread_mutex_t mu;
    count_row *counts;
    size_t n_counts, cap_counts;
    hist_row *hists;
    size_t n_hists, cap_hists;
    uint64_t tokens;
    double last_tokens_per_s;
};

srv_metrics *srv_metrics_new(void)
{
    srv_metrics *m = dl_xcalloc(1, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void srv_metrics_free(srv_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m->counts);
    free(m->hists);
    free(m);
}

void srv_metrics_request(srv_metrics *m, const char *endpoint, int status, double seconds)
{
    pthread_mutex_lock(&m->mu);
    count_row *c = NULL;
    for (size_t i = 0; i < m->n_counts; i++)
        if (m->counts[i].status == status && !strcmp(m->counts[i].endpoint, endpoint))
            c = &m->counts[i];
    if (!c) {
        if (m->n_counts == m->cap_counts) {
            m->cap_counts = m->cap_counts ? m->cap_counts * 2 : 16;
            m->counts = dl_xrealloc(m->counts, m->cap_counts * sizeof(*m->counts));
        }
        c = &m->counts[m->n_counts++];
        *c = (count_row){endpoint, status, 0};
    }
    c->n++;
    hist_row *h = NULL;
    for (size_t i = 0; i < m->n_hists; i++)
        if (!strcmp(m->hists[i].endpoint, endpoint)) h = &m->hists[i];
    if (!h) {
        if (m->n_hists == m->cap_hists) {
            m->cap_hists = m->cap_hists ? m->cap_hists * 2 : 8;
            m->hists = dl_xrealloc(m->hists, m->cap_hists * sizeof(*m->hists));
        }
        h = &m->hists[m->n_hists++];
        memset(h, 0, sizeof(*h));
        h->endpoint = endpoint;
    }
    for (int b = 0; b < SRV_N_BUCKETS; b++)
        if (seconds <= bucket_le[b]) h->buckets[b]++;
    h->count++;
    h->sum += seconds;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_tokens(srv_metrics *m, int64_t tokens, double seconds)
{
    pthread_mutex_lock(&m->mu);
    m->tokens += (uint64_t)(tokens > 0 ? tokens : 0);
    if (seconds > 0 && tokens > 0) m->last_tokens_per_s = (double)tokens / seconds;
    pthread_mutex_unlock(&m->mu);
}

char *srv_metrics_render(srv_metrics *m, const dl_server *s)
{
    dl_buf b = {0};
    pthread_mutex_lock(&m->mu);
    dl_buf_printf(&b, "# HELP deliberate_requests_total HTTP requests by endpoint and status.\n"
                      "# TYPE deliberate_requests_total counter\n");
    for (size_t i = 0; i < m->n_counts; i++)
        dl_buf_printf(&b, "deliberate_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                      m->counts[i].endpoint, m->counts[i].status,
                      (unsigned long long)m->counts[i].n);
    dl_buf_printf(&b, "# HELP deliberate_request_duration_seconds Time from request to the last "
                      "byte of the reply.\n"
                      "# TYPE deliberate_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n_hists; i++) {
        const hist_row *h = &m->hists[i];
        for (int k = 0; k < SRV_N_BUCKETS; k++)
            dl_buf_printf(&b,
                          "deliberate_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
                          "%llu\n",
                          h->endpoint, bucket_le[k], (unsigned long long)h->buckets[k]);
        dl_buf_printf(&b,
                      "deliberate_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} "
                      "%llu\n",
                      h->endpoint, (unsigned long long)h->count);
        dl_buf_printf(&b, "deliberate_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
                      h->endpoint, h->sum);
        dl_buf_printf(&b, "deliberate_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                      h->endpoint, (unsigned long long)h->count);
    }
    dl_buf_printf(&b,
                  "# HELP deliberate_tokens_generated_total Completion tokens generated.\n"
                  "# TYPE deliberate_tokens_generated_total counter\n"
                  "deliberate_tokens_generated_total %llu\n"
                  "# HELP deliberate_tokens_per_second Decode rate of the last finished "
                  "generation.\n"
                  "# TYPE deliberate_tokens_per_second gauge\n"
                  "deliberate_tokens_per_second %.3f\n",
                  (unsigned long long)m->tokens, m->last_tokens_per_s);
    pthread_mutex_unlock(&m->mu);
    int queued = 0, active = 0;
    for (size_t i = 0; i < s->n_models; i++) {
        dl_backend_stats st;
        dl_backend_get_stats(s->models[i].backend, &st);
        queued += st.queued;
        active += st.active;
    }
    dl_buf_printf(&b,
                  "# HELP deliberate_requests_in_flight Generation requests admitted and not "
                  "finished.\n"
                  "# TYPE deliberate_requests_in_flight gauge\n"
                  "deliberate_requests_in_flight %d\n"
                  "# HELP deliberate_queue_depth Requests waiting for a free sequence slot.\n"
                  "# TYPE deliberate_queue_depth gauge\n"
                  "deliberate_queue_depth %d\n"
                  "# HELP deliberate_active_sequences Sequences generating now.\n"
                  "# TYPE deliberate_active_sequences gauge\n"
                  "deliberate_active_sequences %d\n",
                  atomic_load(&((dl_server *)s)->in_flight), queued, active);
    dl_buf_append(&b, "", 1);
    return b.data;
}
