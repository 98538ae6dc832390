/* The dynamic fp16 loss scale (backends/ane/train/lscale.h) against a hand-worked
 * sequence, and its state line (the ABI's save_state) read back, clamped or refused. */
#include <string.h>

#include "ane/train/lscale.h"
#include "tap.h"

int main(void)
{
    struct at_lscale ls, back;
    at_lscale_init(&ls, 256, 2);
    /* clean, clean -> 512; overflow -> 256 and redo; clean -> 256 (1 of 2) */
    int r1 = at_lscale_update(&ls, 1), r2 = at_lscale_update(&ls, 1);
    ok(r1 == 0 && r2 == 0 && ls.scale == 512 && ls.growths == 1, "2 clean steps double 256 to 512");
    ok(at_lscale_update(&ls, 0) == 1 && ls.scale == 256 && ls.backoffs == 1 && ls.clean == 0,
       "a non-finite gradient halves it and asks for the step again");
    ok(at_lscale_update(&ls, 1) == 0 && ls.scale == 256 && ls.clean == 1, "one clean step counts, no change");
    float g[3] = {1, 0, 2};
    ok(at_lscale_check(&ls, g, 3) == 0 && ls.scale == 512, "finite gradients count as clean (512)");

    char line[128];
    int saved = at_lscale_save(&ls, line, sizeof line);
    ok(saved == 0 &&
       !strcmp(line, "loss_scale=512 clean=0 backoffs=1 growths=2"), "state line: %s", line);
    at_lscale_init(&back, 256, 2);
    ok(at_lscale_load(&back, line) == 0 && back.scale == 512 && back.clean == 0 &&
       back.backoffs == 1 && back.growths == 2, "read back into a fresh scale");
    ok(at_lscale_save(&ls, line, 10) < 0, "a buffer too small is an error, not a cut line");

    static const char *bad[] = {"", "loss_scale=abc clean=0 backoffs=0 growths=0",
                                "loss_scale=256 clean=-1 backoffs=0 growths=0",
                                "loss_scale=0 clean=0 backoffs=0 growths=0",
                                "loss_scale=nan clean=0 backoffs=0 growths=0",
                                "loss_scale=256 clean=0 backoffs=0 growths=0 extra"};
    int refused = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_lscale_init(&back, 256, 2);
        refused += at_lscale_load(&back, bad[i]) < 0 && back.scale == 256;
    }
    ok(refused == 6, "6 bad lines refused, the scale untouched (%d)", refused);
    at_lscale_init(&back, 256, 2);
    int rc = at_lscale_load(&back, "loss_scale=1e30 clean=5 backoffs=0 growths=0");
    ok(rc == 0 && back.scale == back.max_scale && back.clean == 0,
       "a scale above the maximum is clamped (%g) and a count past the interval restarts", back.scale);
    return tap_done();
}
