/* Dynamic loss scale (lscale.h). */
#include "ane/train/lscale.h"

#include <math.h>
#include <stdio.h>

void at_lscale_init(struct at_lscale *ls, float scale, int growth_interval)
{
    *ls = (struct at_lscale){.scale = scale, .growth_interval = growth_interval,
                             .min_scale = 1.0f / 1024, .max_scale = scale > 65536 ? scale : 65536};
}

int at_lscale_update(struct at_lscale *ls, int finite)
{
    if (!finite) {
        if (ls->scale <= ls->min_scale) return -1;
        ls->scale *= 0.5f;
        ls->clean = 0;
        ls->backoffs++;
        return 1;
    }
    if (ls->growth_interval > 0 && ++ls->clean >= ls->growth_interval) {
        ls->clean = 0;
        if (ls->scale * 2 <= ls->max_scale) {
            ls->scale *= 2;
            ls->growths++;
        }
    }
    return 0;
}

int at_lscale_check(struct at_lscale *ls, const float *g, size_t n)
{
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(g[i]);
    return at_lscale_update(ls, finite);
}

int at_lscale_save(const struct at_lscale *ls, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "loss_scale=%.9g clean=%d backoffs=%ld growths=%ld", ls->scale,
                     ls->clean, ls->backoffs, ls->growths);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int at_lscale_load(struct at_lscale *ls, const char *line)
{
    float scale;
    int clean, used;
    long backoffs, growths;
    if (sscanf(line, "loss_scale=%f clean=%d backoffs=%ld growths=%ld%n", &scale, &clean,
               &backoffs, &growths, &used) != 4 || line[used] || !isfinite(scale) || scale <= 0 ||
        clean < 0 || backoffs < 0 || growths < 0)
        return -1;
    ls->scale = fminf(fmaxf(scale, ls->min_scale), ls->max_scale);
    ls->clean = ls->growth_interval > 0 && clean >= ls->growth_interval ? 0 : clean;
    ls->backoffs = backoffs;
    ls->growths = growths;
    return 0;
}
