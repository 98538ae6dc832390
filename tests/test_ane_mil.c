/* The MIL builder: the same kernel built in C and written by hand (§3.6 Examples A and
 * B) compute the same numbers; dialects, names, round trips, sticky errors. */
#include <stdio.h>

#include "tap.h"
#include "test_ane_util.h"

#define HDR_A "program(1.3)\n[buildInfo = dict<string, string>({{\"coremlc-component-MIL\", \"3510.2.1\"}, {\"coremlc-version\", \"3505.4.1\"}, {\"coremltools-component-milinternal\", \"\"}, {\"coremltools-version\", \"9.0\"}})]\n"
static const char example_a[] = HDR_A
    "{\n    func main<ios18>(tensor<fp16, [1, 64, 1, 32]> act_in) {\n"
    "        string cv_pad_mode = const()[name = string(\"cv_pad_mode\"), val = string(\"valid\")];\n"
    "        tensor<int32, [2]> cv_stride = const()[name = string(\"cv_stride\"), val = tensor<int32, [2]>([1, 1])];\n"
    "        tensor<int32, [4]> cv_padding = const()[name = string(\"cv_padding\"), val = tensor<int32, [4]>([0, 0, 0, 0])];\n"
    "        tensor<int32, [2]> cv_dilate = const()[name = string(\"cv_dilate\"), val = tensor<int32, [2]>([1, 1])];\n"
    "        int32 cv_groups = const()[name = string(\"cv_groups\"), val = int32(1)];\n"
    "        tensor<fp16, [128, 64, 1, 1]> proj_w = const()[name = string(\"proj_w\"), val = tensor<fp16, [128, 64, 1, 1]>(BLOBFILE(path = string(\"@model_path/weights/proj.bin\"), offset = uint64(64)))];\n"
    "        tensor<fp16, [1, 128, 1, 32]> proj_out = conv(dilations = cv_dilate, groups = cv_groups, pad = cv_padding, pad_type = cv_pad_mode, strides = cv_stride, weight = proj_w, x = act_in)[name = string(\"proj_out\")];\n"
    "        tensor<fp16, [1, 128, 1, 32]> proj_sig = sigmoid(x = proj_out)[name = string(\"proj_sig\")];\n"
    "        tensor<fp16, [1, 128, 1, 32]> proj_act = mul(x = proj_out, y = proj_sig)[name = string(\"proj_act\")];\n"
    "    } -> (proj_act);\n}\n";

static const char example_b[] = "program(1.0)\n"
    "[buildInfo = dict<tensor<string, []>, tensor<string, []>>({{\"coremlc-version\", \"3505.4.1\"}})]\n"
    "{\n    func main<ios16>(tensor<fp16, [1, 64, 1, 32]> act_in) {\n"
    "        tensor<string, []> cv_pad_mode = const()[name = tensor<string, []>(\"cv_pad_mode\"), val = tensor<string, []>(\"valid\")];\n"
    "        tensor<int32, [2]> cv_stride = const()[name = tensor<string, []>(\"cv_stride\"), val = tensor<int32, [2]>([1, 1])];\n"
    "        tensor<int32, [4]> cv_padding = const()[name = tensor<string, []>(\"cv_padding\"), val = tensor<int32, [4]>([0, 0, 0, 0])];\n"
    "        tensor<int32, [2]> cv_dilate = const()[name = tensor<string, []>(\"cv_dilate\"), val = tensor<int32, [2]>([1, 1])];\n"
    "        tensor<int32, []> cv_groups = const()[name = tensor<string, []>(\"cv_groups\"), val = tensor<int32, []>(1)];\n"
    "        tensor<fp16, [128, 64, 1, 1]> proj_w = const()[name = tensor<string, []>(\"proj_w\"), val = tensor<fp16, [128, 64, 1, 1]>(BLOBFILE(path = tensor<string, []>(\"@model_path/weights/proj.bin\"), offset = tensor<uint64, []>(64)))];\n"
    "        tensor<fp16, [1, 128, 1, 32]> proj_out = conv(dilations = cv_dilate, groups = cv_groups, pad = cv_padding, pad_type = cv_pad_mode, strides = cv_stride, weight = proj_w, x = act_in)[name = tensor<string, []>(\"proj_out\")];\n"
    "        tensor<fp16, [1, 128, 1, 32]> proj_sig = sigmoid(x = proj_out)[name = tensor<string, []>(\"proj_sig\")];\n"
    "        tensor<fp16, [1, 128, 1, 32]> proj_act = mul(x = proj_out, y = proj_sig)[name = tensor<string, []>(\"proj_act\")];\n"
    "    } -> (proj_act);\n}\n";

