#!/bin/sh
# Bad input gets one clear line naming the file, line or field, and a non-zero exit;
# a refused checkpoint is never modified.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"
small_config "$cfg" 3

expect_error "missing data file" "$tmp/nope.bin" \
    "$ANETRAIN" train --config "$cfg" --data "$tmp/nope.bin" --ckpt "$tmp/c"
: > "$tmp/empty.bin"
expect_error "empty data file" "$tmp/empty.bin.*empty" \
    "$ANETRAIN" train --config "$cfg" --data "$tmp/empty.bin" --ckpt "$tmp/c"
printf 'abc' > "$tmp/odd.bin"
expect_error "odd-length token file" "$tmp/odd.bin.*odd" \
    "$ANETRAIN" train --config "$cfg" --data "$tmp/odd.bin" --ckpt "$tmp/c"
printf 'ab' > "$tmp/short.bin"
expect_error "token file shorter than seq_len+1" "$tmp/short.bin" \
    "$ANETRAIN" train --config "$cfg" --data "$tmp/short.bin" --ckpt "$tmp/c"
# 100 tokens below 256, then id 300 (0x012c little-endian) at index 100.
{ head -c 200 /dev/zero; printf '\054\001'; head -c 200 /dev/zero; } > "$tmp/badid.bin"
expect_error "token id >= vocab_size names the id and its index" "$tmp/badid.bin.*300" \
    "$ANETRAIN" train --config "$cfg" --data "$tmp/badid.bin" --ckpt "$tmp/c"

printf 'model = { dim = 64; };\ntrain = { stepz = 3; };\n' > "$tmp/unknown.cfg"
expect_error "unknown config key names file:line and key" "unknown.cfg:2.*stepz" \
    "$ANETRAIN" train --config "$tmp/unknown.cfg"
printf 'train = {\n  lr = "fast";\n};\n' > "$tmp/type.cfg"
expect_error "wrong config type names file:line and key" "type.cfg:2.*lr" \
    "$ANETRAIN" train --config "$tmp/type.cfg"
printf 'train = { steps = 1 \n' > "$tmp/syntax.cfg"
expect_error "config syntax error names the file" "syntax.cfg" \
    "$ANETRAIN" train --config "$tmp/syntax.cfg"
expect_error "missing config file" "$tmp/none.cfg" \
    "$ANETRAIN" train --config "$tmp/none.cfg"
expect_error "bad flag value" "--steps" \
    "$ANETRAIN" train --config "$cfg" --steps many

# A corrupted checkpoint is refused and left as it was.
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/good.ckpt" --quiet > /dev/null 2>&1
ok $? "a short run writes a checkpoint"
cp "$tmp/good.ckpt" "$tmp/bad.ckpt"
size=$(wc -c < "$tmp/bad.ckpt")
printf '\377' | dd of="$tmp/bad.ckpt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
cp "$tmp/bad.ckpt" "$tmp/bad.copy"
expect_error "a corrupted checkpoint is refused on resume" "bad.ckpt" \
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/bad.ckpt" --resume --steps 6
cmp -s "$tmp/bad.ckpt" "$tmp/bad.copy"
ok $? "the refused checkpoint is untouched"
head -c $((size - 10)) "$tmp/good.ckpt" > "$tmp/trunc.ckpt"
expect_error "a truncated checkpoint is refused by sample" "trunc.ckpt" \
    "$ANETRAIN" sample --ckpt "$tmp/trunc.ckpt" --tokens 4
small_config "$tmp/other.cfg" 6
sed -i 's/dim = 64;/dim = 32;/' "$tmp/other.cfg"
expect_error "a checkpoint of another model shape is refused on resume" "dim" \
    "$ANETRAIN" train --config "$tmp/other.cfg" --ckpt "$tmp/good.ckpt" --resume

# Divergence: an absurd learning rate without clipping makes every gradient non-finite.
# The run skips those updates; five in a row roll it back with the learning rate halved,
# three times (checkpoint.max_rollbacks), then it stops. No state of it was ever good
# enough to save, so no checkpoint exists; the advice names grad_clip, which is off.
cat > "$tmp/diverge.cfg" <<CFG
model = { dim = 64; hidden_dim = 176; n_layers = 2; n_heads = 4; n_kv_heads = 2; seq_len = 64; };
train = { batch_size = 4; steps = 40; lr = 1000.0; min_lr = 1.0; warmup_steps = 0; grad_clip = 0.0; };
checkpoint = { every = 5; };
CFG
expect_error "a diverging run stops with a clear reason" \
    "diverged.*3 rollback.*stopping: no checkpoint was written; lower train.lr or enable train.grad_clip" \
    "$ANETRAIN" train --config "$tmp/diverge.cfg" --ckpt "$tmp/div.ckpt" --quiet
grep -q "update skipped" "$tmp/err"
ok $? "each non-finite step is reported as skipped"
[ "$(grep -c "rolling back to step 0 (the initial weights)" "$tmp/err")" -eq 3 ]
ok $? "three rollbacks to the initial weights, no more"
! test -e "$tmp/div.ckpt" && ! test -e "$tmp/div.ckpt.best"
ok $? "no diverged state was written as a checkpoint"

expect_error "an unwritable checkpoint path is refused before training" "nofolder/x.ckpt: cannot write here" \
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/nofolder/x.ckpt"
! grep -q "^step" "$tmp/err"
ok $? "no step was trained before that error"

"$ANETRAIN" frobnicate > /dev/null 2>&1
ok $([ $? -eq 2 ]; echo $?) "an unknown command exits with status 2"
"$ANETRAIN" train --help | grep -q -- "--resume"
ok $? "train --help documents --resume"
tap_done
