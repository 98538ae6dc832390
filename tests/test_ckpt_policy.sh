#!/bin/sh
# The checkpoint policy through the real trainer: which checkpoint survives (fresh runs
# over another run, two trainers, divergence, a damaged PATH, stale temp files, a bad
# --ckpt, resuming past the end), signals and file-size limits, FIFOs.
. "${ANETRAIN_SRCDIR:-.}/tests/tap.sh"
cfg="$tmp/small.cfg"
small_config "$cfg" 30

# wait_for PATTERN FILE: until a line of FILE matches (at most 60 s).
wait_for() {
    i=0
    while ! grep -q -- "$1" "$2" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
}
# eval_loss CKPT [DATA]: the mean loss of a checkpoint over 2 batches, or nothing.
eval_loss() {
    "$ANETRAIN" eval --config "$cfg" --ckpt "$1" --batches 2 ${2:+--data "$2"} 2>/dev/null |
        sed -n 's/.*: loss \([0-9.]*\) over.*/\1/p'
}
# a FIFO must be refused, not waited on: bound the wait where timeout(1) exists
if command -v timeout > /dev/null 2>&1; then bounded="timeout 60"; else bounded=; fi
trained() { ! grep -q "^step" "$tmp/err"; }   # no progress line: refused before training

# ---- --ckpt is checked before training ----------------------------------------------
mkdir "$tmp/adir"
expect_error "--ckpt naming a folder is refused" "adir is a folder" \
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/adir"
trained
ok $? "  before any step"
test -d "$tmp/adir" && ! test -e "$tmp/adir.prev"
ok $? "  and the folder is left as it was"
expect_error "--ckpt ending with / is refused" "ends with '/'" \
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/new/"
expect_error "an empty --ckpt is refused" "empty path" \
    "$ANETRAIN" train --config "$cfg" --ckpt ""
mkfifo "$tmp/fifo"
expect_error "--ckpt naming a FIFO is refused" "fifo exists and is not a regular file" \
    $bounded "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/fifo"
expect_error "--resume from a FIFO is refused, not waited on" "fifo.*not a regular file" \
    $bounded "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/fifo" --resume
expect_error "a FIFO as training data is refused, not waited on" "fifo: not a regular file" \
    $bounded "$ANETRAIN" train --config "$cfg" --data "$tmp/fifo" --ckpt "$tmp/f.ckpt"
cp "$cfg" "$tmp/evalfifo.cfg"
printf 'data = { eval_path = "fifo"; };\n' >> "$tmp/evalfifo.cfg"
expect_error "a FIFO as held-out data is refused" "fifo: not a regular file" \
    $bounded "$ANETRAIN" train --config "$tmp/evalfifo.cfg" --ckpt "$tmp/f.ckpt"

# ---- a fresh run never replaces another run's checkpoint unasked ----------------------
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/a.ckpt" --quiet > /dev/null 2>&1
ok $? "a 30-step run writes a.ckpt"
cp "$tmp/a.ckpt" "$tmp/a.copy"
expect_error "a fresh run over it is refused, naming the file and its step" \
    "a.ckpt holds step 30 of another run: --resume .* or --force" \
    "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/a.ckpt" --steps 5
cmp -s "$tmp/a.ckpt" "$tmp/a.copy" && trained
ok $? "  the checkpoint is untouched and nothing was trained"
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/a.ckpt" --steps 5 --force > /dev/null 2> "$tmp/err"
ok $? "--force starts over"
grep -q "force: removed .*a.ckpt" "$tmp/err" && ! test -e "$tmp/a.ckpt.prev" &&
    [ "$(eval_loss "$tmp/a.ckpt")" != "$(eval_loss "$tmp/a.copy")" ]
ok $? "  replacing the old run's files (no .prev of it left)"

# ---- one trainer per checkpoint -------------------------------------------------------
small_config "$tmp/long.cfg" 3000
"$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/l.ckpt" > /dev/null 2> "$tmp/l.err" &
pid=$!
wait_for "^step 10/" "$tmp/l.err"
expect_error "a second trainer on the same checkpoint is refused with the holder's pid" \
    "l.ckpt is in use by another trainer \\(pid $pid" \
    "$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/l.ckpt" --force
