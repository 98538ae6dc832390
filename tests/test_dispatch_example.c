/* The plugin kit's example backend, an independent plain-loop implementation, trains
 * through the dispatcher like the CPU backend does: same losses and weights within
 * float rounding after every step. */
#include <config.h>

#include <math.h>

#include "dispatch_util.h"
#include "tap.h"

int main(void)
{
    if (!getenv("ANETRAIN_BUILDDIR")) tap_skip_all("ANETRAIN_BUILDDIR not set (run through make check)");
    struct ant_layout lay;
    ant_layout_init(&lay, &du_model);
    float *init = malloc(lay.total * sizeof *init);
    du_init_weights(init, lay.total, 7);
    struct ant_run_config rc;
    struct du_run cpu, ex;
    du_config(&rc, "cpu", "", 0, NULL);
    ok(du_train(&rc, &cpu, init) == 0, "cpu run (%s)", cpu.err);
    du_config(&rc, "example", "", 1, "backends: { example: { log_every = 0; }; };");
    ok(du_train(&rc, &ex, init) == 0 && ex.switches == 0 && !strcmp(ex.backend, "example"),
       "example run, no switch (%s)", ex.err);
    for (int s = 0; s < DU_STEPS && ex.steps_done == DU_STEPS; s++) {
        is_close(ex.loss[s], cpu.loss[s], 1e-5, 1e-5, "loss of step");
        is_close(ex.norm[s], cpu.norm[s], 1e-6, 1e-4, "gradient norm of step");
    }
    double d2 = 0, r2 = 0;
    for (size_t i = 0; i < cpu.n && ex.w; i++) {
        d2 += ((double)ex.w[i] - cpu.w[i]) * ((double)ex.w[i] - cpu.w[i]);
        r2 += (double)cpu.w[i] * cpu.w[i];
    }
    ok(ex.w && sqrt(d2 / r2) < 1e-5, "weights after %d steps: relative L2 difference %.2e",
       DU_STEPS, sqrt(d2 / r2));
    ok(cpu.loss[DU_STEPS - 1] < cpu.loss[0], "and it learns: %.4f -> %.4f", ex.loss[0],
       ex.loss[DU_STEPS - 1]);
    du_free(&cpu);
    du_free(&ex);
    free(init);
    config_destroy(&du_cfg);
    return tap_done();
}
