/* The vectorizable row kernels of backends/cpu/vecmath.h against libm in double: exp
 * accuracy in ulps over its whole range, its saturation and NaN behaviour, and the
 * blocked max / exp-sum / scale loops at every tail length. */
#include <math.h>
#include <string.h>

#include "cpu/vecmath.h"
#include "base/rng.h"
#include "tap.h"

static double ulps(float got, double want)
{
    return fabs(got - want) / ldexp(1.0, ilogb(want) - 23);
}

int main(void)
{
    double worst = 0, at = 0;
    for (int i = 0; i <= 2000000; i++) {
        float x = -87.0f + 175.0f * (float)i / 2000000.0f;
        double e = ulps(exp_approx(x), exp((double)x));
        if (e > worst) worst = e, at = x;
    }
    if (!ok(worst <= 1.5, "exp_approx within 1.5 ulp on [-87, 88] (worst %.2f at %g)", worst,
            at))
        diag("exp_approx(%g) = %.9g, exp = %.9g", at, exp_approx((float)at), exp(at));
    float lo = exp_approx(-1000.0f), hi = exp_approx(1000.0f);
    ok(lo >= 0 && lo < 2e-38f, "exp_approx(-1000) saturates near 0: %g", lo);
    ok(isfinite(hi) && hi > 1e38f, "exp_approx(1000) saturates high and finite: %g", hi);
    ok(isnan(exp_approx(NAN)) && isnan(exp_approx(-INFINITY)), "NaN and -inf give NaN");
    ok(exp_approx(0.0f) == 1.0f && exp_approx(-0.0f) == 1.0f, "exp_approx(0) is exactly 1");

    struct ant_rng r;
    rng_seed(&r, 3);
    int good_max = 1, good_sum = 1, good_scale = 1;
    for (int n = 1; n <= 50; n++) {
        float x[50], y[50];
        for (int i = 0; i < n; i++) x[i] = (float)(4 * rng_normal(&r));
        float mx = x[0];
        for (int i = 1; i < n; i++) mx = fmaxf(mx, x[i]);
        good_max &= vec_max(x, n) == mx;
        memcpy(y, x, sizeof x);
        double sum = vec_exp_sum(y, n, mx), want = 0;
        for (int i = 0; i < n; i++) {
            want += exp((double)x[i] - mx);
            good_sum &= fabs(y[i] - exp((double)x[i] - mx)) <= 2e-7;
        }
        good_sum &= fabs(sum - want) <= 1e-6 * want;
        vec_scale(y, n, 0.5f);
        for (int i = 0; i < n; i++) good_scale &= y[i] == 0.5f * exp_approx(x[i] - mx);
    }
    ok(good_max, "vec_max equals a scalar max for lengths 1..50");
    ok(good_sum, "vec_exp_sum values and sum match libm for lengths 1..50");
    ok(good_scale, "vec_scale scales every element for lengths 1..50");
    return tap_done();
}