expect_error "  so is a second --resume" "pid $pid" \
    "$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/l.ckpt" --resume
kill -TERM $pid
wait $pid
ok $? "the first trainer, stopped by SIGTERM, saves and exits 0"
"$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/l.ckpt" --resume --stop-after 1 \
    > /dev/null 2> "$tmp/err"
ok $? "  the lock is free once it has exited"

# ---- signals that mean "stop" save like SIGTERM; PIPE and XFSZ are ignored -------------
for sig in HUP QUIT USR1 USR2 ALRM XCPU; do
    rm -f "$tmp/s.err"   # else wait_for may see the last run's lines before the shell truncates it
    "$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/sig$sig.ckpt" > /dev/null 2> "$tmp/s.err" &
    pid=$!
    wait_for "^step 10/" "$tmp/s.err"
    kill -$sig $pid
    wait $pid
    st=$?
    at=$(sed -n 's/.*stopping at step \([0-9]*\) as asked.*/\1/p' "$tmp/s.err")
    "$ANETRAIN" train --config "$tmp/long.cfg" --ckpt "$tmp/sig$sig.ckpt" --resume \
        --stop-after 1 > /dev/null 2> "$tmp/err"
    ok $( ([ $st -eq 0 ] && grep -q "resumed .* at step ${at:-none}\$" "$tmp/err" &&
          [ "${at:-0}" -ge 10 ]); echo $?) "SIG$sig: exit 0, saved at step ${at:-?}, resumable" ||
        diag "status $st; run: $(tail -n 3 "$tmp/s.err")" "resume: $(head -n 3 "$tmp/err")"
done
# SIGPIPE: the trainer's stderr is a pipe whose reader has gone.
( "$ANETRAIN" train --config "$cfg" --ckpt "$tmp/pipe.ckpt"; echo $? > "$tmp/pipe.st" ) 2>&1 > /dev/null |
    head -c 1 > /dev/null
[ "$(cat "$tmp/pipe.st")" = 0 ] && [ -n "$(eval_loss "$tmp/pipe.ckpt")" ]
ok $? "SIGPIPE (log reader gone): the run completes and saves (status $(cat "$tmp/pipe.st"))"
# SIGXFSZ: a file-size limit below the checkpoint's size (1.3 MB; ulimit -f counts 512- or
# 1024-byte blocks: 1000 is below either way).
cp "$tmp/a.ckpt" "$tmp/x.ckpt"
cp "$tmp/x.ckpt" "$tmp/x.copy"
expect_error "a file-size limit makes the save fail with a clear error, not SIGXFSZ" \
    "x.ckpt: cannot save checkpoint: .*(File too large|too big)" \
    sh -c "ulimit -f 1000 && exec \"$ANETRAIN\" train --config \"$cfg\" --ckpt \"$tmp/x.ckpt\" --resume --steps 8 --quiet"
cmp -s "$tmp/x.ckpt" "$tmp/x.copy" && ! ls "$tmp"/x.ckpt.tmp.* > /dev/null 2>&1
ok $? "  the old checkpoint stands, no temp file left"

# ---- stale temp files of dead processes ------------------------------------------------
sh -c 'exit 0' &
dead=$!
wait $dead
printf 'half a checkpoint' > "$tmp/a.ckpt.tmp.$dead"
printf 'half a checkpoint' > "$tmp/a.ckpt.prev.tmp.$dead"
printf 'still being written' > "$tmp/a.ckpt.tmp.$$"   # this shell lives
"$ANETRAIN" train --config "$cfg" --ckpt "$tmp/a.ckpt" --resume --steps 6 > /dev/null 2> "$tmp/err"
! test -e "$tmp/a.ckpt.tmp.$dead" && ! test -e "$tmp/a.ckpt.prev.tmp.$dead" && test -e "$tmp/a.ckpt.tmp.$$"
ok $? "temp files of a dead pid are removed at start, a live one's kept"
rm -f "$tmp/a.ckpt.tmp.$$"

