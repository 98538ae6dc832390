#!/bin/sh
# ane-dynamic on the emulator through the real trainer, with faults injected into the
# emulated device (ANETRAIN_EMU_FAULT): a kernel that fails to compile at open, an
# evaluation that fails mid-run, and a NaN output. In each case the core finishes the
# step on the CPU with nothing lost: the final checkpoint is byte-identical to running
# ane-dynamic up to the failing step and resuming on the CPU.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/emu.cfg"
small_config "$cfg" 6 'grad_accum = 2;'
cat >> "$cfg" <<CFG
chip = "M4";
backend = "ane-dynamic";
fallback = [ "cpu" ];
backends = { ane-dynamic = { device = "emulator"; }; };
CFG
train() {   # train NAME [FLAGS...]
    name=$1; shift
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/$name.ckpt" --quiet "$@" > "$tmp/$name.out" 2>&1
}

train ane
ok $? "ane-dynamic trains 6 steps on the emulator"
grep -q "^backend switches: 0" "$tmp/ane.out" && grep -q "of the FLOPs on the device" "$tmp/ane.out"
ok $? "no switch, and the report shows the device figures"

"$ANETRAIN" train --config "$cfg" --backend cpu --ckpt "$tmp/cpu.ckpt" --quiet > "$tmp/cpu.out" 2>&1
ok $? "CPU-only reference run"
ANETRAIN_EMU_FAULT=compile:1 train compile
cmp -s "$tmp/cpu.ckpt" "$tmp/compile.ckpt" && grep -q "injected compile failure" "$tmp/compile.out"
ok $? "a kernel that fails to compile at open: CPU-only checkpoint, cause reported"

# The reference for a failure in step 3: two steps on ane-dynamic, then the CPU.
train two --stop-after 2 && "$ANETRAIN" train --config "$cfg" --backend cpu --ckpt "$tmp/two.ckpt" --resume --quiet > "$tmp/two2.out" 2>&1
ok $? "reference: 2 steps on ane-dynamic, resumed on the CPU"
# 8 sequences a step (batch 4 x grad_accum 2), 14 evaluations each (2 layers x 6 + 2):
# evaluation 230 falls in step 3; 225 is step 3's first attention kernel.
ANETRAIN_EMU_FAULT=eval:230 train evalfail
cmp -s "$tmp/two.ckpt" "$tmp/evalfail.ckpt" && grep -q "step 3: ane-dynamic -> cpu: .*injected evaluation failure" "$tmp/evalfail.out"
ok $? "an evaluation that fails in step 3: the CPU finishes the step, nothing lost"
ANETRAIN_EMU_FAULT=nan:225 train nan
cmp -s "$tmp/two.ckpt" "$tmp/nan.ckpt" && grep -q "step 3: ane-dynamic -> cpu: non-finite loss or gradients where cpu is finite" "$tmp/nan.out"
ok $? "a NaN output in step 3: the CPU finishes the step, nothing lost"
diag "$(grep -h "ane-dynamic -> cpu" "$tmp/compile.out" "$tmp/evalfail.out" "$tmp/nan.out")"

# ane-fp16io on an M1 profile: the same guarantees.
sed -i -e 's/chip = "M4";/chip = "M1";/' -e 's/ane-dynamic/ane-fp16io/g' "$cfg"
ANETRAIN_EMU_FAULT=compile:1 train f_compile
cmp -s "$tmp/cpu.ckpt" "$tmp/f_compile.ckpt" && grep -q "ane-fp16io -> cpu: open failed.*injected compile failure" "$tmp/f_compile.out"
ok $? "ane-fp16io: a kernel that fails to compile at open: CPU-only checkpoint, cause reported"
ANETRAIN_EMU_FAULT=eval:700 train f_eval
step=$(sed -n 's/.*step \([0-9]*\): ane-fp16io -> cpu: train_step failed.*injected evaluation failure.*/\1/p' "$tmp/f_eval.out" | head -1)
test -n "$step" && train f_ref --stop-after $((step - 1)) &&
    "$ANETRAIN" train --config "$cfg" --backend cpu --ckpt "$tmp/f_ref.ckpt" --resume --quiet > /dev/null 2>&1 &&
    cmp -s "$tmp/f_ref.ckpt" "$tmp/f_eval.ckpt"
ok $? "ane-fp16io: an evaluation failing in step ${step:-?}: the CPU finishes the step, nothing lost"
tap_done
