/* Baked weights (ane-static, §5): every weight-bearing kernel is compiled again with the
 * new weights as BLOBFILE constants at each weights_changed — per layer the attention
 * and FFN kernels forward and backward, per vocabulary chunk the classifier pair, and
 * with the extras one per RMSNorm. The weight-free dW and softmax kernels were compiled
 * once at open. Each compile counts against the
 * chip's per-process budget (§1.9): at_net_needs_restart says when the next round would
 * not fit, and the core restarts the process before it. */
#include "ane/train/net_impl.h"

#include <stdio.h>

static int rebake(struct at_net *n, struct at_unit *u, enum at_kernel k, int idx, const float *w)
{
    struct ant_err e;
    struct at_bake b = {w, &n->lay, n->c.shared_classifier, idx};
    ane_request_free(u->req);
    ane_kernel_free(u->k);
    u->req = NULL;
    if (!(u->k = at_compile(n, k, &b))) return -1;
    if (!(u->req = ane_request_new(u->k, &u->in, 1, &n->out[k], 1, &e)))
        return at_fail(n, "kernel %s request: %s", at_kernel_name(k), e.msg);
    return 0;
}

int at_bake_weights(struct at_net *n, const float *w)
{
    n->staged = 0;
    if (at_each_weighted_unit(n, rebake, w)) return -1;
    n->st.kernels = at_kernels_held(n);
    n->staged = 1;
    return 0;
}

int at_net_needs_restart(struct at_net *n, char *why, size_t len)
{
    const struct ant_chip *chip = ane_chip(n->dev);
    int need = at_compiles_per_update(n), done = ane_compiles_in_process();
    if (!n->o.baked || chip->compile_budget <= 0 || done + need <= chip->compile_budget) return 0;
    snprintf(why, len, "the next weight update needs %d compiles and this process has done %d "
             "of the %d %s allows (docs/ane.md §1.9)", need, done, chip->compile_budget, chip->name);
    return 1;
}