# ---- --resume with a damaged checkpoint falls back to .prev, then .best ----------------
small_config "$tmp/ten.cfg" 30
sed -i 's/every = 0;/every = 10;/' "$tmp/ten.cfg"
"$ANETRAIN" train --config "$tmp/ten.cfg" --ckpt "$tmp/r.ckpt" --quiet > /dev/null 2>&1
cp "$tmp/r.ckpt.prev" "$tmp/r.prev.copy"
size=$(wc -c < "$tmp/r.ckpt")
printf '\377\377\377\377' | dd of="$tmp/r.ckpt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
"$ANETRAIN" train --config "$tmp/ten.cfg" --ckpt "$tmp/r.ckpt" --resume --steps 40 > /dev/null 2> "$tmp/err"
st=$?
grep -q "cannot resume from .*r.ckpt: .*checksum mismatch" "$tmp/err" &&
    grep -q "falling back to .*r.ckpt.prev (step 20)" "$tmp/err"
ok $([ $st -eq 0 ] && grep -q "falling back to .*r.ckpt.prev (step 20)" "$tmp/err"; echo $?) \
    "a corrupt PATH: warned, resumed from PATH.prev (step 20)"
test -f "$tmp/r.ckpt.corrupt" && [ -n "$(eval_loss "$tmp/r.ckpt")" ]
ok $? "  the damaged file is kept as PATH.corrupt and the run saved a good PATH"
"$ANETRAIN" train --config "$tmp/ten.cfg" --ckpt "$tmp/b.ckpt" --steps 20 --quiet > /dev/null 2>&1
# replaced by junk (new files: PATH.best may share its data with PATH, a hard link)
rm -f "$tmp/b.ckpt" "$tmp/b.ckpt.prev"
printf 'junk' > "$tmp/b.ckpt"
printf 'junk' > "$tmp/b.ckpt.prev"
"$ANETRAIN" train --config "$tmp/ten.cfg" --ckpt "$tmp/b.ckpt" --resume --steps 30 > /dev/null 2> "$tmp/err"
st=$?
ok $( ([ $st -eq 0 ] && grep -q "falling back to .*b.ckpt.best (step 20)" "$tmp/err"); echo $?) \
    "PATH and PATH.prev damaged: resumed from PATH.best (step 20)"

# ---- resuming past the end keeps .prev ---------------------------------------------
cp "$tmp/r.ckpt.prev" "$tmp/r.prev.before"
cp "$tmp/r.ckpt" "$tmp/r.before"
"$ANETRAIN" train --config "$tmp/ten.cfg" --ckpt "$tmp/r.ckpt" --resume --steps 20 --quiet > /dev/null 2>&1
ok $? "resuming a step-40 checkpoint with --steps 20 exits 0"
cmp -s "$tmp/r.ckpt.prev" "$tmp/r.prev.before" && cmp -s "$tmp/r.ckpt" "$tmp/r.before"
ok $? "  PATH and PATH.prev are unchanged (.prev is not made a copy of PATH)"

# ---- divergence never costs the good state ----------------------------------------------
# A good run with held-out data; then the same checkpoint run on with absurd rates.
printf 'Tom and Mia went to the park. They saw a big red ball.\n%.0s' $(seq 1 200) > "$tmp/val.txt"
small_config "$tmp/good.cfg" 150
sed -i 's/every = 0;/every = 10;/' "$tmp/good.cfg"
printf 'data = { eval_path = "val.txt"; };\n' >> "$tmp/good.cfg"
"$ANETRAIN" train --config "$tmp/good.cfg" --ckpt "$tmp/g.ckpt" > /dev/null 2> "$tmp/g.err"
ok $? "a good 150-step run with validation"
best=$(sed -n 's/.*validation loss \([0-9.]*\) on.*/\1/p' "$tmp/g.err" | sort -n | head -n 1)
bestfile=$("$ANETRAIN" eval --config "$tmp/good.cfg" --ckpt "$tmp/g.ckpt.best" --data "$tmp/val.txt" \
           --batches 8 2>/dev/null | sed -n 's/.*: loss \([0-9.]*\) over.*/\1/p')
