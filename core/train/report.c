#include "train/report.h"

#include <math.h>

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
                                      "weight update", "validation", "checkpoint", "logging",
                                      "communication"};
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
    if (r->restarts > 0)
        fprintf(out, "restarts         %ld (fresh processes for the compile budget)\n", r->restarts);
    if (r->compiles > 0)
        fprintf(out, "kernel compiles  %ld, %.0f ms, %.1f%% of the run's time (start-up included)\n",
                r->compiles, r->compile_ms, 100 * r->compile_ms / (r->wall_ms + r->startup_ms + 1e-9));
    fprintf(out, r->restarts > 0 ? "time by phase (this process):\n" : "time by phase:\n");
    for (int p = 0; p < PH_N; p++)
        if (p != PH_COMM || r->phase_ms[p] > 0)
            fprintf(out, "  %-17s %9.1f ms  %5.1f%%\n", names[p], r->phase_ms[p],
                    r->wall_ms > 0 ? 100.0 * r->phase_ms[p] / r->wall_ms : 0);
}
