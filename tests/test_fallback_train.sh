#!/bin/sh
# The real trainer with the broken test modules: every run that falls back to the CPU
# mid-run ends with a checkpoint byte-identical to a CPU-only run of the same steps,
# and the report names the switch and its cause.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"
plugins="$ANETRAIN_BUILDDIR/tests/plugins"
run() {   # run NAME BACKEND FALLBACK SETTINGS
    small_config "$cfg" 6 'grad_accum = 2;'
    cat >> "$cfg" <<CFG
backend = "$2";
fallback = [ $3 ];
plugin_path = [ "$plugins" ];
backends = { $4 };
CFG
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/$1.ckpt" --quiet > "$tmp/$1.out" 2>&1
}

run cpu cpu "" ""
ok $? "CPU-only reference run"
grep -q "^backend switches: 0" "$tmp/cpu.out"
ok $? "no switch on the CPU-only run"

check() {   # check NAME CAUSE-PATTERN SWITCHES
    cmp -s "$tmp/cpu.ckpt" "$tmp/$1.ckpt"
    ok $? "$1: checkpoint identical to the CPU-only run"
    grep -q "^backend switches: $3" "$tmp/$1.out" && grep -q "$2" "$tmp/$1.out"
    ok $? "$1: $3 switch(es) reported with the cause"
}
run openfail test-open-fails '"cpu"' ""
check openfail "test-open-fails -> cpu: open failed: kernel compile failed" 1
run midrun test-midrun '"cpu"' 'test-midrun = { fail_at = 5; };'
check midrun "step 3: test-midrun -> cpu: train_step failed: train_step call 5 failed (injected)" 1
run recompile test-midrun '"cpu"' 'test-midrun = { fail_call = "weights_changed"; fail_at = 4; };'
check recompile "test-midrun -> cpu: weights_changed failed" 1
run nan test-nan '"cpu"' 'test-nan = { nan_at = 6; nan_what = "grads"; };'
check nan "test-nan -> cpu: non-finite loss or gradients where cpu is finite" 1

# --strict: the same fault stops the run with the cause, even with a fallback listed.
small_config "$cfg" 6 'grad_accum = 2;'
cat >> "$cfg" <<CFG
backend = "test-midrun";
fallback = [ "cpu" ];
plugin_path = [ "$plugins" ];
CFG
"$ANETRAIN" train --config "$cfg" --strict --ckpt "$tmp/strict2.ckpt" --quiet > "$tmp/strict2.out" 2>&1
test $? -ne 0 && grep -q "failed (injected)" "$tmp/strict2.out"
ok $? "--strict: the fault stops the run and is named"

# A mistyped setting is an error naming file:line.
small_config "$cfg" 6
cat >> "$cfg" <<CFG
plugin_path = [ "$plugins" ];
backends = {
  test-midrun = { fail_att = 1; };
};
CFG
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/bad.ckpt" --quiet > "$tmp/bad.out" 2>&1
test $? -ne 0 && grep -q "small.cfg:[0-9]*: backends.test-midrun.fail_att: unknown setting" "$tmp/bad.out"
ok $? "unknown backend setting: error with file:line"
diag "$(grep fail_att "$tmp/bad.out")"
tap_done
