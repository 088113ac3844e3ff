/* The GRPO loss on logits: clipped policy-gradient surrogate with a k3 KL
 * penalty to the reference model (the objective is written out in train.h
 * at dl_pg_terms), its value and its gradient with respect to the logits. */
#include <math.h>
#include <string.h>

#include "train_int.h"

double dl_tl_pg_loss(float *dlogits, const float *logits, const int32_t *targets, const uint8_t *mask,
                     const dl_pg_terms *pg, int T, int V, float scale) {
    double sum = 0.0;
    const double A = pg->adv, lo = 1.0 - pg->clip_eps, hi = 1.0 + pg->clip_eps, beta = pg->kl_beta;
    for (int t = 0; t < T; t++) {
        const float *l = logits + (size_t)t * V;
        float *dl = dlogits ? dlogits + (size_t)t * V : NULL;
        if (!mask[t]) {
            if (dl) memset(dl, 0, (size_t)V * sizeof(float));
            if (pg->cur_logp) pg->cur_logp[t] = 0.0f;
            continue;
        }
        double mx = l[0];
        for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        double se = 0.0;
        for (int v = 0; v < V; v++) se += exp((double)l[v] - mx);
        double lse = mx + log(se), logp = (double)l[targets[t]] - lse;
        if (pg->cur_logp) pg->cur_logp[t] = (float)logp;
        double ratio = pg->old_logp ? exp(logp - (double)pg->old_logp[t]) : 1.0;
        double clipped = ratio < lo ? lo : ratio > hi ? hi : ratio;
        double s1 = ratio * A, s2 = clipped * A;
        double d = (double)pg->ref_logp[t] - logp, ed = exp(d);
        double J = (s1 <= s2 ? s1 : s2) - beta * (ed - d - 1.0);
        sum -= J;
        /* c = dJ/dlogp: the surrogate's where the min takes the unclipped
         * term (the clipped one is constant), plus the penalty's beta (e^d - 1) */
        double c = (s1 <= s2 ? s1 : 0.0) + beta * (ed - 1.0);
        if (!dl) continue;
        /* d(-c logp)/dlogit_v = c (softmax_v - onehot_v) */
        double f = (double)scale * c;
        for (int v = 0; v < V; v++) dl[v] = (float)(f * exp((double)l[v] - lse));
        dl[targets[t]] -= (float)f;
    }
    return sum;
}
