#include "report.h"

#include <math.h>

double flops_per_batch(const struct ant_model_config *c, int B, int T)
{
    double D = c->dim, H = c->hidden_dim, V = c->vocab_size, KV = ant_kv_dim(c);
    double tokens = (double)B * T;
    /* per token per layer: q, k, v, o projections and w1, w2, w3 */
    double proj = 2.0 * (D * D + 2.0 * D * KV + D * D + 3.0 * D * H);
    /* QK^T and PV: a query at position t sees t+1 keys; summed over t: T(T+1)/2 */
    double attn = 2.0 * 2.0 * D * ((double)T * (T + 1) / 2.0) * B;
    double forward = c->n_layers * (proj * tokens + attn) + 2.0 * D * V * tokens;
    return 3.0 * forward;
}

size_t model_param_count(const struct ant_model_config *c)
{
    struct ant_layout lay;
    ant_layout_init(&lay, c);
    return lay.total;
}

void report_phase_add(struct ant_report *r, enum ant_phase p, double ms) { r->phase_ms[p] += ms; }

void format_duration(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void report_print(const struct ant_report *r, FILE *out)
{
    static const char *names[PH_N] = {"data", "forward+backward", "optimizer",
                                      "weight update", "validation", "checkpoint", "logging"};
    double secs = r->wall_ms / 1e3;
    fprintf(out, "\n== efficiency report ==\n");
    if (r->steps == 0) {
        fprintf(out, "no step was applied (%ld skipped)\n", r->skipped);
        return;
    }
    fprintf(out, "steps            %ld applied, %ld skipped (non-finite)\n", r->steps, r->skipped);
    fprintf(out, "loss             %.4f -> %.4f\n", r->first_loss, r->last_loss);
    if (!isnan(r->val_loss)) fprintf(out, "validation loss  %.4f\n", r->val_loss);
    fprintf(out, "ms/step          %.1f\n", r->wall_ms / r->steps);
    fprintf(out, "tokens/s         %.0f\n", secs > 0 ? r->tokens / secs : 0);
    fprintf(out, "achieved GFLOP/s %.1f (matmul FLOPs, forward+backward)\n",
            secs > 0 ? r->flops / secs / 1e9 : 0);
    fprintf(out, "time by phase:\n");
    for (int p = 0; p < PH_N; p++)
        fprintf(out, "  %-17s %9.1f ms  %5.1f%%\n", names[p], r->phase_ms[p],
                r->wall_ms > 0 ? 100.0 * r->phase_ms[p] / r->wall_ms : 0);
}
