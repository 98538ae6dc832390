/* Helpers shared by the ANE toolkit tests: chip profiles built here (values of
 * configs/chips.cfg, from docs/ane.md §2, §7, §8), and running a built program on
 * the emulator. */
#ifndef TEST_ANE_UTIL_H
#define TEST_ANE_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "ane/device/device.h"
#include "ane/base/fp16.h"
#include "ane/mil/mil_build.h"
#include "base/rng.h"

/* M1/M2: program 1.0/ios16 verbose scalars, fp16 surfaces, no cast, no SDPA (§7.1). */
static inline struct ant_chip test_chip_m1(void)
{
    struct ant_chip c = {sizeof c, "M1", 1, "base", 1, 1, "", "1.0", "ios16", 1, 1, 0, 256, 2048, 100, 11.0, 0,
                         "", "", 0};   /* no OS: none of the §7.3 rules (test_ane_m1rules.c has them) */
    return c;
}

/* M4: program 1.3/ios18 shorthand, fp32 I/O with cast allowed, SDPA (§3.1, §3.5, §8). */
static inline struct ant_chip test_chip_m4(void)
{
    struct ant_chip c = {sizeof c, "M4", 4, "base", 1, 1, "", "1.3", "ios18", 0, 0, 1, 128, 49152, 100, 18.6, 1,
                         "", "", 0};
    return c;
}

static inline void fill_normal(struct ant_rng *r, float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(rng_normal(r) * scale);
}

/* Round a float buffer to fp16 values, as an fp16 surface would carry it. */
static inline void to_fp16(float *x, size_t n) { fp16_round_buf(x, n); }

/* Compile text on an emulator device, run it once on inputs (floats, converted to each
 * input's dtype) and read outputs as floats. 0 or -1 with e. */
static inline int emu_run_text(const struct ant_chip *chip, const char *text,
                               const struct ane_weights *w, const float *const *in,
                               float *const *out, struct ant_err *e)
{
    int rc = -1;
    struct ane_device *d = ane_open("emulator", chip, e);
    struct ane_kernel *k = d ? ane_compile(d, text, strlen(text), w, "test.mil", e) : NULL;
    struct ane_surface *s[2][16] = {{0}};
    struct ane_request *r = NULL;
    if (!k) goto out;
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < ane_kernel_n_io(k, o); i++)
            if (!(s[o][i] = ane_surface_for(k, o, i, e))) goto out;
    for (int i = 0; i < ane_kernel_n_io(k, 0); i++) {
        const struct ane_io *io = ane_kernel_io(k, 0, i);
        if (ane_surface_put(s[0][i], io->type.dt, 0, in[i], (size_t)mil_elems(&io->type), e)) goto out;
    }
    r = ane_request_new(k, s[0], ane_kernel_n_io(k, 0), s[1], ane_kernel_n_io(k, 1), e);
    if (!r || ane_eval(r, e)) goto out;
    for (int i = 0; i < ane_kernel_n_io(k, 1); i++) {
        const struct ane_io *io = ane_kernel_io(k, 1, i);
        if (ane_surface_get(s[1][i], io->type.dt, 0, out[i], (size_t)mil_elems(&io->type), e)) goto out;
    }
    rc = 0;
out:
    ane_request_free(r);
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 16; i++) ane_surface_free(s[o][i]);
    ane_kernel_free(k);
    ane_close(d);
    return rc;
}

/* softmax(x * rsqrt(mean(x^2) + eps) * g) on [1, 32, 1, 16], g [32] a weight blob (so the
 * weights are part of a compile cache key); the text, or NULL. */
static inline char *test_norm_kernel(const struct ant_chip *chip, struct ane_weights *w, const float *g)
{
    struct ant_err e;
    struct mil_builder *b = milb_new(chip);
    mil_v x = milb_input(b, "act", MIL_FP16, MIL_SHAPE(1, 32, 1, 16));
    mil_v ss = milb_reduce_sum(b, "ss", milb_mul(b, "sq", x, x), 1, (int[]){1}, 1);
    mil_v r = milb_pow(b, "r", milb_add(b, "ss_eps", milb_mul(b, "ms", ss, milb_scalar(b, "inv", 1.0f / 32)),
                                        milb_scalar(b, "eps_v", 1e-5f)), milb_scalar(b, "mhalf", -0.5f));
    mil_v y = milb_mul(b, "y", milb_mul(b, "xr", x, r), milb_weight(b, "g", w, "g.bin", MIL_SHAPE(1, 32, 1, 1), g));
    milb_output(b, milb_softmax(b, "sm", y, -1));
    char *t = milb_text(b, &e);
    milb_free(b);
    return t;
}

/* Build with b, print, then run the text as above. Frees b. */
static inline int emu_run_builder(struct mil_builder *b, const struct ant_chip *chip,
                                  const struct ane_weights *w, const float *const *in,
                                  float *const *out, struct ant_err *e)
{
    char *text = milb_text(b, e);
    milb_free(b);
    if (!text) return -1;
    int rc = emu_run_text(chip, text, w, in, out, e);
    free(text);
    return rc;
}

#endif
