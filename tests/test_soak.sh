#!/bin/sh
# `anetrain soak` on the emulator: ane-static with a budget that forces restarts trains
# for a few seconds and passes, counting the restarts; a criterion it cannot meet fails
# with the reason; a device fault mid-run is counted as a fallback and judged by
# --max-switches.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/soak.cfg"
small_config "$cfg" 100000
cat >> "$cfg" <<CFG
chip = "M4";
backend = "ane-static";
fallback = [ "cpu" ];
backends = { ane-static = { device = "emulator"; compile_cache = false; }; };
CFG
printf 'chips = ({ name = "M4"; compile_budget = 30; });\n' > "$tmp/chips.cfg"
export ANETRAIN_CHIPS_FILE="$tmp/chips.cfg"
soak() {   # soak NAME [OPTIONS...]
    name=$1; shift
    "$ANETRAIN" soak --minutes 0.05 --config "$cfg" --ckpt "$tmp/$name.ckpt" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"
}
soak pass
st=$?
restarts=$(sed -n 's/.* \([0-9]*\) restarts,.*/\1/p' "$tmp/pass.out")
test $st -eq 0 && grep -q "^soak: PASS: uptime [0-9]* s, [1-9][0-9]* steps (0 skipped" "$tmp/pass.out" &&
    test "${restarts:-0}" -ge 1
ok $? "a 3-second soak of ane-static passes and counts its ${restarts:-0} restarts"
diag "$(cat "$tmp/pass.out")"
soak slow --min-tokens-per-s 1e12
test $? -eq 1 && grep -q "^soak: FAIL: .*tokens/s < 1000000000000" "$tmp/slow.out"
ok $? "a criterion the run cannot meet fails with the reason"
ANETRAIN_EMU_FAULT=eval:60 soak fault
test $? -eq 1 && grep -q "^soak: FAIL: .*1 backend fallbacks.*: 1 fallbacks > 0" "$tmp/fault.out"
ok $? "a device fault mid-run is a fallback, and fails the default criteria"
ANETRAIN_EMU_FAULT=eval:60 soak allowed --max-switches 1
test $? -eq 0 && grep -q "^soak: PASS: .*1 backend fallbacks" "$tmp/allowed.out"
ok $? "--max-switches 1 accepts it"
tap_done