/* Example A through the builder, its weights going into w. */
static struct mil_builder *build_a(const struct ant_chip *chip, struct ane_weights *w, const float *W)
{
    struct mil_builder *b = milb_new(chip);
    mil_v x = milb_input(b, "act_in", MIL_FP16, MIL_SHAPE(1, 64, 1, 32));
    mil_v wt = milb_weight(b, "proj_w", w, "proj.bin", MIL_SHAPE(128, 64, 1, 1), W);
    mil_v y = milb_conv(b, "proj_out", x, wt);
    milb_output(b, milb_mul(b, "proj_act", y, milb_sigmoid(b, "proj_sig", y)));
    return b;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

int main(void)
{
    struct ant_chip m1 = test_chip_m1(), m4 = test_chip_m4();
    struct ant_err e = {{0}};
    struct ant_rng r;
    rng_seed(&r, 11);
    static float W[128 * 64], X[64 * 32], y_hand[128 * 32], y_built[128 * 32], y_b[128 * 32], y_m1[128 * 32];
    fill_normal(&r, W, 128 * 64, 0.125);
    fill_normal(&r, X, 64 * 32, 1.0);

    struct ane_weights w;
    weights_init(&w);
    struct mil_builder *b = build_a(&m4, &w, W);
    char *text = milb_text(b, &e);
    ok(text != NULL, "Example A builds for M4 %s", text ? "" : e.msg);
    milb_free(b);
    const float *in[] = {X};
    ok(emu_run_text(&m4, example_a, &w, in, (float *[]){y_hand}, &e) == 0, "hand-written Example A runs %s", e.msg);
    ok(emu_run_text(&m4, text, &w, in, (float *[]){y_built}, &e) == 0, "built Example A runs %s", e.msg);
    ok(!memcmp(y_hand, y_built, sizeof y_hand), "builder and hand-written program give identical results");
    ok(emu_run_text(&m4, example_b, &w, in, (float *[]){y_b}, &e) == 0 && !memcmp(y_hand, y_b, sizeof y_b),
       "verbose Example B gives the same results as A on M4");
    /* independent check of one output: silu(W x) in double, fp16 tolerance */
    double acc = 0;
    for (int i = 0; i < 64; i++) acc += (double)fp16_round(W[5 * 64 + i]) * fp16_round(X[i * 32 + 3]);
    is_close(y_hand[5 * 32 + 3], acc / (1 + exp(-acc)), 2e-3, 4e-3, "y[5,3] = silu(W x) by hand");

    struct ane_weights w1;
    weights_init(&w1);
    b = build_a(&m1, &w1, W);
    char *vtext = milb_text(b, &e);
    milb_free(b);
    ok(vtext && strstr(vtext, "program(1.0)") && strstr(vtext, "func main<ios16>") &&
       strstr(vtext, "tensor<string, []>(\"valid\")") && !strstr(vtext, " string(") && !strstr(vtext, "int32("),
       "M1 build is the verbose dialect");
    ok(emu_run_text(&m1, vtext, &w1, in, (float *[]){y_m1}, &e) == 0 && !memcmp(y_m1, y_hand, sizeof y_m1),
       "the verbose build on M1 gives identical results %s", e.msg);

    struct mil_prog *p = mil_load(text, strlen(text), "a.mil", &m1, NULL, &e);
    ok(!p && strstr(e.msg, "a.mil:1:9:") && strstr(e.msg, "program(1.3)"), "M1 refuses program(1.3): %s", e.msg);
    mil_prog_free(p);
    p = mil_load(example_a, strlen(example_a), "a.mil", &(struct ant_chip){.name = "M1", .mil_program = "1.3",
                 .mil_target = "ios18", .mil_verbose_scalars = 1, .fp16_io = 1}, NULL, &e);
    ok(!p && strstr(e.msg, "shorthand"), "a verbose-only chip refuses shorthand scalars: %s", e.msg);
    mil_prog_free(p);

    /* round trip: print(parse(text)) == text, both dialects */
    for (int v = 0; v < 2; v++) {
        const char *t = v ? vtext : text;
        p = mil_parse(t, strlen(t), "rt.mil", &e);
        char *again = p ? mil_print(p, v, &e) : NULL;
        ok(again && !strcmp(again, t), "%s text survives parse and print", v ? "verbose" : "modern");
        free(again);
        mil_prog_free(p);
    }
    free(text);
    free(vtext);

    /* names: reserved words, duplicates, odd characters */
    b = milb_new(&m4);
    mil_v x = milb_input(b, "x", MIL_FP16, MIL_SHAPE(1, 32, 1, 8));
    mil_v o1 = milb_sigmoid(b, "out", x), o2 = milb_exp(b, "out", o1), o3 = milb_sqrt(b, "3d weird-name", o2);
    mil_v o4 = milb_unary(b, MIL_RELU, "eps", o3);
    ok(strcmp(milb_name(b, x), "x") && strcmp(milb_name(b, o4), "eps"), "reserved names x, eps avoided (%s, %s)",
       milb_name(b, x), milb_name(b, o4));
    ok(!strcmp(milb_name(b, o1), "out") && !strcmp(milb_name(b, o2), "out_2"), "a taken name gets _2");
    ok(!strcmp(milb_name(b, o3), "v_3d_weird_name"), "odd characters made an identifier (%s)", milb_name(b, o3));
    mil_v c1 = milb_conv(b, "c1", x, milb_tensor(b, "w1", MIL_SHAPE(32, 32, 1, 1), W));
    milb_conv(b, "c2", c1, milb_tensor(b, "w2", MIL_SHAPE(32, 32, 1, 1), W + 1024));
    milb_output(b, o4);
    text = milb_text(b, &e);
    ok(text && count(text, "= const()[name = string(\"strides_1_1\")") == 1, "two convs share one strides const");
    free(text);
    milb_free(b);

    /* sticky errors */
    b = milb_new(&m4);
    x = milb_input(b, "a", MIL_FP16, MIL_SHAPE(1, 1, 8, 16));
    mil_v bad = milb_matmul(b, "bad", x, x, 0, 0);
    mil_v after = milb_sigmoid(b, "after", bad);
    text = milb_text(b, &e);
    ok(bad == -1 && after == -1 && !text && strstr(e.msg, "inner dimensions differ"), "matmul shape error is sticky: %s", e.msg);
    milb_free(b);

    b = milb_new(&m1);
    x = milb_input(b, "a", MIL_FP16, MIL_SHAPE(1, 32, 1, 8));
    milb_output(b, milb_cast(b, "to32", x, MIL_FP32));
    text = milb_text(b, &e);
    ok(!text && strstr(e.msg, "cast"), "M1 build refuses cast: %s", e.msg);
    milb_free(b);
    b = milb_new(&m4);
    x = milb_input(b, "a", MIL_FP16, MIL_SHAPE(1, 32, 1, 8));
    milb_output(b, milb_cast(b, "to32", x, MIL_FP32));
    text = milb_text(b, &e);
    ok(text && strstr(text, "cast(dtype = to_fp32, x = a)"), "M4 build takes cast");
    free(text);
    milb_free(b);
    weights_free(&w);
    weights_free(&w1);
    return tap_done();
}
