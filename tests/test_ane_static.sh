#!/bin/sh
# ane-static through the real trainer on the emulator: the compile budget and the
# restart lifecycle. A run whose budget forces several process restarts ends with the
# same model (exported model.bin, byte for byte) and the same loss at every step as the
# same run with a budget it never reaches; a compile failure at open or mid-run hands
# over to the CPU with nothing lost; impossible budgets and a broken restart stop with
# a clear message and the last good checkpoint intact.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/static.cfg"
small_config "$cfg" 8
sed -i 's/log_every = 10;/log_every = 1;/' "$cfg"
cat >> "$cfg" <<CFG
chip = "M4";
backend = "ane-static";
fallback = [ "cpu" ];
backends = { ane-static = { device = "emulator"; compile_cache = false; }; };
CFG
budget() {   # budget N: a user chips file giving M4 that per-process compile budget
    printf 'chips = ({ name = "M4"; compile_budget = %s; });\n' "$1" > "$tmp/chips$1.cfg"
    echo "$tmp/chips$1.cfg"
}
train() {   # train NAME BUDGET [FLAGS...]
    name=$1; b=$2; shift 2
    ANETRAIN_CHIPS_FILE=$(budget "$b") "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/$name.ckpt" "$@" \
        > "$tmp/$name.out" 2>&1
}
losses() { grep -o 'step [0-9]*/8 | loss [0-9.]*' "$tmp/$1.out"; }
export_model() { "$ANETRAIN" export --format llama2c --ckpt "$tmp/$1.ckpt" --out "$tmp/$1.bin" > /dev/null 2>&1; }

# 2 layers, 1 vocabulary chunk: 10 compiles per update plus 2 weight-free at open.
train big 100000
ok $? "ane-static trains 8 steps with a budget it never reaches"
grep -q "^restarts" "$tmp/big.out"
ok $((! $?)) "no restart with the large budget"
train small 30
ok $? "the same run with a budget of 30 compiles per process finishes"
# After the last update one more process validates the final weights (pending_validation).
grep -q "^restarts         4 " "$tmp/small.out" && grep -q "^kernel compiles  100, " "$tmp/small.out"
ok $? "it restarted the process 4 times (every 2 updates, and to validate step 8); the report counts all 100 compiles"
# every validation saw the weights of its step: the same losses as the unrestarted run's
vals() { grep '"event":"val"' "$tmp/$1.ckpt.log.jsonl" | grep -o '"step":[0-9]*,"val_loss":[0-9.e+-]*'; }
vals big | tail -1 > "$tmp/big.vals"; vals small | tail -1 > "$tmp/small.vals"
test -s "$tmp/big.vals" && cmp -s "$tmp/big.vals" "$tmp/small.vals" &&
grep -q "step 8: validation waits for a process" "$tmp/small.out"
ok $? "the final validation loss is that of step 8's weights in both runs ($(cat "$tmp/small.vals"))"
# the validating process runs no step: the report's last loss comes from the one before
test "$(grep "^loss " "$tmp/small.out")" = "$(grep "^loss " "$tmp/big.out")" &&
test "$(grep "^validation loss " "$tmp/small.out")" = "$(grep "^validation loss " "$tmp/big.out")"
ok $? "the final report gives the same first and last loss and validation loss ($(grep "^loss " "$tmp/small.out" | tr -s ' '))"
diag "$(grep -h "restarting the process\|^restarts\|^kernel compiles" "$tmp/small.out" | head -5)"
export_model big && export_model small && cmp -s "$tmp/big.bin" "$tmp/small.bin"
ok $? "restarted and unrestarted runs end with byte-identical models"
losses big > "$tmp/big.losses"; losses small > "$tmp/small.losses"
test "$(wc -l < "$tmp/big.losses")" -eq 8 && cmp -s "$tmp/big.losses" "$tmp/small.losses"
ok $? "and the same loss at every one of the 8 steps"

# The extras (docs/ane.md §15.1) add one kernel per RMSNorm to each update (2 layers:
# 5, and the final norm's forward: 16 per update) and the softmax at open (3): a
# budget of 40 holds 2 updates per process. Restarts leave the model unchanged there too.
sed 's/compile_cache = false;/compile_cache = false; extras = true;/' "$cfg" > "$tmp/extras.cfg"
ecfg=$cfg; cfg="$tmp/extras.cfg"
train xbig 100000 && train xsmall 40
ok $? "with extras = true: 8 steps with and without restarts"
grep -q "^restarts         4 " "$tmp/xsmall.out" && ! grep -q "^restarts" "$tmp/xbig.out"
ok $? "with extras the budget of 40 restarts the process 4 times (every 2 updates, and to validate)"
export_model xbig && export_model xsmall && cmp -s "$tmp/xbig.bin" "$tmp/xsmall.bin" &&
losses xbig > "$tmp/xbig.losses" && losses xsmall > "$tmp/xsmall.losses" &&
test "$(wc -l < "$tmp/xbig.losses")" -eq 8 && cmp -s "$tmp/xbig.losses" "$tmp/xsmall.losses"
ok $? "and both end with byte-identical models and the same 8 losses"
# the extras compute the same model in fp16: the losses follow the run without them
paste "$tmp/big.losses" "$tmp/xbig.losses" | awk '{ d = $5 - $10; if (d < 0) d = -d; if (d > m) m = d }
    END { printf "%g\n", m; exit !(NR == 8 && m < 0.01) }' > "$tmp/xdiff"