diag "lowest logged validation loss $best, PATH.best evaluates to $bestfile"
[ -n "$best" ] && echo "$best $bestfile" | awk '{ exit !(($1 - $2) < 6e-5 && ($2 - $1) < 6e-5) }'
ok $? "PATH.best is the state of the lowest validation loss"
for f in g.ckpt g.ckpt.prev g.ckpt.best; do cp "$tmp/$f" "$tmp/$f.good"; done
good=$(eval_loss "$tmp/g.ckpt")

run_on() {   # run_on LR: resume the good checkpoint with that rate for 150 more steps
    for f in g.ckpt g.ckpt.prev g.ckpt.best; do cp "$tmp/$f.good" "$tmp/$f"; done
    "$ANETRAIN" train --config "$tmp/good.cfg" --ckpt "$tmp/g.ckpt" --resume --steps 300 \
        --lr "$1" --quiet > "$tmp/out" 2> "$tmp/err"
}
for lr in 100 10 1e39; do
    run_on $lr
    st=$?
    ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "--lr $lr: the run stops with an error (status $st)"
    grep -q "diverged .*3 rollback(s).*stopping: the best checkpoint is .*g.ckpt.best (step [0-9]*, validation loss" "$tmp/err"
    ok $? "  naming PATH.best, after three rollbacks"
    [ "$(grep -c "rolling back to step 150" "$tmp/err")" -eq 3 ]
    ok $? "  each rollback to the good step 150"
    ! grep -q "grad_clip" "$tmp/err"
    ok $? "  not advising grad_clip, which is on"
    cmp -s "$tmp/g.ckpt.best" "$tmp/g.ckpt.best.good"
    ok $? "  PATH.best is untouched"
    now=$(eval_loss "$tmp/g.ckpt"); prev=$(eval_loss "$tmp/g.ckpt.prev")
    [ "$now" = "$good" ] && [ -n "$prev" ]
    ok $? "  PATH still holds the good state (loss $now = $good), PATH.prev loads ($prev)"
done
grep -q "lower train.lr\$" "$tmp/err"
ok $? "the divergence message ends with advice that fits (clipping on)"

# A rollback can rescue a run. lr 1 without clipping diverges from the start; the
# rollback goes to the initial weights with lr 0.5, so the weights must then be exactly
# those of a run at lr 0.5 from the start (the exported models are byte-identical).
rescue_config() {   # rescue_config FILE LR
    small_config "$1" 60 'schedule = "constant"; grad_clip = 0.0;'
    sed -i "s/lr = 3e-3; min_lr = 3e-4;/lr = $2; min_lr = $2;/; s/every = 0;/every = 10;/" "$1"
}
rescue_config "$tmp/r1.cfg" 1
rescue_config "$tmp/r05.cfg" 0.5
"$ANETRAIN" train --config "$tmp/r1.cfg" --ckpt "$tmp/r1.ckpt" > /dev/null 2> "$tmp/err"
st=$?
n=$(grep -c "rolling back to step 0 (the initial weights) with the learning rate x0.5, rollback 1 of 3" "$tmp/err")
ok $([ $st -eq 0 ] && [ "$n" -eq 1 ]; echo $?) "lr 1 without clipping: one rollback, then the run finishes (status $st)"
"$ANETRAIN" train --config "$tmp/r05.cfg" --ckpt "$tmp/r05.ckpt" --quiet > /dev/null 2>&1 &&
"$ANETRAIN" export --format llama2c --ckpt "$tmp/r1.ckpt" --out "$tmp/r1.bin" 2>/dev/null &&
"$ANETRAIN" export --format llama2c --ckpt "$tmp/r05.ckpt" --out "$tmp/r05.bin" 2>/dev/null &&
cmp -s "$tmp/r1.bin" "$tmp/r05.bin"
ok $? "  its weights equal those of a run at lr 0.5, byte for byte"
"$ANETRAIN" train --config "$tmp/r1.cfg" --ckpt "$tmp/r1.ckpt" --resume --steps 61 > /dev/null 2> "$tmp/err"
lr=$(sed -n 's/^step 61\/61 | loss [0-9.]* | lr \([0-9.e+-]*\) .*/\1/p' "$tmp/err")
[ "$lr" = "5.00e-01" ] && grep -q "learning rate cut by earlier rollbacks" "$tmp/err"
ok $? "  a resume keeps the halved rate (lr $lr)"
tap_done
