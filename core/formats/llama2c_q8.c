/* Q8_0 group quantization as llama2.c's export.py (version 2) and runq.c do it. */
#include <math.h>

#include "formats/llama2c.h"

int llama2c_group_size(const struct ant_model_config *c)
{
    int gs = 64;
    while (gs > 1 && (c->dim % gs || c->hidden_dim % gs)) gs /= 2;
    return gs;
}

/* q for x on the grid of scale s; 1 if q * s gives back every x exactly. */
static int on_grid(const float *x, int gs, float s, int8_t *q)
{
    int exact = 1;
    for (int i = 0; i < gs; i++) {
        float v = s > 0 ? nearbyintf(x[i] / s) : 0.0f;   /* export.py: torch.round */
        if (v > 127) v = 127;   /* only a neighbouring scale can push |x/s| past 127 */
        if (v < -127) v = -127;
        q[i] = (int8_t)v;
        if ((float)q[i] * s != x[i]) exact = 0;
    }
    return exact;
}

void q8_quantize(const float *x, size_t n, int gs, int8_t *q, float *scale)
{
    for (size_t g = 0; g < n / (size_t)gs; g++) {
        const float *xg = x + g * (size_t)gs;
        int8_t *qg = q + g * (size_t)gs;
        float wmax = 0;
        for (int i = 0; i < gs; i++)
            if (fabsf(xg[i]) > wmax) wmax = fabsf(xg[i]);
        float s = wmax / 127.0f;
        if (!on_grid(xg, gs, s, qg)) {
            /* q * s was rounded to float32, and max|q*s| / 127 may land one step off s */
            float lo = nextafterf(s, 0.0f), hi = nextafterf(s, INFINITY);
            if (on_grid(xg, gs, lo, qg)) s = lo;
            else if (on_grid(xg, gs, hi, qg)) s = hi;
            else on_grid(xg, gs, s, qg);
        }
        scale[g] = s;
    }
}

void q8_dequantize(const int8_t *q, const float *scale, size_t n, int gs, float *x)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)q[i] * scale[i / (size_t)gs];
}