ok $? "their losses follow the run without extras within 0.01 (largest gap $(cat "$tmp/xdiff"))"

# The fp16 loss scale goes on across restarts (the checkpoint keeps the backend's state,
# ABI save_state): started at 2^24 it overflows and backs off 7 times, each a redone
# pass, and a process that began again at 2^24 would redo them all again.
sed 's/compile_cache = false;/compile_cache = false; loss_scale = 16777216.0; loss_scale_growth = 2;/' \
    "$ecfg" > "$tmp/lscale.cfg"
cfg="$tmp/lscale.cfg"
train lbig 100000 && train lsmall 30
ok $? "loss scale 2^24, growth every 2 steps: 8 steps with and without restarts"
grep -q "^restarts         4 " "$tmp/lsmall.out" &&
test "$(grep -c "goes on from the checkpoint's state: loss_scale=" "$tmp/lsmall.out")" -eq 4
ok $? "each of the 4 restarted processes took the loss scale from the checkpoint"
diag "$(grep -m1 "goes on from the checkpoint's state" "$tmp/lsmall.out")"
export_model lbig && export_model lsmall && cmp -s "$tmp/lbig.bin" "$tmp/lsmall.bin" &&
losses lbig > "$tmp/lbig.losses" && losses lsmall > "$tmp/lsmall.losses" &&
test "$(wc -l < "$tmp/lbig.losses")" -eq 8 && cmp -s "$tmp/lbig.losses" "$tmp/lsmall.losses"
ok $? "and the restarted run ends with the same model and the same 8 losses"
cfg=$ecfg

# compile failures: at open (the first compile) and mid-run (the 40th: step 3's update)
"$ANETRAIN" train --config "$cfg" --backend cpu --ckpt "$tmp/cpu.ckpt" > /dev/null 2>&1
ANETRAIN_EMU_FAULT=compile:1 train first 100000
cmp -s "$tmp/cpu.ckpt" "$tmp/first.ckpt" && grep -q "ane-static -> cpu: open failed.*injected compile failure" "$tmp/first.out"
ok $? "the first compile fails: the CPU trains, checkpoint identical to the CPU-only run"
train three 100000 --stop-after 3 && "$ANETRAIN" train --config "$cfg" --backend cpu --ckpt "$tmp/three.ckpt" --resume > /dev/null 2>&1
ok $? "reference: 3 steps on ane-static, resumed on the CPU"
ANETRAIN_EMU_FAULT=compile:40 train fortieth 100000
cmp -s "$tmp/three.ckpt" "$tmp/fortieth.ckpt" && grep -q "ane-static -> cpu: weights_changed failed.*injected compile failure" "$tmp/fortieth.out"
ok $? "the 40th compile fails: the CPU takes over after step 3, nothing lost"

# a budget one update cannot fit is refused at open with the figures
train tiny 11 --strict
test $? -ne 0 && grep -q "needs 10 kernel compiles per weight update after 2 at open, more than M4 allows per process (11" "$tmp/tiny.out"
ok $? "a budget smaller than one update is refused with the figures"

# a restarted process whose checkpoint is not where the restart left it stops cleanly
cp "$tmp/big.ckpt" "$tmp/keep.ckpt"
ANETRAIN_RESTART="restarts=2 step=5 end=8 steps=5 skipped=0 compiles=60 wall_ms=1 startup_ms=1 compile_ms=1 tokens=1 flops=1 first_loss=5 last_loss=4" \
    train big 100000 --resume
test $? -ne 0 && grep -q "after restart 2: .* holds step 8, but the run restarted at step 5" "$tmp/big.out" &&
    cmp -s "$tmp/big.ckpt" "$tmp/keep.ckpt"
ok $? "a restart that finds the wrong checkpoint stops with the reason; the checkpoint is untouched"
diag "$(grep "after restart" "$tmp/big.out")"

# With the compile cache on, each restarted process restores the weight-free kernels
# from disk instead of compiling them (a hit does not count against the budget), so the
# same run needs fewer restarts and ends with the same model.
sed -i 's/compile_cache = false;/compile_cache = true;/' "$cfg"
ANETRAIN_CACHE_DIR="$tmp/kcache" train cached 30
ok $? "the budget-30 run with a compile cache finishes"
grep -q "^restarts         3 " "$tmp/cached.out" && grep -q "^kernel compiles  92, " "$tmp/cached.out"
ok $? "its restarted processes take the weight-free kernels from the cache: 3 restarts, 92 compiles"
diag "$(grep -h "^restarts\|^kernel compiles" "$tmp/cached.out")"
export_model cached && cmp -s "$tmp/big.bin" "$tmp/cached.bin"
ok $? "and its model is byte-identical to the run that never restarted"
tap_done
